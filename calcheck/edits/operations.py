"""The admin's edits: assign, unassign and transfer CALs, and record audits, as reviewable changes to the YAML.

Each edit is planned against the estate as it is, checked as it would be, shown as a diff, and only then
written (atomically, and never over a file that changed since it was read).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from calcheck.core.atomic import PartialWrite, write_all
from calcheck.core.errors import UsageError
from calcheck.edits.recordstyle import styled_record, styled_value, tail_records
from calcheck.edits.textedit import RecordFile, TextEditError
from calcheck.edits.unified import unified_diff
from calcheck.edits.yamledit import (
    EditableFile,
    EditError,
    append_line,
    change_line,
    confirm,
    confirmed_items,
    emittable,
    flow_record,  # noqa: F401 - callers build records through this module
    insert_after,
    new_file,
    next_id,
    require,
)
from calcheck.estate.cache import FileCache
from calcheck.estate.loading import builtin_cal_names, load_all, load_checked
from calcheck.estate.model import Assignment
from calcheck.estate.sources import WorkTree, is_hidden
from calcheck.estate.yamlload import LoadedFile
from calcheck.git.timeline import EditHistory
from calcheck.licensing import engine
from calcheck.licensing.diff import Diff, compare


@dataclass
class Change:
    """One planned edit of one file."""

    path: Path
    before: str
    after: str
    summary: str
    edited: EditableFile | None  # None: a new file
    intended: Any = None  # a new file's data, which its text must read back as

    def diff(self, label: str) -> str:
        lines = unified_diff(
            self.before.splitlines(keepends=True), self.after.splitlines(keepends=True), f"a/{label}", f"b/{label}"
        )
        return "".join(lines)  # difflib.unified_diff's, line for line (see calcheck.edits.unified)


class Overlay(WorkTree):
    """The estate on disk with some files replaced: the estate as an edit would leave it."""

    def __init__(self, root: Path, overrides: dict[str, bytes]) -> None:
        super().__init__(root)
        self.overrides = overrides

    def yaml_files(self) -> list[str]:
        return sorted(set(super().yaml_files()) | set(self.overrides))

    def read(self, relative: str) -> bytes:
        return self.overrides[relative] if relative in self.overrides else super().read(relative)


def _file_of(record: Assignment) -> Path:
    return Path(record.source.path)


def _assignment(result: engine.CheckResult, assignment_id: str) -> Assignment:
    record = result.estate.index("assignments").get(assignment_id)
    if record is None:
        raise UsageError(f"no assignment {assignment_id!r} in {result.estate.root}")
    return record  # type: ignore[no-any-return]


def _target_file(
    estate: Path, result: engine.CheckResult, subject: tuple[str, str], holding: str, file: Path | None
) -> Path:
    """Where a new assignment goes: the given file, the assignee's, the holding's, or a new default file."""
    if file is not None:  # as given on the command line: relative to the working directory
        inside = file.resolve().is_relative_to(estate.resolve())
        require(inside, f"{file}: not inside the estate {estate}; give a file under it")
        require(file.suffix in (".yaml", ".yml"), f"{file}: an assignments file ends in .yaml or .yml")
        require(not file.is_dir(), f"{file}: is a folder; give a file")
        return file
    assignments: list[Assignment] = list(result.estate.index("assignments").values())
    for found in ([a for a in assignments if a.assignee == subject], [a for a in assignments if a.holding == holding]):
        if found:
            return _file_of(found[-1])
    return estate / "assignments" / "assignments.yaml"


def plan_assign(
    estate: Path,
    result: engine.CheckResult,
    holding: str,
    subject: tuple[str, str],
    since: dt.date,
    until: dt.date | None = None,
    temporary: bool = False,
    reason: str | None = None,
    note: str | None = None,
    file: Path | None = None,
    replaces: str | None = None,
    identifier: str | None = None,
    as_text: bool = True,
) -> Change:
    """A new assignment; ``as_text`` allows appending a line to a register instead of a round trip of the file."""
    require(holding in result.estate.index("holdings"), f"no holding {holding!r}")
    collection = "people" if subject[0] == "person" else "devices"
    require(subject[1] in result.estate.index(collection), f"no {subject[0]} {subject[1]!r}")
    require(not temporary or until is not None, "a temporary assignment needs --until")
    existing = _taken(result, "assignments")
    identifier = identifier or next_id([*existing, *sorted(result.context.history_ids)])
    require(identifier not in existing, f"assignment id {identifier!r} is taken")
    require(
        identifier not in result.context.history_ids,
        f"assignment id {identifier!r} was used before; ids are never reused",
    )
    values: dict[str, Any] = {"id": identifier, "holding": holding, subject[0]: subject[1], "since": since}
    values.update(
        {
            k: v
            for k, v in (
                ("until", until),
                ("temporary", temporary or None),
                ("replaces", replaces),
                ("reason", reason),
                ("note", note),
            )
            if v is not None
        }
    )
    path = _target_file(estate, result, subject, holding, file)
    summary = f"{identifier}: {holding} assigned to {subject[0]} {subject[1]} from {since}"
    if not path.exists():
        schemas = os.path.relpath(_schemas(estate), path.parent)
        header = f"# yaml-language-server: $schema={schemas}/assignments.schema.json\n"
        text, data = new_file(header, "assignments", [values])
        return Change(path, "", text, summary, None, data)
    appended = append_line(path, "assignments", _like_register(path, values)) if as_text else None
    if appended is not None:
        return Change(path, appended[0].text, appended[1], summary, appended[0])
    added = _append_as_text(path, values) if as_text else None
    if added is not None:
        return Change(path, added.text, added.after, summary, added.file)
    edited = EditableFile.read(path)
    items = edited.records("assignments")
    items.append(styled_record(items, values))  # block or flow, key order and quoting of its neighbours
    return Change(path, edited.text, edited.render(), summary, edited)


class _Appended(NamedTuple):
    text: str
    after: str
    file: EditableFile


def _append_as_text(path: Path, values: dict[str, Any]) -> _Appended | None:
    """The file with a record appended in the shape of its last one, done as text (see ``calcheck.edits.textedit``):
    every other byte is kept, and the result must read back as the records intended. None: leave it to the round
    trip (a value text cannot carry, a last record that does not start its line, a file that does not read cleanly).
    """
    try:
        found = RecordFile.read(path, "assignments")
        found.append(values)
        after = found.confirmed()
    except TextEditError:
        return None
    return _Appended(found.text, after, EditableFile(path, found.text, found.digest, None))


def _taken(result: engine.CheckResult, collection: str) -> list[str]:
    """Every id in use: the valid records' and those of records left out for a schema error (they come back)."""
    return sorted({*result.estate.index(collection), *result.estate.invalid_ids.get(collection, set())})


def _like_register(path: Path, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` in the key order and quoting of a register's last lines (as a line appended to it)."""
    return dict(styled_record(tail_records(path, "assignments"), values))


def _schemas(estate: Path) -> Path:
    return estate.resolve().parent / "schemas"


def plan_unassign(
    result: engine.CheckResult, assignment_id: str, on: dt.date, remove: bool = False, as_text: bool = True
) -> Change:
    """End (or remove) an assignment; ``as_text`` allows rewriting its line in a register instead of a round trip."""
    record = _assignment(result, assignment_id)
    if not remove:
        require(on >= record.since, f"{assignment_id} starts on {record.since}; it cannot end on {on}")
        _require_open(record, on)
    changed = change_line(_file_of(record), "assignments", assignment_id, None if remove else on) if as_text else None
    if changed is not None:
        summary = f"{assignment_id} removed" if remove else f"{assignment_id} ends on {on}"
        return Change(changed[0].path, changed[0].text, changed[1], summary, changed[0])
    edited = EditableFile.read(_file_of(record))
    items = edited.records("assignments")
    index = next(
        (i for i, item in enumerate(items) if isinstance(item, dict) and item.get("id") == assignment_id), None
    )
    if index is None:  # the round trip keeps what the check reads past: a tag on the id, say
        raise EditError(f"{edited.path}: the record {assignment_id} cannot be found for editing; edit it by hand")
    if remove:
        del items[index]
        summary = f"{assignment_id} removed"
    else:
        insert_after(items[index], "since", "until", styled_value(items, "until", on))
        summary = f"{assignment_id} ends on {on}"
    return Change(edited.path, edited.text, edited.render(), summary, edited)


def _require_open(record: Assignment, on: dt.date) -> None:
    """Refuse to move an assignment's end later: one that has ended stays ended (assign the CAL again instead)."""
    if record.until is not None and record.until < on:
        raise UsageError(
            f"{record.id} already ended on {record.until}; it cannot be ended again on {on} "
            "(that would reopen it): assign the CAL anew"
        )


# estate, result, holding, subject, since, until, temporary, reason: plan_assign's first arguments
_AssignArguments = tuple[Path, engine.CheckResult, str, tuple[str, str], dt.date, dt.date | None, bool, str | None]


def plan_transfer(
    estate: Path,
    result: engine.CheckResult,
    assignment_id: str,
    to: tuple[str, str],
    on: dt.date,
    reason: str | None,
    temporary: bool = False,
    until: dt.date | None = None,
) -> list[Change]:
    """End the assignment the day before ``on`` and give its CAL to ``to`` from ``on`` (with ``replaces``); a
    temporary transfer leaves the assignment as it is and adds the cover until ``until``."""
    record = _assignment(result, assignment_id)
    require(on > record.since, f"{assignment_id} starts on {record.since}; a transfer must come later")
    _require_open(record, on - dt.timedelta(days=1))
    summary = f"{record.holding}: {assignment_id} ({record.assignee[1]}) transferred to {to[0]} {to[1]} on {on}"
    arguments: _AssignArguments = (estate, result, record.holding, to, on, until, temporary, reason)
    if temporary:  # the absent holder keeps the assignment: the CAL is theirs again once the cover ends (ASG-02)
        add = plan_assign(*arguments, file=_file_of(record), replaces=assignment_id)
        who = f"{assignment_id} ({record.assignee[1]})"
        cover = f"{record.holding}: {who} covers {to[0]} {to[1]} from {on} until {until}"
        return [Change(add.path, add.before, add.after, cover, add.edited)]
    lines = _line_edits(result, assignment_id, on, arguments)
    if lines is not None:
        return [Change(lines[0].path, lines[0].before, lines[1], summary, lines[0].edited)]
    end = plan_unassign(result, assignment_id, on - dt.timedelta(days=1), as_text=False)
    add = plan_assign(*arguments, file=_file_of(record), replaces=assignment_id, as_text=False)
    if add.path == end.path:  # one file: apply both edits to the same round trip
        assert end.edited is not None
        end.edited.records("assignments").append(add.edited.records("assignments")[-1] if add.edited else None)
        return [Change(end.path, end.before, end.edited.render(), summary, end.edited)]
    return [end, add]


def _line_edits(
    result: engine.CheckResult, assignment_id: str, on: dt.date, arguments: _AssignArguments
) -> tuple[Change, str] | None:
    """A transfer within a register as two line edits (end one line, append one), or None to use the round trip."""
    record = _assignment(result, assignment_id)
    end = plan_unassign(result, assignment_id, on - dt.timedelta(days=1))
    add = plan_assign(*arguments, file=_file_of(record), replaces=assignment_id)
    if end.path != add.path or end.edited is None or add.edited is None:
        return None
    if end.edited.data is not None or add.edited.data is not None:  # not line edits: the round trip does both
        return None
    original, ended, added = end.before.split("\n"), end.after.split("\n"), add.after.split("\n")
    if len(ended) != len(original) or len(added) != len(original) + 1:
        return None
    at = next(i for i, (old, new) in enumerate(zip([*original, None], added, strict=False)) if old != new)
    combined = "\n".join([*ended[:at], added[at], *ended[at:]])
    ended_items, added_items = confirmed_items(end.path, end.after), confirmed_items(add.path, add.after)
    if ended_items is None or not added_items or confirmed_items(end.path, combined) != [*ended_items, added_items[-1]]:
        return None
    return end, combined


def verify(
    estate: Path, changes: list[Change], as_of: dt.date, cache: FileCache | None = None
) -> tuple[engine.CheckResult, list[str]]:
    """The estate as the edit would leave it, and how it would be worse than now (see ``review``)."""
    found = review(baseline(estate, as_of, cache=cache), changes)
    return found.after, found.worse


@dataclass(frozen=True, slots=True)
class Baseline:
    """The estate as it is, checked as the next check will check it; edits are planned on it and judged against it."""

    estate: Path
    as_of: dt.date
    result: engine.CheckResult
    history: EditHistory | None  # None: the 90-day rule reads the records only
    cache: FileCache | None = None  # the loaded-file cache both checks use


def baseline(estate: Path, as_of: dt.date, *, history: bool = True, cache: FileCache | None = None) -> Baseline:
    """Check the estate now; with ``history``, the 90-day rule reads git and the work tree as a check does."""
    lasting = cache.lasting() if cache is not None else None  # the history cache lives beside the lasting one
    walked = EditHistory(estate, as_of, builtin_cal_names(), lasting) if history else None
    result = engine.check(WorkTree(estate), as_of, walked.now if walked is not None else None, cache)
    return Baseline(estate, as_of, result, walked, cache)


@dataclass(frozen=True, slots=True)
class Review:
    """What an edit would do, judged as the next check will judge it (the git history and the work tree included)."""

    before: engine.CheckResult
    after: engine.CheckResult
    diff: Diff  # pools before and after, findings introduced and resolved
    duplicates: tuple[str, ...]  # assignments that give a holder a CAL it already has

    @property
    def worse(self) -> list[str]:
        """Why the edit needs --force: a larger shortfall, a new error, or a CAL its holder already has."""
        return [*self.diff.regressions(), *self.duplicates]


def review(base: Baseline, changes: list[Change], label: str = "after the edit") -> Review:
    """Check the estate as ``changes`` would leave it, and compare it with ``base``.

    Every changed file must first read back, with calcheck's own loader, as exactly the data intended.
    """
    for change in changes:
        _require_no_link(base.estate, change.path)
        if is_hidden(Path(os.path.abspath(change.path)).relative_to(os.path.abspath(base.estate)).as_posix()):
            raise EditError(f"{change.path}: a hidden file or folder, which calcheck does not read")
        intended = change.intended if change.intended is not None else getattr(change.edited, "data", None)
        if intended is not None:  # None: a line edit, confirmed when it was planned
            confirm(change.path, change.after, intended, loaded_as_checked(base, change.path, change.after))
    root = base.estate.resolve()
    overrides = {c.path.resolve().relative_to(root).as_posix(): c.after.encode("utf-8") for c in changes}
    timeline = base.history.after(overrides) if base.history is not None else None
    # only the changed files are read again: the rest of the estate is the baseline's (same answer, see recheck)
    after = engine.recheck(
        base.result,
        WorkTree(base.estate),
        Overlay(base.estate, overrides),
        list(overrides),
        base.as_of,
        timeline,
        base.cache,
    )
    diff = compare(base.result, after, "now", label)
    return Review(base.result, after, diff, tuple(duplicates(base.result, after)))


def loaded_as_checked(base: Baseline, path: Path, text: str) -> LoadedFile:
    """``text`` (the new content of estate file ``path``) loaded as the check will load it, through the baseline's
    cache: with a ``FileMemo`` the check of the edited estate then reads it from there."""
    relative = Path(os.path.abspath(path)).relative_to(os.path.abspath(base.estate)).as_posix()
    return load_checked(Overlay(base.estate, {relative: text.encode("utf-8")}), relative, base.cache)[0]


def read_as_checked(base: Baseline, path: Path, text: str) -> dict[str, Any] | None:
    """The one document ``text`` holds as the check reads it (None if it does not read cleanly as one mapping, or
    ``path`` is not in the estate)."""
    if not Path(os.path.abspath(path)).is_relative_to(os.path.abspath(base.estate)):
        return None
    return _one_mapping(loaded_as_checked(base, path, text))


def read_all_as_checked(base: Baseline, files: list[tuple[Path, str]]) -> list[dict[str, Any] | None]:
    """``read_as_checked`` of each of ``files`` (path, text), read at once: on every core, as the check reads."""
    root = Path(os.path.abspath(base.estate))
    inside = {
        index: Path(os.path.abspath(path)).relative_to(root).as_posix()
        for index, (path, _) in enumerate(files)
        if Path(os.path.abspath(path)).is_relative_to(root)
    }
    if len(set(inside.values())) != len(inside):  # one file given twice: each text read on its own
        return [read_as_checked(base, path, text) for path, text in files]
    overlay = Overlay(base.estate, {relative: files[index][1].encode("utf-8") for index, relative in inside.items()})
    loaded = iter(load_all(overlay, list(inside.values()), base.cache))
    return [_one_mapping(next(loaded)[0]) if index in inside else None for index in range(len(files))]


def _one_mapping(loaded: LoadedFile) -> dict[str, Any] | None:
    """The one document of a file that read cleanly as one mapping, else None."""
    data = loaded.documents[0].data if len(loaded.documents) == 1 and not loaded.findings else None
    return data if isinstance(data, dict) else None


def duplicates(before: engine.CheckResult, after: engine.CheckResult) -> list[str]:
    """Assignments new in ``after`` that give a person or device a CAL of a pool it already holds on the same days."""
    assignments: dict[str, Assignment] = after.estate.index("assignments")
    old = before.estate.index("assignments")
    added = sorted((a for a in assignments.values() if a.id not in old), key=lambda a: a.id)
    if not added:
        return []
    pools = {h: pool.label for pool in after.context.position.pools for h in pool.holdings}  # same CAL, version, type
    wanted = {a.assignee for a in added}
    held: dict[tuple[str, str], list[Assignment]] = {}
    for assignment in assignments.values():
        if assignment.assignee in wanted:
            held.setdefault(assignment.assignee, []).append(assignment)
    found = []
    for new in added:
        pool = pools.get(new.holding, f"CAL from {new.holding}")
        for other in held[new.assignee]:
            same = pools.get(other.holding, f"CAL from {other.holding}") == pool
            if other.id != new.id and same and _overlap(new, other):
                kind, subject = new.assignee
                found.append(
                    f"duplicate assignment {new.id}: {kind} {subject} already has a {pool} "
                    f"({other.id} from {other.holding}, {_period(other)})"
                )
                break
    return found


def _overlap(a: Assignment, b: Assignment) -> bool:
    """Whether two assignments are in force on at least one common day."""
    return a.since <= (b.until or dt.date.max) and b.since <= (a.until or dt.date.max)


def _period(assignment: Assignment) -> str:
    return f"since {assignment.since}" + (f" until {assignment.until}" if assignment.until else "")


def _require_no_link(estate: Path, path: Path) -> None:
    """Refuse a file that is not inside the estate, or is reached through a symbolic link (it would be written
    wherever the link points)."""
    root = Path(os.path.abspath(estate))
    target = Path(os.path.abspath(path))
    if not target.is_relative_to(root):
        raise EditError(f"{path}: not inside the estate {estate}; nothing was written")
    current = root
    for part in target.relative_to(root).parts:
        current = current / part
        if current.is_symlink():
            raise EditError(f"{path}: {current} is a symbolic link; calcheck writes no file through a link")
    if root.is_symlink():
        raise EditError(f"{estate}: is a symbolic link; calcheck writes no file through a link")
    # '..' taken away by name hides a link the system goes through ('hop/../licenses/x.yaml' leads wherever 'hop'
    # does): the folder the system finds must be the one the name gives, below the estate as the system finds it
    found, named = Path(os.path.realpath(path.parent)), Path(os.path.realpath(root)) / target.parent.relative_to(root)
    if found != named:
        raise EditError(f"{path}: leads to {found} through a symbolic link; calcheck writes no file through a link")


def write(changes: list[Change]) -> None:
    """Write every change, all or nothing; refuse all if any file changed since it was read.

    Each file goes to a temporary file first; only when all are written are they renamed into place. When one
    cannot be written (a full disk), the temporaries are removed, no file has changed, and the error names it.
    """
    for change in changes:
        if change.edited is not None and change.edited.changed_on_disk():
            raise EditError(f"{change.path} changed since calcheck read it; run the command again")
    _write_files([(change.path, change.edited is None, change.after) for change in changes])


def _write_files(files: list[tuple[Path, bool, str]]) -> None:
    """Write each (path, new, text): a new file must not have appeared meanwhile (``write``)."""
    for path, new, _ in files:
        if new and path.exists():
            raise EditError(f"{path} appeared since calcheck planned the edit; run the command again")
    for path, _, _ in files:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        write_all((path, text.encode("utf-8")) for path, _, text in files)
    except PartialWrite as exc:  # a rename failed after others: say exactly what changed
        written = ", ".join(str(path) for path in exc.done)
        raise EditError(
            f"{exc.filename}: cannot be replaced ({exc.strerror or exc}); already written: {written}"
        ) from None
    except OSError as exc:
        raise EditError(f"{exc.filename}: cannot be written ({exc.strerror or exc}); no file was changed") from None


@dataclass(frozen=True, slots=True)
class Decided:
    """An edit as planned and reviewed: what it shows, the refusal it ends with instead of writing (None: none),
    and the files it writes, each with the digest of the bytes it was planned on (None: a new file). It is kept
    between runs under the digest of everything the planning read (``calcheck.cli.common``), so an edit asked again,
    as after its dry run, is written without being planned and checked again."""

    shown: str
    refused: str | None
    files: tuple[tuple[str, str | None, str, str], ...]  # (path, digest planned on or None, text, summary)
    keepable: bool = True  # False: a file has no digest to hold it to (then it is not kept)

    @classmethod
    def of(cls, changes: list[Change], shown: str, refused: str | None) -> Decided:
        files = []
        for change in changes:
            digest = getattr(change.edited, "digest", None) if change.edited is not None else None
            files.append((str(change.path), digest, change.after, change.summary))
        keepable = all(isinstance(f[1], str) for f, c in zip(files, changes, strict=True) if c.edited is not None)
        return cls(shown, refused, tuple(files), keepable)

    @property
    def summaries(self) -> list[str]:
        return [summary for *_, summary in self.files]

    def encode(self) -> str:
        return json.dumps({"shown": self.shown, "refused": self.refused, "files": self.files}, ensure_ascii=False)

    @classmethod
    def decode(cls, text: str | None) -> Decided | None:
        """The decision ``text`` holds, or None when it is not exactly one (it is then worked out again)."""
        if text is None:
            return None
        try:
            entry = json.loads(text)
            shown, refused, files = entry["shown"], entry["refused"], entry["files"]
        except (ValueError, TypeError, KeyError, RecursionError):
            return None
        if not isinstance(shown, str) or not (refused is None or isinstance(refused, str)):
            return None
        if not isinstance(files, list):
            return None
        if not all(isinstance(file, list) and len(file) == 4 and _file_entry(*file) for file in files):
            return None
        return cls(shown, refused, tuple((a, b, c, d) for a, b, c, d in files))

    def write(self, estate: Path) -> None:
        """``write`` of the changes decided: refused when a file is no longer the one they were planned on, or is
        not inside ``estate`` or reached through a link (as ``review`` refuses a change)."""
        for path, digest, _, _ in self.files:
            _require_no_link(estate, Path(path))
            if digest is not None and _digest_of(Path(path)) != digest:
                raise EditError(f"{path} changed since calcheck read it; run the command again")
        _write_files([(Path(path), digest is None, text) for path, digest, text, _ in self.files])


def _file_entry(path: object, digest: object, text: object, summary: object) -> bool:
    """Whether a decision's file is one it could have been: a path, the SHA-256 it was planned on (None: a new
    file), and texts that UTF-8 can write."""
    if not (isinstance(path, str) and isinstance(text, str) and isinstance(summary, str)):
        return False
    if (
        not path.strip("/")
        or "\0" in path
        or not (digest is None or (isinstance(digest, str) and _SHA256.fullmatch(digest)))
    ):
        return False
    try:
        (path + text + summary).encode("utf-8")
    except UnicodeEncodeError:  # (a lone surrogate: no file's text, and never kept)
        return False
    return True


_SHA256 = re.compile(r"[0-9a-f]{64}")


def _digest_of(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def plan_audit(
    estate: Path,
    result: engine.CheckResult,
    date: dt.date,
    auditor: str,
    kind: str,
    scope: str | None,
    outcome: str | None,
    revision: str | None,
    identifier: str | None = None,
    dirty: bool = False,
) -> Change:
    """An audit record with the ELP snapshot (shortfall per pool), in audits/<year>.yaml.

    ``dirty``: the estate had uncommitted changes on top of ``revision``, and the record says so.
    """
    from ruamel.yaml.comments import CommentedMap

    existing = _taken(result, "audits")
    identifier = identifier or next_id(existing, f"AUD-{date.year}-")
    require(identifier not in existing, f"audit id {identifier!r} is taken")
    position = result.context.position
    errors = sum(1 for f in result.findings if f.severity.label == "error")
    outcome = outcome or ("compliant" if position.compliant and errors == 0 else "non-compliant")
    record = CommentedMap(
        {
            "id": emittable(identifier),
            "date": emittable(date),
            "auditor": emittable(auditor),
            "type": kind,
            **({"scope": emittable(scope)} if scope else {}),
            "result": outcome,
            **({"revision": revision} if revision else {}),
            **({"dirty": True} if revision and dirty else {}),
            "position": CommentedMap({emittable(p.label): p.shortfall for p in position.pools}),
        }
    )
    path = estate / "audits" / f"{date.year}.yaml"
    summary = f"{identifier}: {kind} audit by {auditor} on {date}, {outcome}"
    if not path.exists():
        schemas = os.path.relpath(_schemas(estate), path.parent)
        text = f"# yaml-language-server: $schema={schemas}/audits.schema.json\nkind: audits\naudits: []\n"
        edited = _from_text(path, text)
        edited.records("audits").append(record)
        return Change(path, "", edited.render(), summary, None, edited.data)
    edited = EditableFile.read(path)
    edited.records("audits").append(record)
    return Change(path, edited.text, edited.render(), summary, edited)


def _from_text(path: Path, text: str) -> EditableFile:
    from calcheck.edits.yamledit import _yaml

    data = _yaml(text).load(text)
    return EditableFile(path, text, "", data)
