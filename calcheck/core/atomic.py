"""Atomic file writes: a crash mid-write leaves the old file intact, and no write follows a link.

Every file calcheck writes is first written to a temporary file created exclusively (``O_CREAT | O_EXCL``,
an unpredictable name) in the target's folder, then renamed over the target: a link at the target's path is
replaced, never written through. A new file gets the permissions the umask allows (as ``open`` would give it);
a replaced file keeps its own. Errors name the target, never the temporary file.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from calcheck.core.errors import UsageError


def write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` atomically.

    A target that exists but is not a regular file (``/dev/null``, a FIFO) is written to directly: it cannot be
    replaced, and must not be.
    """
    write_bytes(path, text.encode("utf-8"))


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through an exclusive temporary file in the same folder and an atomic rename."""
    if _special(path):
        with open(path, "wb") as stream:
            stream.write(data)
        return
    temporary = stage(path, data)
    commit([(temporary, path)])


def write_all(files: Iterable[tuple[Path, bytes]]) -> None:
    """Write several files all or nothing: every one to a temporary file first, then rename them all.

    If any cannot be written (a full disk, a missing folder), the temporaries are removed and no target has
    changed; the error names the file that failed.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for path, data in files:
            staged.append((stage(path, data), path))
    except BaseException:
        discard(temporary for temporary, _ in staged)
        raise
    commit(staged)


def stage(path: Path, data: bytes) -> Path:
    """``data`` in a new temporary file beside ``path`` (flushed to disk, with the mode ``path`` will have)."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such folder {folder}; create it first") from None
    except NotADirectoryError:
        raise UsageError(f"{path}: {folder} is not a folder") from None
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    temporary = Path(name)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, _mode(path))
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


class PartialWrite(OSError):
    """A rename failed after others had been done (``done``: the targets already replaced)."""

    def __init__(self, errno: int | None, strerror: str | None, filename: str, done: list[Path]) -> None:
        super().__init__(errno, strerror, filename)
        self.done = done


def commit(staged: Iterable[tuple[Path, Path]]) -> None:
    """Rename each staged temporary file over its target; on failure the temporaries left are removed."""
    pending = list(staged)
    done: list[Path] = []
    try:
        while pending:
            temporary, path = pending[0]
            try:
                os.replace(temporary, path)
            except OSError as exc:
                if done:
                    raise PartialWrite(exc.errno, exc.strerror, str(path), done) from None
                raise OSError(exc.errno, exc.strerror, str(path)) from None
            done.append(pending.pop(0)[1])
    finally:
        discard(temporary for temporary, _ in pending)


def discard(temporaries: Iterable[Path]) -> None:
    """Remove temporary files that will not be renamed."""
    for temporary in temporaries:
        temporary.unlink(missing_ok=True)


def _special(path: Path) -> bool:
    """Whether ``path`` is something other than a regular file or a link (a FIFO, a device)."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return False
    if stat.S_ISLNK(mode):
        try:
            mode = os.stat(path).st_mode
        except OSError:
            return False
        return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)  # a link to /dev/null or a pipe: write to it
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _mode(path: Path) -> int:
    """The mode of the file at ``path`` if it is a regular file, else what the umask gives a new file."""
    try:
        found = os.lstat(path)
    except OSError:
        found = None
    if found is not None and stat.S_ISREG(found.st_mode):
        return found.st_mode & 0o7777
    return 0o666 & ~current_umask()


def current_umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
