"""Reading an estate: discover files, load YAML with positions, validate against the schemas, build the model."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from calcheck.core.findings import Finding, Severity
from calcheck.estate import schema
from calcheck.estate.kinds import KINDS, RECORD_KEYS
from calcheck.estate.parse import load_bytes
from calcheck.estate.sources import EstateSource, WorkTree
from calcheck.estate.yamlload import Document, LoadedFile

if TYPE_CHECKING:  # the model is built only for a whole estate: `validate FILE` starts without it
    from calcheck.estate.cache import Checked, FileCache
    from calcheck.estate.model import Estate

T = TypeVar("T", bound=Any)
# Each kind but config has a folder of its own, named after it.
FOLDER_KINDS = {kind: kind for kind in KINDS if kind != "config"}


def read_file(source: EstateSource, relative: str) -> LoadedFile:
    shown = source.display(relative)
    try:
        raw = source.read(relative)
    except OSError as exc:
        return _unreadable(shown, exc)
    return load_bytes(shown, raw)


def _unreadable(shown: str, exc: OSError) -> LoadedFile:
    loaded = LoadedFile(shown)
    loaded.problem(
        "unreadable-file",
        1,
        1,
        f"cannot read file: {exc.strerror or exc}",
        "check the file's permissions, or replace the link with the file itself",
    )
    return loaded


def document_kind(loaded: LoadedFile, doc: Document, relative: str) -> str | None:
    """The document's kind, or None after recording why it has none (or the wrong one)."""
    data = doc.data
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind not in KINDS:
        shown = f"{kind!r}" if isinstance(kind, str) else "no 'kind:' key"
        loaded.problem(
            "unknown-kind",
            doc.line,
            doc.column,
            f"document has {shown}; calcheck cannot tell what it holds",
            f"start the file with 'kind:' and one of: {', '.join(KINDS)}",
        )
        return None
    assert isinstance(kind, str)
    parts = relative.split("/")
    folder = parts[0] if len(parts) > 1 else None
    expected = FOLDER_KINDS.get(folder or "")
    if expected is not None and expected != kind:
        line, col = doc.pos[2]["kind"][2][:2]
        loaded.problem(
            "wrong-kind",
            line,
            col,
            f"a '{kind}' document in the {folder}/ folder",
            f"move the file to the folder for {kind}, or correct its kind",
        )
        return None
    return kind


def builtin_cal_names() -> dict[str, str]:
    """CAL id -> name from the built-in catalogue (for describing history)."""
    return {c["id"]: c["name"] for doc in builtin_catalogue() for c in doc.data.get("cals", [])}


def validate_file(path: Path) -> list[Finding]:
    """YAML and schema findings for one file on its own (no references, no rules)."""
    source = WorkTree(path.parent)
    loaded = read_file(source, path.name)
    problems: list[Finding] = []
    for doc in loaded.documents:
        kind = document_kind(loaded, doc, path.name)
        if kind is not None:
            problems.extend(finding for finding, _ in schema.validate_document(loaded.path, kind, doc))
    return loaded.findings + problems


@cache
def builtin_catalogue() -> tuple[Document, ...]:
    raw = resources.files("calcheck").joinpath("data/catalogue.yaml").read_bytes()
    from calcheck.estate.model import BUILTIN

    loaded = load_bytes(BUILTIN.path, raw)
    problems = [f for doc in loaded.documents for f, _ in schema.validate_document(BUILTIN.path, "catalogue", doc)]
    if loaded.findings or problems:  # pragma: no cover - guarded by the test suite
        raise RuntimeError(f"built-in catalogue is invalid: {(loaded.findings + problems)[0]}")
    return tuple(loaded.documents)


def load_checked(source: EstateSource, relative: str, cache: FileCache | None = None) -> tuple[LoadedFile, Checked]:
    """One file loaded, each document's kind told and validated against its schema (from ``cache`` if it has it)."""
    return load_all(source, [relative], cache)[0]


class _Pending(NamedTuple):
    """A file to parse: where it is, its bytes and its cache key."""

    relative: str
    shown: str
    raw: bytes
    key: str | None


def load_all(
    source: EstateSource, files: list[str], cache: FileCache | None = None
) -> list[tuple[LoadedFile, Checked]]:
    """Each file loaded and checked as ``load_checked`` does, in order; what the cache lacks is parsed on every core."""
    from calcheck.estate import parallel
    from calcheck.estate.cache import decode_entry, encode_entry

    results: list[tuple[LoadedFile, Checked] | None] = []
    pending: list[tuple[int, _Pending]] = []
    if len(files) > 1:
        source.read_ahead(files)
    for relative in files:
        shown = source.display(relative)
        try:
            raw = source.read(relative)
        except OSError as exc:
            results.append((_unreadable(shown, exc), []))
            continue
        key = cache.key(shown, relative, raw) if cache is not None else None
        hit = cache.get(key) if cache is not None and key is not None else None
        if hit is None:
            pending.append((len(results), _Pending(relative, shown, raw, key)))
        results.append(hit)

    def here(item: _Pending) -> tuple[LoadedFile, Checked]:
        result = _parse(item)
        if cache is not None and item.key is not None:
            cache.put(item.key, *result)
        return result

    def produce(item: _Pending) -> bytes | None:  # in a worker
        body = encode_entry(item.key or "", *_parse(item))
        if body is not None and cache is not None and item.key is not None:
            cache.put_body(item.key, body)
        return body

    def received(item: _Pending, body: bytes) -> tuple[LoadedFile, Checked] | None:  # a worker's result
        result = decode_entry(item.key or "", body)
        if result is not None and cache is not None and item.key is not None:
            cache.received(item.key, result)
        return result

    parsed = parallel.parse_all(
        [item for _, item in pending],
        lambda item: len(item.raw),
        here,
        produce,
        received,
    )
    for (index, _), result in zip(pending, parsed, strict=True):
        results[index] = result
    return [result for result in results if result is not None]


def _parse(item: _Pending) -> tuple[LoadedFile, Checked]:
    loaded = load_bytes(item.shown, item.raw)
    checked: Checked = []
    for doc in loaded.documents:
        kind = document_kind(loaded, doc, item.relative)
        checked.append((kind, schema.validate_document(loaded.path, kind, doc) if kind is not None else []))
    return loaded, checked


def load_estate(source: EstateSource, cache: FileCache | None = None) -> tuple[Estate, list[Finding], int]:
    """Read every file of ``source`` into an estate; file and schema problems become findings."""
    from calcheck.estate import build
    from calcheck.estate.model import BUILTIN, Estate

    estate = Estate(source.label)
    for doc in builtin_catalogue():
        build.add_document(estate, BUILTIN.path, "catalogue", doc, source.inspect)
    estate.products[:] = [_builtin(p) for p in estate.products]
    estate.cals[:] = [_builtin(c) for c in estate.cals]
    files = source.yaml_files()
    findings = [
        Finding(
            "estate-link",
            Severity.ERROR,
            source.display(link) if link else source.label,
            1,
            1,
            f"{'the estate folder' if not link else repr(link)} is a symbolic link; it is not read",
            "commit the files themselves: a link can point anywhere on the machine that runs the check",
        )
        for link in source.links()
    ]
    if "" in source.links():  # nothing was read, so the missing configuration is no news
        estate.invalid_ids.setdefault("config", set()).add("config")
    for loaded, checked in load_all(source, files, cache):
        for doc, (kind, problems) in zip(loaded.documents, checked, strict=True):
            if kind is None:
                continue
            findings.extend(finding for finding, _ in problems)
            broken = [where for _, where in problems] + loaded.broken_paths
            valid = _without_invalid_records(estate, kind, doc, broken)
            if valid is not None:
                build.add_document(estate, loaded.path, kind, valid, source.inspect)
        findings.extend(loaded.findings)
    return estate, findings, len(files)


def _without_invalid_records(
    estate: Estate, kind: str, doc: Document, broken: list[tuple[Any, ...]]
) -> Document | None:
    """The document minus records with schema errors, or None when the document itself is broken.

    Dropping one bad record rather than the whole file keeps one typo from hiding a file's
    other records; the ids of dropped records are remembered so references to them do not
    cascade into 'unknown reference' findings.
    """
    if not broken:
        return doc
    collection = RECORD_KEYS.get(kind, "")
    bad: set[int] = set()
    for where in broken:
        if not collection or len(where) < 2 or where[0] != collection or not isinstance(where[1], int):
            estate.invalid_ids.setdefault(kind, set()).add(kind)
            return None
        bad.add(where[1])
    records = doc.data[collection]
    for index in bad:
        record = records[index]
        if isinstance(record, dict) and isinstance(record.get("id"), str):
            estate.invalid_ids.setdefault(collection, set()).add(record["id"])
    keep = [i for i in range(len(records)) if i not in bad]
    key_line, key_col, seq_pos = doc.pos[2][collection]
    data = {**doc.data, collection: [records[i] for i in keep]}
    positions = dict(doc.pos[2])
    positions[collection] = (key_line, key_col, (seq_pos[0], seq_pos[1], [seq_pos[2][i] for i in keep]))
    return Document(data, (doc.pos[0], doc.pos[1], positions), doc.line, doc.column)


def _builtin(record: T) -> T:
    import dataclasses  # here: `validate FILE` builds no records

    from calcheck.estate.model import BUILTIN

    return dataclasses.replace(record, source=BUILTIN)
