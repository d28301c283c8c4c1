"""A fast lane for the estate's most common file shape, read without libyaml and giving exactly its answer.

It reads a file only when the whole file matches this grammar, and hands every other byte sequence to libyaml::

    file  = ign* "kind: " KIND "\\n" ign* LIST ":\\n" item+ ign*     (LIST: KIND's list key; ASCII bytes only)
    item  = ign* IND "- {" pair (", " pair)* "}\\n"                     (a flow mapping on one line)
          | ign* IND "- " pair "\\n" (ign* IND "  " pair "\\n")*          (a block mapping, a pair a line)
    pair  = KEY ": " (WORD | "[" (WORD (", " WORD)*)? "]")              (no key twice in one item)
    ign   = " "* ("#" [\\x20-\\x7e]*)? "\\n"                             (a blank or comment line)
    KEY   = [a-z_][a-z0-9_]{0,63}, but not null, true or false     (libyaml takes keys up to 1024 characters)
    WORD  = ([A-Za-z0-9_] | [-+.][0-9]) ([A-Za-z0-9_.@+/ -]* [A-Za-z0-9_.@+/-])?
    IND   = " "*, the same for every item; the last line may lack its "\\n"

A WORD holds none of YAML's indicators, quotes, line breaks or controls, so it reads as the same plain scalar in
block and flow context; it resolves as libyaml's loader resolves it (``resolve_plain``). Assignment registers,
directory dumps and imports are written this way, and they are most of a large estate. Each record's key positions
are worked out only when something asks for them. A differential test (tests/test_fastlane_differential.py)
generates and mutates files from every character YAML treats specially and requires the same data, positions
and findings.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache, partial
from typing import Any

from calcheck.estate.kinds import RECORD_KEYS
from calcheck.estate.lazy import LazyDict
from calcheck.estate.yamlload import Document, LoadedFile, odd_number, resolve_cached

_IGN = r"(?: *(?:#[ -~]*)?\n)"
_KEY = r"(?!(?:null|true|false):)[a-z_][a-z0-9_]{0,63}"
_WORD = r"(?:[A-Za-z0-9_]|[-+.][0-9])(?:[A-Za-z0-9_.@+/ -]*[A-Za-z0-9_.@+/-])?"
_VALUE = rf"(?:{_WORD}|\[(?:{_WORD}(?:, {_WORD})*)?\])"
_PAIR = rf"{_KEY}: {_VALUE}"
_HEAD = re.compile(rf"{_IGN}*kind: ([a-z]+)\n{_IGN}*([a-z]+):\n{_IGN}*( *)- ")
_BLANK = re.compile(r"^ *$", re.MULTILINE)  # over items that end with a newline: a blank or spaces-only line
_PAIRS = re.compile(rf"({_KEY}): (\[[^\]\n]*\]|[^,\]\n]*)")  # over a checked item: each key and its value
# Values that might not be text (null, booleans, numbers): each distinct one is resolved before JSON is used.
_MAYBE_NOT_TEXT = re.compile(r"(?:: |\[|, )([0-9+.-][^,\]}\n]*|[nNtTfF][a-zA-Z]{3,4}(?=[,\]}\n]))")


_IGNS = re.compile(rf"{_IGN}*")


@lru_cache(maxsize=16)
def _grammar(indent: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(one item with the blank or comment lines before it, one item with those after it) at this indent."""
    item = rf"{indent}- (?:\{{{_PAIR}(?:, {_PAIR})*\}}\n|{_PAIR}\n(?:{_IGN}*{indent}  {_PAIR}\n)*)"
    return re.compile(rf"{_IGN}*{item}"), re.compile(rf"{item}{_IGN}*")


def _all_items(text: str, start: int, indent: str) -> bool:
    """Whether ``text`` from ``start`` is ``(ign* item)+ ign*``, matched an item at a time: one match of the whole
    run keeps the regular-expression engine's state for every item it repeats (130 MB for a file of 40,000 records).
    Each line is an item's start, a pair of it, or an ignored line, and none can be taken for another (an item
    starts with IND "- ", a pair with IND "  " and a key, an ignored line with neither), so the items found one after
    another are those the whole match finds."""
    item, at, found = _grammar(indent)[0], start, False
    while (match := item.match(text, at)) is not None:
        at, found = match.end(), True
    return found and _IGNS.fullmatch(text, at) is not None


def load(path: str, raw: bytes) -> LoadedFile | None:
    """The file read without libyaml, or None when it is not in the fast lane's grammar (see above)."""
    if not raw.isascii():
        return None
    text = raw.decode("ascii")
    text = text if text.endswith("\n") else text + "\n"
    head = _HEAD.match(text)
    if head is None or RECORD_KEYS.get(head.group(1)) != head.group(2):
        return None
    indent = head.group(3)
    start = head.end() - len(indent) - 2  # where the first item's line starts
    if not _all_items(text, start, indent):
        return None
    first = text.count("\n", 0, start) + 1
    chunks, numbers = _split(text[start:], indent, first)
    records, odd_numbers = _records(chunks)
    if records is None:
        return None
    column = len(indent) + 3  # the column of an item's mapping: its '{', or its first key
    lazy = [LazyDict(partial(_positions, chunk, n, column)) for chunk, n in zip(chunks, numbers, strict=True)]
    positions = [(n, column, keys) for n, keys in zip(numbers, lazy, strict=True)]
    kind, key = head.group(1), head.group(2)
    kind_line = text.count("\n", 0, head.start(1)) + 1
    list_line = text.count("\n", 0, head.start(2)) + 1
    pos = (kind_line, 1, {"kind": (kind_line, 1, (kind_line, 7)), key: (list_line, 1, (first, column - 2, positions))})
    result = LoadedFile(path)
    result.documents.append(Document({"kind": kind, key: records}, pos, kind_line, 1, odd_numbers))
    return result


def _split(body: str, indent: str, first: int) -> tuple[list[str], list[int]]:
    """A checked run of items cut into one text per item (with the blank and comment lines after it), and the
    line number each starts on."""
    chunks = body.split(f"\n{indent}- ")
    chunks = [chunks[0], *(f"{indent}- {c}" for c in chunks[1:])]
    numbers = [first]
    for chunk in chunks[:-1]:
        numbers.append(numbers[-1] + chunk.count("\n") + 1)
    return chunks, numbers


def _flow(chunk: str) -> str:
    """A checked item as the one-line flow mapping it equals: a block item's pairs joined with ', ' (no word holds
    a comma, a brace or a bracket, so the joined line reads the same), without its blank and comment lines."""
    lines = chunk.strip(" ").split("\n")
    if lines[0].startswith("- {"):
        return lines[0][: lines[0].index("}") + 1]
    pairs = [line for line in (text.strip(" ") for text in lines[1:]) if line and line[0] != "#"]
    return "- {" + ", ".join([lines[0][2:], *pairs]) + "}"


def _flows(chunks: list[str]) -> list[str]:
    """``_flow`` of many checked items; items at one indent with no blank or comment line are joined in one go."""
    indent = chunks[0][: len(chunks[0]) - len(chunks[0].lstrip(" "))] if chunks else ""
    joined = "".join(chunk if chunk.endswith("\n") else chunk + "\n" for chunk in chunks)
    if (
        "#" in joined
        or _BLANK.search(joined, 0, len(joined) - 1)
        or not all(chunk.startswith(indent + "- ") for chunk in chunks)
    ):
        return [_flow(chunk) for chunk in chunks]
    lines = joined.replace(f"\n{indent}  ", ", ").split("\n")[:-1]  # a block item's pairs joined into one line
    cut = len(indent)
    return [line[cut:] if line[cut + 2] == "{" else f"- {{{line[cut + 2 :]}}}" for line in lines]


def _records(chunks: list[str]) -> tuple[list[dict[str, Any]] | None, bool]:
    """The records of checked items (None if an item has a key twice), and whether a value is an odd number."""
    lines = _flows(chunks)
    values = [resolve_cached(v) for v in set(_MAYBE_NOT_TEXT.findall("\n".join(lines)))]
    if all(type(value) is str for value in values):
        records = _as_json(lines)  # every value is text: the C JSON parser can build the records
        counts = [line.count(": ") for line in lines]
        return (records if all(len(r) == n for r, n in zip(records, counts, strict=True)) else None), False
    found: list[dict[str, Any]] = []
    for line in lines:
        pairs = _PAIRS.findall(line[3:-1])
        record = {key: _value(value) for key, value in pairs}
        if len(record) != len(pairs):
            return None, False
        found.append(record)
    return found, any(type(value) is float and odd_number(value) for value in values)


def _value(text: str) -> Any:
    if text[:1] == "[":
        return [resolve_cached(word) for word in text[1:-1].split(", ")] if text != "[]" else []
    return resolve_cached(text)


def _as_json(lines: list[str]) -> list[dict[str, Any]]:
    """Checked items (as ``_flow`` gives them) whose values are all text, read as JSON after quoting every key and
    value.

    No key or value holds a quote, a backslash, a colon, a comma, a brace or a bracket, so quoting is a few
    plain replacements around the separators. A key given twice leaves a shorter record (the caller counts).
    """
    body = ",".join(line[2:] for line in lines).replace(": []", ": \0")
    for old, new in (("{", '{"'), ("}", '"}'), (": ", '": "'), (", ", '", "'), ('"[', '["'), (']"', '"]')):
        body = body.replace(old, new)
    records: list[dict[str, Any]] = json.loads("[" + body.replace('"\0"', "[]") + "]")
    return records


def _positions(chunk: str, number: int, column: int) -> dict[str, Any]:
    """Where each key and value of a checked item is (``column``: that of its '{' or first key)."""
    lines = chunk.split("\n")
    found: list[tuple[int, re.Match[str] | None]]
    if lines[0][column - 1] == "{":
        found = [(number, m) for m in _PAIRS.finditer(lines[0][: lines[0].index("}")], column)]
    else:  # a pair a line, the first after '- ', the others level with it; blank and comment lines between
        found = [
            (number + i, _PAIRS.match(text, column - 1)) for i, text in enumerate(lines) if text.strip()[:1] != "#"
        ]
    where: dict[str, Any] = {}
    for line, match in found:
        if match is not None:
            value = _value_position(match.group(2), line, match.start(2) + 1)
            where[match.group(1)] = (line, match.start(1) + 1, value)
    return where


def _value_position(value: str, line: int, column: int) -> Any:
    if value[:1] != "[":
        return (line, column)
    elements: list[Any] = []
    at = column + 1
    for word in value[1:-1].split(", ") if value != "[]" else ():
        elements.append((line, at))
        at += len(word) + 2
    return (line, column, elements)


def items(chunks: list[str]) -> list[dict[str, Any] | None]:
    """The record of each list item's text (as history cuts a file: one item with the blank and comment lines
    after it), or None in its place when that text is not one item of the fast lane's grammar."""
    found: list[dict[str, Any] | None] = [None] * len(chunks)
    good = [i for i, chunk in enumerate(chunks) if _is_item(chunk)]
    for at in range(0, len(good), 4096):
        batch = good[at : at + 4096]
        records: list[dict[str, Any] | None] | None = list(_records([_ended(chunks[i]) for i in batch])[0] or ())
        if not records:  # a key twice somewhere: find which, one by one
            records = [_one(chunks[i]) for i in batch]
        for i, record in zip(batch, records, strict=True):
            found[i] = record
    return found


def item(chunk: str) -> dict[str, Any] | None:
    """One list item's record (see ``items``)."""
    return _one(chunk) if _is_item(chunk) else None


def _one(chunk: str) -> dict[str, Any] | None:
    records = _records([_ended(chunk)])[0]
    return records[0] if records else None


def _ended(chunk: str) -> str:
    return chunk if chunk.endswith("\n") else chunk + "\n"


def _is_item(chunk: str) -> bool:
    if not chunk.isascii():
        return False
    indent = chunk[: len(chunk) - len(chunk.lstrip(" "))]
    return _grammar(indent)[1].fullmatch(_ended(chunk)) is not None
