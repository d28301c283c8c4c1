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

Two kinds of entries: a commit's entry (its events: only for a full history) under its key, and a snapshot of the
state after a commit, also under its key, from which a walk resumes. Only the last few snapshots of each kind of
walk are kept (each holds the estate's records); entries are small and kept. Both are JSON (never pickle) after a
line with the SHA-256 of that JSON, written atomically through an exclusive temporary file renamed over the
target, read without following a link, and decoded field by field: anything else (a truncated, edited or forged
file) is a miss, and the walk reads that part of the history again and writes it anew.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import chain
from pathlib import Path
from typing import Any

from calcheck import __version__
from calcheck.estate.cache import read_entry, reader_digest, write_entry
from calcheck.estate.transfers import Reuse, Transfer
from calcheck.git.history import Entry, Event, RecordKey, Records
from calcheck.git.repo import Commit

FORMAT = "calcheck-history-cache/1"
SNAPSHOTS_KEPT = 4  # whole snapshots per kind of walk: enough for a check, a diff's base and a site build
CHANGES_KEPT = 32  # snapshots stored as changes on another, per kind of walk
MAX_DEPTH = 16  # changes on changes, at most: then a snapshot is stored whole again
WALKS_KEPT = 8  # kinds of walk (estate paths, calcheck versions) whose entries and snapshots are kept


class _Invalid(Exception):
    """An entry that does not decode exactly as it was written."""


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
    depth: int = 0  # how many changes on a whole snapshot it is stored as (0: stored whole)

    def copy(self) -> Snapshot:
        """A copy that the walk's later changes leave as it is (records themselves are never changed)."""
        return Snapshot(dict(self.state), dict(self.effective_since), dict(self.gone), list(self.transfers),
                        list(self.reused), set(self.ids), self.key, self.depth)  # fmt: skip


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

    def _snapshot_paths(self, walk: str, key: str) -> tuple[Path, Path]:
        """Where a snapshot stored whole, and one stored as changes on another, is kept (pruned apart)."""
        folder = self.directory / walk / "snapshots"
        return folder / f"{key}.json", folder / f"{key}.changes.json"

    def used(self, walk: str) -> None:
        """Mark a kind of walk as used now: the least recently used beyond ``WALKS_KEPT`` are removed."""
        with contextlib.suppress(OSError, NotImplementedError):
            os.utime(self.directory / walk, follow_symlinks=False)

    def entry(self, walk: str, key: str, sha: str) -> Entry | None:
        """The entry of commit ``sha`` under ``key``, or None."""
        body = read_entry(self._entry_path(walk, key))
        if body is None:
            return None
        try:
            return _decode_entry(json.loads(body), key, sha)
        except (ValueError, TypeError, KeyError, IndexError, RecursionError, _Invalid):
            return None

    def put_entry(self, walk: str, key: str, entry: Entry) -> None:
        _write(self._entry_path(walk, key), lambda: _encode_entry(key, entry))

    def has_snapshot(self, walk: str, key: str) -> bool:
        return any(path.is_file() for path in self._snapshot_paths(walk, key))

    def snapshot(self, walk: str, key: str, limit: int = MAX_DEPTH) -> Snapshot | None:
        """The state after the commit of ``key``, or None (missing, damaged, or changes on a snapshot now gone)."""
        for path in self._snapshot_paths(walk, key):
            body = read_entry(path)
            if body is not None:
                return self._decode(walk, key, limit, path, body)
        return None

    def _decode(self, walk: str, key: str, limit: int, path: Path, body: bytes) -> Snapshot | None:
        try:
            found = _head(json.loads(body), key, _SNAPSHOT_FIELDS)
            depth = found["depth"]
            if type(depth) is not int or not 0 <= depth <= limit or (depth == 0) != (found["base"] is None):
                raise _Invalid("depth")
            prior = Snapshot({}, {}, {}) if depth == 0 else self.snapshot(walk, _text(found["base"]), depth - 1)
            if prior is None or prior.depth != max(depth - 1, 0):
                return None
            _apply(prior, found)
        except (ValueError, TypeError, KeyError, IndexError, RecursionError, _Invalid):
            return None
        with contextlib.suppress(OSError, NotImplementedError):
            os.utime(path, follow_symlinks=False)  # recently used: kept longest
        prior.key, prior.depth = key, depth
        return prior

    def put_snapshot(
        self,
        walk: str,
        key: str,
        snapshot: Snapshot,
        prior: Snapshot | None = None,
        touched: Collection[RecordKey] | None = None,
    ) -> None:
        """Store a snapshot: as its changes on ``prior`` (a cached snapshot it grew from, ``touched``: the records the
        walk since then changed, if known), or whole.

        All but the most recently used ``SNAPSHOTS_KEPT`` whole snapshots and ``CHANGES_KEPT`` others of this walk
        are removed (a snapshot stored as changes on one removed is then a miss).
        """
        if prior is not None and (not prior.key or prior.depth >= MAX_DEPTH):
            prior = None
        whole, changes = self._snapshot_paths(walk, key)
        target, other = (changes, whole) if prior is not None else (whole, changes)
        if _write(target, lambda: _encode_snapshot(key, snapshot, prior, touched)):
            with contextlib.suppress(OSError):
                other.unlink(missing_ok=True)
            _prune(target.parent, SNAPSHOTS_KEPT, CHANGES_KEPT)
            self.used(walk)
            _prune_walks(self.directory, WALKS_KEPT)


def open_history_cache(directory: Path | None) -> HistoryCache | None:
    """The history cache beside the file cache in ``directory`` (None: turned off)."""
    return HistoryCache(directory / "history") if directory is not None else None


# --- files ----------------------------------------------------------------------------------------------------


def _write(target: Path, encode: Any) -> bool:
    """Write ``encode()`` as an entry (digest line, JSON) atomically; what cannot be stored exactly is skipped."""
    try:
        body = json.dumps(encode(), ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except (_Invalid, ValueError, TypeError, RecursionError, UnicodeEncodeError):
        return False
    return write_entry(target, body)


def _prune(folder: Path, whole: int, changes: int) -> None:
    """Remove all but the most recently used snapshots in ``folder`` (links and folders are left alone)."""
    try:
        with os.scandir(folder) as found:
            files = [(e.stat(follow_symlinks=False).st_mtime_ns, e.name) for e in found if _regular(e)]
    except OSError:
        return
    kept = {".json": whole, ".changes.json": changes}
    for _, name in sorted(files, reverse=True):
        kind = ".changes.json" if name.endswith(".changes.json") else ".json"
        kept[kind] -= 1
        if kept[kind] < 0:
            with contextlib.suppress(OSError):
                (folder / name).unlink()


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


def _plain(data: Any) -> None:
    """Refuse what JSON would not give back exactly: keys that are not text, floats that are not finite, tuples."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if not all(type(k) is str for k in value):
                raise _Invalid("a key that is not text")
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif value is not None and type(value) not in (str, int, float, bool):
            raise _Invalid(f"a {type(value).__name__} value")


def _encode_events(events: Sequence[Event]) -> list[Any]:
    """Events as four columns (texts, ids, groups, details), so that thousands read back at C speed."""
    return [
        [e.text for e in events],
        [None if e.given_ids is None else list(e.given_ids) for e in events],
        [e.group for e in events],
        [_encode_events(e.detail) if e.detail else None for e in events],
    ]


def _encode_entry(key: str, entry: Entry) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "key": key,
        "sha": entry.sha,
        "date": entry.date.isoformat(),
        "author": entry.author,
        "title": entry.title,
        "events": _encode_events(entry.events),
    }


def _encode_snapshot(
    key: str, now: Snapshot, prior: Snapshot | None, touched: Collection[RecordKey] | None
) -> dict[str, Any]:
    """A snapshot as changes on ``prior`` (None: on nothing, so whole); ``touched``: all records that may differ."""
    before = prior or Snapshot({}, {}, {})
    state, current = before.state, now.state
    if prior is None or touched is None:
        touched = current.keys() | state.keys()
    changed = [k for k in touched if k in current and state.get(k) is not current[k]]
    paths, records = [current[k][0] for k in changed], [current[k][1] for k in changed]
    _plain(records)
    removed = [k for k in touched if k in state and k not in current]
    since, gone = before.effective_since, before.gone
    if len(now.transfers) < len(before.transfers) or len(now.reused) < len(before.reused):
        raise _Invalid("not grown from the prior snapshot")
    return {
        "format": FORMAT,
        "key": key,
        "base": prior.key if prior else None,
        "depth": prior.depth + 1 if prior else 0,
        "state": [[k[0] for k in changed], [k[1] for k in changed], paths, records],
        "removed": [[k[0] for k in removed], [k[1] for k in removed]],
        "since": {aid: day.isoformat() for aid, day in now.effective_since.items() if since.get(aid) != day},
        "unset": sorted(since.keys() - now.effective_since.keys()),
        "gone": {aid: what for aid, what in now.gone.items() if gone.get(aid) != what},
        "back": sorted(gone.keys() - now.gone.keys()),
        "transfers": [_encode_transfer(t) for t in now.transfers[len(before.transfers) :]],
        "reused": [
            [r.assignment, r.before, r.after, r.commit, r.date.isoformat()] for r in now.reused[len(before.reused) :]
        ],
        "ids": sorted(now.ids - before.ids),
    }


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
    texts, ids, groups, details = _list(value)
    count = len(_list(texts))
    if len(_list(ids)) != count or len(_list(groups)) != count or len(_list(details)) != count:
        raise _Invalid("columns of events")
    if not set(map(type, ids)) <= {list, type(None)} or not set(map(type, details)) <= {list, type(None)}:
        raise _Invalid("ids or details")
    _all_text(texts)
    _all_text(groups)
    _all_text(chain.from_iterable(filter(None, ids)))
    for detail in filter(None, details):
        _check_events(detail)


def _all_text(values: Iterable[Any]) -> None:
    try:
        "".join(values)
    except TypeError:
        raise _Invalid("not text") from None


def _later(value: list[Any]) -> Callable[[], tuple[Event, ...]]:
    """The events of a checked detail, made on first use."""
    return lambda: _decode_events(value)


def _decode_entry(value: Any, key: str, sha: str) -> Entry:
    found = _head(value, key, ("sha", "date", "author", "title", "events"))
    if found["sha"] != sha:
        raise _Invalid("another commit")
    date = dt.datetime.fromisoformat(_text(found["date"]))
    if date.tzinfo is None or date.isoformat() != found["date"]:
        raise _Invalid("not a date as written")
    events = _decode_events(found["events"])
    return Entry(sha, date, _text(found["author"]), _text(found["title"]), events)


_SNAPSHOT_FIELDS = ("base", "depth", "state", "removed", "since", "unset", "gone", "back", "transfers", "reused", "ids")


def _apply(snapshot: Snapshot, found: dict[str, Any]) -> None:
    """Apply a stored snapshot's changes (every field checked, at C speed) to the snapshot it was stored on."""
    state = snapshot.state
    kinds, rids = _columns(found["removed"], 2)
    _all_text(kinds)
    _all_text(rids)
    for key in zip(kinds, rids, strict=True):
        state.pop(key, None)
    kinds, rids, paths, records = _columns(found["state"], 4)
    _all_text(kinds)
    _all_text(rids)
    _all_text(paths)
    if not set(map(type, records)) <= {dict}:
        raise _Invalid("a record")
    state.update(zip(zip(kinds, rids, strict=True), zip(paths, records, strict=True), strict=True))
    since = snapshot.effective_since
    for aid in _texts(found["unset"]):
        since.pop(aid, None)
    changed = _dict(found["since"])
    _all_text(changed)
    since.update(zip(changed, _days(list(changed.values())), strict=True))
    gone = snapshot.gone
    for aid in _texts(found["back"]):
        gone.pop(aid, None)
    _all_text(_dict(found["gone"]))
    _all_text(found["gone"].values())
    gone.update(found["gone"])
    snapshot.transfers += [_transfer(t) for t in _list(found["transfers"])]
    snapshot.reused += [_reuse(r) for r in _list(found["reused"])]
    snapshot.ids.update(_texts(found["ids"]))


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
