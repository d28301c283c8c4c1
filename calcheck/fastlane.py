"""A fast lane for the estate's most common file shape: `kind:`, the list key, then one flow mapping per line.

Assignment registers, directory dumps and imports are written this way, and they are most of a large estate.
Such a file is read here with plain string work, giving exactly what the libyaml event loader gives (data,
positions, the document's start); anything beyond the narrow subset below goes to libyaml instead:
quotes, brackets, anchors, tags, comments after a record, tabs, CR, a BOM, unusual indentation or keys, duplicate
keys, values with characters YAML treats specially. A test compares both loaders on every file it can find.
"""

from __future__ import annotations

import json
import re
from typing import Any

from calcheck.schema import RECORD_KEYS
from calcheck.yamlload import SCALARS, Document, LoadedFile, resolve_cached

_KIND = re.compile(r"kind: ([a-z]+) *\Z")
_LIST = re.compile(r"([a-z]+): *\Z")
_ITEM = re.compile(r"( +)- \{([^{}\"'#&*!|>%@`\\]*)\} *\Z")
_VALUE = re.compile(r"(?:[A-Za-z0-9_]|[-+.][0-9])(?:[A-Za-z0-9_.@+/ -]*[A-Za-z0-9_.@+/-])?\Z")
_SKIP = re.compile(r" *(#.*)?\Z")
_SCALAR = r"(?:[A-Za-z0-9_]|[-+.][0-9])(?:[A-Za-z0-9_.@+/ -]*[A-Za-z0-9_.@+/-])?"
_FLOW_VALUE = rf"(?:{_SCALAR}|\[(?:{_SCALAR}(?:, {_SCALAR})*)?\])"
_PAIR = rf"[A-Za-z_][A-Za-z0-9_]*: {_FLOW_VALUE}"
_PLAIN = re.compile(rf"{_PAIR}(?:, {_PAIR})*\Z")  # the usual record, checked whole by one C-level match
_ONE_LINERS = re.compile(rf"(?: +- \{{{_PAIR}(?:, {_PAIR})*\}} *(?:\n|\Z))*")
_BODIES = re.compile(r"^ +- \{(.*)\} *$", re.MULTILINE)
# Values that might not be text (null, booleans, numbers): each distinct one is resolved before JSON is used.
_MAYBE_NOT_TEXT = re.compile(r"(?:: |\[|, )([0-9+.nNtTfF-][^,\]}]*)")
_PAIRS = re.compile(r"([A-Za-z_][A-Za-z0-9_]*): (\[[^\]]*\]|[^,]*)")


def load(path: str, raw: bytes) -> LoadedFile | None:
    """The file read without libyaml, or None when it is not of the simple shape."""
    if raw[:3] == b"\xef\xbb\xbf" or b"\r" in raw or b"\t" in raw or b"\x00" in raw:
        return None
    try:
        lines = raw.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        return None
    significant = [(number, line) for number, line in enumerate(lines, start=1) if not _SKIP.match(line)]
    if len(significant) < 3:
        return None
    (kind_line, kind_text), (list_line, list_text) = significant[0], significant[1]
    kind, listed = _KIND.match(kind_text), _LIST.match(list_text)
    if kind is None or listed is None or RECORD_KEYS.get(kind.group(1)) != listed.group(1):
        return None
    items: list[Any] = []
    positions: list[Any] = []
    indent: str | None = None
    for number, line in significant[2:]:
        match = _ITEM.match(line)
        if match is None or (indent is not None and match.group(1) != indent):
            return None
        indent = match.group(1)
        where: dict[str, Any] = {}
        record = _record(match.group(2), number, len(indent) + 4, where)
        if record is None:
            return None
        items.append(record)
        positions.append((number, len(indent) + 3, where))
    assert indent is not None
    key = listed.group(1)
    data = {"kind": kind.group(1), key: items}
    pos = (
        kind_line,
        1,
        {"kind": (kind_line, 1, (kind_line, 7)), key: (list_line, 1, (significant[2][0], len(indent) + 1, positions))},
    )
    result = LoadedFile(path)
    result.documents.append(Document(data, pos, kind_line, 1))
    return result


def _record(body: str, line: int, column: int, where: dict[str, Any] | None) -> dict[str, Any] | None:
    """One flow mapping's data (its positions go into ``where``), or None if any part is outside the subset."""
    if not _PLAIN.match(body):  # one C-level match checks the whole record; then its parts need only splitting
        return None
    if where is None:  # history's item cache: no positions
        return _data(body)
    pairs = _PAIRS.findall(body)
    record: dict[str, Any] = {}
    offset = 0
    for key, value in pairs:
        value_column = column + offset + len(key) + 2
        if value[:1] == "[":
            parsed = _sequence(value[1:-1], line, value_column)
            if parsed is None:
                return None
            record[key], value_pos = parsed
        else:
            record[key] = resolve_cached(value)
            value_pos = (line, value_column)
        if where is not None:
            if key in where:
                return None
            where[key] = (line, column + offset, value_pos)
        offset += len(key) + len(value) + 4
    return record if len(record) == len(pairs) else None


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


def items(texts: list[str]) -> list[dict[str, Any] | None] | None:
    """The records of many one-line list items, checked by one match over them all (for history's first reading
    of a file); None when any of them is not of that shape. An item with a key twice gives None in its place."""
    joined = "\n".join(texts)
    if joined.count("\n") != len(texts) - 1 or not _ONE_LINERS.fullmatch(joined):
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
    return _record(match.group(2), 1, len(match.group(1)) + 4, None)
