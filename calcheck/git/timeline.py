"""Git history for a check: the CAL transfers since the estate began, committed and uncommitted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from calcheck.core.errors import UsageError
from calcheck.estate.cache import FileCache
from calcheck.estate.transfers import UNCOMMITTED, Timeline, dumps, loads, plain_timeline, timeline_of
from calcheck.estate.yamlload import gc_paused
from calcheck.git.histcache import (
    HistoryCache,
    ShardLost,
    Snapshot,
    chain_keys,
    decode_entries,
    encode_entries,
    open_history_cache,
    read_whole,
    walk_key,
)
from calcheck.git.history import Entry, HistoryBuilder, Records, parse_records, pr_title
from calcheck.git.repo import SHALLOW_HINT, Commit, GitRepo


def open_repo(estate: Path) -> GitRepo | None:
    try:
        return GitRepo(estate if estate.exists() else Path.cwd())
    except UsageError:
        return None


def revisions_read(estate: Path, revs: list[str | None]) -> list[str]:
    """What reading the estate at ``revs`` (None: the work tree) takes from git besides the files of the work tree:
    each revision's commit (which fixes its tree and its history; the work tree's history is HEAD's), the estate's
    place in the repository, and whether the repository is shallow or bare (UsageError as the reading would)."""
    repo = open_repo(estate)
    if repo is None:
        return ["no repository"]
    with repo:
        found = [f"prefix {repo.prefix(estate)}", f"bare {repo.bare}", f"shallow {repo.is_shallow()}"]
        for rev in revs:
            if rev is not None:
                found.append(f"commit {repo.resolve(rev)}")
            elif repo.has_commits():  # and the files git takes for changed since (what it ignores is not)
                found.append(f"work tree at {repo.resolve('HEAD')}")
                changed = [] if repo.bare else repo.changed_files(repo.prefix(estate))
                found.extend(f"changed {name}" for name in changed)
            else:
                found.append("work tree, no commit")
        return found


def logs_kept(cache: FileCache | None) -> Path | None:
    """Where git's answers to ``log`` are kept (see ``GitRepo.log``), beside the file and history caches."""
    return cache.directory / "logs" if cache is not None else None


def builder_at(
    repo: GitRepo,
    prefix: str,
    commit: str,
    cal_names: dict[str, str],
    *,
    transfers_only: bool = False,
    latest: dt.date | None = None,
    cache: FileCache | None = None,
    then: Callable[[HistoryBuilder], None] | None = None,
    commits: list[Commit] | None = None,
) -> HistoryBuilder:
    """A history builder that has walked every commit up to ``commit`` (see ``HistoryBuilder``), then ``then``.

    With ``cache`` (the file cache: the history cache lives beside it), the walk resumes after the last commit whose
    state is cached (the earlier entries are read from the cache), and what it walks is cached in turn: the answer is
    the same (see ``calcheck.git.histcache``). A resumed state reads its shards as the walk and ``then`` use them;
    should one turn out missing or damaged, both run again from the first commit. ``commits``: ``repo.log(prefix,
    commit)`` when the caller has it already.
    """
    if repo.is_shallow():
        raise UsageError(SHALLOW_HINT)
    if commits is None:
        commits = repo.log(prefix, commit, logs_kept(cache))
    store = open_history_cache(cache.directory) if cache is not None else None

    def walked(resume: bool) -> HistoryBuilder:
        builder = HistoryBuilder(repo.blob, cal_names, prefix, transfers_only=transfers_only, latest=latest)
        if store is None:
            _walk(repo, builder, commits)
        else:
            _walk_cached(repo, builder, commits, store, walk_key(prefix, cal_names, transfers_only), resume=resume)
        if then is not None:
            then(builder)
        return builder

    with gc_paused(freeze=True):  # the walk (or the cache) builds many long-lived records
        try:
            return walked(resume=True)
        except ShardLost:
            return walked(resume=False)


def entries_at(
    repo: GitRepo,
    prefix: str,
    commit: str,
    cal_names: dict[str, str],
    cache: FileCache | None = None,
    details: bool = True,
) -> list[Entry]:
    """The history's entries up to ``commit`` (``builder_at``'s), from the cache alone when it has them all.

    Without ``details`` the caller uses only the texts of summarised events, not the events they summarise (those of
    cached entries are then read if ever used: see ``HistoryCache.entry``).
    """
    if repo.is_shallow():
        raise UsageError(SHALLOW_HINT)
    if cache is None:
        return builder_at(repo, prefix, commit, cal_names).history.entries
    store = HistoryCache(cache.directory / "history")
    commits = repo.log(prefix, commit, logs_kept(cache))
    walk = walk_key(prefix, cal_names, False)
    with gc_paused(freeze=True):
        keys = chain_keys(walk, commits, None)
        known = _cached_entries(store, walk, keys, commits, details)
        if len(known) == len(commits):
            store.used(walk)
            return known
        builder = HistoryBuilder(repo.blob, cal_names, prefix)
        try:
            _walk_cached(repo, builder, commits, store, walk, known, keys=keys)
        except ShardLost:
            builder = HistoryBuilder(repo.blob, cal_names, prefix)
            _walk_cached(repo, builder, commits, store, walk, known, keys=keys, resume=False)
    return builder.history.entries


def _walk(repo: GitRepo, builder: HistoryBuilder, commits: list[Commit], keep: Keep | None = None) -> None:
    """Apply ``commits`` to ``builder`` in order, reading their files ahead; ``keep`` is given each entry."""
    with repo.stream(builder.blobs_needed(commits)) as blobs:
        builder.read_blob = blobs.read  # read ahead on another core
        for index, record in enumerate(commits):
            title = record.subject if builder.transfers_only else pr_title(record.subject, _message(repo, record.sha))
            entry = builder.add(record, title)
            if keep is not None:
                keep(index, entry)
        builder.read_blob = repo.blob


Keep = Callable[[int, Entry], None]


def _walk_cached(
    repo: GitRepo,
    builder: HistoryBuilder,
    commits: list[Commit],
    store: HistoryCache,
    walk: str,
    known: list[Entry] | None = None,
    *,
    keys: list[str] | None = None,
    resume: bool = True,
) -> None:
    """Resume from the latest cached state, walk the rest, and cache what was walked (``known``: cached entries;
    ``keys``: the commits' keys, if known).

    ``ShardLost``: a shard of the state resumed from is missing or damaged (the builder is then half walked).
    """
    if keys is None:
        keys = chain_keys(walk, commits, builder.latest)
    if known is None:
        known = [] if builder.transfers_only else _cached_entries(store, walk, keys, commits)
    prior = _resume(store, walk, keys, builder, known) if resume else None
    done = keys.index(prior.key) + 1 if prior is not None else 0
    if done == len(commits):
        store.used(walk)
        return
    shas = [] if builder.transfers_only else [commit.sha for commit in commits]
    keep: Keep | None = None if builder.transfers_only else store.keeper(walk, keys, shas, done)  # packs, mostly
    _walk(repo, builder, commits[done:], keep)
    got = builder.history
    after = Snapshot(builder.state, builder.effective_since, builder.gone, got.transfers, got.reused, got.ids)
    after.ids_stored = prior.ids_stored if prior is not None else None
    store.put_snapshot(walk, keys[-1], after)


def _resume(
    store: HistoryCache, walk: str, keys: list[str], builder: HistoryBuilder, known: list[Entry]
) -> Snapshot | None:
    """Put the cached state after the latest cached commit (returned) into ``builder``; None: none is cached.

    A full history resumes only where the entries of every commit up to there are cached (``known``).
    """
    last = len(keys) if builder.transfers_only else len(known)
    for index in range(last - 1, -1, -1):
        if not store.has_snapshot(walk, keys[index]):
            continue
        snapshot = store.snapshot(walk, keys[index])
        if snapshot is None:
            continue
        builder.state, builder.effective_since, builder.gone = snapshot.state, snapshot.effective_since, snapshot.gone
        history = builder.history
        history.entries = [] if builder.transfers_only else known[: index + 1]
        history.transfers, history.reused, history.ids = snapshot.transfers, snapshot.reused, snapshot.ids
        return snapshot
    return None


def _cached_entries(
    store: HistoryCache, walk: str, keys: list[str], commits: list[Commit], details: bool = True
) -> list[Entry]:
    """The cached entries of the first commits, up to the first one not cached."""
    return store.entries(walk, keys, [commit.sha for commit in commits], details)


def timeline_for(
    estate: Path, rev: str | None, as_of: dt.date, cal_names: dict[str, str], cache: FileCache | None = None
) -> Timeline:
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
        commit = repo.resolve(rev or "HEAD")
        then = partial(_add_uncommitted, repo, prefix, as_of=as_of) if rev is None and not repo.bare else None
        builder = builder_at(repo, prefix, commit, cal_names, transfers_only=True, latest=as_of, cache=cache, then=then)
        history = builder.history
        return Timeline(history.transfers, reused=history.reused, ids=frozenset(history.ids))


def history_with_timeline(
    estate: Path, as_of: dt.date, cal_names: dict[str, str], cache: FileCache | None = None
) -> tuple[list[Entry], Timeline]:
    """HEAD's history entries (``entries_at``'s; none without a full history) and the work tree's transfers on
    ``as_of`` (``timeline_for``'s), from one walk when both walks would find the same transfers.

    A check's walk follows only the assignments and dates each commit no later than ``as_of``; a full walk follows
    every record and gives each commit its own date. The transfers they find are the same when no commit is dated
    after ``as_of`` (``tests/test_history_shapes.py``, ``tests/test_site_fast.py``): the full walk is then also the
    check's, its uncommitted changes applied after HEAD's entries are taken. Otherwise each is walked on its own.
    """
    repo = open_repo(estate)
    if repo is None:
        return [], Timeline()
    with repo:  # its git processes end here
        if not repo.has_commits():
            return [], Timeline()
        if repo.is_shallow():
            return [], Timeline(note=SHALLOW_HINT)
        prefix = repo.prefix(estate)
        head = repo.resolve("HEAD")
        commits = repo.log(prefix, head, logs_kept(cache))
        if any(commit.committed.date() > as_of for commit in commits):
            return entries_at(repo, prefix, head, cal_names, cache), timeline_for(estate, None, as_of, cal_names, cache)
        taken: list[Entry] = []

        def then(builder: HistoryBuilder) -> None:
            taken[:] = builder.history.entries  # HEAD's: the uncommitted changes add none
            if not repo.bare:
                _add_uncommitted(repo, prefix, builder, as_of=as_of)

        history = builder_at(repo, prefix, head, cal_names, cache=cache, then=then, commits=commits).history
        return taken, Timeline(history.transfers, reused=history.reused, ids=frozenset(history.ids))


def encode_history(found: tuple[list[Entry], Timeline]) -> bytes | None:
    """``history_with_timeline``'s answer as bytes (``decode_history`` gives it back exactly): the entries as the
    history cache encodes them (``encode_entries``), the timeline as a forked check's walk sends it
    (``calcheck.estate.transfers``). None: it cannot be written (the answer is then worked out again)."""
    entries, timeline = found
    try:
        return dumps({"entries": encode_entries(entries), "timeline": plain_timeline(timeline)})
    except (ValueError, TypeError, RecursionError, UnicodeEncodeError):
        return None


def decode_history(body: bytes) -> tuple[list[Entry], Timeline] | None:
    """What ``encode_history`` wrote, checked field by field; None if it is not exactly that."""
    try:
        found = loads(body)
        if type(found) is not dict or set(found) != {"entries", "timeline"}:
            return None
        entries = decode_entries(found["entries"])
        return (entries, timeline_of(found["timeline"])) if entries is not None else None
    except (ValueError, TypeError, KeyError, RecursionError, UnicodeDecodeError):
        return None


def _add_uncommitted(
    repo: GitRepo, prefix: str, builder: HistoryBuilder, as_of: dt.date, overrides: dict[str, bytes] | None = None
) -> None:
    """Apply the work tree's changes since HEAD (with ``overrides``: files as an edit would write them; one that git
    ignores is not among the changes once written, as the check after the edit will find)."""
    overrides = overrides or {}
    if overrides:
        hidden = repo.ignored(sorted(overrides))
        overrides = {path: raw for path, raw in overrides.items() if path not in hidden}
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

    def __init__(self, estate: Path, as_of: dt.date, cal_names: dict[str, str], cache: FileCache | None = None) -> None:
        self.now = Timeline()
        self._as_of = as_of
        self._repo = open_repo(estate)
        self._walked: tuple[HistoryBuilder, str, _AtHead] | None = None
        if self._repo is None:
            return
        with self._repo:  # its git processes end here (and again after each later use)
            if self._repo.bare or not self._repo.has_commits():
                return
            if self._repo.is_shallow():
                self.now = Timeline(note=SHALLOW_HINT)
                return
            prefix = self._repo.prefix(estate)
            head = self._repo.resolve("HEAD")
            repo = self._repo
            taken: list[_AtHead] = []

            def then(builder: HistoryBuilder) -> None:
                taken[:] = [_AtHead.of(builder)]  # as at HEAD, before the work tree's changes
                _add_uncommitted(repo, prefix, builder, as_of)

            walk = partial(builder_at, transfers_only=True, latest=as_of, cache=cache, then=then)
            builder = walk(repo, prefix, head, cal_names)
            self.now = _timeline(builder)
            self._walked = (builder, prefix, taken[0])

    def after(self, overrides: dict[str, bytes]) -> Timeline:
        """The transfers once files are written as ``overrides`` (contents by path relative to the estate)."""
        if self._walked is None or self._repo is None:
            return Timeline(note=self.now.note)
        builder, prefix, at_head = self._walked
        at_head.restore(builder)
        inside = f"{prefix}/" if prefix else ""
        with self._repo:
            overrides = {inside + p: raw for p, raw in overrides.items()}
            _add_uncommitted(self._repo, prefix, builder, self._as_of, overrides)
        return _timeline(builder)


@dataclass(frozen=True)
class _AtHead:
    """What applying the work tree's changes alters in a walked builder, as it was at HEAD."""

    state: Records
    since: dict[str, dt.date]
    gone: dict[str, str]
    transfers: int
    reused: int
    ids: frozenset[str]

    @classmethod
    def of(cls, builder: HistoryBuilder) -> _AtHead:
        for part in (builder.state, builder.effective_since, builder.gone):
            read_whole(part)  # copied whole: a state resumed from the cache reads every shard
        history = builder.history
        return cls(
            builder.state.copy(),  # plain dicts (a state read from the cache copies what it read, all of it)
            builder.effective_since.copy(),
            builder.gone.copy(),
            len(history.transfers),
            len(history.reused),
            frozenset(history.ids),
        )

    def restore(self, builder: HistoryBuilder) -> None:
        """Put ``builder`` back to HEAD (the work tree's changes are then applied again, with an edit's files)."""
        builder.state, builder.effective_since, builder.gone = dict(self.state), dict(self.since), dict(self.gone)
        history = builder.history
        del history.transfers[self.transfers :]
        del history.reused[self.reused :]
        history.ids = set(self.ids)


def _timeline(builder: HistoryBuilder) -> Timeline:
    """What a walked history tells a check: the transfers, and the assignment ids it has seen (and reused)."""
    history = builder.history
    return Timeline(list(history.transfers), reused=list(history.reused), ids=frozenset(history.ids))


def _message(repo: GitRepo, sha: str) -> Callable[[], str]:
    return lambda: repo.message(sha)


def timelines_for(
    estate: Path, base: str, head: str | None, as_of: dt.date, cal_names: dict[str, str]
) -> tuple[Timeline, Timeline] | None:
    """``timeline_for`` at ``base`` and at ``head`` (None: the work tree) from one walk, when ``base``'s history is
    the start of ``head``'s (a diff against an earlier commit): the walk to ``head`` passes ``base`` on its way, and
    what a walk has found after a commit never depends on the commits after it. None: walk each on its own."""
    repo = open_repo(estate)
    if repo is None:
        return None
    with repo:
        if not repo.has_commits() or repo.is_shallow():
            return None
        prefix = repo.prefix(estate)
        earlier = repo.log(prefix, repo.resolve(base))
        commits = repo.log(prefix, repo.resolve(head or "HEAD"))
        if [c.sha for c in commits[: len(earlier)]] != [c.sha for c in earlier]:
            return None
        builder = HistoryBuilder(repo.blob, cal_names, prefix, transfers_only=True, latest=as_of)
        at_base = [Timeline()]

        def keep(index: int, entry: Entry) -> None:
            if index == len(earlier) - 1:
                at_base[0] = _timeline(builder)

        with gc_paused(freeze=True):
            _walk(repo, builder, commits, keep)
        if head is None and not repo.bare:
            _add_uncommitted(repo, prefix, builder, as_of)
        return at_base[0], _timeline(builder)
