"""Review of reading and editing: inputs that ended in an internal error (exit 3) or in records read differently."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from calcheck.estate import fastlane, yamlload
from calcheck.licensing.rules.example import base_files, write_estate
from tests.conftest import AS_OF

Run = Callable[..., tuple[int, str, str]]


@pytest.mark.parametrize("number", ["0x" + "f" * 5000, "0o" + "7" * 6000], ids=["hex", "octal"])
def test_a_huge_hexadecimal_or_octal_number_is_a_finding(
    number: str, estate: Callable[[dict[str, str]], Path], run_cli: Run
) -> None:
    estate({"people/people.yaml": f"kind: people\npeople:\n  - {{id: {number}, name: A, kind: employee}}\n"})
    for cache in ((), ("--no-cache",), ()):
        code, out, err = run_cli("check", "licenses", "--as-of", AS_OF, "--no-history", *cache)
        assert (code, err) == (1, ""), err  # was exit 3: the schema error's message could not print the number
        assert "licenses/people/people.yaml:3:" in out and "[schema]" in out


INVALID_A2 = """\
kind: assignments
assignments:
  - {id: A-1, holding: WS22-U, person: alice, since: 2024-03-01}
  - {id: A-2, holding: WS22-U, person: bob, since: 2024-13-01}
"""


def _estate_with_an_invalid_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    files = {**base_files(), "assignments/assignments.yaml": INVALID_A2}
    files["people/people.yaml"] += "  - {id: carol, name: Carol, kind: employee, status: active}\n"
    monkeypatch.chdir(tmp_path)
    return write_estate(files, tmp_path / "licenses")


def test_a_new_assignment_never_takes_the_id_of_a_record_with_a_schema_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Run
) -> None:
    estate = _estate_with_an_invalid_record(tmp_path, monkeypatch)
    edit = ("--as-of", AS_OF, "--no-history")
    code, out, _ = run_cli("assign", "WS22-U", "--person", "carol", "--since", "2026-11-01", *edit)
    assert code == 0, out
    assert "  - {id: A-3, holding: WS22-U, person: carol, since: 2026-11-01}\n" in out  # was A-2, a second A-2
    code, _, err = run_cli("assign", "WS22-U", "--person", "carol", "--id", "A-2", "--dry-run", *edit)
    assert (code, err) == (2, "calcheck: error: assignment id 'A-2' is taken\n")
    assert (estate / "assignments" / "assignments.yaml").read_text().count("id: A-2,") == 1


@pytest.mark.parametrize("what", ["people", "devices"])
def test_an_import_does_not_add_a_second_record_of_an_id_left_out_for_a_schema_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Run, what: str
) -> None:
    files = base_files()
    if what == "people":
        files["people/people.yaml"] += "  - {id: dave, name: Dave, kind: employee, status: active, email: no-at-sign}\n"
        export = "SamAccountName,Name,Enabled\nDave,Dave Jones,True\n"
    else:
        files["devices/devices.yaml"] += "  - {id: PC-9, kind: workstation, status: lost-in-transit}\n"
        export = "Device name,OS,Serial number\npc-9,Windows,5CD1\n"
    monkeypatch.chdir(tmp_path)
    estate = write_estate(files, tmp_path / "licenses")
    (tmp_path / "export.csv").write_text(export)
    before = sorted(p.relative_to(estate).as_posix() for p in estate.rglob("*"))
    code, out, _ = run_cli("import", what, "export.csv", "--on", AS_OF, "--partial", "--force")
    assert code == 1, out  # was 0: a second record of that id in <kind>/imported.yaml
    assert "has a schema error" in out and "import refused: nothing was changed" in out
    assert sorted(p.relative_to(estate).as_posix() for p in estate.rglob("*")) == before


def test_an_assignments_file_that_is_not_utf8_is_refused_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Run
) -> None:
    monkeypatch.chdir(tmp_path)
    estate = write_estate(base_files(), tmp_path / "licenses")
    odd = estate / "assignments" / "odd.yaml"
    odd.write_bytes(b"kind: assignments\nassignments: []\n# caf\xe9\n")
    code, _, err = run_cli(
        "assign", "WS22-U", "--person", "bob", "--file", str(odd), "--as-of", AS_OF, "--no-history", "--force"
    )
    assert (code, err) == (2, f"calcheck: error: {odd}: not UTF-8 text; edit it by hand\n")  # was exit 3
    assert odd.read_bytes() == b"kind: assignments\nassignments: []\n# caf\xe9\n"


@pytest.mark.parametrize("odd", ["\x7f", "\x0b", "\x1b", "\x85", "\u2028", "\u2029", "\ufffe"])
def test_the_fast_lane_reads_a_comment_with_an_odd_character_as_libyaml_does(odd: str) -> None:
    raw = (
        f"# one line per assignment{odd}kind: people\nkind: assignments\nassignments:\n"
        "  - {id: A-1, holding: WS22-U, person: alice, since: 2024-03-01}\n"
        "  - {id: A-2, holding: WS22-U, person: bob, since: 2024-03-01}\n"
    ).encode()
    slow = yamlload.load_bytes("a.yaml", raw)
    fast = fastlane.load("a.yaml", raw) or slow  # None: the fast lane leaves the file to libyaml
    # was: the fast lane read the records while libyaml finds a syntax error or another document
    assert [(d.data, d.pos) for d in fast.documents] == [(d.data, d.pos) for d in slow.documents]
    assert fast.findings == slow.findings


def test_an_export_with_an_unterminated_quote_is_refused_not_read_to_its_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Run
) -> None:
    names = ["alice", "bob", "carol", "dave", "erin", "fred"]
    files = base_files()
    files["people/people.yaml"] = "kind: people\npeople:\n" + "".join(
        f"  - {{id: {n}, name: {n.title()}, kind: employee, status: active}}\n" for n in names
    )
    monkeypatch.chdir(tmp_path)
    estate = write_estate(files, tmp_path / "licenses")
    rows = [f"{n},{n.title()},True" for n in names]
    rows[4] = 'erin,"Erin,True'  # a stray quote: Python's lenient reader took every later line into this cell
    (tmp_path / "export.csv").write_text("SamAccountName,Name,Enabled\n" + "\n".join(rows) + "\n")
    before = (estate / "people" / "people.yaml").read_text()
    code, out, _ = run_cli("import", "people", "export.csv", "--on", AS_OF)
    assert code == 1, out  # was 0: erin renamed to the rest of the file, fred marked departed
    assert "export.csv:6:1: error [import] not readable as CSV" in out
    assert (estate / "people" / "people.yaml").read_text() == before


@pytest.mark.parametrize("target", ["licenses/.drafts/extra.yaml", "licenses/assignments/.extra.yaml"])
def test_an_edit_never_writes_a_hidden_file_the_check_does_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Run, target: str
) -> None:
    files = base_files()
    files["people/people.yaml"] += "  - {id: carol, name: Carol, kind: employee, status: active}\n"
    monkeypatch.chdir(tmp_path)
    estate = write_estate(files, tmp_path / "licenses")
    argv = ("assign", "WS22-U", "--person", "carol", "--since", "2026-11-01", "--file", target)
    code, _, err = run_cli(*argv, "--as-of", AS_OF, "--no-history")
    # was 0: the edit's own check read the new file, the next check skips it and finds carol without a CAL
    assert (code, err) == (2, f"calcheck: error: {target}: a hidden file or folder, which calcheck does not read\n")
    assert not (tmp_path / target).exists()
    (tmp_path / "export.csv").write_text("SamAccountName,Name,Enabled\nzed,Zed,True\n")
    people = target.replace("assignments/", "people/")
    code, _, err = run_cli("import", "people", "export.csv", "--on", AS_OF, "--partial", "--file-to", people)
    assert (code, err) == (2, f"calcheck: error: {people}: a hidden file or folder, which calcheck does not read\n")
    assert sorted(p.name for p in estate.rglob("*") if p.name.startswith(".")) == []


STRAY = """\
kind: assignments
assignments:
  - stray
  - [not, a, record]
  - {id: A-1, holding: WS22-U, person: alice, since: 2024-03-01}
  - {id: A-2, holding: WS22-U, person: bob, since: 2024-03-01}
"""


def test_a_list_item_that_is_not_a_record_is_no_internal_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Run
) -> None:
    files = {**base_files(), "assignments/assignments.yaml": STRAY}
    files["people/people.yaml"] += "  - {id: carol, name: Carol, kind: employee, status: active}\n  - stray\n"
    monkeypatch.chdir(tmp_path)
    estate = write_estate(files, tmp_path / "licenses")
    edit = ("--as-of", AS_OF, "--no-history", "--force")
    code, out, err = run_cli("unassign", "A-2", "--on", "2026-11-01", *edit)
    assert (code, err) == (0, ""), err  # was exit 3: AttributeError on the item 'stray'
    assert "+  - {id: A-2, holding: WS22-U, person: bob, since: 2024-03-01, until: 2026-11-01}" in out
    code, out, err = run_cli(
        "transfer", "A-1", "--to-person", "carol", "--on", "2026-11-02", "--reason", "departure", *edit
    )
    assert (code, err) == (0, ""), err
    assert (estate / "assignments" / "assignments.yaml").read_text().startswith(STRAY.split("  - {id")[0])
    (tmp_path / "export.csv").write_text("SamAccountName,Name,Enabled\ncarol,Carol Diaz,True\n")
    code, out, err = run_cli("import", "people", "export.csv", "--on", AS_OF, "--partial")
    assert (code, err) == (0, ""), err  # was exit 3 as well
    assert "+  - {id: carol, name: Carol Diaz, kind: employee, status: active}" in out


def test_a_record_whose_id_carries_a_tag_is_refused_not_an_internal_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Run
) -> None:
    files = base_files()
    files["assignments/assignments.yaml"] = files["assignments/assignments.yaml"].replace(
        "{id: A-1,", "{id: !!str A-1,"
    )
    files["people/people.yaml"] = files["people/people.yaml"].replace("{id: alice,", "{id: !!str alice,")
    monkeypatch.chdir(tmp_path)
    estate = write_estate(files, tmp_path / "licenses")
    before = {p: p.read_bytes() for p in estate.rglob("*.yaml")}
    code, _, err = run_cli("unassign", "A-1", "--on", "2026-11-01", "--as-of", AS_OF, "--no-history")
    assert code == 2, err  # was exit 3: StopIteration (the round trip keeps the tag, so the id did not compare equal)
    assert "A-1 cannot be found for editing" in err
    (tmp_path / "export.csv").write_text("SamAccountName,Name,Enabled\nalice,Alice Smith,True\n")
    code, _, err = run_cli("import", "people", "export.csv", "--on", AS_OF, "--partial")
    assert code == 2, err  # was exit 3: KeyError
    assert "alice cannot be found for editing" in err
    assert {p: p.read_bytes() for p in estate.rglob("*.yaml")} == before
