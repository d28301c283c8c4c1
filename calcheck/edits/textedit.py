"""Record edits done as text: values replaced and keys added where libyaml places them, every other byte kept.

An import updates thousands of records in files people wrote by hand: blank lines and comments between records,
flow and block records mixed, quoting, CR LF, a byte-order mark, Unicode. A round trip through ruamel.yaml takes
seconds per thousand records and cannot reproduce every such file byte for byte. Here libyaml's events (the parser
the check reads with) give each record's keys and values with where they start and end; an edit replaces a value
in place, adds a key after another (a line of its own in a block record, ``, key: value`` in a flow record), or
appends a record shaped like the last one. The caller must read the result back with the checker's loader and
compare it with the records intended (``RecordFile.expected``); whatever this module cannot do as text raises
``TextEditError`` and is left to the round trip.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from calcheck.edits.recordstyle import SAME_PLACE, order_like
from calcheck.edits.yamledit import read_back
from calcheck.estate.yamlload import gc_paused, resolve_plain

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # what libyaml counts as a line break
_DASH = re.compile(r" *- +\Z")  # what precedes a list item's first key (or its brace) on its line
_NEAREST = 50  # records looked at for quoting, nearest first (as recordstyle)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
# A plain scalar starts with none of YAML's indicators, holds no ': ' or ' #', ends in no ':', has no space at either
# end and no control (and, checked separately, reads back as the same text). Flow context also excludes ,[]{}.
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@` ")
_FLOW_SPECIAL = re.compile(r"[,\[\]{}]")
_YAML11 = re.compile(r"(?i)(y|n|yes|no|on|off|true|false|null|~|[-+]?(\.?\d.*|\.inf|\.nan))\Z")
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]")
_DOUBLE_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\x85": "\\N", "\u2028": "\\L"}


Reader = Callable[[Path, str], "dict[str, Any] | None"]  # a file's text -> its one document, as the check reads it


class TextEditError(Exception):
    """This file or edit cannot be done as text (the round trip decides)."""


@dataclass(slots=True)
class _Value:
    start: int  # offset of the value's first character in the text
    end: int  # offset just after its last character (a collection: its last content)
    style: str | None  # a scalar's style ("" plain, "'", '"', "|", ">"); None: a collection

    @property
    def inline(self) -> bool:
        """A plain or quoted scalar: one this module replaces, and after whose line it adds keys."""
        return self.style in ("", "'", '"')


@dataclass(slots=True)
class _Record:
    flow: bool
    start: int  # offset of the first key (a block record) or of the brace (a flow record)
    column: int  # column of its keys (block records)
    values: dict[str, _Value] = field(default_factory=dict)
    end: int = 0  # offset just after its last content


@dataclass(slots=True)
class _Pending:
    """The edits of one record: values set, and where new keys go (ruamel.yaml's ``insert`` order)."""

    order: list[str]
    values: dict[str, Any] = field(default_factory=dict)


class RecordFile:
    """One estate file's list of records, located in its text, and the edits planned on it."""

    def __init__(
        self,
        path: Path,
        text: str,
        data: dict[str, Any],
        collection: str,
        located: list[_Record | None] | None = None,
    ) -> None:
        self.path = path
        self.text = text
        self.collection = collection
        self.data = data
        items = data.get(collection)
        if data.get("kind") != collection or not isinstance(items, list):
            raise TextEditError(f"{path}: not a list of {collection}")
        self.items: list[Any] = items
        self.records = located if located is not None else _locate(text, collection)  # located: _locate's, given
        if len(self.records) != len(items):
            raise TextEditError(f"{path}: the events and the loaded records disagree")
        self._pending: dict[int, _Pending] = {}
        self._appended: list[dict[str, Any]] = []
        self._styles: dict[str, str] | None = None
        self.digest = ""
        self.reader: Reader = read_back

    @classmethod
    def read(
        cls, path: Path, collection: str, reader: Reader = read_back, located: Located | None = None
    ) -> RecordFile:
        """The file as ``reader`` (the checker's loader) reads it, its records located; TextEditError if it cannot
        be edited as text. ``located`` may give the records already located in a text of the same SHA-256 (see
        ``located_text``)."""
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise TextEditError(f"{path}: not UTF-8 text") from None
        data = reader(path, text)
        if data is None:
            raise TextEditError(f"{path}: does not read cleanly")
        digest = hashlib.sha256(raw).hexdigest()
        found = cls(path, text, data, collection, located(digest) if located is not None else None)
        found.digest = digest
        found.reader = reader
        return found

    def confirmed(self) -> str:
        """The edited text, after making sure the checker reads it as exactly the records intended."""
        after = self.render()
        if self.reader(self.path, after) != self.expected():
            raise TextEditError(f"{self.path}: the edited text would not read back as intended")
        return after

    def index(self) -> dict[Any, int]:
        """Record index by id (the first of equal ids, as the check reads them; an id that is not text names no
        record the check reads)."""
        found: dict[Any, int] = {}
        for i, item in enumerate(self.items):
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                found.setdefault(item["id"], i)
        return found

    def value(self, index: int, key: str) -> Any:
        """Field ``key`` of record ``index`` as the checker reads it, with the edits planned so far."""
        pending = self._pending.get(index)
        if pending is not None and key in pending.values:
            return pending.values[key]
        return self.items[index].get(key)

    def current(self, index: int) -> dict[str, Any]:
        """Record ``index`` as the checker reads it, with the edits planned so far."""
        record = self.items[index]
        pending = self._pending.get(index)
        return {**record, **pending.values} if pending is not None else dict(record)

    def set(self, index: int, key: str, value: Any, after: str) -> None:
        """Set ``key`` of record ``index``; a new key goes after ``after`` (at the end without it)."""
        located = self.records[index]
        if located is None:
            raise TextEditError(f"{self.path}: item {index + 1} is not a plain mapping")
        pending = self._pending.get(index)
        if pending is None:
            pending = self._pending[index] = _Pending(list(located.values))
        if key not in pending.order:
            pending.order.insert(pending.order.index(after) + 1 if after in pending.order else len(pending.order), key)
        elif key in located.values and not located.values[key].inline:
            raise TextEditError(f"{self.path}: {key} of item {index + 1} is not a plain value")
        pending.values[key] = value

    def append(self, values: dict[str, Any]) -> None:
        self._appended.append(values)

    def expected(self) -> dict[str, Any]:
        """The document the edited text must read back as (dates as ISO text, as the checker reads them)."""
        items = [self.current(i) if i in self._pending else item for i, item in enumerate(self.items)]
        items += [dict(values) for values in self._appended]
        plain = [_plain_values(item) if isinstance(item, dict) else item for item in items]
        return {**self.data, self.collection: plain}

    def render(self) -> str:
        """The text with every planned edit: untouched bytes as they were."""
        pieces: list[tuple[int, int, str]] = []
        for index in sorted(self._pending):
            pieces.extend(self._edits(index))
        if self._appended:
            pieces.append(self._append_at())
        out: list[str] = []
        done = 0
        for start, end, replacement in sorted(pieces, key=lambda piece: (piece[0], piece[1])):
            if start < done:
                raise TextEditError(f"{self.path}: overlapping edits")
            out += [self.text[done:start], replacement]
            done = end
        out.append(self.text[done:])
        return "".join(out)

    def _edits(self, index: int) -> list[tuple[int, int, str]]:
        located = self.records[index]
        assert located is not None
        pending = self._pending[index]
        styles = self._quoting()
        edits: list[tuple[int, int, str]] = []
        for key, value in pending.values.items():
            if key in located.values:
                old = located.values[key]
                assert old.style is not None and old.inline
                edits.append((old.start, old.end, _scalar(value, old.style, located.flow)))
        inserted: list[str] = []
        previous: str | None = None
        for key in [*pending.order, ""]:
            if key and key not in located.values:
                inserted.append(key)
                continue
            if inserted:
                pairs = [(k, _scalar(pending.values[k], _style_for(styles, k, pending.values[k]), located.flow))
                         for k in inserted]  # fmt: skip
                edits.append(self._insertion(located, previous, pairs))
                inserted = []
            previous = key
        return edits

    def _insertion(self, located: _Record, after: str | None, pairs: list[tuple[str, str]]) -> tuple[int, int, str]:
        if after is None:  # before every existing key: only when the record has none
            raise TextEditError(f"{self.path}: a record without keys")
        value = located.values[after]
        if value.style in ("|", ">"):  # a block scalar ends past its own line
            raise TextEditError(f"{self.path}: a key after a block scalar")
        if located.flow:
            return value.end, value.end, "".join(f", {k}: {v}" for k, v in pairs)
        end = self._line_end(value.end)
        newline = self._newline_at(end)
        return end, end, "".join(f"{newline}{' ' * located.column}{k}: {v}" for k, v in pairs)

    def _append_at(self) -> tuple[int, int, str]:
        last = next((r for r in reversed(self.records) if r is not None), None)
        if last is None or self.records[-1] is None:
            raise TextEditError(f"{self.path}: no record to model a new one on")
        line_start = self._line_start(last.start)
        prefix = self.text[line_start : last.start]
        if not _DASH.match(prefix) or any(v.style in ("|", ">") for v in last.values.values()):
            raise TextEditError(f"{self.path}: the last record does not start its line")
        styles = self._quoting()
        end = self._line_end(last.end)
        newline = self._newline_at(end)
        lines: list[str] = []
        for values in self._appended:
            keys = order_like([_in_place_of(k, values) for k in last.values], list(values))
            pairs = [(k, _scalar(values[k], _style_for(styles, k, values[k]), last.flow)) for k in keys]
            if last.flow:
                lines.append(prefix + "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}")
            else:
                indent = " " * last.column
                lines.append(prefix + f"\n{indent}".join(f"{k}: {v}" for k, v in pairs).replace("\n", newline))
        return end, end, "".join(newline + line for line in lines)

    def _quoting(self) -> dict[str, str]:
        """Quote style by field (as the nearest record with it) and by sort of value (as most, plain on a tie)."""
        if self._styles is not None:
            return self._styles
        found: dict[str, str] = {}
        tally: dict[str, Counter[str]] = {"date": Counter(), "text": Counter()}
        located = [(r, item) for r, item in zip(self.records, self.items, strict=True) if r is not None]
        for record, item in reversed(located[-_NEAREST:]):
            for key, value in record.values.items():
                if not value.inline or not isinstance(item.get(key), str):
                    continue
                found.setdefault(f"field {key}", value.style)
                tally[_sort(item[key])][value.style] += 1
        for sort, counts in tally.items():
            if counts:
                top = max(counts.values())
                found[f"sort {sort}"] = "" if counts[""] == top else counts.most_common(1)[0][0]
        self._styles = found
        return found

    def _line_start(self, offset: int) -> int:
        return max(self.text.rfind(c, 0, offset) for c in "\n\r\x85\u2028\u2029") + 1

    def _line_end(self, offset: int) -> int:
        found = _BREAK.search(self.text, offset)
        return found.start() if found is not None else len(self.text)

    def _newline_at(self, offset: int) -> str:
        found = _BREAK.match(self.text, offset)
        if found is not None and found.group() in ("\n", "\r\n", "\r"):
            return found.group()
        return "\r\n" if "\r\n" in self.text else "\n"


def new_text(collection: str, records: list[dict[str, Any]]) -> str:
    """A new ``kind: collection`` file holding ``records`` one per line, as ``yamledit.new_file`` writes it.

    Written directly (ruamel.yaml takes minutes for the tens of thousands of records an import can add); the
    caller reads it back with the checker's loader, as every new file is.
    """
    lines = [f"kind: {collection}", f"{collection}:"]
    for record in records:
        pairs = ", ".join(f"{k}: {_scalar(v, '', True)}" for k, v in record.items())
        lines.append(f"  - {{{pairs}}}")
    return "\n".join(lines) + "\n"


def _in_place_of(key: str, values: dict[str, Any]) -> str:
    other = SAME_PLACE.get(key)
    return other if other in values and key not in values else key


def _sort(value: Any) -> str:
    return "date" if isinstance(value, dt.date) or (isinstance(value, str) and _DATE.match(value)) else "text"


def _style_for(styles: dict[str, str], key: str, value: Any) -> str:
    same = f"field {SAME_PLACE[key]}" if key in SAME_PLACE else ""
    return styles.get(f"field {key}", styles.get(same, styles.get(f"sort {_sort(value)}", "")))


def _plain_values(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in record.items()}


def _scalar(value: Any, style: str, flow: bool) -> str:
    """``value`` as a YAML scalar in ``style`` where it can be written so (else single, else double quotes)."""
    if isinstance(value, dt.date):
        value = value.isoformat()
        if style == "":
            return str(value)
    if isinstance(value, bool) or value is None or not isinstance(value, str):
        raise TextEditError(f"not a text value: {value!r}")
    if style == "" and _plain_ok(value, flow):
        return value
    if style != '"' and not _UNSAFE.search(value):
        return "'" + value.replace("'", "''") + "'"
    return '"' + "".join(_DOUBLE_ESCAPES.get(c) or (f"\\u{ord(c):04X}" if _UNSAFE.match(c) else c) for c in value) + '"'


def _plain_ok(value: str, flow: bool) -> bool:
    if _PLAIN_WORDS.match(value) and value.lower() not in _WORDS:  # most names, e-mails, departments: the same answer
        return True
    return _plain_ok_in_full(value, flow)


# Text of these characters starting with a letter, single spaces between, passes every test of ``_plain_ok_in_full``
# (no indicator, no ': ' or ' #', no control or flow character; resolved as text, not a date) unless it is a word
# YAML 1.1 or 1.2 reads as a boolean or null.
_PLAIN_WORDS = re.compile(r"[A-Za-z][A-Za-z0-9_.@/+-]*(?: [A-Za-z0-9_.@/+-]+)*\Z")
_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})


def _plain_ok_in_full(value: str, flow: bool) -> bool:
    if not value or value[0] in _INDICATORS or value[-1] in " :" or ": " in value or " #" in value:
        return False
    if _UNSAFE.search(value) or "\t" in value or (flow and _FLOW_SPECIAL.search(value)) or _YAML11.match(value):
        return False
    return resolve_plain(value) == value and not _DATE.match(value)


Located = Callable[[str], "list[_Record | None] | None"]  # a text's SHA-256 -> its records located, if known


def located_text(text: str, collection: str) -> bytes | None:
    """``_locate``'s answer for ``text`` as bytes, None where it raises (the reader locates the text itself, and says
    why): a line of JSON, the key orders of the records, then 64-bit integers, for each item -1 (not a record) or
    its key order, flow (1) or block (0), start, column and end, then each value's start, end and style."""
    try:
        records = _locate(text, collection)
    except TextEditError:
        return None
    orders: dict[tuple[str, ...], int] = {}
    ints = array("q")
    for record in records:
        if record is None:
            ints.append(-1)
            continue
        keys = tuple(record.values)
        ints.extend((orders.setdefault(keys, len(orders)), int(record.flow), record.start, record.column, record.end))
        for value in record.values.values():
            ints.extend((value.start, value.end, _STYLE_CODES[value.style]))
    head = json.dumps(list(orders), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return head + b"\n" + ints.tobytes()


def records_located(body: bytes) -> list[_Record | None] | None:
    """The records ``located_text`` encoded, exactly as ``_locate`` gave them; None when ``body`` is not such an
    answer (the text is then located again)."""
    head, _, rest = body.partition(b"\n")
    ints = array("q")
    try:
        orders = json.loads(head)
        ints.frombytes(rest)
    except (ValueError, RecursionError):
        return None
    if not isinstance(orders, list) or not all(
        isinstance(keys, list) and all(type(k) is str for k in keys) and len(set(keys)) == len(keys) for keys in orders
    ):
        return None
    numbers = ints.tolist()
    found: list[_Record | None] = []
    styles, value = _STYLE_LIST, _Value
    at, size, known = 0, len(numbers), len(orders)
    try:
        while at < size:
            order = numbers[at]
            if order == -1:
                found.append(None)
                at += 1
                continue
            flow, start, column, end = numbers[at + 1 : at + 5]
            keys = orders[order]
            at += 5
            if not 0 <= order < known or flow not in (0, 1) or at + 3 * len(keys) > size:
                return None
            values: dict[str, _Value] = {}
            for key in keys:
                values[key] = value(numbers[at], numbers[at + 1], styles[numbers[at + 2]])
                at += 3
            found.append(_Record(flow == 1, start, column, values, end))
    except (ValueError, IndexError):  # cut short, or a style that is none
        return None
    return found


_STYLE_LIST: list[str | None] = [None, "", "'", '"', "|", ">"]
_STYLE_CODES = {style: code for code, style in enumerate(_STYLE_LIST)}


def _locate(text: str, collection: str) -> list[_Record | None]:
    """Each item of the document's ``collection`` list: None for an item that is not a mapping of plain keys."""
    # libyaml counts lines and columns in characters after a byte-order mark, each line break one line
    starts = [1 if text.startswith("\ufeff") else 0] + [m.end() for m in _BREAK.finditer(text)]
    try:
        with gc_paused():  # a million short-lived events: the cyclic GC would only slow the walk down
            return _Walk(yaml.parse(text, Loader=_LOADER), starts).items(collection)
    except yaml.YAMLError as error:
        raise TextEditError("not readable by libyaml") from error


_SCALAR, _MAP, _SEQ = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent
_MAP_END, _SEQ_END = yaml.MappingEndEvent, yaml.SequenceEndEvent


class _Walk:
    """A pass over one document's events that finds its list of records (the hot loop of an import: kept lean)."""

    def __init__(self, events: Iterator[Any], starts: list[int]) -> None:
        self.events = events
        self.starts = starts

    def at(self, mark: Any) -> int:
        return int(self.starts[mark.line] + mark.column)

    def next(self) -> Any:
        event: Any = next(self.events, None)
        kind = event.__class__
        if kind is _SCALAR or kind is _MAP or kind is _SEQ:
            if event.anchor is not None or event.tag is not None:
                raise TextEditError("anchors and tags are edited by the round trip")
        elif event is None or kind is yaml.AliasEvent:
            raise TextEditError("aliases are edited by the round trip")
        return event

    def items(self, collection: str) -> list[_Record | None]:
        kinds = [type(self.next()) for _ in range(3)]
        if kinds != [yaml.StreamStartEvent, yaml.DocumentStartEvent, _MAP]:
            raise TextEditError("not one mapping")
        found: list[_Record | None] | None = None
        while True:
            key = self.next()
            if key.__class__ is _MAP_END:
                break
            if key.__class__ is not _SCALAR:
                raise TextEditError("a key that is not text")
            if key.value == collection and key.style == "" and found is None:
                found = self._list()
            else:
                self._skip(self.next())
        if type(self.next()) is not yaml.DocumentEndEvent or type(self.next()) is not yaml.StreamEndEvent:
            raise TextEditError("more than one document")
        if found is None:
            raise TextEditError(f"no {collection} list")
        return found

    def _list(self) -> list[_Record | None]:
        start = self.next()
        if start.__class__ is not _SEQ or start.flow_style:
            raise TextEditError("the list is not a block list")
        found: list[_Record | None] = []
        while True:
            event = self.next()
            if event.__class__ is _SEQ_END:
                return found
            if event.__class__ is _MAP:
                found.append(self._record(event))
            else:
                self._skip(event)
                found.append(None)

    def _record(self, start: Any) -> _Record | None:
        """One item's keys and values; None (its events passed over) unless every key is plain text, once."""
        starts, step = self.starts, self.next
        record = _Record(bool(start.flow_style), self.at(start.start_mark), 0)
        values = record.values
        plain = True
        while True:
            key = step()
            if key.__class__ is _MAP_END:
                if record.flow:
                    record.end = self.at(key.end_mark)
                return record if plain and values else None
            if key.__class__ is not _SCALAR:  # a complex key
                self._skip(key)
                self._skip(step())
                plain = False
                continue
            value = step()
            first: Any = value.start_mark
            if value.__class__ is _SCALAR:
                last: Any = value.end_mark
                end, style = starts[last.line] + last.column, value.style
            else:
                end, style = self._skip(value), None
            name = key.value
            if key.style != "" or name in values:
                plain = False
                continue
            if not values:
                mark: Any = key.start_mark
                record.column = int(mark.column)
            values[name] = _Value(starts[first.line] + first.column, end, style)
            record.end = end

    def _skip(self, event: Any) -> int:
        """Pass over the node that starts with ``event``; the offset just after its last content."""
        if event.__class__ is _SCALAR:
            return self.at(event.end_mark)
        flows = [bool(event.flow_style)]
        end = self.at(event.end_mark)
        while flows:
            event = self.next()
            kind = event.__class__
            if kind is _SCALAR:
                end = self.at(event.end_mark)
            elif kind is _MAP or kind is _SEQ:
                flows.append(bool(event.flow_style))
            elif flows.pop():  # the end of a flow collection: its closing bracket is content
                end = self.at(event.end_mark)
        return end
