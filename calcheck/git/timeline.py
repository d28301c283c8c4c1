"""Git history for a check: the CAL transfers since the estate began, committed and uncommitted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from calcheck.core.errors import UsageError
from calcheck.estate.transfers import Timeline
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
    if repo is None or not repo.has_commits():
        return Timeline()
    if repo.is_shallow():
        return Timeline(note=SHALLOW_HINT)
    prefix = repo.prefix(estate)
    builder = builder_at(repo, prefix, repo.resolve(rev or "HEAD"), cal_names, transfers_only=True, latest=as_of)
    if rev is None and not repo.bare:
        _add_uncommitted(repo, prefix, builder, as_of)
    return Timeline(builder.history.transfers)


def _add_uncommitted(repo: GitRepo, prefix: str, builder: HistoryBuilder, as_of: dt.date) -> None:
    changed = repo.changed_files(prefix)
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
        if on_disk.is_file() and not on_disk.is_symlink():
            for key, record in parse_records(path, on_disk.read_bytes()):
                after[key] = (path, record)
    builder.apply(before, after, as_of, "uncommitted")


def _message(repo: GitRepo, sha: str) -> Callable[[], str]:
    return lambda: repo.message(sha)
