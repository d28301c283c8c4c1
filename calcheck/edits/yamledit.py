"""Round-trip editing of one estate file: comments, key order and formatting of untouched lines are kept.

ruamel.yaml reads and writes the one file an edit touches (it is far too slow to read a whole estate with).
Before any edit, calcheck makes sure the file survives a read and write unchanged with the indentation found in
it; a file it could not reproduce byte for byte is refused rather than reformatted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from calcheck.core.errors import CalcheckError, UsageError
from calcheck.estate.yamlload import Document, LoadedFile

_ITEM = re.compile(r"^(?P<offset> *)- ", re.MULTILINE)


class EditError(CalcheckError):
    """The file cannot be edited safely."""


def _yaml(text: str) -> Any:
    from ruamel.yaml import YAML

    handler = YAML()
    handler.preserve_quotes = True
    handler.width = 1_000_000  # never fold long lines
    found = _ITEM.search(text)
    offset = len(found.group("offset")) if found else 2
    handler.indent(mapping=2, sequence=offset + 2, offset=offset)
    return handler


def _crlf(text: str) -> bool:
    """True when every line of ``text`` ends with CR LF (a file saved by a Windows editor)."""
    return "\r\n" in text and text.count("\n") == text.count("\r\n")


def _body(text: str) -> str:
    """What the round trip edits: ``text`` without a byte-order mark, with LF line endings (both put back)."""
    text = text.removeprefix("\ufeff")
    return text.replace("\r\n", "\n") if _crlf(text) else text


@dataclass
class EditableFile:
    """One YAML file, loaded for a round trip, with the hash of the bytes it was read from."""

    path: Path
    text: str
    digest: str
    data: Any = field(repr=False)

    @classmethod
    def read(cls, path: Path) -> EditableFile:
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise EditError(f"{path}: not UTF-8 text; edit it by hand") from None
        body = _body(text)
        handler = _yaml(body)
        try:
            data = handler.load(body)
        except Exception as exc:  # ruamel raises many error types; any of them means "do not touch"
            raise EditError(
                f"{path}: cannot be read for editing ({type(exc).__name__}); run 'calcheck check'"
            ) from None
        edited = cls(path, text, hashlib.sha256(raw).hexdigest(), data)
        if edited.render() != text:
            raise EditError(f"{path}: its formatting would not survive an edit unchanged; edit it by hand")
        return edited

    def render(self) -> str:
        """The file as it would be written: the data dumped, in the file's byte-order mark and line endings."""
        out = io.StringIO()
        _yaml(_body(self.text)).dump(self.data, out)
        rendered = out.getvalue()
        if _crlf(self.text):
            rendered = rendered.replace("\n", "\r\n")
        return ("\ufeff" if self.text.startswith("\ufeff") else "") + rendered

    def records(self, key: str) -> Any:
        kind = self.data.get("kind") if hasattr(self.data, "get") else None
        if kind != key:
            raise EditError(f"{self.path}: not a file of {key} (it needs 'kind: {key}'); choose another file")
        items = self.data.get(key)
        if not isinstance(items, list):
            raise EditError(f"{self.path}: has no '{key}:' list; run 'calcheck check'")
        return items

    def changed_on_disk(self) -> bool:
        return hashlib.sha256(self.path.read_bytes()).hexdigest() != self.digest


def _register(path: Path, key: str) -> tuple[bytes, Document, list[Any], list[str]] | None:
    """(raw bytes, document, items, lines) of a register: ``kind: key``, then one plain flow record per line."""
    from calcheck.estate import fastlane

    raw = path.read_bytes()
    loaded = fastlane.load(str(path), raw)
    if loaded is None or loaded.findings or len(loaded.documents) != 1:
        return None
    document = loaded.documents[0]
    if not isinstance(document.data, dict) or document.data.get("kind") != key:
        return None
    items = document.data.get(key)
    if not isinstance(items, list) or not items:
        return None
    return raw, document, items, raw.decode("utf-8").split("\n")


def _flow_line(record: dict[str, Any]) -> str | None:
    """One record as ruamel.yaml writes it in a register (ISO date texts as dates), or None if not one line."""
    values = {k: _as_date(v) for k, v in record.items()}
    out = io.StringIO()
    _yaml("").dump([flow_record(values)], out)
    rendered = out.getvalue().strip()
    return rendered if "\n" not in rendered and rendered.startswith("- {") else None


def _as_date(value: Any) -> Any:
    if type(value) is str and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):  # a quoted date (a str subclass) stays quoted
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value
    return value


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in values.items()}


def read_back(path: Path, text: str) -> dict[str, Any] | None:
    """The document ``text`` holds as calcheck reads it, or None if it does not read cleanly as one mapping."""
    from calcheck.estate.parse import load_bytes

    check = load_bytes(str(path), text.encode("utf-8"))
    data = check.documents[0].data if len(check.documents) == 1 and not check.findings else None
    return data if isinstance(data, dict) else None


def _confirmed(path: Path, key: str, before: Document, text: str, items: list[Any]) -> bool:
    """Whether ``text`` reads back as ``before`` with exactly ``items`` as its list."""
    data = read_back(path, text)
    if data is None or data.get(key) != items:
        return False
    return {k: v for k, v in data.items() if k != key} == {k: v for k, v in before.data.items() if k != key}


def confirmed_items(path: Path, text: str, key: str = "assignments") -> list[Any] | None:
    """The records of ``key`` in ``text`` as calcheck reads them (None if it does not read cleanly)."""
    data = read_back(path, text)
    items = data.get(key) if data is not None else None
    return items if isinstance(items, list) else None


def append_line(path: Path, key: str, values: dict[str, Any]) -> tuple[EditableFile, str] | None:
    """The file with one record appended as a line, done as text; None unless the file is a register.

    A register can hold tens of thousands of records, and a round trip through ruamel.yaml takes seconds per
    thousand; appending a line keeps every other byte as it was. The line is rendered by ruamel.yaml, and the
    result must read back as the old list plus the new record, or the round trip is used instead.
    """
    found = _register(path, key)
    if found is None:
        return None
    raw, before, items, lines = found
    last = before.pos[2][key][2][2][-1][0]  # the line of the last item
    indent = re.match(r"( *)- \{", lines[last - 1])
    rendered = _flow_line(values)
    if indent is None or rendered is None:
        return None
    lines.insert(last, indent.group(1) + rendered)
    after = "\n".join(lines)
    if not _confirmed(path, key, before, after, [*items, _plain(values)]):
        return None
    return EditableFile(path, raw.decode("utf-8"), hashlib.sha256(raw).hexdigest(), None), after


def change_line(path: Path, key: str, record_id: str, until: dt.date | None) -> tuple[EditableFile, str] | None:
    """The register with one record's line rewritten with ``until`` (or removed when None), done as text."""
    found = _register(path, key)
    if found is None:
        return None
    raw, before, items, lines = found
    index = next((i for i, item in enumerate(items) if isinstance(item, dict) and item.get("id") == record_id), None)
    if index is None:
        return None
    number = before.pos[2][key][2][2][index][0]
    original = lines[number - 1]
    indent = re.match(r"( *)- \{", original)
    if indent is None or indent.group(1) + (_flow_line(items[index]) or "") != original.rstrip(" "):
        return None  # ruamel.yaml would not write this line as it is: let the round trip decide
    expected = [*items[:index], *items[index + 1 :]]
    if until is None:
        del lines[number - 1]
    else:
        record = dict(items[index])
        if "until" in record:
            record["until"] = until
        else:  # placed after since, as the round trip places it
            pairs = list(record.items())
            position = [k for k, _ in pairs].index("since") + 1 if "since" in record else len(pairs)
            record = dict([*pairs[:position], ("until", until), *pairs[position:]])
        rendered = _flow_line(record)
        if rendered is None:
            return None
        lines[number - 1] = indent.group(1) + rendered
        expected.insert(index, _plain(record))
    after = "\n".join(lines)
    if not _confirmed(path, key, before, after, expected):
        return None
    return EditableFile(path, raw.decode("utf-8"), hashlib.sha256(raw).hexdigest(), None), after


def flow_record(values: dict[str, Any]) -> Any:
    """A one-line record in the style of the estate's assignment files."""
    from ruamel.yaml.comments import CommentedMap

    record = CommentedMap({key: _own(value) for key, value in values.items()})
    record.fa.set_flow_style()
    return record


def emittable(value: Any) -> Any:
    """``value`` as it should go to ruamel.yaml (see ``_own``)."""
    return _own(value)


def _own(value: Any) -> Any:
    """A value ready for the emitter: a private copy of a date (one object in two places would be written as a
    YAML anchor and alias), and text with characters YAML cannot hold as they are double-quoted, escaped."""
    if isinstance(value, dt.date):
        return dt.date(value.year, value.month, value.day)
    if isinstance(value, str) and _UNSAFE.search(value):
        from ruamel.yaml.scalarstring import DoubleQuotedScalarString

        return DoubleQuotedScalarString(value)
    return value


# Characters a plain or single-quoted scalar cannot carry unchanged: C0 and C1 controls, DEL, the
# Unicode line and paragraph separators, the byte-order mark and unpaired surrogates. In double quotes they are
# written as escapes (\x9B, \L, \uFEFF).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]")


def new_file(header: str, key: str, records: list[dict[str, Any]]) -> tuple[str, Any]:
    """The text of a new ``kind: key`` file holding ``records`` one per line, written by ruamel.yaml, and its data.

    ``header`` (comment lines, each ending in a newline) goes first.
    """
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    items = CommentedSeq(flow_record(record) for record in records)
    data = CommentedMap([("kind", key), (key, items)])
    out = io.StringIO()
    _yaml("").dump(data, out)
    return header + out.getvalue(), data


def plain(value: Any) -> Any:
    """ruamel.yaml's data as calcheck's loader gives it: plain dicts, lists and scalars, dates as ISO text."""
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, bool) or value is None:
        return value
    for kind in (str, int, float):
        if isinstance(value, kind):
            return kind(value)
    return value


def confirm(path: Path, text: str, intended: Any, loaded: LoadedFile | None = None) -> None:
    """Refuse ``text`` unless calcheck's own loader reads it, without a finding, as exactly ``intended``.

    ``loaded``: ``text`` as the check loads it already (its kind findings are the check's to report).
    """
    from calcheck.estate.parse import load_bytes

    if loaded is None:
        loaded = load_bytes(str(path), text.encode("utf-8"))
    problems = [f for f in loaded.findings if f.rule not in ("unknown-kind", "wrong-kind")]
    if problems:
        first = problems[0]
        raise EditError(
            f"{path}: the edited file would not read back ({first.line}:{first.column} [{first.rule}] "
            f"{first.message}); nothing was written"
        )
    data = loaded.documents[0].data if len(loaded.documents) == 1 else None
    if data != plain(intended):
        raise EditError(f"{path}: the edited file would not read back as the records intended; nothing was written")


def insert_after(record: Any, after: str, key: str, value: Any) -> None:
    """Set ``key`` on a round-trip mapping, placed after ``after`` when it is new."""
    value = _own(value)
    if key in record:
        record[key] = value
        return
    keys = list(record.keys())
    position = keys.index(after) + 1 if after in keys else len(keys)
    record.insert(position, key, value)


def next_id(existing: list[str], default_prefix: str = "A-") -> str:
    """The next id in the estate's numbering (prefix and width of the most used pattern).

    A pattern is a prefix and a width of the digits that end an id; the most used prefix wins (ids with it, whatever
    their width), then the widest. One pass: an id has the prefix of a pattern exactly when its own prefix is it (a
    prefix never ends with a digit, as the digits that end an id are all taken).
    """
    patterns: dict[tuple[str, int], int] = {}
    used: dict[str, int] = {}
    for identifier in existing:
        match = _NUMBERED.fullmatch(identifier)
        if match:
            prefix, digits = match.groups()
            key = (prefix, len(digits))
            patterns[key] = max(patterns.get(key, 0), int(digits))
            used[prefix] = used.get(prefix, 0) + 1
    if not patterns:
        return f"{default_prefix}0001"
    prefix, width = max(patterns, key=lambda key: (used[key[0]], key[1]))
    taken = set(existing)
    number = patterns[(prefix, width)] + 1
    while f"{prefix}{number:0{width}d}" in taken:
        number += 1
    return f"{prefix}{number:0{width}d}"


_NUMBERED = re.compile(r"(.*?)(\d+)")


def require(condition: bool, message: str) -> None:
    if not condition:
        raise UsageError(message)
