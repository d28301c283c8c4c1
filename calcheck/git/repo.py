"""The one module that talks to git (through GitPython). It returns plain records, never GitPython objects.

History is read with a single ``git log`` over the estate's path; file contents come from git's
persistent ``cat-file --batch`` process. No user-supplied string reaches git as an option: revisions
are validated and passed after ``--end-of-options``, paths after ``--``.

git runs no program a repository names: every git process calcheck starts gets a clean environment (no
``GIT_*`` variable of the caller's, so none redirects the repository or injects configuration) and ``-c``
settings that turn off what would run a program or write to the repository (``SAFE_CONFIG``); ``status``, the
one command that reads work-tree files, also has every clean filter of the repository's configuration
blanked and does not recurse into submodules. GitPython finds the repository and nothing else.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import subprocess
import tempfile
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from calcheck.core.errors import CalcheckError, UsageError
from calcheck.estate.sources import (
    YAML_SUFFIXES,
    FileState,
    display_path,
    is_hidden,
    reported_link,
    unsafe_relative,
)

_REV = re.compile(r"[^\s\x00-\x1f\x7f-][^\s\x00-\x1f\x7f]{0,199}\Z")
# Every field of a commit ends with a NUL, which no commit field can hold; with -z so does every path of --raw.
_FORMAT = "--format=%H%x00%P%x00%an%x00%ae%x00%aI%x00%cI%x00%s"
_FIELDS = 7
_SHA = re.compile(rb"(?:[0-9a-f]{40}|[0-9a-f]{64})\Z")
_DATE = re.compile(rb"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:Z|[+-][0-9]{2}:[0-9]{2})\Z")
_RAW = re.compile(
    rb"\n?:([0-7]{6}) ([0-7]{6}) ([0-9a-f]{40}|[0-9a-f]{64}) ([0-9a-f]{40}|[0-9a-f]{64}) ([ACDMRTUX])[0-9]{0,3}\Z"
)
_NOT_A_FILE = (b"120000", b"160000")  # a symbolic link or a submodule: never read as a file
SHALLOW_HINT = (
    "this is a shallow clone, so calcheck cannot see the history it needs; fetch it with "
    "'git fetch --unshallow', or set 'fetch-depth: 0' on actions/checkout"
)


# Settings that would make git run a program, or write to the repository, while calcheck reads it.
SAFE_CONFIG = (
    "core.fsmonitor=false",  # a file-system monitor hook: any program
    f"core.hooksPath={os.devnull}",  # hooks (post-index-change and the like)
    "core.untrackedCache=false",
    "log.showSignature=false",  # would run gpg.program
    "protocol.allow=never",  # no lazy fetch of a missing object (ssh, remote helpers, credential helpers)
    "submodule.recurse=false",
)
# Variables from the caller's environment that git may see; every other is dropped.
_KEPT_VARIABLES = ("PATH", "HOME", "XDG_CONFIG_HOME", "TMPDIR", "TZ", "SYSTEMROOT", "USERPROFILE")


def git_environment() -> dict[str, str]:
    """The environment of every git process calcheck starts."""
    kept = {name: os.environ[name] for name in _KEPT_VARIABLES if name in os.environ}
    return {
        **kept,
        "LC_ALL": "C",
        "LANGUAGE": "C",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_OPTIONAL_LOCKS": "0",
        "GIT_NO_LAZY_FETCH": "1",
        "GIT_NO_REPLACE_OBJECTS": "1",  # the history is what the commits hold: no replace refs,
        "GIT_GRAFT_FILE": os.devnull,  # nor grafts (which change no commit id, so no key a result is kept under)
    }


def git_command(*args: str, config: Iterable[str] = ()) -> list[str]:
    """A git command line with the safe settings (and ``config``) before ``args``."""
    return ["git", *(part for setting in (*SAFE_CONFIG, *config) for part in ("-c", setting)), *args]


class GitError(CalcheckError):
    """git could not answer (not a repository, unknown revision, missing objects)."""


@dataclass(frozen=True, slots=True)
class Change:
    """One file changed by a commit (paths are relative to the repository root)."""

    status: str
    old_path: str | None
    new_path: str | None
    old_blob: str | None
    new_blob: str | None


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    parents: tuple[str, ...]
    author: str
    email: str
    date: dt.datetime  # the author date: set by whoever wrote the commit
    subject: str
    changes: tuple[Change, ...]
    committed: dt.datetime  # the committer date: when it was committed (or rebased, or merged)

    @property
    def short(self) -> str:
        return self.sha[:7]


def validate_rev(rev: str) -> str:
    """Refuse anything that git could read as an option or that is not a plausible revision."""
    if not _REV.match(rev):
        raise UsageError(f"not a valid git revision: {rev!r}")
    return rev


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


class GitRepo:
    """A git repository that holds an estate."""

    def __init__(self, path: Path) -> None:
        import git

        try:
            self._repo = git.Repo(path, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise UsageError(f"{display_path(path)} is not inside a git repository") from None
        found = Path(self._repo.git_dir).resolve()
        if found == path.resolve() or found in path.resolve().parents:  # the folder itself, not its .git
            _refuse_committed(found)
        self.bare = bool(self._repo.bare)
        top = self._repo.working_tree_dir
        self.top = Path(top) if top else Path(self._repo.git_dir)
        self._batch: _Batch | None = None
        _REPOSITORIES[id(self._repo)] = self._repo

    def close(self) -> None:
        """End every git process this repository started and wait for it; a later read starts a new one."""
        for stream in [s for s in _RUNNING if s._repo is self]:
            stream.close()
        if self._batch is not None:
            self._batch.close()
        self._repo.close()  # GitPython's persistent cat-file processes: terminated and waited for

    def __enter__(self) -> GitRepo:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _run(self, *args: str, check: bool = True, config: tuple[str, ...] = (), stdin: bytes | None = None) -> bytes:
        command = git_command(*args, config=config)
        try:
            done = subprocess.run(
                command,
                cwd=self._repo.working_dir,
                env=git_environment(),
                input=stdin,
                capture_output=True,
                check=False,
            )
        except OSError as exc:
            raise GitError(f"git cannot be run: {exc.strerror or exc}") from None
        if done.returncode != 0:
            if not check:
                return b""
            raise GitError(f"git {args[0]} failed: {_text(done.stderr).strip()}")
        return done.stdout

    def _filters(self) -> tuple[str, ...]:
        """Settings that blank every filter driver the repository's configuration defines (status would run them)."""
        out = self._run("config", "--null", "--name-only", "--get-regexp", r"^filter\.", check=False)
        drivers = {name.rsplit(".", 1)[0] for name in _text(out).split("\x00") if name.count(".") >= 2}
        return tuple(f"{driver}.{key}=" for driver in sorted(drivers) for key in ("clean", "smudge", "process"))

    def private_dir(self) -> Path:
        """The repository's git folder (shared by its work trees): no commit can put a file there."""
        return Path(self._repo.common_dir)

    def is_shallow(self) -> bool:
        return self._run("rev-parse", "--is-shallow-repository").strip() == b"true"

    def resolve(self, rev: str) -> str:
        """The commit id a revision names."""
        validate_rev(rev)
        try:
            return _text(self._run("rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")).strip()
        except GitError:
            hint = f"; {SHALLOW_HINT}" if self.is_shallow() else ""
            raise UsageError(f"unknown git revision {rev!r}{hint}") from None

    def prefix(self, estate: Path) -> str:
        """The estate folder's path inside the repository (POSIX, no trailing slash)."""
        if self.bare:
            relative = PurePosixPath(estate.as_posix())
        else:
            try:
                relative = PurePosixPath(Path(os.path.abspath(estate)).relative_to(self.top.resolve()).as_posix())
            except ValueError:
                raise UsageError(f"{display_path(estate)} is not inside the repository at {self.top}") from None
        text = str(relative).strip("/")
        if unsafe_relative(text) and text != ".":
            raise UsageError(f"not a path inside the repository: {estate}")
        return "" if text == "." else text

    def tree(self, commit: str, prefix: str) -> dict[str, str]:
        """Blob id of every file below ``prefix`` in ``commit``, by path relative to ``prefix``."""
        return self.tree_entries(commit, prefix)[0]

    def tree_entries(self, commit: str, prefix: str) -> tuple[dict[str, str], list[str]]:
        """The files below ``prefix`` (as ``tree``), and the symbolic links and submodules there, which are not read."""
        out = self._run("ls-tree", "-r", "-z", "--full-tree", commit, "--", prefix or ".")
        files: dict[str, str] = {}
        skipped: list[str] = []
        cut = len(prefix) + 1 if prefix else 0
        for entry in out.split(b"\x00"):
            if not entry:
                continue
            meta, _, path = entry.partition(b"\t")
            mode, kind, blob = meta.split(b" ")
            if kind == b"blob" and mode != b"120000":  # symbolic links are never followed
                files[_text(path)[cut:]] = _text(blob)
            else:
                skipped.append(_text(path)[cut:])
        return files, skipped

    def blob(self, blob: str) -> bytes:
        """A blob's content, through git's persistent cat-file process."""
        kind, data = self._object(blob)
        if kind != "blob":
            raise GitError(f"{blob} is not a file")
        return data

    def _object(self, name: str) -> tuple[str, bytes]:
        if self._batch is None:
            self._batch = _Batch(self._repo.working_dir)
        found = self._batch.read(name)
        if found is None:  # git answered "missing" (a partial or damaged clone)
            raise GitError(f"git has no object {name}; fetch the full repository")
        return found

    def stream(self, blobs: Iterable[str]) -> BlobStream:
        """A reader of ``blobs`` that fetches them ahead, in this order, while the caller works on earlier ones."""
        return BlobStream(self, blobs)

    def message(self, commit: str) -> str:
        """A commit's full message (through the same batch process)."""
        _, data = self._object(commit)
        _, _, message = data.partition(b"\n\n")
        return _text(message)

    def has_commits(self) -> bool:
        return bool(self._run("rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False).strip())

    def changed_files(self, prefix: str) -> list[str]:
        """Work-tree files below ``prefix`` that differ from HEAD (modified, added, deleted, untracked)."""
        args = ["status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", "--ignore-submodules=all"]
        out = self._run(*args, "--", prefix or ".", config=self._filters())
        return sorted({_text(entry[3:]) for entry in out.split(b"\x00") if len(entry) > 3})

    def ignored(self, paths: list[str]) -> set[str]:
        """Those of ``paths`` (relative to the root; untracked ones: git never ignores a tracked file) that git
        ignores, so that ``changed_files`` never lists them whatever they hold."""
        if not paths:
            return set()
        out = self._run(
            "check-ignore", "-z", "--stdin", check=False, stdin=b"".join(os.fsencode(p) + b"\0" for p in paths)
        )
        return {_text(name) for name in out.split(b"\x00") if name}  # (exit 1, no output: none is ignored)

    def log(self, prefix: str, commit: str, kept: Path | None = None) -> list[Commit]:
        """Commits of ``commit``'s first-parent history that change files below ``prefix``, oldest first.

        ``kept``: a folder where git's answer is kept (``_kept_log``), so that a history grown by a few commits asks
        git for those commits only.
        """
        if kept is None or not _SHA.match(commit.encode()):  # (a commit id: what a kept answer is for)
            out = self._log_output(prefix, commit)
        else:
            out = self._kept_log(prefix, commit, kept)
        commits = parse_log(out)
        commits.reverse()
        return commits

    def _log_output(self, prefix: str, revisions: str) -> bytes:
        args = ["log", "-z", "--raw", "--no-abbrev", "-M", "--first-parent", "--diff-merges=first-parent", _FORMAT]
        return self._run(*args, "--end-of-options", revisions, "--", prefix or ".")

    def _kept_log(self, prefix: str, commit: str, kept: Path) -> bytes:
        """git log's output for ``commit``, built on the output kept for an earlier commit when that one is on
        ``commit``'s first-parent line: git lists the newest commit first, so the output for the later commit is
        the output for the commits since (``EARLIER..COMMIT``, which git lists as it lists them in the whole line)
        followed by the kept one (``tests/test_git_log_kept.py`` compares them byte for byte).

        One entry per repository and estate path, named also by git's version and the repository's whole
        configuration (a setting such as ``diff.renameLimit`` may change what git lists); it holds the commit it
        answers for, then git's output, under the file cache's digest line (``write_entry``): a damaged, edited or
        forged entry, or one for a commit not on the line (after a rebase or a reset), is replaced by git's whole
        answer.
        """
        from calcheck.estate.cache import read_entry, write_entry

        setting = self._run("config", "--list", "-z", check=False) + b"\0" + self._run("version", check=False)
        parts = [b"calcheck-git-log/1", os.fsencode(self.private_dir().resolve()), prefix.encode(), setting]
        name = hashlib.sha256(b"\0".join(parts)).hexdigest()
        place = kept / f"{name}.log"
        body = read_entry(place)
        out = None
        if body is not None:
            head, _, earlier = body.partition(b"\n")
            if head == commit.encode():
                with contextlib.suppress(OSError):
                    os.utime(place)  # used: the cache's tidying removes the least recently used first
                return earlier
            if _SHA.match(head) and self._on_first_parent_line(_text(head), commit):
                out = self._log_output(prefix, f"{_text(head)}..{commit}") + earlier
        if out is None:
            out = self._log_output(prefix, commit)
        write_entry(place, commit.encode() + b"\n" + out)
        return out

    def _on_first_parent_line(self, earlier: str, commit: str) -> bool:
        """Whether ``earlier`` is an ancestor of ``commit`` on its first-parent line (not ``commit`` itself)."""
        since = f"{earlier}..{commit}"
        out = self._run("rev-list", "--first-parent", "--parents", "--end-of-options", since, check=False).strip()
        oldest = out.rsplit(b"\n", 1)[-1].split(b" ") if out else []
        return len(oldest) >= 2 and oldest[1] == earlier.encode()


def _refuse_committed(folder: Path) -> None:
    """Refuse a folder taken for a repository whose HEAD a work tree around it has committed: it is data.

    GitPython takes a folder holding HEAD, objects/ and refs/ for a repository before looking further up, so such
    files committed into an estate would give it a history and configuration of the committer's choice.
    """
    for place in folder.parents:
        if (place / ".git").exists():
            relative = (folder / "HEAD").relative_to(place).as_posix()
            tracked = subprocess.run(
                git_command("ls-files", "-z", "--", relative),
                cwd=place, env=git_environment(), capture_output=True, check=False,
            ).stdout  # fmt: skip
            if tracked:  # not a UsageError: that reads as "no repository", and the check would go on without history
                raise GitError(
                    f"{display_path(folder)} holds the files of a git repository (HEAD, objects/, refs/) committed "
                    f"in the repository at {display_path(place)}; calcheck reads that repository only: remove them"
                )
            return


class _Batch:
    """One long-lived ``git cat-file --batch``, asked for one object at a time (stopped when dropped)."""

    def __init__(self, cwd: str | os.PathLike[str]) -> None:
        self._cwd = cwd
        self._process: subprocess.Popen[bytes] | None = None

    def read(self, name: str) -> tuple[str, bytes] | None:
        """The object's type and content, or None when git has no such object."""
        if not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", name):
            return None
        process = self._start()
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(f"{name}\n".encode())
            process.stdin.flush()
            header = process.stdout.readline().split()
            if len(header) != 3:
                return None
            size = int(header[2])
            data = process.stdout.read(size + 1)[:size]
        except (OSError, ValueError):
            self.close()
            raise GitError("git cat-file stopped answering; run the command again") from None
        if len(data) != size:
            self.close()
            raise GitError("git cat-file stopped answering; run the command again")
        return _text(header[1]), data

    def _start(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen(
                git_command("cat-file", "--batch"),
                cwd=self._cwd,
                env=git_environment(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            weakref.finalize(self, _stop, self._process)
            _BATCHES.add(self)
        return self._process

    def close(self) -> None:
        if self._process is not None:
            _stop(self._process)
            self._process = None


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End a cat-file process: closing its input ends it; it is killed if it does not end at once."""
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class BlobStream:
    """Blobs read ahead by a second ``git cat-file --batch``, given every id at the start.

    git inflates and resolves deltas on the other core, filling a pipe (enlarged to 1 MiB where the system
    allows) while the caller parses; the caller takes each blob from the pipe when it asks for it. No thread
    is needed, so nothing contends for the GIL. A blob asked for out of order, or again, or one git could not
    give, is read the ordinary way, so the answers never differ from ``GitRepo.blob``.
    """

    def __init__(self, repo: GitRepo, blobs: Iterable[str]) -> None:
        self._repo = repo
        self._order = list(dict.fromkeys(blobs))
        self._index = {blob: i for i, blob in enumerate(self._order)}
        self._next = 0  # index in ``_order`` of the blob git sends next
        self._process: subprocess.Popen[bytes] | None = None
        if self._order:
            try:
                with tempfile.TemporaryFile() as ids:
                    ids.write("".join(f"{blob}\n" for blob in self._order).encode())
                    ids.seek(0)
                    self._process = subprocess.Popen(
                        git_command(f"--git-dir={repo._repo.git_dir}", "cat-file", "--batch"),
                        env=git_environment(),
                        stdin=ids,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL,
                    )
            except OSError:  # no room for the list, or no process to spare: read each blob the ordinary way
                return
            _RUNNING.add(self)
            assert self._process.stdout is not None
            try:  # a bigger pipe lets git run further ahead (Linux only)
                import fcntl

                fcntl.fcntl(self._process.stdout.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)
            except (ImportError, AttributeError, OSError):
                pass

    def read(self, blob: str) -> bytes:
        """The blob's content (as ``GitRepo.blob``)."""
        index = self._index.get(blob, -1)
        while self._process is not None and self._next <= index:
            data = self._take()
            self._next += 1
            if self._next == len(self._order):
                self.close()  # all given: git has nothing more to send
            if self._next > index and data is not None:
                return data
        return self._repo.blob(blob)

    def _take(self) -> bytes | None:
        """The next blob git sends (None: git has no such blob, or the stream ended and is closed)."""
        assert self._process is not None and self._process.stdout is not None
        header = self._process.stdout.readline().split()
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            data = self._process.stdout.read(size + 1)[:size]
            if len(data) == size:
                return data
        elif len(header) == 2:
            return None
        self.close()  # out of step or ended: ordinary reads from here on
        return None

    def close(self) -> None:
        if self._process is not None:
            self._process.kill()
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process.wait()
            self._process = None
            _RUNNING.discard(self)

    def __enter__(self) -> BlobStream:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def parse_log(out: bytes) -> list[Commit]:
    """The commits of ``git log -z --raw`` output in ``_FORMAT``, each field checked for its shape.

    Fields and paths are NUL-separated, so no subject, name or path can pose as another field; output of any
    other shape stops the walk with an error rather than be guessed at.
    """
    tokens = out.split(b"\x00")
    commits: list[Commit] = []
    index = 0
    while index < len(tokens) and tokens[index].strip(b"\n"):
        header = tokens[index : index + _FIELDS]
        index += _FIELDS
        changes: list[Change] = []
        while index < len(tokens) and (raw := _RAW.match(tokens[index])) is not None:
            paths = 2 if raw.group(5) in (b"R", b"C") else 1
            if index + paths >= len(tokens) or not all(tokens[index + 1 : index + 1 + paths]):
                raise GitError("git log gave a change without its path")
            changes.append(_change(raw, [_text(p) for p in tokens[index + 1 : index + 1 + paths]]))
            index += 1 + paths
        commits.append(_commit(header, tuple(changes)))
        if index < len(tokens) and tokens[index] == b"":
            index += 1  # a commit that changed nothing listed ends with an empty field
    if any(tokens[index:]):
        raise GitError("git log gave output calcheck does not understand; is this a git repository?")
    return commits


def _commit(header: list[bytes], changes: tuple[Change, ...]) -> Commit:
    if len(header) != _FIELDS:
        raise GitError("git log ended in the middle of a commit")
    sha, parents, author, email, authored, committed, subject = header
    sha = sha.lstrip(b"\n")
    shapes = [_SHA.match(sha), _DATE.match(authored), _DATE.match(committed)]
    if not all(shapes) or (parents and not all(_SHA.match(parent) for parent in parents.split(b" "))):
        raise GitError(f"git log gave a commit calcheck does not understand near {_text(sha[:40])!r}")
    return Commit(
        _text(sha),
        tuple(_text(parents).split()),
        _text(author),
        _text(email),
        _when(authored),
        _text(subject),
        changes,
        _when(committed),
    )


def _when(text: bytes) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text.decode("ascii").replace("Z", "+00:00"))
    except ValueError:
        raise GitError(f"git log gave a date calcheck does not understand: {_text(text)!r}") from None


def _change(raw: re.Match[bytes], paths: list[str]) -> Change:
    """One file of a commit's --raw listing; a side that is a link or a submodule counts as no file."""
    old_mode, new_mode, old_blob, new_blob, letter = raw.groups()
    old_path, new_path = paths[0], paths[-1]
    old = None if set(old_blob) == {ord("0")} or old_mode in _NOT_A_FILE else _text(old_blob)
    new = None if set(new_blob) == {ord("0")} or new_mode in _NOT_A_FILE else _text(new_blob)
    status = _text(letter)
    return Change(status, None if status == "A" else old_path, None if status == "D" else new_path, old, new)


class GitTree:
    """An estate as it was in one commit, read from git objects (no working tree needed)."""

    def __init__(self, repo: GitRepo, commit: str, prefix: str, rev: str) -> None:
        self.repo = repo
        self.commit = commit
        self.prefix = prefix
        self.label = f"{prefix or '.'}@{rev}"
        self.files, self.skipped = repo.tree_entries(commit, prefix)
        self._skipped = frozenset(self.skipped)
        self._stream: BlobStream | None = None

    def yaml_files(self) -> list[str]:
        return sorted(p for p in self.files if p.endswith(YAML_SUFFIXES) and not is_hidden(p))

    def blob_id(self, relative: str) -> str | None:
        return self.files.get(relative)

    def read_ahead(self, relatives: list[str]) -> None:
        """Have git inflate each of these files while the one before is parsed."""
        if self._stream is not None:
            self._stream.close()
        self._stream = self.repo.stream(self.files[p] for p in relatives if p in self.files)

    def read(self, relative: str) -> bytes:
        blob = self.files.get(relative)
        if blob is None:
            raise OSError("not a regular file in this revision")
        return self._stream.read(blob) if self._stream is not None else self.repo.blob(blob)

    def inspect(self, relative: str) -> tuple[FileState, str | None]:
        if unsafe_relative(relative):
            return FileState.OUTSIDE, None
        parts = PurePosixPath(relative).parts  # read as the work tree reads it: 'a//b/./c/' is 'a/b/c'
        if any("/".join(parts[: i + 1]) in self._skipped for i in range(len(parts))):
            return FileState.LINK, None  # a link, or inside one: never followed (as in the work tree)
        blob = self.files.get("/".join(parts))
        if blob is None:
            folder = "/".join(parts) + "/" if parts else ""
            found = any(path.startswith(folder) for path in self.files)
            return (FileState.NOT_A_FILE if found else FileState.MISSING), None
        return FileState.OK, hashlib.sha256(self.repo.blob(blob)).hexdigest()

    def display(self, relative: str) -> str:
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def links(self) -> list[str]:
        """Committed symbolic links and submodules that could hold records (see ``reported_link``)."""
        return [p for p in self.skipped if reported_link(p)]

    def close(self) -> None:
        """End the git processes reading this revision (the read-ahead stream and the repository's readers)."""
        if self._stream is not None:
            self._stream.close()
        self.repo.close()


def open_tree(estate: Path, rev: str) -> GitTree:
    """The estate at ``estate`` (a folder in the work tree, or a path inside a bare repository) at ``rev``."""
    start = estate if estate.exists() else Path.cwd()
    repo = GitRepo(start)
    commit = repo.resolve(rev)
    return GitTree(repo, commit, repo.prefix(estate), rev)


# What ``close_all`` ends when a command is done: GitPython's repositories still alive (a GitRepo may be gone while
# its repository lives on in a reference cycle, which a frozen garbage collector never frees), and every read-ahead
# stream still running (held here until it is closed, so that its process is never lost).
# (By identity: GitPython's repositories compare equal by folder, so a set would keep only one of them.)
_REPOSITORIES: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
_RUNNING: set[BlobStream] = set()
_BATCHES: weakref.WeakSet[_Batch] = weakref.WeakSet()  # calcheck's own cat-file processes


def close_all() -> None:
    """End every git process calcheck started that is still running, and wait for each (no orphans, no zombies)."""
    for stream in list(_RUNNING):
        stream.close()
    for batch in list(_BATCHES):
        batch.close()
    for repository in list(_REPOSITORIES.values()):
        repository.close()
