"""A fast lane for the estate's most common file shapes: `kind:`, the list key, then one record per line as a flow
mapping, or one block mapping per record with a `key: value` line per field.

Assignment registers, directory dumps and imports are written this way, and they are most of a large estate.
Such a file is read here without libyaml, giving exactly what the libyaml event loader gives (data, positions,
the document's start): one regular-expression match checks every record of the file, the C JSON parser reads
them when all their values are text (other values are resolved one by one), and each record's key positions are
worked out only when something asks for them. Anything beyond the narrow subset goes to libyaml instead:
quotes, nested mappings, anchors, tags, comments after a value, tabs, CR, a BOM, unusual indentation or keys,
duplicate keys, values with characters YAML treats specially. Tests compare both loaders on every file they can
find and on random records of both styles.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from functools import lru_cache, partial
from itertools import accumulate
from typing import Any

from calcheck.estate.kinds import RECORD_KEYS
from calcheck.estate.yamlload import SCALARS, Document, LoadedFile, resolve_cached

_KIND = re.compile(r"kind: ([a-z]+) *\Z")
_LIST = re.compile(r"([a-z]+): *\Z")
_ITEM = re.compile(r"( +)- \{(.*)\} *\Z")  # the body is checked by _PLAIN
_VALUE = re.compile(r"(?:[A-Za-z0-9_]|[-+.][0-9])(?:[A-Za-z0-9_.@+/ -]*[A-Za-z0-9_.@+/-])?\Z")
_SKIP = re.compile(r" *(#.*)?\Z")
_EMPTY_LINE = re.compile(r"\n *(?=\n|\Z)")
_SCALAR = r"(?:[A-Za-z0-9_]|[-+.][0-9])(?:[A-Za-z0-9_.@+/ -]*[A-Za-z0-9_.@+/-])?"
_FLOW_VALUE = rf"(?:{_SCALAR}|\[(?:{_SCALAR}(?:, {_SCALAR})*)?\])"
_PAIR = rf"[A-Za-z_][A-Za-z0-9_]*: {_FLOW_VALUE}"
_PLAIN = re.compile(rf"{_PAIR}(?:, {_PAIR})*\Z")  # the usual record, checked whole by one C-level match
_BODIES = re.compile(r"^ +- \{(.*)\} *$", re.MULTILINE)
# Values that might not be text (null, booleans, numbers): each distinct one is resolved before JSON is used.
_MAYBE_NOT_TEXT = re.compile(r"(?:: |\[|, )([0-9+.nNtTfF-][^,\]}:]*)(?=[,\]}])")
# What libyaml refuses (controls, DEL, U+FFFE) or takes for a line break (NEL, LS, PS), even in a comment.
_ODD = re.compile("[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_PAIRS = re.compile(r"([A-Za-z_][A-Za-z0-9_]*): (\[[^\]]*\]|[^,]*)")


def load(path: str, raw: bytes) -> LoadedFile | None:
    """The file read without libyaml, or None when it is not of the simple shape."""
    if raw[:3] == b"\xef\xbb\xbf" or b"\r" in raw or b"\t" in raw or b"\x00" in raw:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if _ODD.search(text):
        return None
    text = text[:-1] if text.endswith("\n") else text
    lines = text.split("\n")
    significant = _significant(text, lines)
    if len(significant) < 3:
        return None
    (kind_line, kind_text), (list_line, list_text) = significant[0], significant[1]
    kind, listed = _KIND.match(kind_text), _LIST.match(list_text)
    if kind is None or listed is None or RECORD_KEYS.get(kind.group(1)) != listed.group(1):
        return None
    rows = significant[2:]
    texts = [line for _, line in rows]
    plain = rows[-1][0] - rows[0][0] == len(rows) - 1  # no blank or comment line between the records
    indent = texts[0][: len(texts[0]) - len(texts[0].lstrip(" "))]
    start = len(indent) + 3  # the column of a record: its '{', or its first key in block style
    if texts[0].startswith("- {", len(indent)):
        records = items(texts)
        positions = [(number, start, _LazyKeys(partial(_flow_positions, line, number, start))) for number, line in rows]
    elif plain and _block_plain(indent).fullmatch(body := "\n".join(texts)):
        # Block mappings of plain 'key: value' lines only: each item joined into a flow mapping's body.
        texts = re.split(rf"\n(?={indent}- )", body)
        flow = [f"  - {{{item[len(indent) + 2 :].replace(chr(10) + indent + '  ', ', ')}}}" for item in texts]
        records = items(flow, checked=True)
        numbers = list(accumulate((item.count("\n") + 1 for item in texts[:-1]), initial=rows[0][0]))
        positions = [
            (number, start, _LazyKeys(partial(_block_text_positions, item, number, start)))
            for number, item in zip(numbers, texts, strict=True)
        ]
    elif plain and not any(line.endswith((":", " ")) for line in texts):
        return None  # not simple block mappings, and nothing (a block list, trailing spaces) the line reader takes
    else:
        block = _block_items(rows, indent)
        if block is None or any(not group for group in block):
            return None
        records = items([f"  - {{{', '.join(text for _, text, _ in group)}}}" for group in block])
        positions = [(group[0][0], start, _LazyKeys(partial(_block_positions, group, start))) for group in block]
    if records is None or any(record is None for record in records):
        return None
    key = listed.group(1)
    data = {"kind": kind.group(1), key: records}
    pos = (
        kind_line,
        1,
        {"kind": (kind_line, 1, (kind_line, 7)), key: (list_line, 1, (significant[2][0], len(indent) + 1, positions))},
    )
    result = LoadedFile(path)
    result.documents.append(Document(data, pos, kind_line, 1))
    return result


def _significant(text: str, lines: list[str]) -> list[tuple[int, str]]:
    """(number, line) of every line that is not blank or a comment (usually all of them, or all but a few)."""
    marks = [blank.start() + 1 for blank in _EMPTY_LINE.finditer(text)]  # where blank lines start
    at = text.find("#")
    while at >= 0 and len(marks) <= 64:
        marks.append(at)
        at = text.find("#", at + 1)
    if len(marks) > 64:
        return [(number, line) for number, line in enumerate(lines, start=1) if not _SKIP.match(line)]
    skip = {0} if not lines[0].strip(" ") else set()
    index = previous = 0
    for mark in sorted(marks):  # the line each mark is on, counting newlines once over the text
        index += text.count("\n", previous, mark)
        previous = mark
        if _SKIP.match(lines[index]):
            skip.add(index)
    return [(index + 1, line) for index, line in enumerate(lines) if index not in skip]


def _flow_positions(line: str, number: int, start: int) -> dict[str, Any]:
    """Where each key and value of a checked one-line record is (``start``: the column of its '{')."""
    where: dict[str, Any] = {}
    offset = 0
    column = start + 1
    for key, value in _PAIRS.findall(line[start : line.rindex("}")]):
        where[key] = (number, column + offset, _value_position(value, number, column + offset + len(key) + 2))
        offset += len(key) + len(value) + 4
    return where


def _block_positions(group: list[_Line], column: int) -> dict[str, Any]:
    """Where each key and value of a checked block-style record is (its keys all at ``column``)."""
    where: dict[str, Any] = {}
    for number, text, listed in group:
        key, _, value = text.partition(": ")
        where[key] = (number, column, listed or _value_position(value, number, column + len(key) + 2))
    return where


def _block_text_positions(item: str, number: int, column: int) -> dict[str, Any]:
    """``_block_positions`` of an item given as its text (its lines all 'key: value', the first after '- ')."""
    return _block_positions([(number + i, line[column - 1 :], None) for i, line in enumerate(item.split("\n"))], column)


def _value_position(value: str, line: int, column: int) -> Any:
    if value[:1] == "[":
        parsed = _sequence(value[1:-1], line, column)
        assert parsed is not None
        return parsed[1]
    return (line, column)


_Line = tuple[int, str, Any]  # (line number, 'key: value' as in a flow mapping, position of a block list or None)


def _block_items(rows: list[tuple[int, str]], indent: str) -> list[list[_Line]] | None:
    """A block-style list's items, each its 'key: value' lines; None if not that simple.

    Every item starts with '<indent>- ' and its other keys are indented exactly two more. A key may hold a
    block list of plain values ('groups:' then '- a' lines), given here as a flow list with its positions.
    Anything else (deeper nesting, a value continued on the next line) is left to libyaml.
    """
    dash, inner = indent + "- ", indent + "  "
    cut = len(inner)
    groups: list[list[_Line]] = []
    listing: tuple[int, str] | None = None  # (line, key) of a 'key:' line whose list follows
    values: list[tuple[int, str]] = []
    at = -1  # the column of this list's dashes

    def close() -> bool:
        nonlocal listing, values, at
        if listing is not None:
            if not values:
                return False  # 'key:' with nothing after it is null: libyaml's to read
            positions = [(number, at + 2) for number, _ in values]
            text = f"{listing[1]}: [{', '.join(value for _, value in values)}]"
            groups[-1].append((listing[0], text, (values[0][0], at, positions)))
        listing, values, at = None, [], -1
        return True

    for number, line in rows:
        text = line[cut:].rstrip(" ")
        if line.startswith(dash):
            if not close():
                return None
            groups.append([])
        elif not groups or not line.startswith(inner):
            return None
        elif listing is not None and line.lstrip(" ").startswith("- "):
            column = len(line) - len(line.lstrip(" ")) + 1
            if at not in (-1, column):
                return None
            at = column
            values.append((number, line[column + 1 :].rstrip(" ")))
            if not values[-1][1]:
                return None  # '- ' alone is a null element
            continue
        elif text[:1] in (" ", "-") or not close():
            return None
        if text.endswith(":") and ": " not in text and " " not in text:
            listing = (number, text[:-1])
        else:
            groups[-1].append((number, text, None))
    return groups if close() else None


class _LazyKeys(dict[str, Any]):
    """A record's key positions, worked out on first use: most records never need them.

    Every read goes through a method here that fills the mapping first, so it behaves as the plain dict the
    libyaml loader gives (a test compares the two).
    """

    __slots__ = ("_make",)

    def __init__(self, make: Callable[[], dict[str, Any]]) -> None:
        super().__init__()
        self._make: Callable[[], dict[str, Any]] | None = make

    def _fill(self) -> _LazyKeys:
        make = self._make
        if make is not None:
            self._make = None
            dict.update(self, make())
        return self

    def __getitem__(self, key: str) -> Any:
        return dict.__getitem__(self._fill(), key)

    def __setitem__(self, key: str, value: Any) -> None:
        dict.__setitem__(self._fill(), key, value)

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self._fill(), key)

    def __iter__(self) -> Iterator[str]:
        return dict.__iter__(self._fill())

    def __len__(self) -> int:
        return dict.__len__(self._fill())

    def __eq__(self, other: object) -> bool:
        return dict.__eq__(self._fill(), other._fill() if isinstance(other, _LazyKeys) else other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None

    def __repr__(self) -> str:
        return dict.__repr__(self._fill())

    def get(self, key: str, default: Any = None) -> Any:
        return dict.get(self._fill(), key, default)

    def keys(self) -> Any:
        return dict.keys(self._fill())

    def values(self) -> Any:
        return dict.values(self._fill())

    def items(self) -> Any:
        return dict.items(self._fill())

    def copy(self) -> dict[str, Any]:
        return dict(dict.items(self._fill()))


def _sequence(inner: str, line: int, column: int) -> tuple[list[Any], Any] | None:
    """A flow sequence of plain scalars, ``[a, b]``, with its positions (``column`` is that of '[')."""
    if inner == "":
        return [], (line, column, [])
    values: list[Any] = []
    positions: list[Any] = []
    offset = 0
    for item in inner.split(", "):
        if not _VALUE.match(item):
            return None
        values.append(resolve_cached(item))
        positions.append((line, column + 1 + offset))
        offset += len(item) + 2
    return values, (line, column, positions)


def _data(body: str) -> dict[str, Any] | None:
    """The data of a record body that ``_PLAIN`` has already checked (None: a key twice)."""
    pairs = _PAIRS.findall(body)
    scalars = SCALARS
    record = {
        key: (scalars[value] if value in scalars else resolve_cached(value)) if value[:1] != "[" else _list(value)
        for key, value in pairs
    }
    return record if len(record) == len(pairs) else None


def _list(flow: str) -> list[Any]:
    """The values of a flow sequence that ``_PLAIN`` has already checked."""
    return [resolve_cached(value) for value in flow[1:-1].split(", ")] if flow != "[]" else []


@lru_cache(maxsize=16)
def _block_plain(indent: str) -> re.Pattern[str]:
    """Block mappings whose every line is 'key: value' ('<indent>- ' before an item's first, two spaces more
    before the others), one after another with nothing between."""
    return re.compile(rf"(?:{indent}- {_PAIR}(?:\n{indent}  {_PAIR})*(?:\n|\Z))*")


@lru_cache(maxsize=16)
def _one_liners(indent: str) -> re.Pattern[str]:
    """One-line items at this indent, one per line (any number of them)."""
    return re.compile(rf"(?:{indent}- \{{{_PAIR}(?:, {_PAIR})*\}} *(?:\n|\Z))*")


def items(texts: list[str], *, checked: bool = False) -> list[dict[str, Any] | None] | None:
    """The records of one-line list items at one indent, checked by one match over them all (unless the caller
    has ``checked`` them); None when any of them is not of that shape. An item with a key twice gives None in
    its place."""
    joined = "\n".join(texts)
    indent = texts[0][: len(texts[0]) - len(texts[0].lstrip(" "))] if texts else ""
    if not checked and (
        joined.count("\n") != len(texts) - 1 or not indent or not _one_liners(indent).fullmatch(joined)
    ):
        return None
    if not any(not isinstance(resolve_cached(v), str) for v in set(_MAYBE_NOT_TEXT.findall(joined))):
        records = _as_json(texts)  # every value is text: the C JSON parser can build the records
        if records is not None:
            return [r if len(r) == t.count(": ") else None for r, t in zip(records, texts, strict=True)]
    bodies = _BODIES.findall(joined)
    return [_data(body) for body in bodies] if len(bodies) == len(texts) else None


def _as_json(texts: list[str]) -> list[dict[str, Any]] | None:
    """Checked one-line items whose values are all text, read as JSON after quoting every key and value.

    No key or value can hold a quote, a backslash, a colon, a comma or a bracket, so quoting is a few plain
    replacements around the separators. A key given twice leaves a shorter record (the caller's count check).
    """
    body = "\n".join(text.lstrip(" ")[2:] for text in texts).replace(": []", ": \0")
    for old, new in (("{", '{"'), ("}", '"}'), (": ", '": "'), (", ", '", "'), ('"[', '["'), (']"', '"]')):
        body = body.replace(old, new)
    records = json.loads("[" + body.replace('"\0"', "[]").replace("\n", ",") + "]")
    return records if isinstance(records, list) and len(records) == len(texts) else None


def item(text: str) -> dict[str, Any] | None:
    """One list item's record, when it is a single line of the simple shape (for history's item cache)."""
    match = _ITEM.match(text)
    if match is None or "\n" in text:
        return None
    return _data(match.group(2)) if _PLAIN.match(match.group(2)) else None
