"""Git history for a check: the CAL transfers since the estate began, committed and uncommitted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from calcheck.core.errors import UsageError
from calcheck.estate.transfers import UNCOMMITTED, Timeline
from calcheck.estate.yamlload import gc_paused
from calcheck.git.history import HistoryBuilder, Records, parse_records, pr_title
from calcheck.git.repo import SHALLOW_HINT, GitRepo


def open_repo(estate: Path) -> GitRepo | None:
    try:
        return GitRepo(estate if estate.exists() else Path.cwd())
    except UsageError:
        return None


def builder_at(
    repo: GitRepo,
    prefix: str,
    commit: str,
    cal_names: dict[str, str],
    *,
    transfers_only: bool = False,
    latest: dt.date | None = None,
) -> HistoryBuilder:
    """A history builder that has walked every commit up to ``commit`` (see ``HistoryBuilder``)."""
    if repo.is_shallow():
        raise UsageError(SHALLOW_HINT)
    commits = repo.log(prefix, commit)
    builder = HistoryBuilder(repo.blob, cal_names, prefix, transfers_only=transfers_only, latest=latest)
    with repo.stream(builder.blobs_needed(commits)) as blobs, gc_paused(freeze=True):
        builder.read_blob = blobs.read  # read ahead on another core; the walk builds many long-lived records
        for record in commits:
            title = record.subject if transfers_only else pr_title(record.subject, _message(repo, record.sha))
            builder.add(record, title)
        builder.read_blob = repo.blob
    return builder


def timeline_for(estate: Path, rev: str | None, as_of: dt.date, cal_names: dict[str, str]) -> Timeline:
    """Transfers for the 90-day rule, from git when the estate is in a repository (else none)."""
    repo = open_repo(estate)
    if repo is None:
        return Timeline()
    with repo:  # its git processes end here
        if not repo.has_commits():
            return Timeline()
        if repo.is_shallow():
            return Timeline(note=SHALLOW_HINT)
        prefix = repo.prefix(estate)
        builder = builder_at(repo, prefix, repo.resolve(rev or "HEAD"), cal_names, transfers_only=True, latest=as_of)
        if rev is None and not repo.bare:
            _add_uncommitted(repo, prefix, builder, as_of)
        history = builder.history
        return Timeline(history.transfers, reused=history.reused, ids=frozenset(history.ids))


def _add_uncommitted(
    repo: GitRepo, prefix: str, builder: HistoryBuilder, as_of: dt.date, overrides: dict[str, bytes] | None = None
) -> None:
    """Apply the work tree's changes since HEAD (with ``overrides``: files as an edit would write them)."""
    overrides = overrides or {}
    changed = sorted({*repo.changed_files(prefix), *overrides})
    if not changed:
        return
    head = repo.tree(repo.resolve("HEAD"), "")
    before: Records = {}
    after: Records = {}
    for path in changed:
        if path in head:
            for key, record in parse_records(path, repo.blob(head[path])):
                before[key] = (path, record)
        on_disk = repo.top / path
        if path in overrides:
            content: bytes | None = overrides[path]
        else:
            content = on_disk.read_bytes() if on_disk.is_file() and not on_disk.is_symlink() else None
        for key, record in parse_records(path, content) if content is not None else ():
            after[key] = (path, record)
    builder.apply(before, after, as_of, UNCOMMITTED)


class EditHistory:
    """The git history walked once for an edit: the transfers a check sees now, and as an edit would leave things.

    An edit is so judged by the 90-day rule exactly as the next check will judge it: the committed history, the
    work tree's uncommitted changes, and the files the edit would write.
    """

    def __init__(self, estate: Path, as_of: dt.date, cal_names: dict[str, str]) -> None:
        self.now = Timeline()
        self._as_of = as_of
        self._repo = open_repo(estate)
        self._walked: tuple[HistoryBuilder, str, Records, dict[str, dt.date], int] | None = None
        if self._repo is None:
            return
        with self._repo:  # its git processes end here (and again after each later use)
            if self._repo.bare or not self._repo.has_commits():
                return
            if self._repo.is_shallow():
                self.now = Timeline(note=SHALLOW_HINT)
                return
            prefix = self._repo.prefix(estate)
            builder = builder_at(
                self._repo, prefix, self._repo.resolve("HEAD"), cal_names, transfers_only=True, latest=as_of
            )
            state, since, count = dict(builder.state), dict(builder.effective_since), len(builder.history.transfers)
            _add_uncommitted(self._repo, prefix, builder, as_of)
            self.now = _timeline(builder)
            self._walked = (builder, prefix, state, since, count)

    def after(self, overrides: dict[str, bytes]) -> Timeline:
        """The transfers once files are written as ``overrides`` (contents by path relative to the estate)."""
        if self._walked is None or self._repo is None:
            return Timeline(note=self.now.note)
        builder, prefix, state, since, count = self._walked
        builder.state, builder.effective_since = dict(state), dict(since)  # back to HEAD
        del builder.history.transfers[count:]
        inside = f"{prefix}/" if prefix else ""
        with self._repo:
            _add_uncommitted(
                self._repo, prefix, builder, self._as_of, {inside + p: raw for p, raw in overrides.items()}
            )
        return _timeline(builder)


def _timeline(builder: HistoryBuilder) -> Timeline:
    """What a walked history tells a check: the transfers, and the assignment ids it has seen (and reused)."""
    history = builder.history
    return Timeline(list(history.transfers), reused=list(history.reused), ids=frozenset(history.ids))


def _message(repo: GitRepo, sha: str) -> Callable[[], str]:
    return lambda: repo.message(sha)
