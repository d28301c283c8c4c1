"""The site's build folder, written without following a single link.

``site/_build`` belongs to calcheck: ``site build`` removes it (a link there is removed, never followed) and
creates it anew (with the cache, keeping the pages and the built site when each holds only real folders and regular
files: ``fresh``), so nothing committed under it can redirect a write. Pages are then written with ``O_NOFOLLOW``
into folders calcheck made; hand-written pages are read from ``site/docs`` as regular files only, without
descending into linked folders.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from calcheck.core.errors import UsageError

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def fresh(folder: Path, keep: tuple[str, ...] = ()) -> None:
    """Make ``folder`` a new, empty, real folder (whatever was there, link or file or folder, is removed); with
    ``keep``, the entries of those names inside stay when ``folder`` is a real folder and such an entry holds only
    real folders and regular files (the pages, whose unchanged files keep their time, and a built site that may be
    the one a build would give: see ``site.build``)."""
    if keep and _real_tree(folder) is not None:
        for entry in os.listdir(folder):
            if entry not in keep or _real_tree(folder / entry) is None:
                _remove(folder / entry)
        return
    _remove(folder)
    real_folders(folder.parent, folder.parent)
    folder.mkdir(mode=0o777)


def real_folders(top: Path, folder: Path) -> None:
    """Make every path component from ``top`` (which must exist) down to ``folder`` a real folder."""
    relative = folder.relative_to(top)
    current = top
    for part in relative.parts:
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            current.mkdir(mode=0o777)
            continue
        if not stat.S_ISDIR(mode):  # a link or a file where a folder of ours goes: removed, not followed
            _remove(current)
            current.mkdir(mode=0o777)


def sync(folder: Path, files: dict[str, str | bytes]) -> None:
    """Make the real folder ``folder`` hold exactly ``files``; a file is rewritten only when its content changed
    (for live reload)."""
    top = os.fspath(folder)
    for root, folders, names in os.walk(top, topdown=False, followlinks=False):
        below = os.path.relpath(root, top)
        prefix = "" if below == "." else below.replace(os.sep, "/") + "/"
        for name in [*names, *folders]:
            path = os.path.join(root, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISDIR(mode):
                if not os.listdir(path):
                    os.rmdir(path)
            elif prefix + name not in files or not stat.S_ISREG(mode):
                os.unlink(path)
    made: set[str] = set()  # the folders this call has already made real (each page's folder is checked once)
    for relative, content in files.items():
        parent = relative.rpartition("/")[0]
        if parent not in made:
            real_folders(folder, folder / parent)
            made.add(parent)
        _write(os.path.join(top, relative), content.encode("utf-8") if isinstance(content, str) else content)


def tree_digest(folder: Path) -> str | None:
    """A digest of every file below ``folder`` (its path and content); None when ``folder`` is not a real folder
    or anything below it is neither a real folder nor a regular file (a link)."""
    import hashlib

    names = _real_tree(folder)
    if names is None:
        return None
    top = os.fspath(folder)
    digest = hashlib.sha256()
    try:
        for relative in names:
            fd = os.open(os.path.join(top, relative), os.O_RDONLY | _NOFOLLOW)
            with os.fdopen(fd, "rb") as handle:
                digest.update(relative.encode("utf-8", "surrogateescape") + b"\0")
                digest.update(hashlib.file_digest(handle, "sha256").digest())
    except OSError:
        return None
    return digest.hexdigest()


def _real_tree(folder: Path) -> list[str] | None:
    """The regular files below the real folder ``folder`` (relative POSIX paths, sorted), or None when it is not
    one, holds anything else (a link, a device) or cannot be read.

    One ``scandir`` per folder: what each entry is comes with its name (no ``lstat`` per file where the file system
    says), and paths stay strings (a site holds thousands of files, walked several times a build)."""
    top = os.fspath(folder)
    try:
        if not stat.S_ISDIR(os.lstat(top).st_mode):
            return None
        files: list[str] = []
        pending = [("", top)]
        while pending:
            prefix, path = pending.pop()
            with os.scandir(path) as entries:
                for entry in entries:
                    if entry.is_file(follow_symlinks=False):
                        files.append(prefix + entry.name)
                    elif entry.is_dir(follow_symlinks=False):
                        pending.append((f"{prefix}{entry.name}/", entry.path))
                    else:
                        return None
    except OSError:
        return None
    return sorted(files)


def regular_files(folder: Path) -> dict[str, bytes]:
    """The regular files below ``folder`` by relative POSIX path; links (to files or folders) are skipped."""
    found: dict[str, bytes] = {}
    if not folder.is_dir() or folder.is_symlink():
        return found
    for root, folders, names in os.walk(folder, followlinks=False):
        folders.sort()
        for name in sorted(names):
            path = Path(root) / name
            if stat.S_ISREG(os.lstat(path).st_mode):
                found[path.relative_to(folder).as_posix()] = _read(path)
    return found


def _write(path: str, data: bytes) -> None:
    try:
        if _read(path) == data:
            return
    except OSError:
        pass
    if os.path.islink(path):
        os.unlink(path)
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _NOFOLLOW, 0o666)
    with os.fdopen(handle, "wb") as stream:
        stream.write(data)


def _read(path: str | Path) -> bytes:
    handle = os.open(path, os.O_RDONLY | _NOFOLLOW)
    with os.fdopen(handle, "rb") as stream:
        return stream.read()


def _remove(path: Path) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        shutil.rmtree(path)  # removes links inside, never what they point to
    else:
        path.unlink()
    if os.path.lexists(path):
        raise UsageError(f"{path}: could not be removed to build the site afresh")
