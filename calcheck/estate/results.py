"""Command results kept by the digest of everything the command read, so the same question is not worked out again.

A ``check`` or ``diff`` of estates that have not changed since it last ran (the same revisions, the same work tree, the
same date and options) gives the same text: it is kept under a key that is the SHA-256 of every input (the site keeps
digests of what it built the same way). Those are the command's options and working folder, the commits it reads (which
fix their trees and histories), every entry below the estate folder (as named, and where the system finds it through
links, that place too) and beside it in ``schemas/`` (paths, kinds and contents: links are named, never followed;
folders, empty ones too), and calcheck itself (the source of every module, its data, the Python that runs it, and what
file readings depend on, see ``cache.reader_digest``). A changed byte anywhere gives another key, so an entry is never
stale; a result is kept only when the key taken after the command read is the one taken before (no file changed
meanwhile), and none is read back or kept when the key cannot be taken (git cannot list the changed files, a link loop).

Entries live beside the file cache (``results/``) and share its format: a line with the SHA-256 of the JSON that
follows, written atomically, and checked when read. An entry that does not decode exactly as written is a miss:
the result is worked out again and the entry rewritten. ``--no-cache`` neither reads nor writes them.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from calcheck.estate.cache import FileCache, mark_used, read_entry, reader_digest, write_entry

FORMAT = "calcheck-result-cache/1"


@cache
def code_digest() -> bytes:
    """A digest of calcheck's whole source and data (an editable install changes them without a new version)."""
    from importlib import metadata  # (not at start: most runs never ask)

    digest = hashlib.sha256(FORMAT.encode() + b"\0" + reader_digest())
    digest.update(f"\0{sys.version}\0{sys.platform}".encode())
    try:  # (git is read through it)
        digest.update(f"\0GitPython {metadata.version('GitPython')}".encode())
    except metadata.PackageNotFoundError:
        digest.update(b"\0GitPython -")
    package = Path(__file__).resolve().parent.parent
    for path in sorted(p for p in package.rglob("*") if p.suffix in (".py", ".yaml", ".json") and p.is_file()):
        digest.update(b"\0" + path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.digest()


def folder_digest(root: Path, leave_out: frozenset[str] = frozenset()) -> str:
    """A digest of every entry below ``root`` (hidden ones too) but those named in ``leave_out`` at its top: each
    path with its kind and, for a file, its content; a link's target is named, not followed. Anything else is named
    by its kind alone, folders too (an empty one may change a check: a '.git' folder makes a submodule, a proof
    file's path may be a folder)."""
    digest = hashlib.sha256()
    try:
        top = root.lstat()
    except OSError as exc:
        return f"unreadable {type(exc).__name__}"
    if not stat.S_ISDIR(top.st_mode):
        return "not a folder"
    for folder, dirs, names in os.walk(root, onerror=lambda exc: digest.update(f"\0error {exc}".encode())):
        if folder == str(root):
            dirs[:] = [d for d in dirs if d not in leave_out]
            names = [n for n in names if n not in leave_out]
        dirs.sort()
        for name in sorted(names) + dirs:
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, root).encode("utf-8", "surrogateescape")
            digest.update(b"\0path\0" + relative)
            try:
                mode = os.lstat(path).st_mode
                if stat.S_ISLNK(mode):
                    digest.update(b"\0link\0" + os.readlink(path).encode("utf-8", "surrogateescape"))
                elif stat.S_ISREG(mode):
                    with open(path, "rb") as handle:
                        digest.update(b"\0file\0" + hashlib.file_digest(handle, "sha256").digest())
                else:
                    digest.update(f"\0mode {stat.S_IFMT(mode)}".encode())
            except OSError as exc:
                digest.update(f"\0unreadable {type(exc).__name__}".encode())
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Results:
    """Texts of command results, by the digest of their inputs."""

    directory: Path

    @classmethod
    def beside(cls, files: FileCache | None) -> Results | None:
        """The results kept in the folder of the file cache that lasts between runs (None without one)."""
        lasting = files.lasting() if files is not None else None
        return cls(lasting.directory / "results") if lasting is not None else None

    @staticmethod
    def key(command: str, inputs: list[str]) -> str:
        """The key of ``command``'s result from ``inputs`` (every one of them: see the module's documentation)."""
        digest = hashlib.sha256(code_digest())
        digest.update(json.dumps([command, *inputs], ensure_ascii=False).encode("utf-8", "surrogateescape"))
        return digest.hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> str | None:
        """The text kept for ``key``, or None (missing, damaged, or not an entry for this key)."""
        body = read_entry(self._path(key))
        if body is None:
            return None
        try:
            entry = json.loads(body)
        except ValueError:
            return None
        if not isinstance(entry, dict) or entry.keys() != {"format", "key", "text"}:
            return None
        if entry["format"] != FORMAT or entry["key"] != key or not isinstance(entry["text"], str):
            return None
        text: str = entry["text"]
        mark_used(self._path(key))
        return text

    def put(self, key: str, text: str) -> None:
        """Keep ``text`` for ``key`` (skipped when the folder cannot be written, or the text cannot be kept)."""
        try:
            body = json.dumps({"format": FORMAT, "key": key, "text": text}, ensure_ascii=False).encode("utf-8")
        except (ValueError, UnicodeEncodeError):
            return  # (surrogate escapes: a name that is not UTF-8)
        write_entry(self._path(key), body)


@dataclass(frozen=True, slots=True)
class Kept:
    """Where a command's result is kept (``calcheck.cli.common.kept_result``): ``get`` it, or ``put`` it."""

    results: Results
    key: str
    again: Callable[[], str | None]  # the key worked out anew from what the command reads

    def get(self) -> str | None:
        return self.results.get(self.key)

    def put(self, text: str) -> None:
        """Keep ``text``, unless what the command read changed while it read it (the result might be of neither)."""
        if self.again() == self.key:
            self.results.put(self.key, text)
