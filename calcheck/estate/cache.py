"""A content-addressed cache of each file's loaded and validated result, so unchanged files are not parsed again.

An entry is keyed by the SHA-256 of everything its result depends on: the file's bytes, its path in the estate and
as shown, calcheck's version and the source of its reading code (``estate/``, ``core/``), the schemas' text and the
versions of PyYAML, libyaml, jsonschema and jsonschema-rs.
A changed byte anywhere gives another key, so an entry is never stale; entries are JSON (never pickle) after a line
with the SHA-256 of that JSON, written atomically under unpredictable temporary names, and checked (the digest,
then field by field) when read: anything that does not decode exactly as written (a truncated or edited file,
another format) is a miss, and the file is parsed again and the entry rewritten. Record positions are kept as
compact strings and decoded only when a finding needs them.

The cache lives in ``$CALCHECK_CACHE_DIR``, else ``$XDG_CACHE_HOME/calcheck``, else ``~/.cache/calcheck``;
``CALCHECK_NO_CACHE=1`` or ``--no-cache`` turns it off. Results with and without it are identical (tested).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from calcheck import __version__
from calcheck.core.findings import Finding, Severity
from calcheck.estate.kinds import RECORD_KEYS
from calcheck.estate.lazy import LazyDict
from calcheck.estate.yamlload import Document, LoadedFile, Pos, PosDict, peek

FORMAT = "calcheck-file-cache/2"
Located = tuple[Finding, tuple[Any, ...]]
Checked = list[tuple[str | None, list[Located]]]  # per document: its kind (None: none) and its schema problems


class _Invalid(Exception):
    """The entry (or what would be written) does not have the expected shape."""


def default_dir() -> Path | None:
    """Where the cache lives, or None when it is turned off."""
    if os.environ.get("CALCHECK_NO_CACHE"):
        return None
    given = os.environ.get("CALCHECK_CACHE_DIR")
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "calcheck"


@cache
def _salt() -> bytes:
    """What every entry's result depends on besides the file itself."""
    from importlib import metadata  # (not at start: most runs never ask)

    import yaml

    from calcheck.estate.schema import schema_dir

    digest = hashlib.sha256(FORMAT.encode())
    for name in ("PyYAML", "jsonschema", "jsonschema-rs", "referencing"):
        try:
            digest.update(f"\0{name} {metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"\0{name} -".encode())
    libyaml = getattr(yaml, "_yaml", None)
    digest.update(f"\0libyaml {libyaml.get_version_string() if libyaml else '-'}\0{__version__}".encode())
    for schema in sorted(schema_dir().glob("*.json")):
        digest.update(b"\0" + schema.name.encode() + b"\0" + schema.read_bytes())
    # The code that reads a file and words its findings: an editable install changes it without a new version.
    package = Path(__file__).resolve().parent.parent
    for module in sorted([*(package / "estate").glob("*.py"), *(package / "core").glob("*.py")]):
        digest.update(b"\0" + module.name.encode() + b"\0" + module.read_bytes())
    return digest.digest()


def reader_digest() -> bytes:
    """A digest of the reading code, the schemas and the libraries' versions: what every cached reading depends on."""
    return _salt()


@dataclass(frozen=True, slots=True)
class FileCache:
    """Loaded and validated files, by content."""

    directory: Path

    def key(self, shown: str, relative: str, raw: bytes) -> str:
        digest = hashlib.sha256(_salt())
        digest.update(f"\0{shown}\0{relative}\0{len(raw)}\0".encode("utf-8", "surrogateescape"))
        digest.update(raw)
        return digest.hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / "files" / key[:2] / f"{key}.json"

    def get(self, key: str) -> tuple[LoadedFile, Checked] | None:
        """The cached result, or None (missing, unreadable or not exactly as written)."""
        # Record positions are decoded only when used, so damage there must be caught now: by the digest.
        body = read_entry(self._path(key))
        found = decode_entry(key, body) if body is not None else None
        if found is not None:
            mark_used(self._path(key))
        return found

    def put(self, key: str, loaded: LoadedFile, checked: Checked) -> None:
        """Store a result; a result that cannot be stored exactly, or a folder that cannot be written, is skipped."""
        body = encode_entry(key, loaded, checked)
        if body is not None:
            self.put_body(key, body)

    def put_body(self, key: str, body: bytes) -> None:
        """Store an entry ``encode_entry`` made for ``key`` (a parsing worker does, then ``received`` follows)."""
        write_entry(self._path(key), body)

    def received(self, key: str, result: tuple[LoadedFile, Checked]) -> None:
        """``result``, stored by a parsing worker with ``put_body``, is back in this process (nothing to do here)."""

    def lasting(self) -> FileCache | None:
        """The cache kept between runs (its folder also holds the history cache), if any."""
        return self

    def clean(self, key: str) -> bool | None:
        """Whether the file of ``key`` reads cleanly (``reads_cleanly``) when that is known without reading it."""
        return None

    def release(self) -> None:
        """Let go of the results held in this process's memory (a persistent cache holds none)."""


def reads_cleanly(loaded: LoadedFile, checked: Checked) -> bool:
    """Read without any finding, every document of a kind that adds records and none of them left out."""
    if loaded.findings or loaded.broken_paths or len(checked) != len(loaded.documents):
        return False
    return all(kind is not None and kind != "config" and not problems for kind, problems in checked)


@dataclass(frozen=True, slots=True)
class FileMemo(FileCache):
    """Files loaded in this process, by content, in front of the persistent cache (when there is one).

    An edit checks the estate twice, as it is and as the edit would leave it: the second check parses only the
    files the edit changed. Results are those of the same bytes read the same way, so they cannot differ; nothing
    is kept once the process ends (``--no-cache`` turns off only what is kept between runs). A file's earlier
    version is dropped when a later one is stored, all but whether it read cleanly (what splicing the edited
    estate asks of it).
    """

    inner: FileCache | None = None
    entries: dict[str, tuple[LoadedFile, Checked]] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # key -> the estate-relative path it is for
    latest: dict[str, str] = field(default_factory=dict)  # estate-relative path -> the key stored last
    verdicts: dict[str, bool] = field(default_factory=dict)  # a dropped entry's key -> whether it read cleanly

    @classmethod
    def over(cls, inner: FileCache | None) -> FileMemo:
        return cls(inner.directory if inner is not None else Path(os.devnull), inner)

    def key(self, shown: str, relative: str, raw: bytes) -> str:
        if self.inner is not None:
            key = self.inner.key(shown, relative, raw)
        else:
            digest = hashlib.sha256(f"\0{shown}\0{relative}\0{len(raw)}\0".encode("utf-8", "surrogateescape"))
            digest.update(raw)
            key = digest.hexdigest()
        self.files[key] = relative
        return key

    def get(self, key: str) -> tuple[LoadedFile, Checked] | None:
        found = self.entries.get(key)
        if found is None and self.inner is not None:
            found = self.inner.get(key)
            if found is not None:
                self._keep(key, found)
        return found

    def put(self, key: str, loaded: LoadedFile, checked: Checked) -> None:
        self._keep(key, (loaded, checked))
        if self.inner is not None:
            self.inner.put(key, loaded, checked)

    def lasting(self) -> FileCache | None:
        return self.inner

    def received(self, key: str, result: tuple[LoadedFile, Checked]) -> None:
        self._keep(key, result)  # the worker wrote the persistent entry; the process's memo is kept here

    def _keep(self, key: str, result: tuple[LoadedFile, Checked]) -> None:
        relative = self.files.get(key)
        if relative is not None:
            earlier = self.latest.get(relative)
            if earlier is not None and earlier != key:
                dropped = self.entries.pop(earlier, None)
                if dropped is not None:
                    self.verdicts[earlier] = reads_cleanly(*dropped)
            self.latest[relative] = key
        self.entries[key] = result

    def clean(self, key: str) -> bool | None:
        found = self.entries.get(key)
        return reads_cleanly(*found) if found is not None else self.verdicts.get(key)

    def release(self) -> None:
        self.forget(lambda _, __: False)

    def forget(self, keep: Callable[[str, tuple[LoadedFile, Checked]], bool]) -> None:
        """Drop every entry but those ``keep`` (given the estate-relative path and the result) wants, all but
        whether they read cleanly: what an edit will not read again need not stay in memory."""
        for key, result in list(self.entries.items()):
            relative = self.files.get(key)
            if relative is None or not keep(relative, result):
                del self.entries[key]
                self.verdicts[key] = reads_cleanly(*result)


def read_entry(path: Path) -> bytes | None:
    """The body of an entry file (a line with the SHA-256 of the body, then the body) whose digest matches it,
    read without following a link; None when it is missing, unreadable, damaged or not a regular file (opened
    without waiting: a FIFO put there would otherwise hold the command until something writes to it)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        handle = os.open(path, flags)
    except OSError:
        return None
    try:
        with os.fdopen(handle, "rb") as stream:
            if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
                return None
            data = stream.read()
    except OSError:
        return None
    head, _, body = data.partition(b"\n")
    return body if head == hashlib.sha256(body).hexdigest().encode() else None


def write_entry(target: Path, body: bytes) -> bool:
    """Write ``body`` as an entry file (digest line, body) atomically: an exclusive temporary under an unpredictable
    name, renamed over ``target`` (a link there is replaced, never written through). False when it cannot be."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".entry-", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(hashlib.sha256(body).hexdigest().encode() + b"\n" + body)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError:
        return False
    return True


def open_cache(enabled: bool = True) -> FileCache | None:
    """The cache in its default place, or None when turned off."""
    directory = default_dir() if enabled else None
    if directory is not None:
        _OPENED.add(directory)
    return FileCache(directory) if directory is not None else None


_OPENED: set[Path] = set()  # the cache folders this process used (``tidy_opened`` keeps them within their size)
DEFAULT_LIMIT_MB = 2048
TIDY_EVERY = 86400  # seconds: a cache folder is looked over at most once a day
_KEPT_FOLDERS = ("files", "results", "logs")  # the history cache keeps its own (see ``calcheck.git.histcache``)


def tidy_opened() -> None:
    """Keep each cache folder this process used within ``$CALCHECK_CACHE_MAX_MB`` (default 2048), at most once a
    day; a folder that cannot be looked over is left as it is (a cache that outgrows its size only costs disk)."""
    try:
        limit = int(os.environ.get("CALCHECK_CACHE_MAX_MB", DEFAULT_LIMIT_MB)) << 20
    except ValueError:
        limit = DEFAULT_LIMIT_MB << 20
    for directory in sorted(_OPENED):
        with contextlib.suppress(OSError):
            tidy(directory, limit)
    _OPENED.clear()


def tidy(directory: Path, limit: int, now: float | None = None) -> list[Path]:
    """Remove the least recently used entries of the file cache and the kept results until they hold at most
    three quarters of ``limit`` bytes, when they hold more, and temporary files left by a write that stopped half
    way; unless the folder was looked over less than a day ago. Entries are dated by their modification time,
    which a read refreshes (``mark_used``). Returns what was removed."""
    now = time.time() if now is None else now
    marker = directory / ".tidied"
    try:
        if now - marker.stat().st_mtime < TIDY_EVERY:
            return []
    except OSError:
        pass
    entries: list[tuple[float, int, Path]] = []
    removed: list[Path] = []
    for name in _KEPT_FOLDERS:
        for folder, _, files in os.walk(directory / name):
            for file in files:
                path = Path(folder) / file
                try:
                    found = os.lstat(path)
                except OSError:
                    continue
                if file.startswith(".entry-") and now - found.st_mtime > 3600:  # a write that never finished
                    path.unlink(missing_ok=True)
                    removed.append(path)
                elif file.endswith((".json", ".log")):  # (.log: git's answers, see ``GitRepo.log``)
                    entries.append((found.st_mtime, found.st_size, path))
    total = sum(size for _, size, _ in entries)
    if total > limit:
        for _, size, path in sorted(entries):
            if total <= limit * 3 // 4:
                break
            path.unlink(missing_ok=True)
            removed.append(path)
            total -= size
    directory.mkdir(parents=True, exist_ok=True)
    marker.touch()
    os.utime(marker, (now, now))
    return removed


def mark_used(path: Path) -> None:
    """Mark an entry as used now (``tidy`` removes the least recently used first)."""
    with contextlib.suppress(OSError, NotImplementedError):
        os.utime(path, follow_symlinks=False)


def encode_entry(key: str, loaded: LoadedFile, checked: Checked) -> bytes | None:
    """A result as an entry's JSON, or None when JSON could not give it back exactly."""
    try:
        text = json.dumps(_encode(key, loaded, checked), ensure_ascii=False, separators=(",", ":"))
        return text.encode("utf-8")  # a file name that is not UTF-8 (surrogate escapes) cannot be kept
    except (_Invalid, ValueError, TypeError, RecursionError):
        return None


def decode_entry(key: str, body: bytes) -> tuple[LoadedFile, Checked] | None:
    """The result an entry made for ``key`` holds, or None when it is not exactly such an entry."""
    try:
        return _decode(json.loads(body), key)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, _Invalid, RecursionError):
        return None


# --- encoding -------------------------------------------------------------------------------------------------


def _encode(key: str, loaded: LoadedFile, checked: Checked) -> dict[str, Any]:
    if len(checked) != len(loaded.documents):
        raise _Invalid("one check per document")
    docs = []
    for doc, (kind, problems) in zip(loaded.documents, checked, strict=True):
        collection = RECORD_KEYS.get(kind or "")
        docs.append(
            {
                "data": doc.data,
                "line": doc.line,
                "column": doc.column,
                "kind": kind,
                "collection": collection,
                "pos": _encode_document_pos(doc, collection),
                "problems": [[_finding(f), list(where)] for f, where in problems],
            }
        )
    return {
        "format": FORMAT,
        "key": key,
        "path": loaded.path,
        "findings": [_finding(f) for f in loaded.findings],
        "broken": [list(where) for where in loaded.broken_paths],
        "documents": docs,
    }


def _finding(f: Finding) -> list[Any]:
    return [f.rule, f.severity.name, f.path, f.line, f.column, f.message, f.hint, list(f.records)]


_SCALARS = (str, int, float, bool, type(None))


def _encode_pos(data: Any, pos: Pos, out: list[int]) -> None:
    """Append ``pos`` as integers in the order the data gives (see ``_decode_pos``).

    It also refuses data JSON would not give back as it was (keys that are not text, tuples, other types), so a
    result that could not be stored exactly is not stored.
    """
    out += (pos[0], pos[1])
    kind = type(data)
    if kind is dict and type(pos[2]) is PosDict and (packed := pos[2].packed()) is not None:
        _encode_packed(data, packed, out)
    elif kind is dict or (kind not in _SCALARS and isinstance(data, dict)):
        children = peek(pos[2])  # a record's packed positions stay packed (the estate keeps them)
        if not isinstance(children, dict) or list(children) != list(data):
            raise _Invalid("positions do not follow the data")
        for name, value in data.items():
            if type(name) is not str:
                raise _Invalid("a key that is not text")
            key_line, key_col, child = children[name]
            if type(value) in _SCALARS:  # most values: inlined
                if len(child) != 2:
                    raise _Invalid("a scalar with children")
                out += (key_line, key_col, child[0], child[1])
            else:
                out += (key_line, key_col)
                _encode_pos(value, child, out)
    elif kind is list or (kind not in _SCALARS and isinstance(data, list)):
        children = pos[2]
        if not isinstance(children, list) or len(children) != len(data):
            raise _Invalid("positions do not follow the data")
        for value, child in zip(data, children, strict=True):
            _encode_pos(value, child, out)
    elif kind not in _SCALARS:
        raise _Invalid(f"a {kind.__name__} value")
    elif len(pos) != 2:
        raise _Invalid("a scalar with children")


def _encode_packed(data: dict[str, Any], packed: tuple[tuple[str, ...], Any, tuple[Pos, ...]], out: list[int]) -> None:
    """``_encode_pos`` of a mapping whose positions are packed: a scalar's four integers are already in order."""
    keys, ints, nested = packed
    if keys != tuple(data):
        raise _Invalid("positions do not follow the data")
    at = 0
    inner = iter(nested)
    for name, value in data.items():
        if type(name) is not str:
            raise _Invalid("a key that is not text")
        if type(value) in _SCALARS:
            if not ints[at + 2]:
                raise _Invalid("a scalar with children")
            out += ints[at : at + 4]
            at += 4
        else:
            if ints[at + 2]:
                raise _Invalid("a collection without children")
            out += (ints[at], ints[at + 1])
            at += 3
            child = next(inner, None)
            if child is None:
                raise _Invalid("positions do not follow the data")
            _encode_pos(value, child, out)


def _ints(values: list[int]) -> str:
    return ",".join(map(str, values))


def _encode_document_pos(doc: Document, collection: str | None) -> dict[str, Any]:
    """The document's positions: its records' one by one (each decoded on first use), the rest as one string."""
    data, pos = doc.data, doc.pos
    records = data.get(collection) if isinstance(data, dict) and collection else None
    if not collection or not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        out: list[int] = []
        _encode_pos(data, pos, out)
        return {"all": _ints(out)}
    sequence = pos[2][collection][2]
    if not isinstance(sequence[2], list) or len(sequence[2]) != len(records):
        raise _Invalid("positions do not follow the data")
    rest: list[int] = []
    _encode_pos({**data, collection: []}, _with_children(pos, collection, []), rest)
    items = []
    for record, record_pos in zip(records, sequence[2], strict=True):
        out = []
        _encode_pos(record, record_pos, out)
        items.append(_ints(out))
    return {"rest": _ints(rest), "records": items}


def _with_children(pos: Pos, collection: str, children: list[Any]) -> Pos:
    key_line, key_col, (line, col, _) = pos[2][collection]
    return (pos[0], pos[1], {**pos[2], collection: (key_line, key_col, (line, col, children))})


# --- decoding -------------------------------------------------------------------------------------------------


def _decode(entry: Any, key: str) -> tuple[LoadedFile, Checked]:
    if not isinstance(entry, dict) or entry.get("format") != FORMAT or entry.get("key") != key:
        raise _Invalid("another entry")
    loaded = LoadedFile(_text(entry["path"]))
    loaded.findings = [_decode_finding(f) for f in _list(entry["findings"])]
    loaded.broken_paths = [_where(w) for w in _list(entry["broken"])]
    checked: Checked = []
    for doc in _list(entry["documents"]):
        kind = doc["kind"]
        if kind is not None and not isinstance(kind, str):
            raise _Invalid("kind")
        collection = doc["collection"]
        if collection != RECORD_KEYS.get(kind or ""):
            raise _Invalid("collection")
        data = doc["data"]
        _share_values(data, collection)
        pos = _decode_document_pos(data, doc["pos"], collection)
        loaded.documents.append(Document(data, pos, _int(doc["line"]), _int(doc["column"])))
        problems = [(_decode_finding(f), _where(w)) for f, w in _list(doc["problems"])]
        checked.append((kind, problems))
    return loaded, checked


def _share_values(data: Any, collection: str | None) -> None:
    """One object for each text that records repeat (dates, statuses, holding ids), as the loader gives them.

    JSON makes a new string for every value; a large estate's records would hold tens of megabytes of copies.
    """
    records = data.get(collection) if collection and isinstance(data, dict) else None
    if not isinstance(records, list):
        return
    shared = _SHARED
    for record in records:
        if type(record) is dict:
            for name, value in record.items():
                if type(value) is str and len(value) <= 40 and name != "id":  # (an id is its record's own)
                    record[name] = shared.setdefault(value, value) if len(shared) < 200_000 else value


_SHARED: dict[str, str] = {}


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise _Invalid("not a list")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid("not text")
    return value


def _int(value: Any) -> int:
    if type(value) is not int:
        raise _Invalid("not an integer")
    return value


def _where(value: Any) -> tuple[Any, ...]:
    steps = _list(value)
    if not all(type(step) in (str, int) for step in steps):
        raise _Invalid("a data path")
    return tuple(steps)


def _decode_finding(value: Any) -> Finding:
    rule, severity, path, line, column, message, hint, records = _list(value)
    return Finding(
        _text(rule),
        Severity[_text(severity)],
        _text(path),
        _int(line),
        _int(column),
        _text(message),
        _text(hint),
        tuple(_text(r) for r in _list(records)),
    )


def _parse_ints(text: Any) -> Iterator[int]:
    return iter([int(part) for part in _text(text).split(",")])


def _decode_pos(data: Any, ints: Iterator[int]) -> Pos:
    line, col = next(ints), next(ints)
    if isinstance(data, dict):
        children: dict[str, Any] = {}
        for name, value in data.items():
            key_line, key_col = next(ints), next(ints)
            children[name] = (key_line, key_col, _decode_pos(value, ints))
        return (line, col, children)
    if isinstance(data, list):
        return (line, col, [_decode_pos(value, ints) for value in data])
    return (line, col)


def _complete(data: Any, text: Any) -> Pos:
    ints = _parse_ints(text)
    pos = _decode_pos(data, ints)
    if next(ints, None) is not None:
        raise _Invalid("positions left over")
    return pos


def _decode_document_pos(data: Any, encoded: Any, collection: str | None) -> Pos:
    if not isinstance(encoded, dict):
        raise _Invalid("positions")
    if "all" in encoded:
        return _complete(data, encoded["all"])
    if not isinstance(data, dict) or not collection or not isinstance(data.get(collection), list):
        raise _Invalid("records without a collection")
    records = data[collection]
    texts = _list(encoded["records"])
    if len(texts) != len(records) or not all(isinstance(r, dict) for r in records):
        raise _Invalid("one position per record")
    rest = _complete({**data, collection: []}, encoded["rest"])
    items = [_lazy_record(record, _text(text)) for record, text in zip(records, texts, strict=True)]
    key_line, key_col, (line, col, _) = rest[2][collection]
    return (rest[0], rest[1], {**rest[2], collection: (key_line, key_col, (line, col, items))})


def _lazy_record(record: dict[str, Any], text: str) -> Pos:
    head = text.split(",", 2)
    if len(head) < 2:
        raise _Invalid("a record's position")
    return (int(head[0]), int(head[1]), LazyDict(lambda: _complete(record, text)[2]))
