"""The estate's change log in licensing terms, built from commits and the records their files held.

Pure: it gets commits and a way to read blobs, and returns entries (one per commit, each a list of
events) plus the CAL transfers the 90-day rule needs. Records are followed by id, so renamed files
and records moved between files are changes of place, not removals and additions.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache, partial
from typing import Any

from calcheck.estate import fastlane
from calcheck.estate.kinds import RECORD_KEYS
from calcheck.estate.parse import load_bytes
from calcheck.estate.transfers import Reuse, Transfer
from calcheck.estate.yamlload import MAX_FILE_BYTES, LoadedFile
from calcheck.git.repo import Change, Commit

RecordKey = tuple[str, str]  # (kind, id)
Records = dict[RecordKey, tuple[str, dict[str, Any]]]  # -> (file, record)
_NOUN = {
    "holdings": "holding",
    "people": "person",
    "devices": "device",
    "deployments": "deployment",
    "assignments": "assignment",
    "audits": "audit",
    "waivers": "waiver",
    "config": "configuration",
    "products": "catalogue product",
    "cals": "catalogue CAL",
}
_PLURAL = {"products": "catalogue products", "cals": "catalogue CALs"}  # others are named by their list key
CATALOGUE_KEYS = ("products", "cals")  # a catalogue file's two lists of records


class Event:
    """One thing a commit did, in words, with the ids of the records involved.

    ``text`` may be given as a function that writes it on first use: the thousands of like events of a large
    commit are usually only counted (see ``summarise``), and a check reads none of them. So may ``detail`` (the
    history cache gives the summarised events so, and ``history`` prints only their count).
    """

    __slots__ = ("_detail", "_ids", "_text", "group")

    def __init__(
        self,
        text: str | Callable[[], str],
        ids: tuple[str, ...] | None,
        group: str = "",
        detail: tuple[Event, ...] | Callable[[], tuple[Event, ...]] = (),
    ) -> None:
        self._text = text
        self._ids = ids  # None: those of ``detail``, gathered on first use
        self.group = group  # events of one group are summarised when a commit has many of them
        self._detail = detail

    @property
    def detail(self) -> tuple[Event, ...]:
        if not isinstance(self._detail, tuple):
            self._detail = self._detail()
        return self._detail

    @property
    def given_ids(self) -> tuple[str, ...] | None:
        """The ids as given (None: those of ``detail``)."""
        return self._ids

    @property
    def text(self) -> str:
        if not isinstance(self._text, str):
            self._text = self._text()
        return self._text

    @property
    def ids(self) -> tuple[str, ...]:
        if self._ids is None:
            self._ids = tuple(dict.fromkeys(i for e in self.detail for i in e.ids))
        return self._ids

    def __repr__(self) -> str:
        return f"Event({self.text!r}, {self.ids!r}, {self.group!r})"


@dataclass(frozen=True, slots=True)
class Entry:
    sha: str
    date: dt.datetime
    author: str
    title: str
    events: tuple[Event, ...]

    @property
    def short(self) -> str:
        return self.sha[:7]

    def only(self, record_id: str) -> Entry:
        """This entry with only the events that involve ``record_id``."""
        events: list[Event] = []
        for event in self.events:
            if event.detail:
                events += [e for e in event.detail if record_id in e.ids]
            elif record_id in event.ids:
                events.append(event)
        return Entry(self.sha, self.date, self.author, self.title, tuple(events))


@dataclass(slots=True)
class History:
    entries: list[Entry] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)
    reused: list[Reuse] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)  # every assignment id seen


_SKIP = r"(?:[ \t]*(?:#[^\r\n]*)?\r?\n)*"  # blank and comment lines
_END = r"(?:[ \t]+#[^\r\n]*)?[ \t]*\r?\n"  # the end of a line: maybe a comment
_HEAD = re.compile(rf"\ufeff?{_SKIP}kind: [ \t]*(?P<kind>[a-z]+){_END}{_SKIP}(?P<key>[a-z]+):{_END}")
_FIRST_ITEM = re.compile(rf"{_SKIP}( *)- ")
_ODD_BREAK = re.compile("\r(?!\n)|[\x85\u2028\u2029]")  # line breaks YAML knows besides LF and CR LF


@cache
def _stray_line(indent: str) -> re.Pattern[str]:
    """A line that is none of: an item at ``indent``, a line deeper than the items, blank, a comment."""
    return re.compile(rf"\n(?!{indent}- |{indent} |[ \t]*(?:#[^\r\n]*)?\r?(?:\n|\Z))")


@cache
def _item_start(indent: str) -> re.Pattern[str]:
    return re.compile(rf"(?<=\n)(?={indent}- )")


def _shape(text: str) -> tuple[int, int, str, str] | None:
    """(where the header ends, where the first item starts, the items' indent, the list key) of a file of the
    usual shape, else None.

    The usual shape: maybe a byte-order mark, ``kind:`` and the list key (each maybe after blank and comment lines,
    maybe with a comment), then the list's items at one indent (column 0 too), every other line blank, a comment
    or deeper than the items, and no line break but LF and CR LF. Anything else in the file (a document marker, a
    second key, a line at the items' indent that starts no item, a tab, a lone CR...) answers None: such a file is
    read whole, as the check reads it.
    """
    head = _HEAD.match(text)
    if head is None or RECORD_KEYS.get(head.group("kind")) != head.group("key"):
        return None
    first = _FIRST_ITEM.match(text, head.end())
    if first is None or _ODD_BREAK.search(text):
        return None
    indent = first.group(1)
    if _stray_line(indent).search(text, first.start(1)):
        return None
    return head.end(), first.start(1), indent, head.group("key")


def _item_texts(body: str, indent: str) -> list[str]:
    """The texts of a run of whole list items at ``indent`` (``body`` starts with the first), each with the line
    breaks, blank and comment lines after it: a block scalar ending an item holds the breaks after it (one, or all
    up to the next item), and read alone the item must read as it does in the file."""
    return _item_start(indent).split(body)


def _lf(chunk: str) -> str:
    """An item's text with LF line ends, for the fast lane: its grammar holds no quoted or block scalar, so the
    kind of line break changes nothing it reads (and it reads none but LF)."""
    return chunk.replace("\r\n", "\n")


class RecordParser:
    """Parses file versions into records, re-parsing only the list items it has not seen before.

    Successive versions of a file share almost all their records; splitting a version into its list
    items (plain text work) and caching each item's parse makes a long history cheap. An item is read on
    its own only when that gives what the check gives: a file that could hold an alias (an item may then
    depend on another), an item that cannot be read on its own, and any file not of the simple shape
    (``kind:``, the list key, then items) are read whole, as the check reads them.
    """

    def __init__(self, only: str | None = None) -> None:
        self.by_key: dict[str, dict[str, Entry_ | None]] = {}  # per list key: item text -> its entry
        self.alone: set[str] = set()  # items that do not read on their own as one clean list item
        self.only = only  # read only the records of this list key (None: all)

    def parse(self, path: str, raw: bytes, shaped: Shaped | None, loaded: LoadedFile | None = None) -> Parsed:
        """A file version's records (``shaped``: ``_shaped(raw)``; ``loaded``: ``load_bytes(path, raw)`` if at hand)."""
        split = (shaped[0][2], shaped[1]) if shaped else None
        if split is not None and self.only not in (None, split[0]):
            return Parsed([], frozenset())
        if split is not None and loaded is not None and b"*" not in raw:
            self._parse_whole(path, raw, *split, loaded)
        if split is None or not self.readable(path, raw, *split):
            return Parsed([e for e in parse_records(path, raw, loaded) if self.only in (None, e[0][0])], None)
        return Parsed(None, frozenset(split[1]), split[1], self.items(split[0]))

    def items(self, key: str) -> dict[str, Entry_ | None]:
        """The entries of the items of files of this list key read so far, by item text (the same text in a file
        of another kind is another record)."""
        return self.by_key.setdefault(key, {})

    def readable(self, path: str, raw: bytes, key: str, chunks: list[str]) -> bool:
        """Whether these items of ``raw`` read one by one as the whole file reads them; each is filed if so."""
        if b"*" in raw:
            return False  # a possible alias: an item may stand for another's value
        items = self.items(key)
        missing = list(dict.fromkeys(chunk for chunk in chunks if chunk not in items))
        if len(missing) > 16:  # a file read for the first time
            for chunk, record in zip(missing, fastlane.items([_lf(chunk) for chunk in missing]), strict=True):
                if record is not None:
                    self._file(key, chunk, record)
            missing = [chunk for chunk in missing if chunk not in items]
            if len(missing) > 16:  # many items outside the fast lane: libyaml reads the file in one go
                self._parse_whole(path, raw, key, chunks)
                missing = [chunk for chunk in missing if chunk not in items]
        for chunk in missing:
            self.item_entry(path, key, chunk)
        return not self.alone.intersection(chunks)

    def _file(self, key: str, chunk: str, record: Any) -> None:
        rid = record.get("id") if isinstance(record, dict) else None
        self.items(key)[chunk] = ((key, rid), record) if isinstance(rid, str) else None

    def _parse_whole(
        self, path: str, raw: bytes, key: str, chunks: list[str], loaded: LoadedFile | None = None
    ) -> None:
        """Parse a file (free of aliases) seen for the first time in one go, and file its items under their texts."""
        loaded = loaded or load_bytes(path, raw)
        data = loaded.documents[0].data if loaded.documents and not loaded.findings else None
        items = data.get(key) if isinstance(data, dict) else None
        if isinstance(items, list) and len(items) == len(chunks):  # else the texts and items do not line up
            known = self.items(key)
            for chunk, item in zip(chunks, items, strict=True):
                if chunk not in known:
                    self._file(key, chunk, item)

    def item_entry(self, path: str, key: str, chunk: str) -> Entry_ | None:
        """One item's (key, record), from the cache or parsed now (None: no record, or not readable alone)."""
        items = self.items(key)
        if chunk not in items and chunk not in self.alone:
            item = fastlane.item(_lf(chunk))
            if item is None:  # read under its list key, as deep as in the file (the check limits nesting)
                loaded = load_bytes(path, f"{key}:\n{chunk}".encode())
                clean = loaded.documents and not loaded.findings and not loaded.broken_paths
                data = loaded.documents[0].data if clean else None
                data = data.get(key) if isinstance(data, dict) and len(data) == 1 else None
                if not isinstance(data, list) or len(data) != 1:
                    self.alone.add(chunk)
                    return None
                item = data[0]
            self._file(key, chunk, item)
        return items.get(chunk)

    def changed(self, old: Parsed, new: Parsed) -> tuple[list[Entry_], list[Entry_]]:
        """The entries only in ``old`` and only in ``new`` (same file, two versions)."""
        items, before, after = old._items, old.chunks, new.chunks
        if before is not None and after is not None and items is not None and items is new._items:  # of one kind
            if not (old.unique and new.unique):  # a key twice: which record counts depends on the others
                return old.entries, new.entries
            gone = [items[c] for c in before - after]
            came = [items[c] for c in after - before]
            return [e for e in gone if e is not None], [e for e in came if e is not None]
        kept = set(map(id, old.entries)) & set(map(id, new.entries))
        return [e for e in old.entries if id(e) not in kept], [e for e in new.entries if id(e) not in kept]


Entry_ = tuple[RecordKey, dict[str, Any]]


@dataclass(slots=True)
class Parsed:
    """A file version's records; ``chunks`` are its item texts when it was split (None: parsed whole)."""

    _entries: list[Entry_] | None
    chunks: frozenset[str] | None = None
    _order: list[str] | None = None
    _items: dict[str, Entry_ | None] | None = None

    @property
    def entries(self) -> list[Entry_]:
        if self._entries is None:
            assert self._order is not None and self._items is not None
            self._entries = [e for e in map(self._items.__getitem__, self._order) if e is not None]
        return self._entries

    @property
    def unique(self) -> bool:
        """Whether no two of its records share a key (when some do, the file's last one counts, as in a check)."""
        return len({key for key, _ in self.entries}) == len(self.entries)


Layout = tuple[int, bytes, str]  # where the header ends (a byte offset), the item marker b"\n<indent>- ", list key
Shaped = tuple[Layout, list[str]]  # and the texts of the items


def _shaped(raw: bytes) -> Shaped | None:
    """The layout and item texts of a file of the usual shape (see ``_shape``), else None."""
    if len(raw) > MAX_FILE_BYTES:  # the check reads none of its records
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    shape = _shape(text)
    if shape is None:
        return None
    head_end, first, indent, key = shape
    layout = (len(text[:head_end].encode("utf-8")), b"\n" + indent.encode() + b"- ", key)
    return layout, _item_texts(text[first:], indent)


_PRELOAD_BATCH = 8_000_000  # bytes of files parsed on every core at once (their results are held until read)


def _encode_loaded(item: tuple[str, str, bytes]) -> bytes | None:  # in a parsing worker
    from calcheck.estate.cache import encode_entry

    loaded = load_bytes(item[1], item[2])
    # Each document under its kind, so that its records' positions (which a history never reads) are decoded
    # only when used, as a cache entry's are.
    kinds = [doc.data.get("kind") if isinstance(doc.data, dict) else None for doc in loaded.documents]
    return encode_entry(item[0], loaded, [(kind if kind in RECORD_KEYS else None, []) for kind in kinds])


def _decode_loaded(item: tuple[str, str, bytes], body: bytes) -> LoadedFile | None:  # what a worker sent
    from calcheck.estate.cache import decode_entry

    found = decode_entry(item[0], body)
    return found[0] if found is not None else None


def _common_prefix(a: bytes, b: bytes) -> int:
    """Length of the common start of two byte strings: block by block, then a binary search in the first
    differing block (every comparison is a C-speed compare of slices, and little is copied)."""
    return _common_run(a, b, min(len(a), len(b)), lambda x, start, end: x[start:end])


def _common_suffix(a: bytes, b: bytes, limit: int) -> int:
    """Length of the common end of two byte strings, at most ``limit``."""
    la, lb = len(a), len(b)

    def tail(x: bytes, start: int, end: int) -> bytes:  # the bytes ``start`` to ``end`` counted from the end
        n = la if x is a else lb
        return x[n - end : n - start]

    return _common_run(a, b, max(0, min(limit, la, lb)), tail)


def _common_run(a: bytes, b: bytes, limit: int, part: Callable[[bytes, int, int], bytes]) -> int:
    low, block = 0, 4096
    while low + block <= limit and part(a, low, low + block) == part(b, low, low + block):
        low += block
    high = min(low + block, limit)
    while low < high:  # the answer lies in [low, high]; everything before ``low`` is known to match
        middle = (low + high + 1) // 2
        if part(a, low, middle) == part(b, low, middle):
            low = middle
        else:
            high = middle - 1
    return low


def _region_items(region: bytes, marker: bytes, checked: bool) -> list[str] | None:
    """The items of a run of whole items (it starts with one) of a usual-shape file, split as the whole file is;
    unless ``checked``, None if a line of it is unusual (see ``_shape``)."""
    try:
        text = region.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text.strip("\r\n"):
        return []
    indent = marker[1:-2].decode()
    if not checked and (
        not text.startswith(indent + "- ") or _ODD_BREAK.search(text) or _stray_line(indent).search(text)
    ):
        return None
    return _item_texts(text, indent)


def parse_records(path: str, raw: bytes, loaded: LoadedFile | None = None) -> list[tuple[RecordKey, dict[str, Any]]]:
    """The records of one file's content, by (kind, id); unreadable content yields none (``loaded``: the content
    already loaded)."""
    loaded = loaded or load_bytes(path, raw)
    if not loaded.documents or not isinstance(loaded.documents[0].data, dict):
        return []
    data = loaded.documents[0].data
    kind = data.get("kind")
    if kind == "config":
        return [(("config", "config"), data)]
    if kind == "catalogue":
        return _catalogue_records(data)
    key = RECORD_KEYS.get(kind, "") if isinstance(kind, str) else ""
    items = data.get(key) if key else None
    if not isinstance(items, list):
        return []
    broken = {where[1] if len(where) > 1 and where[0] == key else None for where in loaded.broken_paths}
    if None in broken:
        return []  # a key twice outside the records: the check reads none of the file's records
    items = [item for index, item in enumerate(items) if index not in broken]
    return [((key, r["id"]), r) for r in items if isinstance(r, dict) and isinstance(r.get("id"), str)]


def _catalogue_records(data: dict[str, Any]) -> list[tuple[RecordKey, dict[str, Any]]]:
    """A catalogue's products and CALs, each a record of its own (keyed ``products`` and ``cals``)."""
    found: list[tuple[RecordKey, dict[str, Any]]] = []
    for key in CATALOGUE_KEYS:
        items = data.get(key)
        for r in items if isinstance(items, list) else ():
            if isinstance(r, dict) and isinstance(r.get("id"), str):
                found.append(((key, r["id"]), r))
    return found


def _moved(kind: str, label: str, ids: tuple[str, ...], old: str, new: str) -> Event:
    """A record now in another file (a renamed file, or a record moved between files); like moves are summarised."""
    where = f"moved from {old} to {new}"
    return Event(f"{label} {where}", ids, f"{_PLURAL.get(kind, kind)} {where}")


class _Describer:
    """Sentences about records, using the state of the estate at the time."""

    def __init__(self, state: Records, cal_names: dict[str, str]) -> None:
        self.state = state
        self.cal_names = cal_names

    def _record(self, kind: str, record_id: str) -> dict[str, Any]:
        return self.state.get((kind, record_id), _NOTHING)[1]

    def holding(self, holding_id: str) -> str:
        return _holding_text(self.cal_names, holding_id, self._record("holdings", holding_id))

    def who(self, assignment: dict[str, Any]) -> str:
        return _who_text(*self._who(assignment))

    def _who(self, assignment: dict[str, Any]) -> tuple[str, dict[str, Any], bool]:
        if assignment.get("person") is not None:
            subject = str(assignment["person"])
            return subject, self._record("people", subject), True
        subject = str(assignment.get("device"))
        return subject, self._record("devices", subject), False

    def assignment_event(self, assignment: dict[str, Any], verb: str, reason: str, group: str) -> Event:
        """'<CAL> from holding H <verb> <who><reason>', written when first read, about the records as they are now."""
        get = self.state.get
        holding_id = str(assignment.get("holding"))
        person = assignment.get("person")
        if person is not None:
            subject = str(person)
            who = (subject, get(("people", subject), _NOTHING)[1], True)
        else:
            subject = str(assignment.get("device"))
            who = (subject, get(("devices", subject), _NOTHING)[1], False)
        held = get(("holdings", holding_id), _NOTHING)[1]
        text = partial(_assignment_text, self.cal_names, holding_id, held, who, verb, reason)
        return Event(text, (str(assignment.get("id")), holding_id, subject), group)


_NOTHING: tuple[str, dict[str, Any]] = ("", {})


def _holding_text(cal_names: dict[str, str], holding_id: str, record: dict[str, Any]) -> str:
    cal = cal_names.get(str(record.get("cal")), str(record.get("cal", "CAL")))
    version = f" {record['version']}" if record.get("version") is not None else ""
    kind = f" {str(record.get('type', '')).capitalize()}" if record.get("type") else ""
    return f"{cal}{version}{kind} from holding {holding_id}"


def _who_text(subject: str, record: dict[str, Any], person: bool) -> str:
    status = record.get("status")
    shown = ("departed", "on-leave") if person else ("retired", "failed", "lost")
    return f"{subject} ({status})" if status in shown else subject


def _assignment_text(
    cal_names: dict[str, str],
    holding_id: str,
    held: dict[str, Any],
    who: tuple[str, dict[str, Any], bool],
    verb: str,
    reason: str,
) -> str:
    return f"{_holding_text(cal_names, holding_id, held)} {verb} {_who_text(*who)}{reason}"


def _subject(record: dict[str, Any]) -> tuple[str, str]:
    return (
        ("person", str(record["person"])) if record.get("person") is not None else ("device", str(record.get("device")))
    )


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def _differs(before: tuple[str, dict[str, Any]] | None, after: tuple[str, dict[str, Any]] | None) -> bool:
    if before is None or after is None:
        return True
    return before[0] != after[0] or (before[1] is not after[1] and before[1] != after[1])


def _field_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    changes = []
    for key in sorted(set(before) | set(after)):
        if key == "id" or before.get(key) == after.get(key):
            continue
        old, new = before.get(key), after.get(key)
        if isinstance(old, (dict, list)) or isinstance(new, (dict, list)):
            changes.append(f"{key} changed")
        elif old is None:
            changes.append(f"{key} set to {new}")
        elif new is None:
            changes.append(f"{key} {old} removed")
        else:
            changes.append(f"{key} {old} -> {new}")
    return changes


@dataclass(slots=True)
class _CommitDiff:
    before: Records
    after: Records


def _what_assignment(record: dict[str, Any]) -> str:
    assignee = record.get("person") or record.get("device")
    return f"{record.get('holding')} to {assignee}"


class HistoryBuilder:
    """Walks commits oldest first, keeping the state of every record, and describes each commit."""

    def __init__(
        self,
        read_blob: Callable[[str], bytes],
        cal_names: dict[str, str],
        prefix: str,
        *,
        transfers_only: bool = False,
        latest: dt.date | None = None,
    ) -> None:
        """With ``transfers_only`` (what a check needs), only assignments are followed and no entry is kept.

        A commit is dated by its committer date, but never later than ``latest`` (a check's --as-of): whoever
        makes a commit chooses its dates, and a date in the future must not put a reassignment out of reach.
        """
        self.read_blob = read_blob
        self.latest = latest
        self.transfers_only = transfers_only
        self.cal_names = cal_names
        self.prefix = f"{prefix}/" if prefix else ""
        self.state: Records = {}
        self.effective_since: dict[str, dt.date] = {}
        self._cache: dict[str, Parsed] = {}
        # per path: its latest version's blob, bytes and layout, and whether it is known to read item by item
        self._last: dict[str, tuple[str, bytes, tuple[int, bytes, str] | None, bool]] = {}
        self._preloaded: dict[str, tuple[bytes, Shaped | None, LoadedFile | None]] = {}  # blob -> read (and parsed)
        self._keys: dict[str, Counter[RecordKey]] = {}  # per path: how many of its records have each key
        self.parser = RecordParser("assignments" if transfers_only else None)
        self.history = History()
        self.gone: dict[str, str] = {}  # removed assignment id -> what it was (ids are never reused)
        self.touched: set[RecordKey] | None = None  # when a set: every record key ``add`` changes is added to it

    def reads(self, path: str | None) -> bool:
        """Whether this file's contents matter to the history (a YAML file below the estate's folder)."""
        return path is not None and path.startswith(self.prefix) and path.endswith((".yaml", ".yml"))

    def blobs_needed(self, commits: Iterable[Commit]) -> Iterator[str]:
        """The file versions ``add`` will read for these commits, in the order it reads them."""
        for commit in commits:
            for change in commit.changes:
                if change.new_blob is not None and self.reads(change.new_path):
                    yield change.new_blob

    def _region_change(self, change: Change) -> tuple[list[Entry_], list[Entry_]] | None:
        """The records a change touched, found by comparing only the changed byte range of two versions.

        Successive versions of a file share their start and end; only the items between are split, checked and
        looked up. This needs the earlier version to be of the usual shape and to read item by item as it reads
        whole (see ``_shape`` and ``RecordParser``): then so does the new one when its changed range does. Any doubt
        (no such earlier version, a change in the header, an unusual line) answers None, and the caller compares
        whole versions instead.
        """
        path = change.new_path or ""
        if change.new_blob is None or not self.reads(path):
            return None
        known = self._last.get(path)
        new_raw = self.read_blob(change.new_blob)
        self._last[path] = (change.new_blob, new_raw, None, False)
        if known is None or known[0] != change.old_blob or not known[3] or known[2] is None:
            return None
        if len(new_raw) > MAX_FILE_BYTES:  # the check reads none of its records
            return None
        old_raw, layout = known[1], known[2]
        header_end, marker, key = layout
        same_start = _common_prefix(old_raw, new_raw)
        same_end = _common_suffix(old_raw, new_raw, min(len(old_raw), len(new_raw)) - same_start)
        start = old_raw.rfind(marker, 0, same_start + 1)
        if start < header_end - 1 or same_start < header_end:
            return None
        if self.parser.only not in (None, key):  # a file of another kind, and still so: none of its records matter
            self._last[path] = (change.new_blob, new_raw, layout, True)
            return [], []
        start += 1
        # the next unchanged item, its line break included: a new version that changed the break before it (into a
        # comment's start, say) changed how that item reads
        next_item = old_raw.find(marker, max(start, len(old_raw) - same_end))
        end = next_item + 1 if next_item >= 0 else len(old_raw)
        tail = len(old_raw) - end
        old_items = _region_items(old_raw[start:end], marker, checked=True)
        new_items = _region_items(new_raw[start : len(new_raw) - tail], marker, checked=False)
        if old_items is None or new_items is None:
            return None
        old_count, new_count = Counter(old_items), Counter(new_items)  # an item's text may be there twice
        gone_items, came_items = list(old_count - new_count), list(new_count - old_count)
        readable = self.parser.readable(path, old_raw, key, list(gone_items))
        if not (readable and self.parser.readable(path, new_raw, key, list(came_items))):
            return None  # an item read alone may not be what the check reads: compare whole versions
        gone = [e for e in (self.parser.item_entry(path, key, c) for c in gone_items) if e is not None]
        came = [e for e in (self.parser.item_entry(path, key, c) for c in came_items) if e is not None]
        if not self._only_holders(path, gone, came):
            self._keys.pop(path, None)
            return None
        self._last[path] = (change.new_blob, new_raw, layout, True)
        return gone, came

    def _only_holders(self, path: str, gone: list[Entry_], came: list[Entry_]) -> bool:
        """Whether the items that changed hold the only records of their keys in the file (a check reads a key's last
        record only, so which one counts would depend on the items around them); if so, the file's count of records
        per key is brought up to date. Only a file holding each key once has a count: there the order of its items
        changes nothing, and so it stays (each key that came was not there, or went)."""
        counts = self._keys.get(path)
        gone_keys = {key for key, _ in gone}
        if counts is None or len(gone_keys) < len(gone) or len({key for key, _ in came}) < len(came):
            return False
        if any(counts[key] != 1 for key in gone_keys) or any(counts[key] != (key in gone_keys) for key, _ in came):
            return False
        for key in gone_keys:
            del counts[key]
        counts.update(key for key, _ in came)
        return True

    def _records(self, path: str, blob: str | None) -> Parsed:
        if blob is None or not self.reads(path):
            return Parsed([], frozenset())
        if blob not in self._cache:
            preloaded = self._preloaded.pop(blob, None)
            raw, shaped, loaded = preloaded if preloaded is not None else self._read(blob)
            parsed = self._cache[blob] = self.parser.parse(path, raw, shaped, loaded)
            self._last[path] = (blob, raw, shaped and shaped[0], shaped is not None and parsed.chunks is not None)
        elif self._last.get(path, ("",))[0] != blob:
            self._last.pop(path, None)  # its bytes are not at hand: the next change is compared whole
        return self._cache[blob]

    def _read(self, blob: str) -> tuple[bytes, Shaped | None, None]:
        raw = self.read_blob(blob)
        return raw, _shaped(raw), None

    def _preload(self, commit: Commit) -> None:
        """Read the file versions this commit brings that will be read whole (a first commit's: all of them), and
        when they are many, parse them on every core (``calcheck.estate.parallel``) a batch at a time."""
        wanted: dict[str, str] = {}
        for change in commit.changes:
            blob, path = change.new_blob, change.new_path or ""
            if blob is None or not self.reads(path) or blob in self._cache or blob in self._preloaded:
                continue
            last = self._last.get(path)
            if change.old_path == path and last is not None and last[0] == change.old_blob and last[3]:
                continue  # compared by its changed range
            wanted.setdefault(blob, path)
        if len(wanted) < 2:
            return
        batch: list[tuple[str, str, bytes]] = []
        for blob, path in wanted.items():
            raw, shaped, _ = self._preloaded[blob] = self._read(blob)
            if shaped is None or self.parser.only in (None, shaped[0][2]):  # a file the walk reads records of
                batch.append((blob, path, raw))
            if sum(len(item[2]) for item in batch) >= _PRELOAD_BATCH:
                self._parse_batch(batch)
                batch = []
        self._parse_batch(batch)

    def _parse_batch(self, batch: list[tuple[str, str, bytes]]) -> None:
        from calcheck.estate import parallel  # a history of small commits needs neither

        if sum(len(raw) for _, _, raw in batch) < parallel.MIN_PARALLEL_BYTES:
            return  # read one by one as they come: forking would cost more than it saves
        found = parallel.parse_all(
            batch, lambda item: len(item[2]), lambda item: load_bytes(item[1], item[2]), _encode_loaded, _decode_loaded
        )
        for (blob, _, _), loaded in zip(batch, found, strict=True):
            raw, shaped, _ = self._preloaded[blob]
            self._preloaded[blob] = (raw, shaped, loaded)

    def add(self, commit: Commit, title: str) -> Entry:
        """Apply one commit's changes to the state and describe them."""
        self._preload(commit)
        diff = _CommitDiff({}, {})
        for change in commit.changes:
            region = self._region_change(change) if change.old_path == change.new_path else None
            if region is not None:
                old, new = region
            else:
                old_file = self._records(change.old_path or "", change.old_blob)
                new_file = self._records(change.new_path or "", change.new_blob)
                if change.old_path == change.new_path:  # only what differs; a renamed file moves all its records
                    old, new = self.parser.changed(old_file, new_file)
                else:
                    old, new = old_file.entries, new_file.entries
                    self._keys.pop(change.old_path or "", None)
                if change.new_path is not None:  # a key held twice: the order of items counts, compare whole
                    self._keys[change.new_path] = Counter(key for key, _ in new_file.entries)
                    if not new_file.unique:
                        del self._keys[change.new_path]
            if change.old_blob != change.new_blob:  # an older version is rarely needed again: free it
                self._cache.pop(change.old_blob or "", None)
            diff.before.update((key, (change.old_path or "", record)) for key, record in old)
            diff.after.update((key, (change.new_path or "", record)) for key, record in new)
        for key in diff.before:
            self.state.pop(key, None)
        self.state.update(diff.after)
        if self.touched is not None:
            self.touched.update(diff.before, diff.after)
        when = commit.committed.date()
        events = self._describe(diff, min(when, self.latest) if self.latest else when, commit.sha)
        entry = Entry(commit.sha, commit.committed, commit.author, title, tuple(events))
        if not self.transfers_only:  # a check reads only the transfers (and the history cache keeps only those)
            self.history.entries.append(entry)
        return entry

    def apply(self, before: Records, after: Records, date: dt.date, sha: str) -> list[Event]:
        """Describe a change given as two sets of records (e.g. uncommitted edits)."""
        for key in before:
            self.state.pop(key, None)
        self.state.update(after)
        if self.touched is not None:
            self.touched.update(before, after)
        return self._describe(_CommitDiff(before, after), date, sha)

    def _track_ids(self, diff: _CommitDiff, date: dt.date, sha: str) -> None:
        """Remember removed assignment ids, and note one given later to a different record.

        A change's reused ids are noted in the order of their ids: the order its records come in depends on how the
        walk read the file (by changed range, item by item, whole; a walk resumed from the cache reads differently).
        """
        for key, (_, record) in diff.before.items():
            if key[0] == "assignments" and key not in diff.after:
                self.gone[key[1]] = _what_assignment(record)
        reused: list[Reuse] = []
        for key, (_, record) in diff.after.items():
            if key[0] != "assignments":
                continue
            self.history.ids.add(key[1])
            was = self.gone.pop(key[1], None) if key not in diff.before else None
            now = _what_assignment(record)
            if was is not None and was != now:
                reused.append(Reuse(key[1], was, now, sha, date))
        reused.sort(key=lambda reuse: reuse.assignment)
        self.history.reused += reused

    def _describe(self, diff: _CommitDiff, date: dt.date, sha: str) -> list[Event]:
        self._track_ids(diff, date, sha)
        say = _Describer(self.state, self.cal_names)
        before, after = diff.before, diff.after
        changed: dict[str, list[str]] = {}  # ids by kind (sorting plain ids is much cheaper than (kind, id) pairs)
        for key, now in after.items():
            if key not in before or _differs(before[key], now):
                changed.setdefault(key[0], []).append(key[1])
        for key in before.keys() - after.keys():
            changed.setdefault(key[0], []).append(key[1])
        ids = changed.pop("assignments", [])
        ids.sort()
        events = [] if self.transfers_only else _assignment_moves(ids, before, after)
        events += self._assignment_events(
            {aid: before[("assignments", aid)][1] for aid in ids if ("assignments", aid) in before},
            {aid: after[("assignments", aid)][1] for aid in ids if ("assignments", aid) in after},
            say,
            date,
            sha,
        )
        if self.transfers_only:
            return []
        for kind in sorted(changed):
            for rid in sorted(changed[kind]):
                events += self._record_events((kind, rid), before.get((kind, rid)), after.get((kind, rid)))
        return summarise(events)

    def _record_events(
        self, key: RecordKey, before: tuple[str, dict[str, Any]] | None, after: tuple[str, dict[str, Any]] | None
    ) -> list[Event]:
        kind, rid = key
        noun = _NOUN.get(kind, kind)
        label = noun if kind == "config" else f"{noun} {rid}"
        if before is None and after is not None:
            return [Event(f"{label} added{_summary(kind, after[1])}", (rid,), f"{kind} added")]
        if after is None and before is not None:
            return [Event(f"{label} removed", (rid,), f"{kind} removed")]
        assert before is not None and after is not None
        changes = _field_changes(before[1], after[1])
        if kind == "people" and after[1].get("status") == "departed" and before[1].get("status") != "departed":
            changes = [f"departed on {after[1].get('departed')}"] + [
                c for c in changes if not c.startswith(("status", "departed"))
            ]
        events = [_moved(kind, label, (rid,), before[0], after[0])] if before[0] != after[0] else []
        if changes:  # apart from the move, so that the moves of a renamed file are summarised as one
            events.append(Event(f"{label} " + "; ".join(changes), (rid,)))
        return events

    def _assignment_events(
        self,
        before: dict[str, dict[str, Any]],
        after: dict[str, dict[str, Any]],
        say: _Describer,
        date: dt.date,
        sha: str,
    ) -> list[Event]:
        events: list[Event] = []
        removed = {aid: r for aid, r in before.items() if aid not in after}
        added = {aid: r for aid, r in after.items() if aid not in before}
        # A transfer: an assignment that replaces another, or a removal (or an end) and an addition of the same
        # holding: ending one and assigning anew in one change moves the CAL as removing it does.
        ended = {aid: after[aid] for aid in sorted(set(before) & set(after)) if _newly_ended(before[aid], after[aid])}
        pairs: list[tuple[dict[str, Any], dict[str, Any]]] = []
        by_holding: dict[Any, list[str]] = {}  # removed ids per holding, last id first (popped from the end)
        for aid in sorted(removed, reverse=True):
            by_holding.setdefault(removed[aid].get("holding"), []).append(aid)
        pairing = bool(removed) or bool(ended) or any("replaces" in record for record in added.values())
        for aid, record in list(added.items()) if pairing else ():
            previous_id = record.get("replaces")
            previous = None
            if isinstance(previous_id, str):
                previous = removed.pop(previous_id, None)
                if previous is None:
                    previous = self.state.get(("assignments", previous_id), ("", None))[1] or before.get(previous_id)
            if previous is None and removed:
                same = by_holding.get(record.get("holding"), [])
                while same and same[-1] not in removed:
                    same.pop()  # already paired through 'replaces:'
                if same:
                    previous = removed.pop(same.pop())
            if previous is None:
                previous = _ended_before(ended, record)
            if previous is not None:
                pairs.append((previous, record))
                added.pop(aid)
        for previous, record in pairs:
            events.append(self._transfer(previous, record, say, _date(record.get("since")) or date, sha))
        for aid, record in added.items():
            self.effective_since[aid] = _date(record.get("since")) or date
        if not self.transfers_only:  # a check needs only the transfers
            for record in added.values():
                reason = f" ({record['reason']})" if record.get("reason") else ""
                events.append(say.assignment_event(record, "assigned to", reason, "assignments added"))
            for record in removed.values():
                events.append(say.assignment_event(record, "unassigned from", "", "assignments removed"))
        for aid in sorted(set(before) & set(after)):
            events += self._assignment_edit(before[aid], after[aid], say, date, sha)
        return events

    def _assignment_edit(
        self, before: dict[str, Any], after: dict[str, Any], say: _Describer, date: dt.date, sha: str
    ) -> list[Event]:
        if _subject(before) != _subject(after):
            since_changed = before.get("since") != after.get("since")
            when = (_date(after.get("since")) if since_changed else None) or date
            return [self._transfer(before, after, say, when, sha)]
        changes = _field_changes(before, after)
        if not changes:
            return []
        aid = str(after["id"])
        return [
            Event(
                f"assignment {aid} of {say.holding(str(after.get('holding')))} to {say.who(after)}: "
                + "; ".join(changes),
                (aid, str(after.get("holding")), _subject(after)[1]),
            )
        ]

    def _transfer(
        self, previous: dict[str, Any], record: dict[str, Any], say: _Describer, date: dt.date, sha: str
    ) -> Event:
        pid, aid = str(previous.get("id")), str(record["id"])
        previous_since = self.effective_since.get(pid) or _date(previous.get("since")) or date
        self.effective_since[aid] = date
        self.history.transfers.append(
            Transfer(
                str(record.get("holding")),
                aid,
                _subject(previous)[1],
                previous_since,
                date,
                record.get("reason") if isinstance(record.get("reason"), str) else None,
                record.get("temporary") is True,
                sha,
            )
        )
        reason = f" ({record['reason']})" if record.get("reason") else ""
        what = say.holding(str(record.get("holding")))
        text = f"{what} reassigned from {say.who(previous)} to {say.who(record)}{reason}"
        return Event(text, (aid, pid, str(record.get("holding")), _subject(previous)[1], _subject(record)[1]))


def _newly_ended(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether a change gave the assignment an end (or an earlier one), its holder unchanged."""
    until, was = _date(after.get("until")), _date(before.get("until"))
    return until is not None and (was is None or until < was) and _subject(before) == _subject(after)


def _ended_before(ended: dict[str, dict[str, Any]], record: dict[str, Any]) -> dict[str, Any] | None:
    """The assignment of the same holding ended in this change just before ``record`` begins (taken from ``ended``)."""
    since = _date(record.get("since"))
    for aid, previous in ended.items():
        until = _date(previous.get("until"))
        same_holding = previous.get("holding") == record.get("holding")
        if same_holding and since is not None and until is not None and until < since:
            return ended.pop(aid)
    return None


def _assignment_moves(ids: list[str], before: Records, after: Records) -> list[Event]:
    """Assignments now in another file than before (their other changes are described as usual)."""
    events: list[Event] = []
    for aid in ids:
        old, new = before.get(("assignments", aid)), after.get(("assignments", aid))
        if old is not None and new is not None and old[0] != new[0]:
            record = new[1]
            related = (aid, str(record.get("holding")), _subject(record)[1])
            events.append(_moved("assignments", f"assignment {aid}", related, old[0], new[0]))
    return events


SUMMARY_LIMIT = 10


def summarise(events: list[Event]) -> list[Event]:
    """Fold large groups of like events (an import, a renamed file) into one event each."""
    groups: dict[str, list[Event]] = {}
    for event in events:
        if event.group:
            groups.setdefault(event.group, []).append(event)
    result: list[Event] = []
    done: set[str] = set()
    for event in events:
        members = groups.get(event.group, [])
        limit = 1 if " moved from " in event.group else SUMMARY_LIMIT
        if not event.group or len(members) <= limit:
            result.append(event)
        elif event.group not in done:
            done.add(event.group)
            result.append(Event(f"{len(members)} {event.group}", None, event.group, tuple(members)))
    return result


def _summary(kind: str, record: dict[str, Any]) -> str:
    if kind == "holdings":
        version = f" {record.get('version')}" if record.get("version") is not None else ""
        return f": {record.get('quantity')} {record.get('cal')}{version} {record.get('type')} CALs"
    if kind == "people":
        return f" ({record.get('kind')}, {record.get('status')})"
    return ""


def pr_title(subject: str, message: Callable[[], str]) -> str:
    """The pull request's title: a merge commit's first body line, else the subject."""
    if subject.startswith("Merge pull request"):
        lines = [line.strip() for line in message().splitlines()[1:] if line.strip()]
        if lines:
            return lines[0]
    return subject


def records_of(files: Iterable[tuple[str, bytes]]) -> Records:
    """All records of a set of files (path, content)."""
    records: Records = {}
    for path, raw in files:
        for key, record in parse_records(path, raw):
            records[key] = (path, record)
    return records
