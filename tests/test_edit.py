"""Edit commands: exact diffs, comments and unknown keys kept, checked before writing, never over a changed file."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calcheck.edits import operations
from calcheck.edits.yamledit import EditableFile, EditError, next_id
from calcheck.estate import fastlane
from calcheck.licensing import engine
from tests.conftest import ROOT

Run = Callable[..., tuple[int, str, str]]
DAY = "2026-12-02"


@pytest.fixture
def copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "licenses", tmp_path / "licenses")
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "licenses"


def test_assign_appends_one_line_and_prints_the_diff(copy: Path, run_cli: Run) -> None:
    before = (copy / "assignments" / "sales.yaml").read_text()
    code, out, _ = run_cli("assign", "EA-WS22-USER", "--person", "svc.backup", "--since", DAY, "--as-of", DAY,
                           "--reason", "new-assignment")  # fmt: skip
    assert code == 0
    line = "  - {id: A-0163, holding: EA-WS22-USER, person: svc.backup, since: 2026-12-02, reason: new-assignment}\n"
    assert (copy / "assignments" / "sales.yaml").read_text() == before + line
    assert out.splitlines()[:2] == ["--- a/licenses/assignments/sales.yaml", "+++ b/licenses/assignments/sales.yaml"]
    assert "+" + line.rstrip("\n") in out.splitlines()
    assert out.splitlines()[-1] == "A-0163: EA-WS22-USER assigned to person svc.backup from 2026-12-02"


def test_transfer_ends_the_old_assignment_and_records_the_reason(copy: Path, run_cli: Run) -> None:
    code, out, _ = run_cli("transfer", "A-0109", "--to-person", "svc.backup", "--on", DAY, "--reason", "departure",
                           "--as-of", DAY)  # fmt: skip
    assert code == 0
    text = (copy / "assignments" / "sales.yaml").read_text()
    assert (
        "  - {id: A-0109, holding: EA-WS22-USER, person: ulla.ivanova, since: 2024-09-02, until: 2026-12-01}\n" in text
    )
    assert text.endswith("  - {id: A-0163, holding: EA-WS22-USER, person: svc.backup, since: 2026-12-02, "
                         "replaces: A-0109, reason: departure}\n")  # fmt: skip
    assert out.splitlines()[-1] == "EA-WS22-USER: A-0109 (ulla.ivanova) transferred to person svc.backup on 2026-12-02"
    assert engine.check(copy, dt.date(2026, 12, 2)).findings == engine.check(copy, dt.date(2026, 12, 2)).findings


def test_a_change_that_breaks_compliance_is_refused_unless_forced(copy: Path, run_cli: Run) -> None:
    before = (copy / "assignments" / "finance.yaml").read_text()
    code, out, _ = run_cli("unassign", "A-0001", "--on", "2026-12-01", "--as-of", DAY)
    assert code == 1
    assert "refused: the change would make the licence position worse (--force to write it anyway):" in out
    assert "new error [uncovered-access] person alice.martin reaches" in out
    assert (copy / "assignments" / "finance.yaml").read_text() == before
    assert run_cli("unassign", "A-0001", "--on", "2026-12-01", "--as-of", DAY, "--force")[0] == 0
    assert "since: 2024-09-02, until: 2026-12-01}" in (copy / "assignments" / "finance.yaml").read_text()


def test_the_ninety_day_rule_guards_transfers(copy: Path, run_cli: Run) -> None:
    assert (
        run_cli(
            "transfer", "A-0109", "--to-person", "svc.backup", "--on", DAY, "--reason", "departure", "--as-of", DAY
        )[0]
        == 0
    )
    code, out, _ = run_cli("transfer", "A-0163", "--to-person", "mona.fischer", "--on", "2027-01-05", "--reason",
                           "other", "--as-of", "2027-01-05")  # fmt: skip
    assert code == 1 and "new error [reassignment-90-days] A-0164" in out
    code, _, _ = run_cli("transfer", "A-0163", "--to-person", "mona.fischer", "--on", "2027-01-05", "--reason",
                         "temporary-cover", "--temporary", "--until", "2027-02-01", "--as-of", "2027-01-05")  # fmt: skip
    assert code == 0


def test_comments_unknown_keys_and_formatting_are_kept(copy: Path, run_cli: Run) -> None:
    path = copy / "assignments" / "devices.yaml"
    text = path.read_text().replace("kind: assignments\n", "kind: assignments   # the kiosks' CALs\n")
    text = text.replace("since: 2024-09-02}\n", "since: 2024-09-02}   # first kiosk\n", 1)
    text += "  # end of the list: new rows go above this comment\n"
    path.write_text(text)
    unknown = copy / "assignments" / "extra.yaml"
    unknown.write_text("kind: assignments\nassignments:\n  - {id: X-1, holding: EA-SQL22-DEV, device: LOANER-01, "
                       "since: 2026-01-01, x-ticket: INC-42}  # a key the schema does not know\n")  # fmt: skip
    change = operations.plan_unassign(engine.check(copy, dt.date(2026, 12, 2)), "A-0133", dt.date(2026, 12, 1))
    assert [line for line in change.diff("x").splitlines() if line.startswith(("+", "-"))][2:] == [
        "-  - {id: A-0133, holding: EA-WS22-DEV, device: KIOSK-01, since: 2024-09-02}   # first kiosk",
        "+  - {id: A-0133, holding: EA-WS22-DEV, device: KIOSK-01, since: 2024-09-02, until: 2026-12-01} # first kiosk",
    ]  # the edited line keeps its comment; every other line, comments included, is untouched
    assert change.after.endswith("  # end of the list: new rows go above this comment\n")
    assert change.after.splitlines()[2] == "kind: assignments   # the kiosks' CALs"
    edited = EditableFile.read(unknown)
    edited.records("assignments")[0]["since"] = dt.date(2026, 2, 1)
    assert edited.render() == unknown.read_text().replace("2026-01-01", "2026-02-01")


def test_refuses_a_file_that_changed_since_it_was_read(copy: Path) -> None:
    change = operations.plan_unassign(engine.check(copy, dt.date(2026, 12, 2)), "A-0133", dt.date(2026, 12, 1))
    path = copy / "assignments" / "devices.yaml"
    path.write_text(
        path.read_text() + "  - {id: A-0999, holding: EA-SQL22-DEV, device: LOANER-01, since: 2026-01-01}\n"
    )
    changed = path.read_text()
    with pytest.raises(EditError, match="changed since calcheck read it"):
        operations.write([change])
    assert path.read_text() == changed


def test_refuses_a_file_whose_formatting_would_change(copy: Path, run_cli: Run) -> None:
    path = copy / "assignments" / "devices.yaml"
    path.write_text(path.read_text().replace("  - {id: A-0133,", "  - {  id: A-0133 ,", 1))
    before = path.read_text()
    code, _, err = run_cli("unassign", "A-0133", "--on", DAY, "--as-of", DAY)
    assert code == 2 and "formatting would not survive an edit unchanged; edit it by hand" in err
    assert path.read_text() == before


@pytest.mark.parametrize(
    ("target", "content", "message"),
    [
        ("licenses/assignments/odd.yaml", "kind: assignments\nassignments: 5\n", "has no 'assignments:' list"),
        ("licenses/assignments/odd.yaml", "kind: people\npeople: []\n", "not a file of assignments"),
        ("elsewhere.yaml", "kind: assignments\nassignments: []\n", "not inside the estate"),
        ("licenses/assignments/odd.txt", "kind: assignments\nassignments: []\n", "ends in .yaml or .yml"),
    ],
)
def test_assign_refuses_an_unsuitable_file(copy: Path, run_cli: Run, target: str, content: str, message: str) -> None:
    path = copy.parent / target
    path.write_text(content)
    code, out, err = run_cli("assign", "EA-WS22-USER", "--person", "svc.backup", "--file", target, "--as-of", DAY)
    assert (code, out) == (2, "")
    assert err.startswith(f"calcheck: error: {target}: ") and message in err
    assert path.read_text() == content


def test_audit_record_writes_the_position(copy: Path, run_cli: Run) -> None:
    code, out, _ = run_cli("audit", "record", "--auditor", "Priya N", "--scope", "Q4", "--date", "2026-12-03")
    assert code == 0 and out.splitlines()[-1] == "AUD-2026-Q4: internal audit by Priya N on 2026-12-03, compliant"
    audit = engine.check(copy, dt.date(2026, 12, 3)).estate.index("audits")["AUD-2026-Q4"]
    assert audit.result == "compliant" and audit.position["Core CAL Suite (User)"] == 0
    assert audit.date == dt.date(2026, 12, 3)


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        ([], "A-0001"),
        (["A-0001", "A-0009"], "A-0010"),
        (["AUD-2026-Q3"], "AUD-2026-Q4"),
        (["X-1", "A-099", "A-100"], "A-101"),
    ],
)
def test_next_id(ids: list[str], expected: str) -> None:
    assert next_id(ids) == expected


def _next_id_by_scans(existing: list[str], default_prefix: str = "A-") -> str:
    """``next_id`` as it was first written: a scan of every id per pattern (quadratic, the meaning to keep)."""
    patterns: dict[tuple[str, int], int] = {}
    for identifier in existing:
        match = re.fullmatch(r"(.*?)(\d+)", identifier)
        if match:
            key = (match.group(1), len(match.group(2)))
            patterns[key] = max(patterns.get(key, 0), int(match.group(2)))
    if not patterns:
        return f"{default_prefix}0001"
    counts = {key: sum(1 for i in existing if re.fullmatch(re.escape(key[0]) + r"\d+", i)) for key in patterns}
    prefix, width = max(patterns, key=lambda key: (counts[key], key[1]))
    taken = set(existing)
    number = patterns[(prefix, width)] + 1
    while f"{prefix}{number:0{width}d}" in taken:
        number += 1
    return f"{prefix}{number:0{width}d}"


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.lists(st.text(alphabet="A-Q09\u0663\n ", max_size=7), max_size=12))
def test_next_id_in_one_pass_is_the_scan_of_every_id_per_pattern(ids: list[str]) -> None:
    assert next_id(ids) == _next_id_by_scans(ids)


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "licenses" / "assignments").glob("*.yaml")))
def test_appending_a_line_equals_the_round_trip(name: str) -> None:
    path = ROOT / "licenses" / "assignments" / name
    values = {"id": "A-9999", "holding": "EA-WS22-USER", "person": "x", "since": dt.date(2026, 12, 2),
              "temporary": True, "note": "a: #b, 'c' {d} [e] ü"}  # fmt: skip
    appended = operations.append_line(path, "assignments", values)
    if appended is None:  # not a register of plain one-line records (e.g. a quoted note): the round trip is used
        assert fastlane.load(name, path.read_bytes()) is None
        return
    edited = EditableFile.read(path)
    edited.records("assignments").append(operations.flow_record(values))
    assert appended[1] == edited.render()
    assert appended[0].text == path.read_text(encoding="utf-8") and not appended[0].changed_on_disk()


def test_appending_a_line_is_refused_for_other_shapes(tmp_path: Path) -> None:
    block = tmp_path / "block.yaml"
    block.write_text(
        "kind: assignments\nassignments:\n  - id: A-1\n    holding: H\n    person: p\n    since: 2026-01-01\n"
    )
    values = {"id": "A-2", "holding": "H", "person": "q", "since": dt.date(2026, 1, 2)}
    assert operations.append_line(block, "assignments", values) is None
    other = tmp_path / "people.yaml"
    other.write_text("kind: people\npeople:\n  - {id: p, name: P, kind: employee, status: active}\n")
    assert operations.append_line(other, "assignments", values) is None


def _round_trip(path: Path, record_id: str, until: dt.date | None) -> str:
    edited = EditableFile.read(path)
    items = edited.records("assignments")
    index = next(i for i, item in enumerate(items) if item.get("id") == record_id)
    if until is None:
        del items[index]
    else:
        operations.insert_after(items[index], "since", "until", until)
    return str(edited.render())


@pytest.mark.parametrize("until", [None, dt.date(2026, 12, 31)])
def test_rewriting_a_line_equals_the_round_trip(tmp_path: Path, until: dt.date | None) -> None:
    path = tmp_path / "register.yaml"
    path.write_text(
        "# a register\nkind: assignments\nassignments:\n"
        "  - {id: A-1, holding: H, person: p, since: 2026-01-01}\n"
        "  - {id: A-2, holding: H, person: q, since: 2026-01-01, until: 2026-06-30, reason: other}\n"
        "  - {id: A-3, holding: H, device: PC-1, since: 2026-01-01, temporary: true}\n"
        "# end\n"
    )
    for record_id in ("A-1", "A-2", "A-3"):
        changed = operations.change_line(path, "assignments", record_id, until)
        assert changed is not None
        assert changed[1] == _round_trip(path, record_id, until)


def test_rewriting_a_line_is_refused_for_lines_the_round_trip_would_write_differently(tmp_path: Path) -> None:
    path = tmp_path / "register.yaml"
    path.write_text("kind: assignments\nassignments:\n  - {id: A-1,  holding: H, person: p, since: 2026-01-01}\n")
    assert operations.change_line(path, "assignments", "A-1", None) is None


@pytest.mark.parametrize(("assignment", "file"), [("A-0109", "sales.yaml"), ("A-0153", "devices.yaml")])
def test_transfer_as_line_edits_equals_the_round_trip(copy: Path, assignment: str, file: str) -> None:
    result = engine.check(copy, dt.date(2026, 12, 2))
    on = dt.date(2026, 12, 2)
    to = ("device", "WS-FIN-05") if file == "devices.yaml" else ("person", "svc.backup")
    arguments = (copy, result, result.estate.index("assignments")[assignment].holding, to, on, None, False, "departure")
    lines = operations._line_edits(result, assignment, on, arguments)
    end = operations.plan_unassign(result, assignment, on - dt.timedelta(days=1), as_text=False)
    add = operations.plan_assign(*arguments, file=copy / "assignments" / file, replaces=assignment, as_text=False)
    assert end.edited is not None and add.edited is not None
    end.edited.records("assignments").append(add.edited.records("assignments")[-1])
    if file == "devices.yaml":  # a quoted note makes it no register: the round trip is used
        assert lines is None
    else:
        assert lines is not None and lines[1] == end.edited.render()


def git_repo(folder: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x", "GIT_AUTHOR_DATE": "2026-11-01T12:00:00Z",
           "GIT_COMMITTER_DATE": "2026-11-01T12:00:00Z", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}  # fmt: skip
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "estate"]):
        subprocess.run(["git", *args], cwd=folder, env=env, check=True)


def test_audit_record_and_export_say_when_the_tree_is_dirty(copy: Path, run_cli: Run, tmp_path: Path) -> None:
    git_repo(tmp_path)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout.strip()

    def audited(day: str) -> tuple[str | None, bool | None]:
        assert run_cli("audit", "record", "--auditor", "Priya N", "--date", day)[0] == 0
        text = (copy / "audits" / "2026.yaml").read_text().rsplit("\n  - ", 1)[1]
        revision = re.search(r"revision: (\w+)", text)
        return (revision.group(1) if revision else None), ("dirty: true" in text)

    def manifest(*extra: str) -> dict[str, object]:
        target = tmp_path / "out" / str(len(extra))
        assert run_cli("export", "licenses", "--as-of", "2026-11-30", "--to", str(target), *extra)[0] == 0
        return dict(json.loads((target / "MANIFEST.json").read_text()))

    assert (manifest()["revision"], manifest()["dirty"]) == (head, False)
    assert audited("2026-12-03") == (head, False)
    # That record is an uncommitted change: what is exported or audited now is more than the revision holds.
    assert (manifest()["revision"], manifest()["dirty"]) == (head, True)
    assert (manifest("--rev", "HEAD")["revision"], manifest("--rev", "HEAD")["dirty"]) == (head, False)
    assert audited("2026-12-04") == (head, True)


def test_assign_appends_to_a_file_of_any_style_as_text_reading_back_as_the_round_trip_does(
    copy: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A record is appended to files written every way (block, flow, CR LF, BOM, comments, quoting) as text: no
    other byte changes, and the file reads back as the round trip through ruamel.yaml would leave it."""
    import sys

    from calcheck.edits.yamledit import read_back
    from calcheck.estate.yamlload import load_bytes

    sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))
    try:
        import realistic
    finally:
        sys.path.pop(0)
    target = copy / "assignments" / "sales.yaml"
    records = load_bytes(str(target), target.read_bytes()).documents[0].data["assignments"]
    pristine = tmp_path / "pristine"
    shutil.copytree(copy.parent, pristine)
    command = ["assign", "EA-WS22-USER", "--person", "svc.backup", "--since", DAY, "--as-of", DAY, "--file", str(target)]  # fmt: skip
    styles, round_trips = set(), 0
    for seed in range(60):
        shutil.rmtree(copy)
        shutil.copytree(pristine / "licenses", copy)
        before = realistic.render_file("assignments", records, seed)
        target.write_bytes(before)
        styles |= {name for name, mark in (("block", b"- id:"), ("flow", b"- {"), ("column 0", b"\n- "),
                   ("CR LF", b"\r\n"), ("BOM", b"\xef\xbb\xbf"), ("comment", b"  #")) if mark in before}  # fmt: skip
        code, out, err = run_cli(*command)
        assert code == 0, (seed, out, err)
        after = target.read_bytes()
        start = next((i for i, (x, y) in enumerate(zip(before, after, strict=False)) if x != y), len(before))
        kept = before[:start] + after[len(after) - (len(before) - start) :]
        assert kept == before, seed  # every byte kept: only text inserted, at one place
        added = after[start : len(after) - (len(before) - start)].decode("utf-8")
        assert added.count("svc.backup") == 1 and "A-0163" in added and added.count("\n") <= 5, seed
        target.write_bytes(before)  # the same edit as a round trip
        with monkeypatch.context() as patched:
            patched.setattr(operations, "_append_as_text", lambda path, values: None)
            code = run_cli(*command)[0]
        if code == 0:  # (the round trip refuses a file whose formatting it would not keep)
            round_trips += 1
            text = after.decode("utf-8")
            assert read_back(target, text) == read_back(target, target.read_bytes().decode("utf-8")), seed
    assert round_trips >= 30 and styles == {"block", "flow", "column 0", "CR LF", "BOM", "comment"}
