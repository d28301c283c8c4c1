"""Imports edit records as text: files with blank lines and comments between records, flow and block records mixed,
CR LF, a byte-order mark and Unicode keep every byte the import does not change; where the round trip through
ruamel.yaml also applies, both give the same records."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from calcheck.edits import operations
from calcheck.edits.importing import plan_import
from calcheck.edits.textedit import new_text
from calcheck.edits.yamledit import EditableFile, EditError, new_file, plain, read_back
from calcheck.estate.cache import FileMemo
from calcheck.licensing import engine
from calcheck.licensing.rules.example import base_files, write_estate
from calcheck.outputs.diffview import render_position

Run = Callable[..., tuple[int, str, str]]
ON = dt.date(2026, 12, 1)
PEOPLE = """\
# yaml-language-server: $schema=../../schemas/people.schema.json
kind: people
people:
  # the front desk
  - id: alice
    name: Alice Ærø   # as HR spells it
    kind: employee
    status: active

  - {id: bob, name: 'Bob', kind: employee, status: active, email: "bob@example.com"}

  # contractors, moved in 2024
  - id: carol
    name: "Carol"
    kind: contractor
    status: active
    groups:
      - g1
    onsite: true
  - {id: dan,
     name: Dan, kind: employee, status: active}
"""
EXPORT = """\
SamAccountName,Name,EmailAddress,Department,Enabled
alice,Alice Ærøskøbing,alice@example.com,Sales,True
bob,Bob,bob@example.com,,False
carol,Carol,carol@example.com,,True
dan,Dan,,Ops: North,True
erin,Erin O'Neil,erin@example.com,Sales,True
"""
# Only what the import changes differs from PEOPLE: alice's name (its comment kept) and two new fields after her
# status (each placed right after it, as the round trip places them), bob departed, carol's e-mail, dan's department
# (quoted: it holds ': '), and erin appended in the style of the last record (her e-mail quoted as bob's is).
EDITED = """\
# yaml-language-server: $schema=../../schemas/people.schema.json
kind: people
people:
  # the front desk
  - id: alice
    name: Alice Ærøskøbing   # as HR spells it
    kind: employee
    status: active
    department: Sales
    email: "alice@example.com"

  - {id: bob, name: 'Bob', kind: employee, status: departed, departed: 2026-12-01, email: "bob@example.com"}

  # contractors, moved in 2024
  - id: carol
    name: "Carol"
    kind: contractor
    status: active
    email: "carol@example.com"
    groups:
      - g1
    onsite: true
  - {id: dan,
     name: Dan, kind: employee, status: active, department: 'Ops: North'}
  - {id: erin, name: Erin O'Neil, kind: employee, status: active, email: "erin@example.com", department: Sales}
"""


def _estate(root: Path, people: bytes) -> Path:
    estate = write_estate({**base_files(), "people/people.yaml": ""}, root / "licenses")
    (estate / "people" / "people.yaml").write_bytes(people)
    return estate


def _encode(text: str, bom: bool, crlf: bool) -> bytes:
    return (("\ufeff" if bom else "") + (text.replace("\n", "\r\n") if crlf else text)).encode("utf-8")


@pytest.mark.parametrize(("bom", "crlf"), [(False, False), (True, False), (False, True), (True, True)])
def test_an_import_keeps_every_byte_it_does_not_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Run, bom: bool, crlf: bool
) -> None:
    estate = _estate(tmp_path, _encode(PEOPLE, bom, crlf))
    people = estate / "people" / "people.yaml"
    with pytest.raises(EditError, match="would not survive an edit"):  # the round trip cannot reproduce it
        EditableFile.read(people)
    export = tmp_path / "ad.csv"
    export.write_text(EXPORT, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli("import", "people", str(export), "--file-to", str(people), "--on", ON.isoformat(),
                             "--accept-shortfall")  # fmt: skip
    assert (code, err) == (0, ""), out
    assert "1 added, 3 updated, 1 departed;" in out
    assert people.read_bytes() == _encode(EDITED, bom, crlf)
    found = engine.check(estate, ON).estate.index("people")
    assert (found["alice"].name, found["alice"].department) == ("Alice Ærøskøbing", "Sales")  # type: ignore[attr-defined]
    assert found["dan"].department == "Ops: North"  # type: ignore[attr-defined]
    assert found["bob"].departed == ON  # type: ignore[attr-defined]


def test_a_file_the_text_edit_cannot_handle_goes_through_the_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Run
) -> None:
    """An anchor (or alias, or tag) is left to ruamel.yaml, which keeps it."""
    text = "kind: people\npeople:\n  - {id: alice, name: &n Alice, kind: employee, status: active}\n"
    estate = _estate(tmp_path, text.encode())
    export = tmp_path / "ad.csv"
    export.write_text("SamAccountName,Name,Department,Enabled\nalice,Alice,Sales,True\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli("import", "people", str(export), "--on", ON.isoformat(), "--partial")
    assert (code, err) == (0, ""), out
    assert (estate / "people" / "people.yaml").read_text() == (
        "kind: people\npeople:\n  - {id: alice, name: &n Alice, kind: employee, status: active, department: Sales}\n"
    )


NAMES = ["Ana", "Björn Sørensen", "Zoë", "Jürgen Žukauskas", "Małgorzata", "Priya Nair", "Đorđe", "Ólafur"]
QUOTED = ["D'Angelo", "Ops: North", "yes", "2024-01-01", "#1 fan", "- dash", "a, b", "12"]


def _random_people(rng: random.Random, count: int, quoting: bool) -> tuple[str, list[str]]:
    """A people file in the shapes admins write (no blank lines: the round trip must apply too), and its ids."""
    lines, ids = ["kind: people", "people:"], []
    for number in range(count):
        identifier = f"u{number:03d}"
        ids.append(identifier)
        values = {"id": identifier, "name": rng.choice(NAMES), "kind": "employee", "status": "active"}
        if rng.random() < 0.5:
            values["email"] = f"{identifier}@example.com"
        if rng.random() < 0.5:
            values["department"] = rng.choice(["Sales", "Finance 2", "IT"])
        pairs = [(k, _quote(rng, v) if quoting else v) for k, v in values.items()]
        if rng.random() < 0.5:
            lines.append("  - {" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}")
        else:
            lines += [f"    {k}: {v}" if i else f"  - {k}: {v}" for i, (k, v) in enumerate(pairs)]
    return "\n".join(lines) + "\n", ids


def _quote(rng: random.Random, value: str) -> str:
    style = rng.choice(["", "'", '"'])
    return f"{style}{value}{style}"


def _random_export(rng: random.Random, ids: list[str], unsafe: bool) -> str:
    rows = ["SamAccountName,Name,EmailAddress,Department,Enabled"]
    values = NAMES + (QUOTED if unsafe else [])
    for identifier in [*rng.sample(ids, len(ids) // 2), "new1", "new2"]:
        name = rng.choice(values).replace('"', "")
        email = rng.choice(["", f"{identifier}@example.com", f"{identifier}@example.org"])
        department = rng.choice(["", "Sales", "Ops"] + (["Ops: North"] if unsafe else []))
        rows.append(f'{identifier},"{name}",{email},"{department}",{rng.choice(["True", "True", "False"])}')
    return "\n".join(rows) + "\n"


def _plans(estate: Path, export: Path, reader: Callable[[Path, str], object], as_text: bool) -> dict[Path, str]:
    result = engine.check(estate, ON)
    plan = plan_import(result, estate, "people", export, "auto", None, ON, None, True, True, (), reader)  # type: ignore[arg-type]
    assert not plan.problems
    for change in plan.changes:  # a text edit carries no round-trip data
        assert change.edited is None or (change.edited.data is None) == as_text
    return {change.path: change.after for change in plan.changes}


@pytest.mark.parametrize("seed", range(12))
def test_text_edits_and_the_round_trip_agree(tmp_path: Path, seed: int) -> None:
    """Differential: where both apply, the text edit and the round trip give files that read back the same, and
    byte for byte the same where every value involved is plain."""
    rng = random.Random(seed)
    quoting = seed % 3 == 2  # quoted values: the text edit keeps a replaced value's quotes, the round trip drops them
    text, ids = _random_people(rng, 40, quoting)
    estate = _estate(tmp_path, text.encode())
    export = tmp_path / "ad.csv"
    unsafe = seed % 2 == 1
    export.write_text(_random_export(rng, ids, unsafe), encoding="utf-8")
    as_text = _plans(estate, export, read_back, True)
    round_trip = _plans(estate, export, lambda path, text: None, False)  # no file read for text: every one round trips
    assert as_text.keys() == round_trip.keys()
    for path, after in as_text.items():
        assert read_back(path, after) == read_back(path, round_trip[path]), path
        if not quoting and not unsafe:
            assert after == round_trip[path], path


@pytest.mark.parametrize("seed", range(4))
def test_a_new_file_written_as_text_is_the_one_ruamel_writes(seed: int) -> None:
    rng = random.Random(seed)
    records = [
        {"id": f"n{i}", "name": rng.choice(NAMES + QUOTED + ["tab\there", "bell\x07", "x\u2028y"]), "kind": "employee"}
        for i in range(30)
    ]
    text = new_text("people", records)
    ruamel, data = new_file("", "people", records)
    assert read_back(Path("people.yaml"), text) == read_back(Path("people.yaml"), ruamel) == plain(data)
    simple = [r for r in records if r["name"] in NAMES]
    assert new_text("people", simple) == new_file("", "people", simple)[0]


def test_the_memo_of_loaded_files_changes_no_answer(tmp_path: Path) -> None:
    """Both checks of an import share a memo of loaded files; the plan and the review are those without it."""
    rng = random.Random(7)
    text, ids = _random_people(rng, 30, True)
    estate = _estate(tmp_path, text.encode())
    export = tmp_path / "ad.csv"
    export.write_text(_random_export(rng, ids, True), encoding="utf-8")
    answers = []
    for cache in (None, FileMemo.over(None)):
        base = operations.baseline(estate, ON, history=False, cache=cache)

        def reader(path: Path, text: str, base: operations.Baseline = base) -> dict[str, object] | None:
            return operations.read_as_checked(base, path, text) if base.cache is not None else read_back(path, text)

        plan = plan_import(base.result, estate, "people", export, "auto", None, ON, None, True, True, (), reader)
        found = operations.review(base, plan.changes, "after the import")
        answers.append(([(c.path, c.after) for c in plan.changes], render_position(found.diff), found.after.findings))
    assert answers[0] == answers[1]


def test_a_device_import_retires_records_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Run
) -> None:
    devices = (
        "kind: devices\ndevices:\n  # finance floor\n  - id: PC-1\n    kind: workstation\n    status: active\n\n"
        "  - {id: PC-2, kind: workstation, status: 'active', name: Kassen-PC  }  # Ærø office\n\n"
        "  - {id: SRV-1, kind: server, status: active}\n"
    )
    estate = _estate(tmp_path, PEOPLE.encode())
    (estate / "devices" / "devices.yaml").write_bytes(_encode(devices, True, True))
    export = tmp_path / "intune.csv"
    export.write_text("Device name,Serial number,OS\nPC-1,S1,Windows\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli("import", "devices", str(export), "--on", ON.isoformat(), "--force")
    assert (code, err) == (0, ""), out
    expected = devices.replace("status: 'active', name", "status: 'retired', retired: 2026-12-01, name")
    assert (estate / "devices" / "devices.yaml").read_bytes() == _encode(expected, True, True)


def test_a_subscription_import_ends_assignments_in_place(
    estate: Callable[[dict[str, str]], Path], run_cli: Run
) -> None:
    from tests.test_import_subscriptions import DEPLOYMENTS, HOLDINGS, NEW_FILE, SAMPLES
    from tests.test_import_subscriptions import PEOPLE as TENANT

    assignments = (
        "kind: assignments\nassignments:\n  # bought with the 2025 renewal\n"
        "  - id: A-0001\n    holding: M365-E3\n    person: bob\n    since: 2025-07-01\n\n"
        "  - {id: A-0002, holding: O365-E3, person: erin, since: '2025-07-01'}  # Ærø\n\n"
    )
    root = estate({"people/people.yaml": TENANT, "holdings/online.yaml": HOLDINGS,
                   "assignments/assignments.yaml": assignments, "deployments/deployments.yaml": DEPLOYMENTS})  # fmt: skip
    sample = SAMPLES / "m365-admin-users.csv"
    code, out, err = run_cli("import", "subscriptions", str(sample), "--path", str(root), "--on", "2026-06-30")
    assert (code, err) == (0, ""), out
    # until: written as most dates of the file are (one plain, one quoted: plain on a tie)
    expected = assignments.replace("since: '2025-07-01'}", "since: '2025-07-01', until: 2026-06-29}")
    assert (root / "assignments" / "assignments.yaml").read_text(encoding="utf-8") == expected
    assert (root / "assignments" / "online-services.yaml").read_text(encoding="utf-8") == NEW_FILE


def test_an_edit_text_cannot_make_moves_the_whole_file_to_the_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Run
) -> None:
    """A folded name cannot be replaced as text: the file's edits so far are made again by the round trip."""
    text = (
        "kind: people\npeople:\n  - {id: alice, name: Alice, kind: employee, status: active}\n"
        "  - id: bob\n    name: >\n      Bob\n    kind: employee\n    status: active\n"
    )
    estate = _estate(tmp_path, text.encode())
    export = tmp_path / "ad.csv"
    export.write_text("SamAccountName,Name,Department,Enabled\nalice,Alice,Sales,True\nbob,Robert,,True\n")
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli("import", "people", str(export), "--on", ON.isoformat(), "--partial")
    assert (code, err) == (0, ""), out
    assert (estate / "people" / "people.yaml").read_text() == (
        "kind: people\npeople:\n  - {id: alice, name: Alice, kind: employee, status: active, department: Sales}\n"
        "  - id: bob\n    name: >-\n      Robert\n    kind: employee\n    status: active\n"  # as ruamel.yaml writes it
    )
