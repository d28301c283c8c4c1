"""The estate's edit lock: one calcheck at a time reads, decides and writes an estate.

Two edits that read the same files and both write would lose one line, or both take the same new id. Every
edit command and import holds an exclusive lock on a file beside the estate (``.licenses.lock`` for an estate
in ``licenses/``) from the moment it reads the estate until its files are renamed into place. The lock is an
``flock`` on that file (a byte-range lock on Windows), so a process that dies releases it; the holder removes the
file when it is done, and a process that locked a file since removed tries again. A second edit waits for the
first, up to ``CALCHECK_LOCK_WAIT`` seconds (default 60), then stops with a message naming the holder.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from calcheck.core.errors import UsageError

DEFAULT_WAIT = 60.0
_POLL = 0.05


def lock_path(estate: Path) -> Path:
    """The lock file of ``estate``: beside it, named after it."""
    folder = Path(os.path.abspath(estate))
    return folder.parent / f".{folder.name}.lock"


@contextlib.contextmanager
def estate_lock(estate: Path, wait: float | None = None) -> Iterator[Path]:
    """Hold the estate's lock for the ``with`` block (waiting up to ``wait`` seconds for another holder)."""
    path = lock_path(estate)
    limit = _wait() if wait is None else wait
    deadline = time.monotonic() + limit
    while True:
        handle = _open(path)
        if _try_lock(handle) and _still_there(handle, path):
            break
        os.close(handle)
        if time.monotonic() >= deadline:
            raise UsageError(
                f"{estate} is being edited by another calcheck ({_holder(path)}, lock file {path}); "
                "run the command again when it has finished"
            )
        time.sleep(_POLL)
    try:
        os.ftruncate(handle, 0)
        os.write(handle, f"{os.getpid()}\n".encode())
        yield path
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)  # before unlocking: a waiter that locked this file sees it gone and tries again
        os.close(handle)


def _wait() -> float:
    text = os.environ.get("CALCHECK_LOCK_WAIT", "")
    try:
        return max(0.0, float(text)) if text else DEFAULT_WAIT
    except ValueError:
        raise UsageError(f"CALCHECK_LOCK_WAIT={text!r} is not a number of seconds") from None


def _open(path: Path) -> int:
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        return os.open(path, flags, 0o666)
    except OSError as exc:
        raise UsageError(f"{path}: cannot create the estate's lock file ({exc.strerror or exc})") from None


def _try_lock(handle: int) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(handle, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _still_there(handle: int, path: Path) -> bool:
    """Whether the locked file is still the one at ``path`` (its holder may have removed it meanwhile)."""
    try:
        on_disk = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    mine = os.fstat(handle)
    return (on_disk.st_dev, on_disk.st_ino) == (mine.st_dev, mine.st_ino)


def _holder(path: Path) -> str:
    try:
        pid = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        pid = ""
    return f"process {pid}" if pid.isdigit() else "another process"
