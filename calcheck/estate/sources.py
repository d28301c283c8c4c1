"""Where estate files come from: a folder on disk, or (see ``calcheck.git.repo``) a commit's tree."""

from __future__ import annotations

import enum
import hashlib
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


YAML_SUFFIXES = (".yaml", ".yml")


class EstateSource(Protocol):
    """The files of one estate, addressed by POSIX paths relative to the estate folder."""

    label: str

    def yaml_files(self) -> list[str]:
        """Every YAML file, sorted; hidden files and folders are skipped."""
        ...

    def read(self, relative: str) -> bytes:
        """A file's bytes; OSError (with a reason) when it cannot or must not be read."""
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
            self._links += [(relative / d).as_posix() for d in dirs if (Path(folder) / d).is_symlink()]
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not (Path(folder) / d).is_symlink())
            found.extend(
                (relative / n).as_posix() for n in names if n.endswith(YAML_SUFFIXES) and not n.startswith(".")
            )
        return sorted(found)

    def read(self, relative: str) -> bytes:
        path = self.root / relative
        if path.is_symlink() and not path.resolve().is_relative_to(self.base):
            raise OSError("link leads out of the estate")
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO or device would block or never end
            raise OSError("not a regular file")
        return path.read_bytes()

    def inspect(self, relative: str) -> tuple[FileState, str | None]:
        if unsafe_relative(relative):
            return FileState.OUTSIDE, None
        target = self.root / relative
        try:
            resolved = target.resolve()
        except (OSError, RuntimeError):
            return FileState.UNREADABLE, None
        if not resolved.is_relative_to(self.base):
            return FileState.OUTSIDE, None
        if not target.exists():
            return FileState.MISSING, None
        if not resolved.is_file():
            return FileState.NOT_A_FILE, None
        try:
            with open(resolved, "rb") as handle:
                return FileState.OK, hashlib.file_digest(handle, "sha256").hexdigest()
        except OSError:
            return FileState.UNREADABLE, None

    def display(self, relative: str) -> str:
        return display_path(self.root / relative)

    def links(self) -> list[str]:
        return list(getattr(self, "_links", []))
