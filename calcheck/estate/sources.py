"""Where estate files come from: a folder on disk, or (see ``calcheck.git.repo``) a commit's tree."""

from __future__ import annotations

import enum
import errno
import os
import stat
from pathlib import Path, PurePosixPath
from typing import Protocol

from calcheck.core.errors import UsageError


class FileState(enum.Enum):
    """What calcheck found at a proof-of-purchase file path."""

    OK = "ok"
    MISSING = "missing"
    OUTSIDE = "outside the estate"
    NOT_A_FILE = "not a regular file"
    UNREADABLE = "unreadable"
    LINK = "a symbolic link"


YAML_SUFFIXES = (".yaml", ".yml")


def reported_link(relative: str) -> bool:
    """Whether a symbolic link or a submodule at this path is reported: one that could stand for records (a YAML
    name, or no extension: a folder), outside hidden folders. No link or submodule is ever read, in the work tree
    or in a revision, so both read the same files and give the same findings."""
    name = PurePosixPath(relative).name
    return not is_hidden(relative) and (name.endswith(YAML_SUFFIXES) or "." not in name)


class EstateSource(Protocol):
    """The files of one estate, addressed by POSIX paths relative to the estate folder."""

    label: str

    def yaml_files(self) -> list[str]:
        """Every YAML file, sorted; hidden files and folders are skipped."""
        ...

    def read(self, relative: str) -> bytes:
        """A file's bytes; OSError (with a reason) when it cannot or must not be read."""
        ...

    def read_ahead(self, relatives: list[str]) -> None:
        """Say that these files are read next, in this order (a source may fetch them meanwhile)."""
        ...

    def blob_id(self, relative: str) -> str | None:
        """git's id of a file's content (the same bytes, the same id); None when it cannot be read."""
        ...

    def inspect(self, relative: str) -> tuple[FileState, str | None]:
        """State and SHA-256 of a proof document named in a holding."""
        ...

    def display(self, relative: str) -> str:
        """The path as findings show it."""
        ...

    def links(self) -> list[str]:
        """Folders that are symbolic links (not read; reported), relative paths ('' for the estate itself)."""
        ...


def git_blob_id(raw: bytes) -> str:
    """The id git gives a blob of these bytes."""
    import hashlib  # here: see ``WorkTree._inspect``

    digest = hashlib.sha1(b"blob %d\0" % len(raw), usedforsecurity=False)
    digest.update(raw)
    return digest.hexdigest()


def display_path(path: Path) -> str:
    """Path as shown in findings: relative to the working directory when below it, POSIX style."""
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return absolute.as_posix()


def unsafe_relative(relative: str) -> bool:
    """True for paths that could leave the estate: absolute, '..', backslashes, NUL."""
    if not relative or "\\" in relative or "\0" in relative or relative.startswith("/"):
        return True
    return ".." in PurePosixPath(relative).parts


def is_hidden(relative: str) -> bool:
    return any(part.startswith(".") for part in PurePosixPath(relative).parts)


class WorkTree:
    """An estate folder on disk."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise UsageError(f"{root}: not a directory (give the estate folder, e.g. licenses/)")
        self.root = root
        self.base = root.resolve()
        self.label = display_path(root)

    def yaml_files(self) -> list[str]:
        found: list[str] = []
        self._links: list[str] = [""] if self.root.is_symlink() else []
        if self._links:
            return found  # a linked estate could read (and publish) anything on the machine
        for folder, dirs, names in os.walk(self.root):
            relative = Path(folder).relative_to(self.root)
            links = {entry for entry in (*dirs, *names) if (Path(folder) / entry).is_symlink()}
            links |= {d for d in dirs if (Path(folder) / d / ".git").exists()}  # a submodule: git holds no files
            self._links += [(relative / entry).as_posix() for entry in sorted(links)]
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in links)
            found.extend(
                (relative / n).as_posix()
                for n in names
                if n.endswith(YAML_SUFFIXES) and not n.startswith(".") and n not in links
            )
        self._links = [link for link in self._links if reported_link(link)]
        return sorted(found)

    def read(self, relative: str) -> bytes:
        path = self.root / relative
        if path.is_symlink():
            raise OSError("a symbolic link; calcheck does not follow links")
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO or device would block or never end
            raise OSError("not a regular file")
        return path.read_bytes()

    def read_ahead(self, relatives: list[str]) -> None:
        pass  # the system reads ahead

    def blob_id(self, relative: str) -> str | None:
        try:
            raw = self.read(relative)
        except OSError:
            return None
        return git_blob_id(raw)

    def inspect(self, relative: str) -> tuple[FileState, str | None]:
        if unsafe_relative(relative):
            return FileState.OUTSIDE, None
        try:
            return self._inspect(relative)
        except (OSError, RuntimeError, ValueError):  # a name too long for the system, a loop, ...
            return FileState.UNREADABLE, None

    def _inspect(self, relative: str) -> tuple[FileState, str | None]:
        target, mode = self.root, stat.S_IFDIR
        for part in PurePosixPath(relative).parts:  # no link is followed, on the way or at the end
            target = target / part
            try:
                mode = target.lstat().st_mode
            except OSError as exc:  # as in a revision: a name no file can have here is a missing file
                if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ENAMETOOLONG):
                    return FileState.MISSING, None
                raise
            if stat.S_ISLNK(mode):
                return FileState.LINK, None
        if not stat.S_ISREG(mode):
            return FileState.NOT_A_FILE, None
        import hashlib  # here: `validate FILE` never hashes, and OpenSSL's loading is a noticeable part of its start

        with open(target, "rb") as handle:
            return FileState.OK, hashlib.file_digest(handle, "sha256").hexdigest()

    def display(self, relative: str) -> str:
        return display_path(self.root / relative)

    def links(self) -> list[str]:
        return list(getattr(self, "_links", []))
