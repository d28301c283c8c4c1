"""Import the directory from the exports admins have: Active Directory, Entra ID users, Intune devices, or any CSV.

Rows are read and checked first; an import either applies completely or changes nothing. People and devices are
matched by id (or, for people, by email), updated in place, added, or marked as departed or retired when the export
no longer lists them (or lists them disabled).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from calcheck.core.errors import UsageError
from calcheck.core.findings import Finding, Severity
from calcheck.core.progress import progress
from calcheck.edits import operations
from calcheck.edits.csvinput import read_export
from calcheck.edits.operations import Baseline, Change
from calcheck.edits.recordstyle import styled_record
from calcheck.edits.textedit import Located, Reader, RecordFile, TextEditError, located_text, new_text, records_located
from calcheck.edits.yamledit import EditableFile, EditError, insert_after, new_file, read_back
from calcheck.estate.cache import FileCache, FileMemo
from calcheck.estate.parallel import background
from calcheck.estate.sources import WorkTree
from calcheck.estate.yamlload import gc_paused
from calcheck.licensing.engine import CheckResult

# Normalised header names (lowercase letters and digits only) each field may come from, by source.
SOURCES: dict[str, dict[str, tuple[str, ...]]] = {
    "ad": {
        "id": ("samaccountname",),
        "name": ("displayname", "name"),
        "email": ("emailaddress", "mail", "userprincipalname"),
        "department": ("department",),
        "enabled": ("enabled",),
    },
    "entra": {
        "id": ("userprincipalname",),
        "name": ("displayname",),
        "email": ("mail", "userprincipalname"),
        "department": ("department",),
        "enabled": ("accountenabled",),
        "blocked": ("blocksignin",),
        "usertype": ("usertype",),
    },
    # Intune's device export, and Configuration Manager's device list (Name, Operating System, Last Activity)
    "intune": {
        "id": ("devicename", "name", "netbiosname"),
        "name": ("devicename", "name"),
        "serial": ("serialnumber",),
        "os": ("os", "operatingsystem"),
        "lastseen": ("lastcheckin", "lastsynctime", "lastactivity"),
    },
}
REQUIRED = {"people": ("id", "name"), "devices": ("id",)}
# Columns that mark a service account in any export: an AD object class of a (group) managed service account, or
# service principal names registered on the account.
SERVICE_FIELDS = {"objectclass": ("objectclass",), "spn": ("serviceprincipalname", "serviceprincipalnames")}
SERVICE_CLASS = re.compile(r"(?i)managedserviceaccount")
_TYPE_NAME = re.compile(r"(Microsoft|System)(\.\w+)+")  # what Export-Csv writes for a collection it cannot show
MOBILE = re.compile(r"(?i)^(ios|ipados|android)")
TRUE = {"true", "yes", "1", "enabled"}
FALSE = {"false", "no", "0", "disabled"}
_READ_BACK_BYTES = 4_000_000  # edited text read back at once: enough for the parsing workers to pay (2 MB)
# Many files' texts -> each one's document as the check reads it (as ``Reader``, all at once).
ManyReader = Callable[[list[tuple[Path, str]]], "list[dict[str, Any] | None]"]


def _norm(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


@dataclass
class Row:
    line: int
    values: dict[str, str]


@dataclass
class ImportPlan:
    changes: list[Change] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    leavers: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # disabled accounts the estate does not know


def read_rows(
    path: Path, source: str, mapping: dict[str, str] | None, kind: str
) -> tuple[str, list[Row], list[Finding]]:
    """Rows with the fields calcheck uses; the source is detected from the headers when ``source`` is auto."""
    shown = str(path)
    export = read_export(path, "import")
    if isinstance(export, Finding):
        return source, [], [export]
    if export.header is None:
        return source, [], [_problem(shown, 1, "the file is empty", "export the directory again")]
    header, skipped = export.header, export.header_line - 1
    columns = {_norm(h): i for i, h in enumerate(header)}
    if mapping is not None:
        fields: dict[str, tuple[str, ...]] = {name: (_norm(column),) for name, column in mapping.items()}
        source = "mapping"
    else:
        if source == "auto":
            source = _detect(columns, kind)
        fields = SOURCES[source]
    fields = {**SERVICE_FIELDS, **fields}
    wanted = {name: next((columns[c] for c in candidates if c in columns), None) for name, candidates in fields.items()}
    missing = [name for name in REQUIRED[kind] if wanted.get(name) is None]
    if missing:
        expected = ", ".join(fields[m][0] for m in missing)
        return (
            source,
            [],
            [
                _problem(
                    shown,
                    1 + skipped,
                    f"missing column(s) for {', '.join(missing)}",
                    f"the {source} export needs a column like: {expected}",
                )
            ],
        )
    rows = [
        Row(number, {name: record[i].strip() for name, i in wanted.items() if i is not None and i < len(record)})
        for number, record in export.rows
    ]
    return source, rows, []


def _detect(columns: dict[str, int], kind: str) -> str:
    if kind == "devices":
        return "intune"
    return "ad" if "samaccountname" in columns else "entra"


def _problem(path: str, line: int, message: str, hint: str) -> Finding:
    return Finding("import", Severity.ERROR, path, line, 1, message, hint)


def person_id(source: str, raw: str) -> str:
    """A person's id from the export: the account name, or a UPN's local part (guests' #EXT# made safe)."""
    value = raw.split("@", 1)[0] if source == "entra" else raw
    if value.isascii():  # nothing to fold or decompose (most exports): the same answer, without the per-letter walk
        return _UNSAFE_ID.sub("-", value.strip().lower()).strip("-._")
    folded = unicodedata.normalize("NFKD", value.strip().lower().translate(_LETTERS))
    plain = "".join(char for char in folded if not unicodedata.combining(char))  # josé -> jose
    return _UNSAFE_ID.sub("-", plain).strip("-._")


_UNSAFE_ID = re.compile(r"[^a-z0-9._@-]+")


# Letters that Unicode does not decompose into a base letter and a mark.
_LETTERS = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "đ": "d", "ð": "d", "ł": "l", "þ": "th", "\u0131": "i"}
)


def _flag(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    lowered = value.strip().lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise ValueError(value)


def _identifier(source: str, row: Row, kind: str) -> str:
    raw = row.values.get("id", "")
    return person_id(source, raw) if kind == "people" else raw


def _validate(path: str, source: str, rows: list[Row], kind: str) -> tuple[dict[str, Row], list[Finding]]:
    problems: list[Finding] = []
    seen: dict[str, Row] = {}
    folded: dict[str, Row] = {}  # ids and e-mails compare case-insensitively, as directories compare them
    emails: dict[str, Row] = {}
    id_pattern = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,127}")
    for row in rows:
        raw = row.values.get("id", "")
        identifier = person_id(source, raw) if kind == "people" else raw
        if not identifier or not id_pattern.fullmatch(identifier):
            problems.append(_problem(path, row.line, f"row has no usable id ({raw[:60]!r})", "fill in the id column"))
            continue
        email = row.values.get("email", "").casefold()
        first = folded.get(identifier.casefold()) or (emails.get(email) if email else None)
        if first is not None:
            same_id = identifier.casefold() in folded
            what = identifier if same_id else row.values.get("email", "")
            earlier = _identifier(source, first, kind) if same_id else first.values.get("email", "")
            spelled = "" if earlier == what else f" as {earlier!r}"
            problems.append(
                _problem(
                    path,
                    row.line,
                    f"{what!r} appears twice (first on line {first.line}{spelled})",
                    "remove the duplicate row (ids and e-mails are compared ignoring case)",
                )
            )
            continue
        folded[identifier.casefold()] = row
        if email:
            emails[email] = row
        for flag in ("enabled", "blocked"):
            try:
                _flag(row.values.get(flag))
            except ValueError:
                problems.append(
                    _problem(
                        path,
                        row.line,
                        f"{flag} is {row.values.get(flag)!r}, not true or false",
                        "export the column as True/False",
                    )
                )
        if row.values.get("lastseen"):
            try:
                _when(row.values["lastseen"])
            except ValueError:
                problems.append(
                    _problem(
                        path,
                        row.line,
                        f"last check-in {row.values['lastseen']!r} is not a date",
                        "use the export's own date format (ISO or M/D/YYYY)",
                    )
                )
        seen[identifier] = row
    return seen, problems


def _when(text: str) -> dt.date:
    for pattern in (
        "%Y-%m-%d",
        "%Y-%m-%dT%H:%M:%S",
        "%m/%d/%Y %I:%M:%S %p",
        "%m/%d/%Y %H:%M",
        "%m/%d/%Y",
        "%d.%m.%Y %H:%M",
    ):
        try:
            return dt.datetime.strptime(text.strip().rstrip("Z").split(".")[0], pattern).date()
        except ValueError:
            continue
    raise ValueError(text)


@dataclass
class _Target:
    """One estate file an import edits: its records located in its text, the edits made, and the round trip
    (read only when the text edit does not apply)."""

    path: Path
    collection: str
    text: RecordFile | None
    ids: dict[Any, int]
    edits: list[tuple[str, str, Any, str]] = field(default_factory=list)  # (record id, key, value, after)
    added: list[dict[str, Any]] = field(default_factory=list)
    round_trip: EditableFile | None = None
    by_id: dict[Any, Any] = field(default_factory=dict)

    def get(self, record_id: str, key: str) -> Any:
        if self.text is not None:
            return self.text.value(self.ids[record_id], key)
        return self._record(record_id).get(key)

    def set(self, record_id: str, key: str, value: Any, after: str) -> None:
        if self.text is not None:
            try:
                self.text.set(self.ids[record_id], key, value, after)
            except TextEditError:
                self.leave_text()
            else:
                self.edits.append((record_id, key, value, after))
                return
        self.edits.append((record_id, key, value, after))
        insert_after(self._record(record_id), after, key, value)

    def leave_text(self) -> None:
        """Edit by the round trip from now on: every edit so far is made on it too."""
        self.text = None
        for record_id, key, value, after in self.edits:
            insert_after(self._record(record_id), after, key, value)

    def _record(self, record_id: str) -> Any:
        if self.round_trip is None:
            self.round_trip = EditableFile.read(self.path)
            for record in self.round_trip.records(self.collection):
                # an item that is not a record, or an id that is not text, is the check's to report
                if isinstance(record, dict) and isinstance(record.get("id"), str):
                    self.by_id.setdefault(record["id"], record)  # the first of equal ids, as the check reads
        if record_id not in self.by_id:  # the round trip keeps what the check reads past: a tag on the id, say
            raise EditError(f"{self.path}: the record {record_id} cannot be found for editing; edit it by hand")
        return self.by_id[record_id]

    def rendered(self) -> str | None:
        """The file's edited text, to be read back (``change``); None when the text edit does not apply."""
        if self.text is None:
            return None
        for values in self.added:
            self.text.append(values)
        try:
            after = self.text.render()
        except TextEditError:
            self.leave_text()
            return None
        self.text.records = []  # located records are needed to render only (memory: imports edit thousands)
        return after

    def change(self, after: str | None, data: dict[str, Any] | None) -> Change | None:
        """The file as edited: as text where ``after`` (``rendered``) reads back (``data``) exactly as intended,
        else by the round trip."""
        if self.text is not None and after is not None:
            if data != self.text.expected():
                self.leave_text()  # the edited text would not read back as intended
            else:
                if after == self.text.text:
                    return None
                edited = EditableFile(self.path, self.text.text, self.text.digest, None)
                return Change(self.path, self.text.text, after, "", edited)
        if self.round_trip is None:
            self.round_trip = EditableFile.read(self.path)
        items = self.round_trip.records(self.collection)
        for values in self.added:
            items.append(styled_record(items, values))  # in the style of the file's records
        rendered, before = self.round_trip.render(), self.round_trip.text
        return Change(self.path, before, rendered, "", self.round_trip) if rendered != before else None


def _plain_record(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in record.items()}


def _new_file(path: Path, collection: str, records: list[dict[str, Any]], reader: Reader, header: str) -> Change:
    """A new file of ``records``: written as text and read back now (the check of the edited estate then reads it
    from the memo), else written by ruamel.yaml and read back with the other changes."""
    try:
        text = header + new_text(collection, records)
    except TextEditError:
        pass
    else:
        if reader(path, text) == {"kind": collection, collection: [_plain_record(r) for r in records]}:
            return Change(path, "", text, "", None, None)
    text, data = new_file(header, collection, records)
    return Change(path, "", text, "", None, data)


class Files:
    """The estate files an import edits, each read once."""

    def __init__(
        self,
        collection: str,
        reader: Reader,
        header: str = "",
        many: ManyReader | None = None,
        located: Located | None = None,
    ) -> None:
        self.collection = collection
        self.located = located  # records already located in a text, by its SHA-256 (``Prelocated``)
        self.reader = reader
        self.many: ManyReader = many or (lambda files: [reader(path, text) for path, text in files])
        self.header = header  # the first lines of a new file
        self.targets: dict[Path, _Target] = {}
        self.sources: dict[str, _Target] = {}  # by a record's source path, as the model gives it
        self.new: dict[Path, list[dict[str, Any]]] = {}

    def target(self, path: Path) -> _Target:
        """The file at ``path``, however spelt (a record's source and --file-to may name one file two ways)."""
        same = Path(os.path.abspath(path))
        found = self.targets.get(same)
        if found is None:
            try:
                text: RecordFile | None = RecordFile.read(path, self.collection, self.reader, self.located)
            except TextEditError:
                text = None
            ids = text.index() if text is not None else {}
            found = self.targets[same] = _Target(path, self.collection, text, ids)
        return found

    def record(self, source_path: str, record_id: str) -> tuple[_Target, str]:
        """The file holding ``record_id`` and the id (each file indexed once: imports touch thousands)."""
        target = self.sources.get(source_path)
        if target is None:
            target = self.sources[source_path] = self.target(Path(source_path))
        if target.text is not None and record_id not in target.ids:
            target.leave_text()  # the round trip finds it, or says why not
        if target.text is None:
            target.get(record_id, "id")
        return target, record_id

    def changes(self) -> list[Change]:
        for path, records in self.new.items():
            if path.exists():
                self.target(path).added.extend(records)
        self.sources.clear()
        found: list[Change] = []
        while self.targets:
            # The edited texts are read back some megabytes at a time (on every core, as the check reads the
            # estate), each file let go once its change is made: a file's two versions are not all held at once.
            batch: list[tuple[_Target, str | None]] = []
            size = 0
            while self.targets and size < _READ_BACK_BYTES:
                target = self.targets.pop(next(iter(self.targets)))
                batch.append((target, target.rendered()))
                size += len(batch[-1][1] or "")
            read = iter(self.many([(target.path, after) for target, after in batch if after is not None]))
            for target, after in batch:
                change = target.change(after, next(read) if after is not None else None)
                if change is not None:
                    found.append(change)
            batch.clear()
        for path, records in self.new.items():
            if not path.exists():
                found.append(_new_file(path, self.collection, records, self.reader, self.header))
        return found


def service_account(identifier: str, row: Row, conventions: tuple[str, ...]) -> bool:
    """True when the export marks the account as a service account, or its name follows a given convention."""
    spn = row.values.get("spn", "").strip("{} ")
    if SERVICE_CLASS.search(row.values.get("objectclass", "")) or (spn and not _TYPE_NAME.fullmatch(spn)):
        return True
    names = {identifier.lower(), row.values.get("id", "").lower()}
    return any(fnmatch.fnmatchcase(name, pattern.lower()) for name in names for pattern in conventions)


def plan_people(
    result: CheckResult,
    rows: dict[str, Row],
    source: str,
    on: dt.date,
    target: Path,
    partial: bool,
    export: str = "import",
    conventions: tuple[str, ...] = (),
    reader: Reader = read_back,
    header: str = "",
    many: ManyReader | None = None,
    located: Located | None = None,
) -> ImportPlan:
    """The changes an export of people makes to the estate ``result`` checked (``rows`` by id: emptied once planned)."""
    plan = ImportPlan()
    people = result.estate.index("people")
    by_email = {p.email.casefold(): p for p in people.values() if p.email}
    by_id = {p.id.casefold(): p for p in people.values()}
    unreadable = _left_out_ids(result, "people")
    files = Files("people", reader, header, many, located)
    matched: dict[str, Row] = {}
    for identifier, row in progress(sorted(rows.items()), "people"):
        values = row.values
        person = by_email.get(values.get("email", "").casefold()) if values.get("email") else None
        person = person or by_id.get(identifier.casefold())
        if person is not None and person.id in matched:
            first, later = sorted((matched[person.id].line, row.line))
            plan.problems.append(
                _problem(
                    export,
                    later,
                    f"this row and line {first} both match person {person.id!r} (by id or e-mail)",
                    "keep one row per person",
                )
            )
            continue
        enabled = _flag(values.get("enabled"))
        if _flag(values.get("blocked")) is True:
            enabled = False
        if person is None:
            if enabled is False:
                plan.skipped.append(identifier)  # a disabled account nobody knows: nothing to record, but counted
                continue
            if identifier.casefold() in unreadable:
                plan.problems.append(_left_out(export, row, "person", identifier))
                continue
            kind = "external" if values.get("usertype", "").lower() == "guest" else "employee"
            kind = "service-account" if service_account(identifier, row, conventions) else kind
            record = {"id": identifier, "name": values.get("name") or identifier, "kind": kind, "status": "active"}
            record.update({k: values[k] for k in ("email", "department") if values.get(k)})
            files.new.setdefault(target, []).append(record)
            plan.added.append(identifier)
            continue
        matched[person.id] = row
        held, who = files.record(person.source.path, person.id)
        updates = {
            k: values[k] for k in ("name", "email", "department") if values.get(k) and held.get(who, k) != values[k]
        }
        for key, value in updates.items():
            held.set(who, key, value, "status")
        if enabled is False and person.status != "departed":
            _depart(*files.record(person.source.path, person.id), on)
            plan.leavers.append(person.id)
        elif updates:
            plan.updated.append(person.id)
    for person in [] if partial else people.values():
        if person.id not in matched and person.kind in ("employee", "contractor") and person.status != "departed":
            _depart(*files.record(person.source.path, person.id), on)
            plan.leavers.append(person.id)
    rows.clear()  # planned: the files are edited without them (memory: a row per person)
    matched.clear()
    plan.changes = files.changes()
    return plan


def _left_out_ids(result: CheckResult, collection: str) -> set[str]:
    """Ids (case-folded) of records the check left out for a schema error: a row with one is not a new record."""
    return {identifier.casefold() for identifier in result.estate.invalid_ids.get(collection, set())}


def _left_out(export: str, row: Row, what: str, identifier: str) -> Finding:
    return _problem(
        export,
        row.line,
        f"{what} {identifier!r} has a schema error in the estate, so this row cannot be matched to it",
        "fix that record ('calcheck check' shows where), then import again",
    )


def _depart(target: _Target, record: str, on: dt.date) -> None:
    target.set(record, "status", "departed", "status")
    target.set(record, "departed", on, "status")


def plan_devices(
    result: CheckResult,
    rows: dict[str, Row],
    on: dt.date,
    target: Path,
    partial: bool,
    export: str = "import",
    reader: Reader = read_back,
    header: str = "",
    many: ManyReader | None = None,
    located: Located | None = None,
) -> ImportPlan:
    """The changes an export of devices makes to the estate ``result`` checked (``rows``: emptied once planned)."""
    plan = ImportPlan()
    devices = result.estate.index("devices")
    by_id = {d.id.casefold(): d for d in devices.values()}
    unreadable = _left_out_ids(result, "devices")
    listed = {identifier.casefold() for identifier in rows}
    files = Files("devices", reader, header, many, located)
    for identifier, row in progress(sorted(rows.items()), "devices"):
        device = by_id.get(identifier.casefold())
        if device is None and identifier.casefold() in unreadable:
            plan.problems.append(_left_out(export, row, "device", identifier))
        elif device is None:
            kind = "mobile" if MOBILE.match(row.values.get("os", "")) else "workstation"
            record = {"id": identifier, "name": row.values.get("name") or identifier, "kind": kind, "status": "active"}
            if row.values.get("serial"):
                record["serial"] = row.values["serial"]
            files.new.setdefault(target, []).append(record)
            plan.added.append(identifier)
    for device in [] if partial else devices.values():
        gone = device.id.casefold() not in listed
        if gone and device.kind in ("workstation", "mobile") and device.status == "active":
            held, who = files.record(device.source.path, device.id)
            held.set(who, "status", "retired", "status")
            held.set(who, "retired", on, "status")
            plan.leavers.append(device.id)
    rows.clear()  # planned: the files are edited without them (memory: a row per device)
    plan.changes = files.changes()
    return plan


class Prelocated:
    """The estate's files of one kind with their records located in their text (``textedit``'s libyaml walk) by a
    forked process at the lowest priority, while this one checks the estate and reads the export: the check's
    analysis and the export leave a core idle. What the process has finished is taken when the first file is edited
    (it is stopped then); a file it had not finished, or whose bytes are not those it located (their SHA-256 says),
    is located here, as without it. The answer is the same either way (``tests/test_import_prelocate.py``)."""

    def __init__(self, estate: Path, collection: str) -> None:
        try:
            tree = WorkTree(estate)
            files = tree.yaml_files()
        except (UsageError, OSError):
            tree, files = None, []
        self._work = background(files, lambda relative: _locate_file(tree, collection, relative))
        self._found: dict[str, bytes] | None = None

    def __call__(self, digest: str) -> Any:
        """The records located in a text of SHA-256 ``digest``, or None (the caller locates them)."""
        if self._found is None:
            self.finish(wait=False)
        assert self._found is not None
        body = self._found.pop(digest, b"")
        return records_located(body) if body else None

    def finish(self, wait: bool = True) -> dict[str, bytes]:
        """What the process located, by SHA-256 (taken once): with ``wait``, all it locates."""
        if self._found is None:
            self._found = {}
            for _, body in self._work.take(wait):
                self._found[body[:64].decode("ascii", "replace")] = body[64:]
        return self._found

    def cancel(self) -> None:
        """Stop the process (nothing more is wanted of it)."""
        self._work.cancel()
        self._found = {}


def _locate_file(tree: WorkTree | None, collection: str, relative: str) -> bytes | None:
    """In the forked process: the SHA-256 of a file's bytes, then its records located (``located_text``)."""
    if tree is None:
        return None
    try:
        raw = tree.read(relative)
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if not re.search(rf"(?m)^ *{collection} *:", text):  # no block list of records (or not written so: skipped)
        return None
    body = located_text(text, collection)
    return None if body is None else hashlib.sha256(raw).hexdigest().encode("ascii") + body


def import_baseline(estate: Path, kind: str, on: dt.date, cache: FileCache | None = None) -> Baseline:
    """The estate checked before an import of ``kind``, through a memo of loaded files in front of ``cache``.

    An import changes people or devices, never assignments: the history adds nothing to what it does. Both checks
    (before and after) share the memo: the second parses only the files the import changes, and splices their
    records into the first's estate. Only the files holding records of ``kind`` are edited and read again, so only
    theirs stay in the memo (of the others, only whether they read cleanly).
    """
    memo = FileMemo.over(cache)
    base = operations.baseline(estate, on, history=False, cache=memo)
    memo.forget(lambda _, result: any(found == kind for found, _ in result[1]))
    return base


def checked_reader(base: Baseline) -> Reader:
    """A reader of estate files' text as ``base``'s check reads them, through its memo (see ``import_baseline``)."""
    return lambda path, text: operations.read_as_checked(base, path, text)


def checked_many(base: Baseline) -> ManyReader:
    """``checked_reader`` of many files at once (the edited files, read back on every core)."""
    return lambda files: operations.read_all_as_checked(base, files)


def plan_import(
    result: CheckResult,
    estate: Path,
    kind: str,
    path: Path,
    source: str,
    mapping: dict[str, str] | None,
    on: dt.date,
    target: Path | None,
    partial: bool = False,
    force: bool = False,
    conventions: tuple[str, ...] = (),
    reader: Reader = read_back,
    many: ManyReader | None = None,
    located: Located | None = None,
) -> ImportPlan:
    """The import's changes, or its problems; ``reader`` reads an estate file's text as the check does (``many``:
    many files' at once; by default one by one with ``reader``; ``located``: records located beforehand, see
    ``Prelocated``)."""
    source, rows, problems = read_rows(path, source, mapping, kind)
    validated, more = _validate(str(path), source, rows, kind)
    del rows  # the plan reads the validated rows only, and lets them go once planned (memory)
    if problems or more:
        return ImportPlan(problems=problems + more)
    target = target or estate / kind / "imported.yaml"
    schemas = Path(os.path.relpath(estate.resolve().parent / "schemas", target.resolve().parent)).as_posix()
    modeline = f"# yaml-language-server: $schema={schemas}/{kind}.schema.json\n"  # as every other estate file
    with gc_paused():  # hundreds of thousands of located values, none of them in a cycle
        if kind == "people":
            shown = str(path)
            plan = plan_people(
                result, validated, source, on, target, partial, shown, conventions, reader, modeline, many, located
            )
        else:
            plan = plan_devices(result, validated, on, target, partial, str(path), reader, modeline, many, located)
    active = sum(1 for r in result.estate.index(kind).values() if getattr(r, "status", "") == "active")
    if not force and active and len(plan.leavers) * 2 > active:
        plan.problems.append(
            _problem(
                str(path),
                1,
                f"the export would mark {len(plan.leavers)} of {active} active {kind} as gone",
                "for an export of part of the directory use --partial; to apply it anyway use --force",
            )
        )
    return plan
