"""A content-addressed cache of the history walk, so a history that grew by one commit costs one commit's work.

A walk (``HistoryBuilder`` over ``git log --first-parent``) turns each commit into an entry (its events) and
updates a state (every record, when each assignment took effect, removed ids, transfers, reused ids). What a
commit gives depends on the state before it, that is on every commit before it in the walk, so each commit's key
chains the key of the one before it with the commit as git listed it: its id, its changed files (paths and blob
ids, which git already derives from their content) and the date the walk gives it (the committer date, no later
than a check's ``--as-of``). The chain starts from a digest of what every walk depends on besides the commits:
calcheck's version and the source of the code that reads and describes records (``estate/``, ``core/``, ``git/``),
the library versions the file cache is keyed by, the estate's path in the repository, the built-in catalogue's
CAL names, the walk's kind (a full history, or the transfers a check needs) and its parent choice (first parent).
A key so names exactly one walk up to one commit: an amended or rebased commit, another estate path or other code
gives other keys, so an entry is never stale and nothing is ever invalidated, only left unused.

Two kinds of entries: a commit's entry (its events: only for a full history) under its key, and a snapshot of the state
after a commit, also under its key, from which a walk resumes. The events a commit's summaries stand for
(``Event.detail``) are kept in a file of their own beside its entry, read only by what prints them. The entries of each
run of ``PACK`` commits from the first are kept together in one file (a pack), read in one go: a walk writes each run it
fills as its pack (a walk resumed inside a run packs it with the run's earlier entries, read back) and only the commits
after the last such run one file each, and a run read whole from its commits' own files is packed as it is read. A walk
also names each pack it writes by its run's first commit's key (a small file), so that a history up to a commit inside
the run reads the commits a pack holds out of it. A snapshot is a small head (the transfers and reused ids) naming a
file of every assignment id seen and ``BUCKETS`` shards by the SHA-256 of their contents; each shard holds the records
(and the assignments' dates and removed ids) whose key falls in its bucket. A resumed walk reads a shard only when it
first uses a record of its bucket, so one commit more reads the few shards that commit touches, and stores a new head
and only the shards that changed: the others are shared by content. Only the last ``HEADS_KEPT`` heads of each kind of
walk are kept, and the shards no kept head names; entries are small and kept. All are JSON (never pickle) after a line
with the SHA-256 of that JSON, written atomically through an exclusive temporary file renamed over the target, read
without following a link, and decoded field by field: anything else (a truncated, edited or forged file) is a miss, and
the walk reads that part of the history again and writes it anew (a shard found missing or damaged while a resumed walk
reads it stops that walk: ``ShardLost``, and the caller walks again without resuming).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import operator
import os
import shutil
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, partial
from itertools import chain, compress
from pathlib import Path
from typing import Any, Generic, TypeVar

from calcheck import __version__
from calcheck.core.errors import CalcheckError
from calcheck.estate.cache import read_entry, reader_digest, write_entry
from calcheck.estate.transfers import Reuse, Transfer
from calcheck.git.history import Entry, Event, RecordKey, Records
from calcheck.git.repo import Commit

FORMAT = "calcheck-history-cache/2"
BUCKETS = 256  # shards per snapshot: one commit more reads and writes a few of them
PACK = 128  # commits' entries read from one file, from the first commit on
HEADS_KEPT = 8  # snapshots per kind of walk: enough for a check, a diff's base and a site build
WALKS_KEPT = 8  # kinds of walk (estate paths, calcheck versions) whose entries and snapshots are kept


class _Invalid(Exception):
    """An entry that does not decode exactly as it was written."""


class ShardLost(Exception):
    """A shard of a resumed snapshot turned out missing or damaged when first read: walk again without resuming."""


def bucket_of(key: RecordKey) -> int:
    """The shard a record's key belongs to (the same in every process: not Python's salted ``hash``)."""
    return zlib.crc32(f"{key[0]}\0{key[1]}".encode("utf-8", "surrogatepass")) % BUCKETS


def _assignment_bucket(aid: str) -> int:
    """An assignment's date and removal are kept in the shard of its record."""
    return bucket_of(("assignments", aid))


@dataclass(slots=True)
class Snapshot:
    """The walk's state after a commit: what it needs to go on, and what it has gathered for a check."""

    state: Records
    effective_since: dict[str, dt.date]
    gone: dict[str, str]
    transfers: list[Transfer] = field(default_factory=list)
    reused: list[Reuse] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    key: str = ""  # the key it is stored under ("": not stored)
    ids_stored: tuple[str, list[str], int] | None = None  # the file of ids it was read with, its ids, how many


# --- a snapshot's state, read a shard at a time ---------------------------------------------------------------

K = TypeVar("K")
V = TypeVar("V")


class _Shards:
    """The shards of a stored snapshot: which are still unread, and which buckets the walk has changed since."""

    def __init__(self, store: HistoryCache, walk: str, digests: list[str | None]) -> None:
        self.store, self.walk, self.digests = store, walk, digests
        self.unread = {bucket for bucket, digest in enumerate(digests) if digest is not None}
        self.changed: set[int] = set()
        self.parts: tuple[dict[RecordKey, Any], dict[str, dt.date], dict[str, str]] = ({}, {}, {})

    def read(self, bucket: int) -> None:
        """Add a bucket's records, dates and removed ids to the three mappings (``ShardLost`` when it cannot)."""
        digest = self.digests[bucket]
        assert digest is not None
        state, since, gone = self.store.shard(self.walk, digest, bucket)
        self.unread.discard(bucket)  # only now: a shard that cannot be read stays unread, and fails every use
        dict.update(self.parts[0], state)
        dict.update(self.parts[1], since)
        dict.update(self.parts[2], gone)

    def read_all(self) -> None:
        for bucket in sorted(self.unread):
            self.read(bucket)


class LazyDict(dict[K, V], Generic[K, V]):
    """A dict whose keys of a bucket are read from the snapshot's shard when one of them is first used.

    A bucket is read before any key of it is looked up, set or removed, so what is read never overrides what the
    walk has since changed; whatever needs every key (iteration, length, comparison, copies) reads every shard first.
    The walk (``HistoryBuilder``) uses it as the dict it is.
    """

    __slots__ = ("_bucket", "_shards")

    def __init__(self, shards: _Shards, bucket: Callable[[K], int]) -> None:
        super().__init__()
        self._shards, self._bucket = shards, bucket

    @property
    def shards(self) -> _Shards:
        return self._shards

    def _use(self, key: K, change: bool = False) -> None:
        bucket = self._bucket(key)
        if bucket in self._shards.unread:
            self._shards.read(bucket)
        if change:
            self._shards.changed.add(bucket)

    def _whole(self) -> None:
        if self._shards.unread:
            self._shards.read_all()

    def __getitem__(self, key: K) -> V:
        self._use(key)
        return dict.__getitem__(self, key)

    def __contains__(self, key: object) -> bool:
        self._use(key)  # type: ignore[arg-type]
        return dict.__contains__(self, key)

    def get(self, key: K, default: Any = None) -> Any:
        self._use(key)
        return dict.get(self, key, default)

    def __setitem__(self, key: K, value: V) -> None:
        self._use(key, True)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key: K) -> None:
        self._use(key, True)
        dict.__delitem__(self, key)

    def pop(self, key: K, *default: Any) -> Any:
        self._use(key, True)
        return dict.pop(self, key, *default)

    def setdefault(self, key: K, default: Any = None) -> Any:
        self._use(key, True)
        return dict.setdefault(self, key, default)

    def update(self, *others: Any, **more: V) -> None:
        for key, value in dict(*others, **more).items():
            self[key] = value

    def __ior__(self, other: Any) -> LazyDict[K, V]:  # type: ignore[override]
        self.update(other)
        return self

    def popitem(self) -> tuple[K, V]:
        self._whole()
        key, value = dict.popitem(self)
        self._shards.changed.add(self._bucket(key))
        return key, value

    def clear(self) -> None:
        self._whole()
        self._shards.changed.update(self._bucket(key) for key in dict.keys(self))
        dict.clear(self)

    def __iter__(self) -> Iterator[K]:
        self._whole()
        return dict.__iter__(self)

    def __reversed__(self) -> Iterator[K]:
        self._whole()
        return dict.__reversed__(self)

    def __len__(self) -> int:
        self._whole()
        return dict.__len__(self)

    def keys(self) -> Any:
        self._whole()
        return dict.keys(self)

    def values(self) -> Any:
        self._whole()
        return dict.values(self)

    def items(self) -> Any:
        self._whole()
        return dict.items(self)

    def copy(self) -> dict[K, V]:
        """A plain dict of every key."""
        self._whole()
        return dict.copy(self)

    def __or__(self, other: Any) -> dict[K, V]:  # type: ignore[override]
        return self.copy() | other  # type: ignore[no-any-return]

    def __ror__(self, other: Any) -> dict[K, V]:  # type: ignore[override]
        return dict(other) | self.copy()

    def __eq__(self, other: object) -> bool:
        self._whole()
        if isinstance(other, LazyDict):
            other._whole()
        return dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None

    def __repr__(self) -> str:
        self._whole()
        return dict.__repr__(self)

    def __reduce__(self) -> Any:
        return (dict, (self.copy(),))


def read_whole(mapping: Mapping[Any, Any]) -> None:
    """Read every unread shard of a snapshot's mapping now (a plain dict: nothing to do)."""
    if isinstance(mapping, LazyDict):
        mapping.shards.read_all()


def _lazy_parts(shards: _Shards) -> tuple[Records, dict[str, dt.date], dict[str, str]]:
    state: LazyDict[RecordKey, tuple[str, dict[str, Any]]] = LazyDict(shards, bucket_of)
    since: LazyDict[str, dt.date] = LazyDict(shards, _assignment_bucket)
    gone: LazyDict[str, str] = LazyDict(shards, _assignment_bucket)
    shards.parts = (state, since, gone)
    return state, since, gone


# --- the cache ------------------------------------------------------------------------------------------------


@cache
def _code_digest() -> bytes:
    """The history's own code (the reading code is in ``reader_digest``)."""
    digest = hashlib.sha256(FORMAT.encode() + b"\0" + __version__.encode() + b"\0" + reader_digest())
    for module in sorted(Path(__file__).resolve().parent.glob("*.py")):
        digest.update(b"\0" + module.name.encode() + b"\0" + module.read_bytes())
    return digest.digest()


def walk_key(prefix: str, cal_names: dict[str, str], transfers_only: bool) -> str:
    """The start of a walk's key chain: everything its results depend on besides the commits."""
    digest = hashlib.sha256(_code_digest())
    names = json.dumps(sorted(cal_names.items()), ensure_ascii=True)
    kind = "transfers" if transfers_only else "full"
    digest.update(f"\0{kind}\0first-parent\0{len(prefix)}:{prefix}\0{names}".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def chain_keys(start: str, commits: Sequence[Commit], latest: dt.date | None) -> list[str]:
    """Each commit's key: the key before it, the commit's id, the date the walk gives it, and its changed files."""
    keys: list[str] = []
    key = start
    for commit in commits:
        when = commit.committed.date()
        dated = min(when, latest) if latest else when
        changes = [[c.status, c.old_path, c.new_path, c.old_blob, c.new_blob] for c in commit.changes]
        listed = json.dumps([key, commit.sha, dated.isoformat(), changes], ensure_ascii=True)
        key = hashlib.sha256(listed.encode("ascii")).hexdigest()
        keys.append(key)
    return keys


@dataclass(frozen=True, slots=True)
class HistoryCache:
    """Commits' entries and walk snapshots, by key (see the module's documentation)."""

    directory: Path

    def _entry_path(self, walk: str, key: str) -> Path:
        return self.directory / walk / "entries" / key[:2] / f"{key}.json"

    def _head_path(self, walk: str, key: str) -> Path:
        return self.directory / walk / "snapshots" / f"{key}.json"

    def _shard_path(self, walk: str, digest: str) -> Path:
        return self.directory / walk / "shards" / f"{digest}.json"

    def used(self, walk: str) -> None:
        """Mark a kind of walk as used now: the least recently used beyond ``WALKS_KEPT`` are removed."""
        with contextlib.suppress(OSError, NotImplementedError):
            os.utime(self.directory / walk, follow_symlinks=False)

    def _details_path(self, walk: str, key: str) -> Path:
        return self.directory / walk / "entries" / key[:2] / f"{key}.details.json"

    def _pack_path(self, walk: str, key: str) -> Path:
        return self.directory / walk / "entries" / "packs" / f"{key}.json"

    def _run_path(self, walk: str, key: str) -> Path:
        return self.directory / walk / "entries" / "runs" / f"{key}.json"

    def entry(self, walk: str, key: str, sha: str, details: bool = True) -> Entry | None:
        """The entry of commit ``sha`` under ``key``, or None.

        The events a large commit's are summarised into (``Event.detail``) are kept apart: with ``details`` they are
        read and checked now (None when they cannot be), without they are read when first used, and whoever then
        finds them damaged gets a ``CalcheckError`` (a caller that uses them asks for them).
        """
        value = _loaded(read_entry(self._entry_path(walk, key)))
        return self._entry(walk, key, sha, value, details) if value is not None else None

    def entries(self, walk: str, keys: Sequence[str], shas: Sequence[str], details: bool = True) -> list[Entry]:
        """The entries of the first commits (``entry``'s, by key and commit id), up to the first one not cached.

        Each run of ``PACK`` commits from the first is read from one file (a pack): the walk that filled it wrote it
        (``keeper``), or it is written the first time the run is read whole from its commits' own entries. The last
        commits, when they do not fill their run, are read from their own entries, and those a walk packed out of
        the pack their run's first commit names.
        """
        found: list[Entry] = []
        for start in range(0, len(keys), PACK):
            stop = min(start + PACK, len(keys))
            got = self._packed(walk, keys, shas, start, details) if stop - start == PACK else None
            if got is None:
                values: list[Any] = []
                got = []
                for index in range(start, stop):
                    value = _loaded(read_entry(self._entry_path(walk, keys[index])))
                    entry = self._entry(walk, keys[index], shas[index], value, details) if value is not None else None
                    if entry is None:
                        break
                    values.append(value)
                    got.append(entry)
                if len(got) == PACK:
                    pack = {"format": FORMAT, "key": keys[stop - 1], "entries": values}
                    _write(self._pack_path(walk, keys[stop - 1]), partial(dict, pack))  # (its own files stay)
                elif len(got) < stop - start < PACK:  # the run goes on after these commits: is it packed?
                    got += self._in_run(walk, keys, shas, start, start + len(got), stop, details)
            found += got
            if len(got) < stop - start:
                break
        return found

    def _packed(
        self, walk: str, keys: Sequence[str], shas: Sequence[str], start: int, details: bool
    ) -> list[Entry] | None:
        """The entries of the ``PACK`` commits from ``start`` out of their pack, or None."""
        last = keys[start + PACK - 1]
        try:
            values = _list(_head(_loaded(read_entry(self._pack_path(walk, last))), last, ("entries",))["entries"])
        except (KeyError, _Invalid):
            return None
        if len(values) != PACK:
            return None
        got = []
        for index, value in enumerate(values, start):
            entry = self._entry(walk, keys[index], shas[index], value, details)
            if entry is None:
                return None
            got.append(entry)
        return got

    def _in_run(
        self, walk: str, keys: Sequence[str], shas: Sequence[str], start: int, begin: int, stop: int, details: bool
    ) -> list[Entry]:
        """The entries of the commits from ``begin`` to before ``stop`` (inside the run from ``start``) out of the
        pack the run's first commit names (``_put_run``), up to the first one not there."""
        first = keys[start]
        try:
            last = _text(_head(_loaded(read_entry(self._run_path(walk, first))), first, ("pack",))["pack"])
            if not _is_digest(last):
                raise _Invalid("pack")
            values = _list(_head(_loaded(read_entry(self._pack_path(walk, last))), last, ("entries",))["entries"])
        except (KeyError, _Invalid):
            return []
        got: list[Entry] = []
        for index in range(begin, min(stop, start + len(values))):
            entry = self._entry(walk, keys[index], shas[index], values[index - start], details)
            if entry is None:
                break
            got.append(entry)
        return got

    def _put_run(self, walk: str, first: str, last: str) -> None:
        """Name the pack of a run (by its last commit's key) by the run's first commit's key: a history up to a
        commit inside the run finds it so (a pack ``entries`` writes needs none: its commits' own entries stay)."""
        _write(self._run_path(walk, first), lambda: {"format": FORMAT, "key": first, "pack": last})

    def _entry(self, walk: str, key: str, sha: str, value: Any, details: bool) -> Entry | None:
        """The entry a decoded entry file (or an entry of a pack) holds, or None."""
        try:
            found = _head(value, key, ("sha", "date", "author", "title", "events", "details"))
            if found["sha"] != sha:
                raise _Invalid("another commit")
            texts, ids, groups, has = _columns_checked(found["events"], top=True)
            digest, count = found["details"], sum(has)
            if (digest is None) != (count == 0) or (digest is not None and not _is_digest(_text(digest))):
                raise _Invalid("details")
            lazy = _DetailsLater(self, walk, key, digest or "", count)
            if details and digest is not None:
                lazy.read = self._details(walk, key, digest, count)  # checked now: a miss if damaged
            numbers = iter(range(count))
            made = [lazy.at(next(numbers)) if flag else () for flag in has]
            given = [None if i is None else tuple(i) for i in ids]
            events = tuple(map(Event, texts, given, groups, made))
            return Entry(sha, _datetime(found["date"]), _text(found["author"]), _text(found["title"]), events)
        except (ValueError, TypeError, KeyError, IndexError, RecursionError, _Invalid):
            return None

    def _details(self, walk: str, key: str, digest: str, count: int) -> list[Any]:
        """The checked columns of an entry's ``count`` summarised events' details (``_Invalid`` when damaged)."""
        body = read_entry(self._details_path(walk, key))
        if body is None or hashlib.sha256(body).hexdigest() != digest:
            raise _Invalid("details")
        found = _head(json.loads(body), key, ("details",))
        details = _list(found["details"])
        if len(details) != count:
            raise _Invalid("details")
        for detail in details:
            _check_events(detail)
        return details

    def put_entry(self, walk: str, key: str, entry: Entry) -> None:
        """Store an entry, the details of its summarised events first (apart, so that a history reads them only when
        it prints them)."""
        body = self._entry_body(walk, key, entry)
        if body is not None:
            write_entry(self._entry_path(walk, key), body)

    def _entry_body(self, walk: str, key: str, entry: Entry) -> bytes | None:
        """An entry's JSON as its file (or its pack) holds it, the details of its summarised events written first;
        None when it cannot be stored exactly."""
        try:
            details = [_encode_events(e.detail) for e in entry.events if e.detail]
            body = _dump({"format": FORMAT, "key": key, "details": details}) if details else None
        except (ValueError, TypeError, RecursionError, UnicodeEncodeError):
            return None
        if body is not None and not write_entry(self._details_path(walk, key), body):
            return None
        digest = hashlib.sha256(body).hexdigest() if body is not None else None
        try:
            return _dump(_encode_entry(key, entry, digest))
        except (_Invalid, ValueError, TypeError, RecursionError, UnicodeEncodeError):
            return None

    def keeper(self, walk: str, keys: Sequence[str], shas: Sequence[str], start: int) -> Callable[[int, Entry], None]:
        """What stores the entries of a walk of the commits of ``keys`` (and ids ``shas``) from ``start`` on: given the
        entry of commit ``start + i`` as ``(i, entry)``, in order (see ``_Packer``)."""
        return _Packer(self, walk, keys, shas, start).keep

    def has_snapshot(self, walk: str, key: str) -> bool:
        return self._head_path(walk, key).is_file()

    def snapshot(self, walk: str, key: str) -> Snapshot | None:
        """The state after the commit of ``key`` (its shards read when first used), or None (missing, damaged)."""
        path = self._head_path(walk, key)
        body = read_entry(path)
        if body is None:
            return None
        try:
            found = _head(json.loads(body), key, _HEAD_FIELDS)
            digests = _digests(found["shards"])
            transfers = [_transfer(t) for t in _list(found["transfers"])]
            reused = [_reuse(r) for r in _list(found["reused"])]
            named = found["ids"]
            listed = self._ids(walk, _text(named)) if named is not None else []
            ids = set(listed)
        except (ValueError, TypeError, KeyError, IndexError, RecursionError, _Invalid):
            return None
        self._touch([str(path), *self._shard_names(walk, [*digests, named])])  # kept longest
        state, since, gone = _lazy_parts(_Shards(self, walk, digests))
        stored = (named, listed, len(ids)) if named is not None else None
        return Snapshot(state, since, gone, transfers, reused, ids, key, stored)

    def _ids(self, walk: str, digest: str) -> list[str]:
        """The assignment ids a snapshot names (kept apart: one commit more seldom changes them)."""
        body = read_entry(self._shard_path(walk, digest)) if _is_digest(digest) else None
        if body is None or hashlib.sha256(body).hexdigest() != digest:
            raise _Invalid("ids")
        found = _dict(json.loads(body))
        if set(found) != {"format", "ids"} or found["format"] != FORMAT:
            raise _Invalid("ids")
        return _texts(found["ids"])

    def shard(
        self, walk: str, digest: str, bucket: int
    ) -> tuple[dict[RecordKey, Any], dict[str, dt.date], dict[str, str]]:
        """A shard's records, dates and removed ids, all of ``bucket``; ``ShardLost`` when it is missing or damaged."""
        body = read_entry(self._shard_path(walk, digest))
        if body is None or hashlib.sha256(body).hexdigest() != digest:
            raise ShardLost(digest)
        try:
            return _decode_shard(json.loads(body), bucket)
        except (ValueError, TypeError, KeyError, IndexError, RecursionError, _Invalid):
            raise ShardLost(digest) from None

    def put_snapshot(self, walk: str, key: str, snapshot: Snapshot) -> None:
        """Store a snapshot: the shards of the buckets it changed since it was read (all, when it was not), and a head
        naming them and the unchanged ones. All but the most recently used ``HEADS_KEPT`` heads of this walk are then
        removed, and the shards none of the kept heads names."""
        state = snapshot.state
        lazy = state.shards if isinstance(state, LazyDict) else None
        parts = (state, snapshot.effective_since, snapshot.gone)
        if lazy is not None and lazy.store == self and lazy.walk == walk and all(map(operator.is_, lazy.parts, parts)):
            digests, buckets = list(lazy.digests), lazy.changed
        else:
            for part in parts:
                read_whole(part)
            digests, buckets = [None] * BUCKETS, set(range(BUCKETS))
        try:
            shards = _encode_shards(snapshot, buckets)
        except (_Invalid, ValueError, TypeError, RecursionError, UnicodeEncodeError):
            return
        for bucket, body in shards.items():
            digest = hashlib.sha256(body).hexdigest() if body is not None else None
            if body is not None and not write_entry(self._shard_path(walk, digest or ""), body):
                return
            digests[bucket] = digest
        try:
            named = self._put_ids(walk, snapshot)
        except (_Invalid, ValueError, TypeError, UnicodeEncodeError):
            return
        head = self._head_path(walk, key)
        if _write(head, lambda: _encode_head(key, snapshot, digests, named)):
            self._touch(self._shard_names(walk, [*digests, named]))  # no older than the head
            _prune(head.parent, self.directory / walk / "shards")
            self.used(walk)
            _prune_walks(self.directory, WALKS_KEPT)

    def _put_ids(self, walk: str, snapshot: Snapshot) -> str | None:
        """The digest of the file of the snapshot's ids (None: it has none), written unless it was read with them
        (``_Invalid`` when it cannot be written)."""
        stored = snapshot.ids_stored
        same = stored is not None and len(snapshot.ids) == stored[2] and snapshot.ids.issuperset(stored[1])
        if stored is not None and same and self._shard_path(walk, stored[0]).is_file():
            return stored[0]
        if not snapshot.ids:
            return None
        body = _dump({"format": FORMAT, "ids": sorted(snapshot.ids)})
        digest = hashlib.sha256(body).hexdigest()
        if not write_entry(self._shard_path(walk, digest), body):
            raise _Invalid("not written")
        return digest

    def _shard_names(self, walk: str, digests: Iterable[str | None]) -> list[str]:
        """The paths of the named shards (plain text: a read names some 257 of them)."""
        folder = str(self.directory / walk / "shards")
        return [os.path.join(folder, f"{d}.json") for d in digests if d is not None]

    @staticmethod
    def _touch(paths: Iterable[str | Path]) -> None:
        for path in paths:
            with contextlib.suppress(OSError, NotImplementedError):
                os.utime(path, follow_symlinks=False)


class _Packer:
    """Stores a walk's entries as ``entries`` reads them: each run of ``PACK`` commits from the first commit that
    the walk's commits fill (the pack ``entries`` would write when it read that run from its commits' own entries,
    byte for byte), the commits after the last such run each in its own entry file.

    A walk resumed inside a run packs it with the run's earlier commits' own entries, read back and checked (as
    ``entries`` reads them); when one of them cannot be, an entry of the run cannot be stored exactly, or the pack
    cannot be written, the run's entries this walk gives go into their own files instead (as the last commits' do).
    """

    def __init__(self, store: HistoryCache, walk: str, keys: Sequence[str], shas: Sequence[str], start: int) -> None:
        self.store, self.walk, self.keys, self.shas, self.start = store, walk, keys, shas, start
        self.whole = len(keys) - len(keys) % PACK  # the commits before this index are in runs the walk fills
        self.run: list[tuple[str, bytes, bool]] | None = []  # (key, entry, walked now) so far; None: one by one

    def keep(self, index: int, entry: Entry) -> None:
        at = self.start + index
        key = self.keys[at]
        if at >= self.whole:
            self.store.put_entry(self.walk, key, entry)
            return
        first = at - at % PACK
        if at == first:
            self.run = []
        elif index == 0:
            self.run = self._earlier(first, at)
        if self.run is None:
            self.store.put_entry(self.walk, key, entry)
            return
        body = self.store._entry_body(self.walk, key, entry)
        if body is None:  # a miss from here on, as it would be without packs
            self._one_by_one()
            return
        self.run.append((key, body, True))
        if at == first + PACK - 1:
            if write_entry(self.store._pack_path(self.walk, key), _pack_body(key, [b for _, b, _ in self.run])):
                self.store._put_run(self.walk, self.keys[first], key)
            else:
                self._one_by_one()
            self.run = []

    def _earlier(self, first: int, at: int) -> list[tuple[str, bytes, bool]] | None:
        """The entries of the run's commits from ``first`` to before ``at`` from their own files (None: one of them
        is missing or damaged)."""
        found = []
        for index in range(first, at):
            key = self.keys[index]
            value = _loaded(read_entry(self.store._entry_path(self.walk, key)))
            if value is None or self.store._entry(self.walk, key, self.shas[index], value, True) is None:
                return None
            try:
                found.append((key, _dump(value), False))  # as ``entries`` writes what it read
            except (ValueError, TypeError, RecursionError, UnicodeEncodeError):
                return None
        return found

    def _one_by_one(self) -> None:
        """Store the entries of the run walked so far in their own files, and the rest of the run's as they come."""
        for key, body, walked in self.run or ():
            if walked:
                write_entry(self.store._entry_path(self.walk, key), body)
        self.run = None


def _pack_body(last: str, entries: Sequence[bytes]) -> bytes:
    """A pack of the entries written as ``entries``: the bytes of ``_dump`` of ``{"format", "key", "entries"}``."""
    return b"".join([b'{"format":', _dump(FORMAT), b',"key":', _dump(last), b',"entries":[', b",".join(entries), b"]}"])


def open_history_cache(directory: Path | None) -> HistoryCache | None:
    """The history cache beside the file cache in ``directory`` (None: turned off)."""
    return HistoryCache(directory / "history") if directory is not None else None


# --- files ----------------------------------------------------------------------------------------------------


def _write(target: Path, encode: Any) -> bool:
    """Write ``encode()`` as an entry (digest line, JSON) atomically; what cannot be stored exactly is skipped."""
    try:
        body = _dump(encode())
    except (_Invalid, ValueError, TypeError, RecursionError, UnicodeEncodeError):
        return False
    return write_entry(target, body)


def _dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _prune(heads: Path, shards: Path) -> None:
    """Remove all but the ``HEADS_KEPT`` most recently used heads, then every shard used before all of them: a kept
    head's shards are touched whenever it is written or read, so none of them is older than it (links and folders
    are left alone)."""
    found = _files(heads)
    for _, name in found[HEADS_KEPT:]:
        with contextlib.suppress(OSError):
            (heads / name).unlink()
    if not found:
        return
    oldest = min(when for when, _ in found[:HEADS_KEPT])
    for when, name in _files(shards):
        if when < oldest:
            with contextlib.suppress(OSError):
                (shards / name).unlink()


def _files(folder: Path) -> list[tuple[int, str]]:
    """The regular ``.json`` files in ``folder``, most recently used first."""
    try:
        with os.scandir(folder) as found:
            files = [(e.stat(follow_symlinks=False).st_mtime_ns, e.name) for e in found if _regular(e)]
    except OSError:
        return []
    return sorted(files, reverse=True)


def _prune_walks(folder: Path, kept: int) -> None:
    """Remove all but the ``kept`` most recently used walks' folders (links are left alone, never followed)."""
    try:
        with os.scandir(folder) as found:
            walks = [
                (e.stat(follow_symlinks=False).st_mtime_ns, e.name) for e in found if e.is_dir(follow_symlinks=False)
            ]
    except OSError:
        return
    for _, name in sorted(walks, reverse=True)[kept:]:
        shutil.rmtree(folder / name, ignore_errors=True)  # removes links inside, never what they point to


def _regular(entry: os.DirEntry[str]) -> bool:
    return entry.is_file(follow_symlinks=False) and entry.name.endswith(".json")


# --- encoding -------------------------------------------------------------------------------------------------


_SCALARS = frozenset({str, int, float, bool, type(None)})
_values_of = operator.methodcaller("values")


def _plain(data: Any) -> None:
    """Refuse what JSON would not give back exactly: keys that are not text, floats that are not finite, tuples.

    Checked a level at a time, at C speed (a snapshot holds some 10^6 values): the types of a level's values, the
    types of its mappings' keys, and the lists and mappings on it, whose values are the next level.
    """
    nested = [data]
    while nested:
        kinds = set(map(type, nested))
        if kinds == {dict}:
            mappings, lists = nested, []
        elif kinds == {list}:
            mappings, lists = [], nested
        else:
            mappings = [value for value in nested if isinstance(value, dict)]
            lists = [value for value in nested if isinstance(value, list)]
            if len(mappings) + len(lists) != len(nested):
                odd = next(v for v in nested if not isinstance(v, (dict, list)))
                raise _Invalid(f"a {type(odd).__name__} value")
        if not set(map(type, chain.from_iterable(mappings))) <= {str}:
            raise _Invalid("a key that is not text")
        values = [*chain.from_iterable(map(_values_of, mappings)), *chain.from_iterable(lists)]
        nested = list(compress(values, map(operator.not_, map(_SCALARS.__contains__, map(type, values)))))


def _encode_events(events: Sequence[Event]) -> list[Any]:
    """Events as four columns (texts, ids, groups, details), so that thousands read back at C speed."""
    return [
        [e.text for e in events],
        [None if e.given_ids is None else list(e.given_ids) for e in events],
        [e.group for e in events],
        [_encode_events(e.detail) if e.detail else None for e in events],
    ]


def encode_entries(entries: Sequence[Entry]) -> list[Any]:
    """Entries as plain values (``decode_entries`` gives them back exactly): each commit's id, date, author and
    title, and its events in the four columns of ``_encode_events``, their details inline (the cache keeps those in
    a file of their own). Lone surrogates are kept: a caller writes them with ``surrogatepass``."""
    return [[e.sha, e.date.isoformat(), e.author, e.title, _encode_events(e.events)] for e in entries]


def decode_entries(value: Any) -> list[Entry] | None:
    """The entries ``encode_entries`` wrote, every field checked as a cache entry's is; None if they are not
    exactly such (the details' events are made when first used, from values checked now)."""
    try:
        found = []
        for item in _list(value):
            sha, date, author, title, events = _list(item)
            found.append(Entry(_text(sha), _datetime(date), _text(author), _text(title), _decode_events(events)))
        return found
    except (ValueError, TypeError, KeyError, IndexError, RecursionError, _Invalid):
        return None


def _encode_entry(key: str, entry: Entry, details: str | None) -> dict[str, Any]:
    """An entry; its events' details are in the file of SHA-256 ``details`` (None: it has none)."""
    events = entry.events
    return {
        "format": FORMAT,
        "key": key,
        "sha": entry.sha,
        "date": entry.date.isoformat(),
        "author": entry.author,
        "title": entry.title,
        "events": [
            [e.text for e in events],
            [None if e.given_ids is None else list(e.given_ids) for e in events],
            [e.group for e in events],
            [bool(e.detail) for e in events],
        ],
        "details": details,
    }


def _encode_head(key: str, snapshot: Snapshot, digests: list[str | None], ids: str | None) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "key": key,
        "shards": digests,
        "transfers": [_encode_transfer(t) for t in snapshot.transfers],
        "reused": [_encode_reuse(r) for r in snapshot.reused],
        "ids": ids,
    }


def _encode_shards(snapshot: Snapshot, buckets: set[int]) -> dict[int, bytes | None]:
    """The shards of ``buckets`` (None: an empty bucket), each from the records, dates and removed ids loaded."""
    records: dict[int, list[tuple[RecordKey, tuple[str, dict[str, Any]]]]] = {b: [] for b in buckets}
    for key, value in dict.items(snapshot.state):
        found = records.get(bucket_of(key))
        if found is not None:
            found.append((key, value))
    since: dict[int, dict[str, str]] = {b: {} for b in buckets}
    for aid, day in dict.items(snapshot.effective_since):
        at = since.get(_assignment_bucket(aid))
        if at is not None:
            at[aid] = day.isoformat()
    gone: dict[int, dict[str, str]] = {b: {} for b in buckets}
    for aid, what in dict.items(snapshot.gone):
        at = gone.get(_assignment_bucket(aid))
        if at is not None:
            at[aid] = what
    shards: dict[int, bytes | None] = {}
    for bucket in sorted(buckets):
        kept = records[bucket]
        if not (kept or since[bucket] or gone[bucket]):
            shards[bucket] = None
            continue
        values = [record for _, (_, record) in kept]
        _plain(values)
        columns = [[k[0] for k, _ in kept], [k[1] for k, _ in kept], [v[0] for _, v in kept], values]
        shard = {"format": FORMAT, "bucket": bucket, "state": columns, "since": since[bucket], "gone": gone[bucket]}
        shards[bucket] = _dump(shard)
    return shards


def _encode_reuse(r: Reuse) -> list[Any]:
    return [r.assignment, r.before, r.after, r.commit, r.date.isoformat()]


def _encode_transfer(t: Transfer) -> list[Any]:
    return [t.holding, t.assignment, t.previous, t.previous_since.isoformat(), t.date.isoformat(), t.reason,
            t.temporary, t.commit]  # fmt: skip


# --- decoding -------------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if type(value) is not str:
        raise _Invalid("not text")
    return value


def _list(value: Any) -> list[Any]:
    if type(value) is not list:
        raise _Invalid("not a list")
    return value


def _dict(value: Any) -> dict[str, Any]:
    if type(value) is not dict:
        raise _Invalid("not a mapping")
    return value


def _day(value: Any) -> dt.date:
    text = _text(value)
    day = dt.date.fromisoformat(text)
    if day.isoformat() != text:
        raise _Invalid("not a date as written")
    return day


def _head(entry: Any, key: str, fields: Iterable[str]) -> dict[str, Any]:
    found = _dict(entry)
    if set(found) != {"format", "key", *fields} or found["format"] != FORMAT or found["key"] != key:
        raise _Invalid("another entry")
    return found


def _decode_events(value: Any) -> tuple[Event, ...]:
    """Events as ``_encode_events`` wrote them, every field checked now; the details' events are made when used."""
    _check_events(value)
    texts, ids, groups, details = value
    given = [None if i is None else tuple(i) for i in ids]
    return tuple(map(Event, texts, given, groups, [_later(d) if d else () for d in details]))


def _check_events(value: Any) -> None:
    """Raise unless ``value`` is four columns of events as written (checked at C speed: an import has thousands)."""
    _columns_checked(value, top=False)


def _columns_checked(value: Any, top: bool) -> list[list[Any]]:
    """The four columns of events (texts, ids, groups, details), every field checked; an entry's own events (``top``)
    say only whether each has details (kept apart), the details' events hold them."""
    columns = _columns(value, 4)
    texts, ids, groups, details = columns
    if not set(map(type, ids)) <= {list, type(None)}:
        raise _Invalid("ids")
    if not set(map(type, details)) <= ({bool} if top else {list, type(None)}):
        raise _Invalid("details")
    _all_text(texts)
    _all_text(groups)
    _all_text(chain.from_iterable(filter(None, ids)))
    for detail in () if top else filter(None, details):
        _check_events(detail)
    return columns


def _all_text(values: Iterable[Any]) -> None:
    try:
        "".join(values)
    except TypeError:
        raise _Invalid("not text") from None


def _later(value: list[Any]) -> Callable[[], tuple[Event, ...]]:
    """The events of a checked detail, made on first use."""
    return lambda: _decode_events(value)


def _loaded(body: bytes | None) -> Any:
    """An entry file's JSON (None: missing, damaged or not JSON)."""
    if body is None:
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def _datetime(value: Any) -> dt.datetime:
    date = dt.datetime.fromisoformat(_text(value))
    if date.tzinfo is None or date.isoformat() != value:
        raise _Invalid("not a date as written")
    return date


class _DetailsLater:
    """An entry's details, read and checked when one of them is first used."""

    def __init__(self, store: HistoryCache, walk: str, key: str, digest: str, count: int) -> None:
        self.store, self.walk, self.key, self.digest, self.count = store, walk, key, digest, count
        self.read: list[Any] | None = None

    def at(self, index: int) -> Callable[[], tuple[Event, ...]]:
        return lambda: self._events(index)

    def _events(self, index: int) -> tuple[Event, ...]:
        if self.read is None:
            try:
                self.read = self.store._details(self.walk, self.key, self.digest, self.count)
            except (ValueError, TypeError, KeyError, IndexError, RecursionError, _Invalid):
                raise CalcheckError(
                    f"the history cache's details of commit entry {self.key} are damaged; run the command again "
                    "(the entry is walked anew) or with --no-cache"
                ) from None
        return _decode_events(self.read[index])


_HEAD_FIELDS = ("shards", "transfers", "reused", "ids")
_SHARD_FIELDS = ("bucket", "state", "since", "gone")


def _digests(value: Any) -> list[str | None]:
    """A head's shards: ``BUCKETS`` SHA-256 digests (None: an empty bucket)."""
    digests = _list(value)
    if len(digests) != BUCKETS or not all(d is None or (type(d) is str and _is_digest(d)) for d in digests):
        raise _Invalid("shards")
    return digests


def _is_digest(text: str) -> bool:
    return len(text) == 64 and text.isascii() and text.isalnum() and text == text.lower()


def _decode_shard(value: Any, bucket: int) -> tuple[dict[RecordKey, Any], dict[str, dt.date], dict[str, str]]:
    """A shard's records, dates and removed ids, every field checked (at C speed), every key of ``bucket``."""
    found = _dict(value)
    if set(found) != {"format", *_SHARD_FIELDS} or found["format"] != FORMAT or found["bucket"] != bucket:
        raise _Invalid("another shard")
    kinds, rids, paths, records = _columns(found["state"], 4)
    _all_text(kinds)
    _all_text(rids)
    _all_text(paths)
    if not set(map(type, records)) <= {dict}:
        raise _Invalid("a record")
    keys = list(zip(kinds, rids, strict=True))
    state = dict(zip(keys, zip(paths, records, strict=True), strict=True))
    since_text = _dict(found["since"])
    _all_text(since_text)
    since = dict(zip(since_text, _days(list(since_text.values())), strict=True))
    gone = _dict(found["gone"])
    _all_text(gone)
    _all_text(gone.values())
    if ({bucket_of(k) for k in keys} | {_assignment_bucket(a) for a in chain(since, gone)}) - {bucket}:
        raise _Invalid("a key of another bucket")
    return state, since, gone


def _columns(value: Any, width: int) -> list[list[Any]]:
    """``width`` columns of one length."""
    columns = _list(value)
    if len(columns) != width or not set(map(type, columns)) <= {list} or len(set(map(len, columns))) > 1:
        raise _Invalid("columns")
    return columns


def _texts(value: Any) -> list[str]:
    _all_text(_list(value))
    return value  # type: ignore[no-any-return]


def _days(values: list[Any]) -> list[dt.date]:
    """Dates written as ``YYYY-MM-DD``, exactly."""
    _all_text(values)
    days = list(map(dt.date.fromisoformat, values))
    if list(map(dt.date.isoformat, days)) != values:
        raise _Invalid("not a date as written")
    return days


def _transfer(value: Any) -> Transfer:
    holding, assignment, previous, previous_since, date, reason, temporary, commit = _list(value)
    if reason is not None:
        reason = _text(reason)
    if type(temporary) is not bool:
        raise _Invalid("not a flag")
    return Transfer(
        _text(holding), _text(assignment), _text(previous), _day(previous_since), _day(date), reason, temporary,
        _text(commit),
    )  # fmt: skip


def _reuse(value: Any) -> Reuse:
    assignment, before, after, commit, date = _list(value)
    return Reuse(_text(assignment), _text(before), _text(after), _text(commit), _day(date))
