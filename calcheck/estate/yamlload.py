"""Load YAML with libyaml's event stream into plain data plus a position tree.

Why events rather than ``yaml.load``: one pass with no intermediate node graph (several times
faster), duplicate keys are caught instead of silently overwritten, scalars follow a small
JSON-compatible subset of the YAML 1.2 core schema (``yes``/``no``, dates and ``1:20`` stay
strings), aliases are counted so an alias bomb stops early, and nesting depth is bounded
without recursion.
"""

from __future__ import annotations

import gc
import math
import re
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import yaml

from calcheck.core.findings import Finding, Severity
from calcheck.estate.lazy import LazyDict

# A position tree mirrors the data: a scalar is (line, col); a mapping is
# (line, col, {key: (key_line, key_col, child)}); a sequence is (line, col, [child, ...]).
# A mapping's dict is a PosDict: kept as packed integers and expanded on first read (see below).
Pos = tuple[Any, ...]

MAX_DEPTH = 64
MAX_ALIAS_NODES = 100_000
MAX_FILE_BYTES = 32 * 1024 * 1024

_Loader: Any = getattr(yaml, "CSafeLoader", None)
HAS_LIBYAML = _Loader is not None
if _Loader is None:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader

_INT = re.compile(r"[-+]?[0-9]+\Z")
_INT_OCT = re.compile(r"0o[0-7]+\Z")
_INT_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_SPECIAL_FLOATS = {
    ".inf": float("inf"),
    ".Inf": float("inf"),
    ".INF": float("inf"),
    "+.inf": float("inf"),
    "+.Inf": float("inf"),
    "+.INF": float("inf"),
    "-.inf": float("-inf"),
    "-.Inf": float("-inf"),
    "-.INF": float("-inf"),
    ".nan": float("nan"),
    ".NaN": float("nan"),
    ".NAN": float("nan"),
}
_CORE = "tag:yaml.org,2002:"
_MAX_INT_DIGITS = 4000
_MAX_INT_BITS = 13_000  # about 3,900 decimal digits: Python prints (in messages) integers up to 4,300 digits


class Document:
    """One YAML document: its data, position tree and start position.

    A plain record (compared by its fields) written out rather than made with ``dataclasses``, whose import
    `validate FILE` would otherwise pay for (see ``calcheck.core.findings.Finding``).
    """

    __slots__ = ("column", "data", "line", "odd_numbers", "pos")
    _names = ("data", "pos", "line", "column", "odd_numbers")
    data: Any
    pos: Pos
    line: int
    column: int
    # A decimal that JSON Schema could take for an integer (1e3, 40.0) or that is not finite (.nan, .inf):
    # the schema then checks the document in full (see ``schema.validate_document``).
    odd_numbers: bool

    def __init__(self, data: Any, pos: Pos, line: int, column: int, odd_numbers: bool = False) -> None:
        self.data = data
        self.pos = pos
        self.line = line
        self.column = column
        self.odd_numbers = odd_numbers

    def _fields(self) -> tuple[Any, ...]:
        return (self.data, self.pos, self.line, self.column, self.odd_numbers)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Document)
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]  # mutable, as a dataclass with eq is

    def __repr__(self) -> str:
        return _repr(self, self._names, self._fields())


class LoadedFile:
    """One file's documents and the problems found reading it (a plain record, like ``Document``)."""

    __slots__ = ("broken_paths", "documents", "findings", "path")
    _names = ("path", "documents", "findings", "broken_paths")
    path: str
    documents: list[Document]
    findings: list[Finding]
    # Data paths of mappings that lost a duplicate key: their records are not used.
    broken_paths: list[tuple[Any, ...]]

    def __init__(
        self,
        path: str,
        documents: list[Document] | None = None,
        findings: list[Finding] | None = None,
        broken_paths: list[tuple[Any, ...]] | None = None,
    ) -> None:
        self.path = path
        self.documents = [] if documents is None else documents
        self.findings = [] if findings is None else findings
        self.broken_paths = [] if broken_paths is None else broken_paths

    def _fields(self) -> tuple[Any, ...]:
        return (self.path, self.documents, self.findings, self.broken_paths)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, LoadedFile)
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return _repr(self, self._names, self._fields())

    def problem(self, rule: str, line: int, col: int, message: str, hint: str) -> None:
        self.findings.append(Finding(rule, Severity.ERROR, self.path, line, col, message, hint))


def _repr(record: object, names: tuple[str, ...], values: tuple[Any, ...]) -> str:
    return f"{type(record).__qualname__}({', '.join(f'{n}={v!r}' for n, v in zip(names, values, strict=True))})"


_MISSING = object()
SCALARS: dict[str, Any] = {}  # plain scalars already resolved (read by the fast lane too)
_RESOLVED_LIMIT = 1_000_000
_DISCARD = "\0discard"  # a key no YAML scalar can produce here: the duplicate's value is dropped


class _Abort(Exception):
    """Stops loading one document; the finding is already recorded."""


def resolve_plain(text: str) -> Any:
    """Resolve an untagged plain scalar (JSON-compatible YAML 1.2 core schema)."""
    if text in _NULLS:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    first = text[0]
    if first.isdigit() or first in "+-.":
        if _INT.match(text):
            return int(text) if len(text) <= _MAX_INT_DIGITS else text
        if _FLOAT.match(text):
            return float(text)
        if text in _SPECIAL_FLOATS:
            return _SPECIAL_FLOATS[text]
        if _INT_OCT.match(text) or _INT_HEX.match(text):
            value = int(text[2:], 8 if text[1] == "o" else 16)
            return value if value.bit_length() <= _MAX_INT_BITS else text
    return text


def odd_number(value: float) -> bool:
    """A decimal that JSON Schema could take for an integer, or that is not finite."""
    return not math.isfinite(value) or value.is_integer()


def resolve_cached(text: str) -> Any:
    """resolve_plain, remembered: plain scalars repeat (dates, ids, statuses)."""
    value = SCALARS.get(text, _MISSING)
    if value is _MISSING:
        value = resolve_plain(text)
        if len(SCALARS) < _RESOLVED_LIMIT:
            SCALARS[text] = value
    return value


@contextmanager
def gc_paused(freeze: bool = False) -> Iterator[None]:
    """Pause the cyclic GC: loading allocates millions of acyclic objects.

    With ``freeze``, what was built is moved out of the collector's sight before it resumes, so the
    first collections afterwards do not walk millions of objects that will live until exit anyway.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if was_enabled:
            gc.enable()


def load_bytes(path: str, raw: bytes) -> LoadedFile:
    """Parse ``raw`` (the content of ``path``) into documents and findings with libyaml."""
    result = LoadedFile(path)
    if len(raw) > MAX_FILE_BYTES:
        result.problem(
            "file-too-large",
            1,
            1,
            f"file is {len(raw)} bytes; calcheck reads files up to {MAX_FILE_BYTES} bytes",
            "split the records over several smaller files",
        )
        return result
    with gc_paused():
        _Builder(result).run(raw)
    if not result.documents and not result.findings:
        result.problem(
            "empty-file",
            1,
            1,
            "file holds no YAML document",
            "add a document with a 'kind:' key, or delete the file",
        )
    return result


class PosDict(LazyDict):
    """A mapping's positions ``{key: (key_line, key_col, child)}``, packed until first read.

    A large estate holds hundreds of thousands of records whose positions are read only when a finding points into
    one: packed, a record's positions take a few hundred bytes instead of over a kilobyte of small tuples. ``ints``
    holds, per key in order, its line and column, then its scalar value's line and column, or 0 for a value that is
    a list or mapping, whose position tree is the next one in ``nested``.
    """

    __slots__ = ("_ints", "_keys", "_nested")

    def __init__(self, keys: tuple[str, ...], ints: array[int], nested: tuple[Pos, ...]) -> None:
        self._make = None
        self._keys: tuple[str, ...] | None = keys
        self._ints = ints
        self._nested = nested

    def _fill(self) -> PosDict:
        keys = self._keys
        if keys is not None:
            self._keys = None
            dict.update(self, expand(keys, self._ints, self._nested))
            self._ints = _NO_INTS
            self._nested = ()
        return self

    def __reduce__(self) -> Any:
        """Pickled packed (a result sent between processes stays as small as it was)."""
        if self._keys is None:
            return super().__reduce__()
        return (_packed, (self._keys, self._ints, self._nested))

    def packed(self) -> tuple[tuple[str, ...], array[int], tuple[Pos, ...]] | None:
        """The packed form (keys, integers, nested trees; see the class), or None once expanded."""
        keys = self._keys
        return None if keys is None else (keys, self._ints, self._nested)

    def peek(self) -> dict[str, Any]:
        """The positions, without keeping them expanded (for a reader that needs them once)."""
        keys = self._keys
        return dict(dict.items(self)) if keys is None else expand(keys, self._ints, self._nested)


def _packed(keys: tuple[str, ...], ints: array[int], nested: tuple[Pos, ...]) -> PosDict:
    if len(_KEY_ORDERS) < _RESOLVED_LIMIT:
        keys = _KEY_ORDERS.setdefault(keys, keys)
    return PosDict(keys, ints, nested)


_INT_CODE = "I" if array("I").itemsize >= 4 else "L"  # unsigned, at least 32 bits: a line of a 32 MiB file
_NO_INTS = array(_INT_CODE)


def expand(keys: tuple[str, ...], ints: Any, nested: tuple[Pos, ...]) -> dict[str, Any]:
    """A mapping's positions from their packed form (see ``PosDict``)."""
    found: dict[str, Any] = {}
    at = 0
    inner = iter(nested)
    for key in keys:
        value_line = ints[at + 2]
        if value_line:
            found[key] = (ints[at], ints[at + 1], (value_line, ints[at + 3]))
            at += 4
        else:
            found[key] = (ints[at], ints[at + 1], next(inner))
            at += 3
    return found


def peek(children: Any) -> Any:
    """A mapping's positions to read once: a packed PosDict is expanded without being kept so."""
    return children.peek() if type(children) is PosDict else children


_KEY_ORDERS: dict[tuple[str, ...], tuple[str, ...]] = {}  # records repeat their keys: one tuple per order


class _Frame:
    __slots__ = ("anchor", "col", "container", "is_map", "key", "line", "nested", "nodes", "pos")

    def __init__(self, is_map: bool, line: int, col: int, anchor: str | None) -> None:
        self.is_map = is_map
        self.line = line
        self.col = col
        self.anchor = anchor
        self.container: Any = {} if is_map else []
        # A mapping's positions as packed integers (see PosDict) and the trees of its list and mapping values; a
        # sequence's, its items' position trees.
        self.pos: list[Any] = []
        self.nested: list[Pos] = []
        self.key: str | None = None
        self.nodes = 1

    def positions(self) -> Any:
        """The finished container's children positions."""
        if not self.is_map:
            return self.pos
        if not self.container:
            return {}
        keys = tuple(self.container)
        if len(_KEY_ORDERS) < _RESOLVED_LIMIT:
            keys = _KEY_ORDERS.setdefault(keys, keys)
        return PosDict(keys, array(_INT_CODE, self.pos), tuple(self.nested))


class _Builder:
    """Turns the event stream of one file into documents, recording problems."""

    def __init__(self, result: LoadedFile) -> None:
        self.result = result
        self.anchors: dict[str, tuple[Any, Pos, int]] = {}
        self.stack: list[_Frame] = []
        self.expanded = 0
        self.doc_count = 0
        self.odd_numbers = False

    def run(self, raw: bytes, loader: Any = _Loader) -> None:
        parser = loader(raw)
        try:
            self._events(parser)
        except yaml.MarkedYAMLError as exc:
            if loader is not yaml.SafeLoader and "nesting depth" in str(exc.problem):
                # libyaml >= 0.2.6 stops at 1000 levels while scanning ahead, before calcheck's own bound is
                # reached: read the file again with PyYAML's Python parser, which reports the depth at its mark.
                self._restart()
                self.run(raw, yaml.SafeLoader)
                return
            mark = exc.problem_mark or exc.context_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            self._syntax(line, col, f"{exc.problem or exc.context}")
        except yaml.reader.ReaderError as exc:
            line, col = _offset_position(raw, exc.position)
            self._syntax(line, col, f"unreadable character: {exc.reason}")
        except yaml.YAMLError as exc:
            self._syntax(1, 1, str(exc))
        except _Abort:
            pass
        finally:
            parser.dispose()

    def _restart(self) -> None:
        self.result.documents.clear()
        self.result.findings.clear()
        self.result.broken_paths.clear()
        self.anchors.clear()
        self.stack.clear()
        self.expanded = self.doc_count = 0

    def _syntax(self, line: int, col: int, problem: str) -> None:
        self.result.problem(
            "yaml-syntax",
            line,
            col,
            f"YAML syntax error: {problem}",
            "fix the YAML syntax at this position (indent with spaces, quote values with ':' or '#')",
        )

    def _events(self, parser: Any) -> None:
        handlers = {
            yaml.ScalarEvent: self._scalar,
            yaml.MappingStartEvent: self._start,
            yaml.SequenceStartEvent: self._start,
            yaml.MappingEndEvent: self._end,
            yaml.SequenceEndEvent: self._end,
            yaml.AliasEvent: self._alias,
            yaml.DocumentStartEvent: self._doc_start,
        }
        get_event = parser.get_event
        stack = self.stack
        scalar_event, stream_end, resolve = yaml.ScalarEvent, yaml.StreamEndEvent, resolve_plain
        resolved = SCALARS  # plain scalars repeat (dates, ids, statuses): resolve each text once
        while True:
            event = get_event()
            kind = type(event)
            if kind is scalar_event and event.tag is None and event.anchor is None and stack:
                # The common case, inlined: an untagged scalar inside a container (see _scalar and _add).
                mark = event.start_mark
                line, col = mark.line + 1, mark.column + 1
                text = event.value
                if event.implicit[0]:
                    value = resolved.get(text, _MISSING)
                    if value is _MISSING:
                        value = resolve(text)
                        if len(resolved) < _RESOLVED_LIMIT:
                            resolved[text] = value
                    if type(value) is float and odd_number(value):
                        self.odd_numbers = True
                else:
                    value = text
                frame = stack[-1]
                frame.nodes += 1
                if not frame.is_map:
                    frame.container.append(value)
                    frame.pos.append((line, col))
                elif frame.key is None:
                    key = value if type(value) is str else _key_text(value)
                    if key in frame.container:
                        self._set_key(frame, value, line, col)
                    else:
                        frame.key = key
                        frame.pos += (line, col)
                else:
                    if frame.key is not _DISCARD:
                        frame.container[frame.key] = value
                        frame.pos += (line, col)
                    frame.key = None
                continue
            if kind is stream_end:
                return
            handler = handlers.get(kind)
            if handler is not None:
                handler(event)

    def _doc_start(self, event: Any) -> None:
        self.doc_count += 1
        self.anchors.clear()
        self.expanded = 0
        if self.doc_count == 2:
            mark = event.start_mark
            self.result.problem(
                "yaml-multiple-documents",
                mark.line + 1,
                mark.column + 1,
                "a calcheck file holds exactly one YAML document; this one and any after it are not read",
                "move each further document into a file of its own",
            )

    def _scalar(self, event: Any) -> None:
        mark = event.start_mark
        line, col = mark.line + 1, mark.column + 1
        value = self._scalar_value(event, line, col)
        if type(value) is float and odd_number(value):
            self.odd_numbers = True
        if event.anchor:
            self.anchors[event.anchor] = (value, (line, col), 1)
        self._add(value, (line, col), 1, line, col)

    def _scalar_value(self, event: Any, line: int, col: int) -> Any:
        tag = event.tag
        text: str = event.value
        if tag is None:
            return resolve_plain(text) if event.implicit[0] else text
        if tag in ("!", _CORE + "str"):  # '!' is the non-specific tag: a string
            return text
        if tag in (_CORE + "int", _CORE + "float", _CORE + "bool", _CORE + "null"):
            value = resolve_plain(text)
            expected: type = {"int": int, "float": float, "bool": bool, "null": type(None)}[tag[len(_CORE) :]]
            if type(value) is expected:
                return value
            if expected is float and type(value) is int:
                return float(value)
        self.result.problem(
            "yaml-unsupported",
            line,
            col,
            f"tag {tag!r} is not supported in calcheck files; the value is read as text",
            "remove the tag; calcheck files hold plain strings, numbers, booleans, lists and mappings",
        )
        return text

    def _start(self, event: Any) -> None:
        mark = event.start_mark
        if event.tag not in (None, "!", _CORE + "map", _CORE + "seq"):
            self.result.problem(
                "yaml-unsupported",
                mark.line + 1,
                mark.column + 1,
                f"tag {event.tag!r} is not supported in calcheck files; it is ignored",
                "remove the tag",
            )
        if len(self.stack) >= MAX_DEPTH:
            self.result.problem(
                "yaml-too-deep",
                mark.line + 1,
                mark.column + 1,
                f"nesting deeper than {MAX_DEPTH} levels is not supported in calcheck files",
                "flatten the structure; calcheck records are at most a few levels deep",
            )
            raise _Abort
        self.stack.append(_Frame(type(event) is yaml.MappingStartEvent, mark.line + 1, mark.column + 1, event.anchor))

    def _end(self, event: Any) -> None:
        frame = self.stack.pop()
        pos = (frame.line, frame.col, frame.positions())
        if frame.anchor:
            self.anchors[frame.anchor] = (frame.container, pos, frame.nodes)
        self._add(frame.container, pos, frame.nodes, frame.line, frame.col)

    def _alias(self, event: Any) -> None:
        mark = event.start_mark
        line, col = mark.line + 1, mark.column + 1
        target = self.anchors.get(event.anchor)
        if target is None:  # pragma: no cover - libyaml rejects unknown aliases first
            self._syntax(line, col, f"unknown alias *{event.anchor}")
            raise _Abort
        value, pos, nodes = target
        self.expanded += nodes
        if self.expanded > MAX_ALIAS_NODES:
            self.result.problem(
                "yaml-alias-bomb",
                line,
                col,
                f"aliases in this document expand to more than {MAX_ALIAS_NODES} values",
                "write the records out instead of repeating them with anchors and aliases",
            )
            raise _Abort
        self._add(value, pos, nodes, line, col)

    def _add(self, value: Any, pos: Pos, nodes: int, line: int, col: int) -> None:
        if not self.stack:
            if self.doc_count == 1:
                self.result.documents.append(Document(value, pos, line, col, self.odd_numbers))
            return
        frame = self.stack[-1]
        frame.nodes += nodes
        if not frame.is_map:
            frame.container.append(value)
            frame.pos.append(pos)
        elif frame.key is None:
            self._set_key(frame, value, line, col)
        else:
            if frame.key is not _DISCARD:
                frame.container[frame.key] = value
                if len(pos) == 2:
                    frame.pos += pos
                else:
                    frame.pos.append(0)
                    frame.nested.append(pos)
            frame.key = None

    def _set_key(self, frame: _Frame, value: Any, line: int, col: int) -> None:
        if isinstance(value, (dict, list)):
            self.result.problem(
                "yaml-unsupported",
                line,
                col,
                "complex mapping keys (a list or mapping used as a key) are not supported",
                "use a plain text key",
            )
            raise _Abort
        key = _key_text(value)
        if key in frame.container:
            first_line, first_col = expand(tuple(frame.container), frame.pos, tuple(frame.nested))[key][:2]
            self.result.problem(
                "duplicate-key",
                line,
                col,
                f"duplicate key {key!r} (first at line {first_line}, column {first_col}); "
                "YAML would silently keep only the last value",
                "remove or rename one of the two keys",
            )
            if self.doc_count == 1:
                self.result.broken_paths.append(self._path())
            key = _DISCARD
        else:
            frame.pos += (line, col)
        frame.key = key

    def _path(self) -> tuple[Any, ...]:
        """Data path of the innermost open container."""
        path: list[Any] = []
        for parent in self.stack[:-1]:
            path.append(parent.key if parent.is_map else len(parent.container))
        return tuple(path)


def _key_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _offset_position(raw: bytes, offset: int) -> tuple[int, int]:
    """Line and column (1-based) of a byte offset, for reader errors."""
    before = raw[: max(offset, 0)]
    line = before.count(b"\n") + 1
    col = offset - (before.rfind(b"\n") + 1) + 1
    return line, col


def locate(pos: Pos, path: list[Any] | tuple[Any, ...]) -> tuple[int, int]:
    """Position of the node at ``path``, or of its nearest existing ancestor."""
    current = pos
    for step in path:
        if len(current) != 3:
            break
        children = current[2]
        if isinstance(children, dict):
            entry = children.get(step) if isinstance(step, str) else None
            if entry is None:
                break
            current = entry[2]
        else:
            if not isinstance(step, int) or not 0 <= step < len(children):
                break
            current = children[step]
    return current[0], current[1]


def locate_key(pos: Pos, path: list[Any] | tuple[Any, ...], key: str) -> tuple[int, int]:
    """Position of ``key`` itself inside the mapping at ``path`` (for unknown keys)."""
    current = pos
    for step in path:
        if len(current) != 3:
            return current[0], current[1]
        children = current[2]
        if isinstance(children, dict):
            entry = children.get(step)
            if entry is None:
                return current[0], current[1]
            current = entry[2]
        elif isinstance(step, int) and 0 <= step < len(children):
            current = children[step]
        else:
            return current[0], current[1]
    if len(current) == 3 and isinstance(current[2], dict) and key in current[2]:
        entry = current[2][key]
        return entry[0], entry[1]
    return current[0], current[1]
