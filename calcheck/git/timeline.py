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
    repo: GitRepo, prefix: str, commit: str, cal_names: dict[str, str], *, transfers_only: bool = False
) -> HistoryBuilder:
    """A history builder that has walked every commit up to ``commit`` (see ``HistoryBuilder``)."""
    if repo.is_shallow():
        raise UsageError(SHALLOW_HINT)
    commits = repo.log(prefix, commit)
    builder = HistoryBuilder(repo.blob, cal_names, prefix, transfers_only=transfers_only)
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
        builder = builder_at(repo, prefix, repo.resolve(rev or "HEAD"), cal_names, transfers_only=True)
        if rev is None and not repo.bare:
            _add_uncommitted(repo, prefix, builder, as_of)
        return Timeline(builder.history.transfers)


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


def edit_timelines(
    estate: Path, as_of: dt.date, overrides: dict[str, bytes], cal_names: dict[str, str]
) -> tuple[Timeline, Timeline]:
    """The transfers a check sees now, and after an edit that writes ``overrides`` (paths relative to ``estate``).

    One walk of the history serves both: an edit is judged by the 90-day rule exactly as the next check of the
    committed history and the work tree will judge it.
    """
    repo = open_repo(estate)
    if repo is None:
        return Timeline(), Timeline()
    with repo:
        if repo.bare or not repo.has_commits():
            return Timeline(), Timeline()
        if repo.is_shallow():
            return Timeline(note=SHALLOW_HINT), Timeline(note=SHALLOW_HINT)
        prefix = repo.prefix(estate)
        builder = builder_at(repo, prefix, repo.resolve("HEAD"), cal_names, transfers_only=True)
        state, since, walked = dict(builder.state), dict(builder.effective_since), len(builder.history.transfers)
        _add_uncommitted(repo, prefix, builder, as_of)
        now = Timeline(list(builder.history.transfers))
        builder.state, builder.effective_since = state, since  # back to HEAD, for the edited work tree
        del builder.history.transfers[walked:]
        inside = f"{prefix}/" if prefix else ""
        _add_uncommitted(repo, prefix, builder, as_of, {inside + path: raw for path, raw in overrides.items()})
        return now, Timeline(builder.history.transfers)


def _message(repo: GitRepo, sha: str) -> Callable[[], str]:
    return lambda: repo.message(sha)
