"""Writes that lose nothing and corrupt nothing: atomic, exclusive, all or nothing, locked, valid YAML.

Issue 15, items 9 and 11 to 16 and its exit codes: each test here failed before the fix it holds.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from calcheck.edits.lock import estate_lock, lock_path
from calcheck.estate.parse import load_bytes
from calcheck.licensing import engine
from tests.conftest import ROOT

Run = Callable[..., tuple[int, str, str]]
DAY = "2026-12-02"
ON = dt.date(2026, 12, 2)


@pytest.fixture
def copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "licenses", tmp_path / "licenses")
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "licenses"


@pytest.fixture
def umask() -> Iterator[Callable[[int], None]]:
    before = os.umask(0o022)
    os.umask(before)
    yield lambda mask: os.umask(mask) and None
    os.umask(before)


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def calcheck(*argv: str, cwd: Path, env: dict[str, str] | None = None, **kwargs: object) -> subprocess.Popen[str]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "calcheck", *argv],
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,  # type: ignore[call-overload]
    )


# --- Exit codes and messages ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["audit", "record", "--auditor", "Eve", "--date", "9999-12-31"],
            "calcheck audit record: error: argument --date: 9999-12-31 is out of range; give a date from 1900-01-01 "
            "to 2999-12-31 (see 'calcheck audit record --help')",
        ),
        (
            ["init", "new", "--date", "9999-12-31"],
            "calcheck init: error: argument --date: 9999-12-31 is out of range; give a date from 1900-01-01 to "
            "2999-12-31 (see 'calcheck init --help')",
        ),
        (
            ["check", "--as-of", "0001-01-01"],
            "calcheck check: error: argument --as-of: 0001-01-01 is out of range; give a date from 1900-01-01 to "
            "2999-12-31 (see 'calcheck check --help')",
        ),
        (
            ["reconcile", "usage.csv", "--unused-days", "999999"],
            "calcheck reconcile: error: argument --unused-days: 999999 is out of range; give 1 to 36500 days "
            "(see 'calcheck reconcile --help')",
        ),
        (
            ["reconcile", "usage.csv", "--unused-days", "-5"],
            "calcheck reconcile: error: argument --unused-days: -5 is out of range; give 1 to 36500 days "
            "(see 'calcheck reconcile --help')",
        ),
        (
            ["report", "--output", "missing/report.txt"],
            "calcheck: error: missing/report.txt: no such folder missing; create it first",
        ),
        (
            ["check", "--output", "missing/check.txt"],
            "calcheck: error: missing/check.txt: no such folder missing; create it first",
        ),
    ],
)
def test_bad_values_are_usage_errors_in_one_line(copy: Path, argv: list[str], message: str) -> None:
    process = calcheck(*argv, cwd=copy.parent)
    out, err = process.communicate(timeout=120)
    assert (process.returncode, out, err) == (2, "", message + "\n")
    assert not (copy.parent / "new").exists()


@pytest.mark.parametrize("argv", [["check", "--as-of", DAY], ["rules"], ["report", "--as-of", DAY]])
def test_a_closed_standard_output_is_a_usage_error(copy: Path, argv: list[str]) -> None:
    done = subprocess.run(
        ["sh", "-c", '"$0" -m calcheck "$@" >&-', sys.executable, *argv],
        cwd=copy.parent,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stderr) == (
        2,
        "calcheck: error: standard output is closed; redirect it to a file, or give --output FILE\n",
    )


def test_a_closed_standard_output_is_no_error_when_output_goes_to_a_file(copy: Path) -> None:
    done = subprocess.run(
        ["sh", "-c", '"$0" -m calcheck check --as-of 2026-11-30 --output out.txt >&-', sys.executable],
        cwd=copy.parent,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert (copy.parent / "out.txt").read_text().splitlines()[-1].startswith("OK: 0 errors")


# --- 16: created files respect the umask ------------------------------------------------------------------------


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077])
def test_created_files_respect_the_umask(copy: Path, run_cli: Run, umask: Callable[[int], None], mask: int) -> None:
    umask(mask)
    expected = 0o666 & ~mask
    assert run_cli("report", "--as-of", DAY, "--output", "report.txt")[0] == 0
    assert run_cli("export", "--as-of", DAY, "--to", "bundle", "--no-history")[0] == 0
    assert run_cli("export", "--as-of", DAY, "--to", "book", "--format", "xlsx", "--no-history")[0] == 0
    new = copy / "assignments" / "new.yaml"
    args = ("assign", "EA-WS22-USER", "--person", "svc.backup", "--since", DAY, "--as-of", DAY, "--file", str(new))
    assert run_cli(*args)[0] == 0
    assert run_cli("audit", "record", "--auditor", "Eve", "--date", "2027-01-04")[0] == 0
    made = [
        copy.parent / "report.txt",
        *sorted((copy.parent / "bundle").iterdir()),
        *sorted((copy.parent / "book").iterdir()),
        new,
        copy / "audits" / "2027.yaml",
    ]
    assert {p.relative_to(copy.parent).as_posix(): oct(p.stat().st_mode & 0o777) for p in made} == {
        p.relative_to(copy.parent).as_posix(): oct(expected) for p in made
    }


def test_a_replaced_file_keeps_its_own_mode(copy: Path, run_cli: Run, umask: Callable[[int], None]) -> None:
    umask(0o077)
    finance = copy / "assignments" / "finance.yaml"
    os.chmod(finance, 0o664)
    args = ("assign", "EA-WS22-USER", "--person", "svc.backup", "--since", DAY, "--as-of", DAY, "--file", str(finance))
    assert run_cli(*args)[0] == 0
    assert finance.stat().st_mode & 0o777 == 0o664


# --- 9: writes never follow links -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_never_writes_through_a_link(copy: Path, run_cli: Run, tmp_path: Path, fmt: str) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me\n")
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    for name in (".calcheck-export.xlsx.tmp", "calcheck-export.xlsx", ".elp.csv.tmp", "elp.csv", "MANIFEST.json"):
        (bundle / name).symlink_to(outside)
    assert run_cli("export", "--as-of", DAY, "--to", str(bundle), "--format", fmt, "--no-history")[0] == 0
    assert outside.read_text() == "keep me\n"
    written = ["MANIFEST.json", "calcheck-export.xlsx"] if fmt == "xlsx" else ["MANIFEST.json", "elp.csv"]
    for name in written:
        assert not (bundle / name).is_symlink() and (bundle / name).is_file()


def test_output_replaces_a_link_and_leaves_its_target_alone(copy: Path, run_cli: Run, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me\n")
    (tmp_path / "report.txt").symlink_to(outside)
    assert run_cli("report", "--as-of", DAY, "--output", str(tmp_path / "report.txt"))[0] == 0
    assert outside.read_text() == "keep me\n"
    assert not (tmp_path / "report.txt").is_symlink()


@pytest.mark.parametrize("folder", ["audits", "assignments"])
def test_edits_never_write_into_a_linked_folder(copy: Path, run_cli: Run, tmp_path: Path, folder: str) -> None:
    outside = tmp_path / "outside"
    shutil.move(copy / folder, outside)
    (copy / folder).symlink_to(outside)
    before = snapshot(outside)
    if folder == "audits":
        code, out, err = run_cli("audit", "record", "--auditor", "Eve", "--date", "2027-01-04", "--force")
        target = "audits/2027.yaml"
    else:
        code, out, err = run_cli("assign", "EA-WS22-USER", "--person", "svc.backup", "--since", DAY, "--as-of", DAY,
                                 "--force")  # fmt: skip
        target = "assignments/assignments.yaml"
    assert (code, out) == (2, "")
    assert err == (
        f"calcheck: error: {copy / target}: {copy / folder} is a symbolic link; calcheck writes no file through a "
        "link\n"
    )
    assert snapshot(outside) == before


# --- 11: one writer for every CSV and XLSX cell -----------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://x")', "+1+2", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


def test_report_csv_escapes_formulas(copy: Path, run_cli: Run) -> None:
    catalogue = copy / "catalogue" / "evil.yaml"
    catalogue.parent.mkdir(exist_ok=True)
    cals = "".join(
        f"  - {{id: evil-{n}, name: {json.dumps(v)}, kind: base, product: windows-server}}\n"
        for n, v in enumerate(FORMULAS)
    )
    catalogue.write_text("kind: catalogue\ncals:\n" + cals)
    holdings = "".join(
        f'  - {{id: EVIL-{n}, cal: evil-{n}, version: "2022", type: user, quantity: 1, channel: retail,'
        " purchased: 2024-01-01,"
        f" proof: [{{type: invoice, ref: INV-{n}}}]}}\n"
        for n in range(len(FORMULAS))
    )
    (copy / "holdings" / "evil.yaml").write_text("kind: holdings\nholdings:\n" + holdings)
    code, _, _ = run_cli("report", "--as-of", DAY, "--format", "csv", "--no-history", "--output", "elp.csv")
    assert code == 0
    out = (copy.parent / "elp.csv").read_bytes().decode("utf-8")
    cells = [cell for row in csv.reader(io.StringIO(out, newline="")) for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r") and not _number(cell)]
    for formula in FORMULAS:
        assert any(cell.startswith("'" + formula[:3]) for cell in cells), formula


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# --- 14: written YAML is valid and means what was meant ---------------------------------------------------------

NOTES = ["moved desks, until: 2026-11-02", "ticket #42", "a\x9bb", "x\x85y\u2028z", "'quoted' \"twice\"", "yes", "1.10"]


@pytest.mark.parametrize("new_file", [False, True])
@pytest.mark.parametrize("note", NOTES)
def test_assign_notes_read_back_exactly(copy: Path, run_cli: Run, note: str, new_file: bool) -> None:
    target = copy / "assignments" / ("new.yaml" if new_file else "finance.yaml")
    code, _, err = run_cli(
        "assign",
        "EA-WS22-USER",
        "--person",
        "svc.backup",
        "--since",
        DAY,
        "--as-of",
        DAY,
        "--note",
        note,
        "--file",
        str(target),
    )
    assert (code, err) == (0, "")
    loaded = load_bytes(str(target), target.read_bytes())
    assert loaded.findings == []
    record = loaded.documents[0].data["assignments"][-1]
    assert record == {"id": "A-0163", "holding": "EA-WS22-USER", "person": "svc.backup", "since": DAY, "note": note}
    assert engine.check(copy, ON).estate.index("assignments")["A-0163"].until is None


def test_import_writes_text_that_looks_like_numbers_as_text(copy: Path, run_cli: Run, tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    rows = [
        ("SamAccountName", "Name", "Department", "Enabled"),
        ("100234", "1.10", "4711", "True"),
        ("ann.c1", "Ann\x9bMarie", "0x1F", "True"),
        ("yes", "null", "~", "True"),
        ("hash", "ticket #42", "a: b, c", "True"),
    ]
    export.write_text("".join(",".join(f'"{v}"' for v in row) + "\n" for row in rows), encoding="utf-8")
    code, out, err = run_cli("import", "people", str(export), "--on", DAY, "--partial", "--accept-shortfall")
    assert (code, err) == (0, ""), out
    people = engine.check(copy, ON).estate.index("people")
    found = {i: (people[i].name, people[i].department) for i in ("100234", "ann.c1", "yes", "hash")}
    assert found == {
        "100234": ("1.10", "4711"),
        "ann.c1": ("Ann\x9bMarie", "0x1F"),
        "yes": ("null", "~"),
        "hash": ("ticket #42", "a: b, c"),
    }
    imported = copy / "people" / "imported.yaml"
    assert load_bytes(str(imported), imported.read_bytes()).findings == []


def test_an_edit_that_would_not_read_back_is_refused(copy: Path) -> None:
    from calcheck.edits.operations import Change, verify
    from calcheck.edits.yamledit import EditError

    target = copy / "assignments" / "broken.yaml"
    text = "kind: assignments\nassignments:\n  - {id: A-9, holding: EA-WS22-USER, person: svc.backup, since: 2026-12-02, note: ticket #42}\n"
    intended = {
        "kind": "assignments",
        "assignments": [
            {
                "id": "A-9",
                "holding": "EA-WS22-USER",
                "person": "svc.backup",
                "since": "2026-12-02",
                "note": "ticket #42",
            }
        ],
    }
    with pytest.raises(EditError, match="would not read back"):
        verify(copy, [Change(target, "", text, "", None, intended)], ON)
    assert not target.exists()


# --- 15: unassign never reopens an ended assignment -------------------------------------------------------------


def test_unassign_and_transfer_refuse_to_reopen_an_ended_assignment(copy: Path, run_cli: Run) -> None:
    before = snapshot(copy)
    assert run_cli("unassign", "A-0001", "--on", "2026-12-01", "--as-of", DAY, "--force")[0] == 0
    ended = snapshot(copy)
    assert ended != before
    code, out, err = run_cli("unassign", "A-0001", "--on", "2027-03-01", "--as-of", DAY, "--force")
    assert (code, out) == (2, "")
    assert err == (
        "calcheck: error: A-0001 already ended on 2026-12-01; it cannot be ended again on 2027-03-01 (that would "
        "reopen it): assign the CAL anew\n"
    )
    code, _, err = run_cli(
        "transfer",
        "A-0001",
        "--to-person",
        "svc.backup",
        "--on",
        "2027-03-01",
        "--as-of",
        DAY,
        "--reason",
        "departure",
        "--force",
    )
    assert code == 2 and "A-0001 already ended on 2026-12-01" in err
    assert snapshot(copy) == ended
    assert run_cli("unassign", "A-0001", "--on", "2026-11-20", "--as-of", DAY, "--force")[0] == 0  # earlier: fine


# --- 12: concurrent edits ----------------------------------------------------------------------------------------


def test_concurrent_edits_lose_no_line_and_share_no_id(copy: Path) -> None:
    people = ["svc.backup", "mona.fischer", "alice.martin", "bob.okafor"]
    files = ["finance.yaml", "sales.yaml", "it.yaml"]
    processes = [
        calcheck(
            "assign",
            "EA-WS22-USER",
            "--person",
            people[n % len(people)],
            "--since",
            DAY,
            "--as-of",
            DAY,
            "--file",
            str(copy / "assignments" / files[n % len(files)]),
            "--force",
            cwd=copy.parent,
            env={"CALCHECK_LOCK_WAIT": "900"},  # twelve edits in a row on a slow machine
        )
        for n in range(12)
    ]
    results = [(p.wait(timeout=600), *p.communicate()) for p in processes]
    assert [code for code, _, _ in results] == [0] * 12, results
    made = [line.split(":")[0] for _, out, _ in results for line in out.splitlines()[-1:]]
    assert len(set(made)) == 12
    assignments = engine.check(copy, ON).estate.index("assignments")
    assert set(made) <= set(assignments)
    assert not lock_path(copy).exists()


def test_a_held_lock_is_reported_clearly(copy: Path) -> None:
    before = snapshot(copy)
    with estate_lock(copy):
        process = calcheck(
            "assign",
            "EA-WS22-USER",
            "--person",
            "svc.backup",
            "--since",
            DAY,
            "--as-of",
            DAY,
            cwd=copy.parent,
            env={"CALCHECK_LOCK_WAIT": "0.3"},
        )
        _, err = process.communicate(timeout=120)
    assert process.returncode == 2
    assert err == (
        f"calcheck: error: {copy} is being edited by another calcheck (process {os.getpid()}, lock file "
        f"{lock_path(copy)}); run the command again when it has finished\n"
    )
    assert snapshot(copy) == before
    assert not lock_path(copy).exists()


def test_a_lock_file_left_by_a_killed_edit_does_not_block(copy: Path, run_cli: Run) -> None:
    lock_path(copy).write_text("999999\n")  # its process is gone, and with it the lock
    code, _, err = run_cli("unassign", "A-0001", "--on", DAY, "--as-of", DAY, "--force")
    assert (code, err) == (0, "")
    assert not lock_path(copy).exists()


def test_a_lock_file_that_is_a_link_is_refused(copy: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me\n")
    lock_path(copy).symlink_to(outside)
    process = calcheck("unassign", "A-0001", "--on", DAY, "--as-of", DAY, "--force", cwd=copy.parent)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 2 and "cannot create the estate's lock file" in err
    assert outside.read_text() == "keep me\n"


# --- 13: an import applies completely or changes nothing --------------------------------------------------------


def _limit_file_size(limit: int) -> Callable[[], None]:
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_an_import_that_cannot_write_a_file_changes_nothing_and_names_it(copy: Path, tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text(
        '"SamAccountName","Name","Enabled"\n"bob.okafor","Bob Okafor","False"\n"new.one","New One","True"\n'
    )
    before = snapshot(copy)
    sizes = {p.name: p.stat().st_size for p in (copy / "people").iterdir()}
    process = calcheck(
        "import",
        "people",
        str(export),
        "--on",
        DAY,
        "--partial",
        "--accept-shortfall",
        cwd=copy.parent,
        preexec_fn=_limit_file_size(sizes["finance.yaml"] - 1),
    )
    out, err = process.communicate(timeout=120)
    assert process.returncode == 2, (out, err)
    assert (
        err
        == "calcheck: error: licenses/people/finance.yaml: cannot be written (File too large); no file was changed\n"
    )
    assert snapshot(copy) == before
    assert sorted(p.name for p in (copy / "people").iterdir()) == sorted(sizes)


def test_the_same_import_without_the_limit_applies(copy: Path, run_cli: Run, tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text(
        '"SamAccountName","Name","Enabled"\n"bob.okafor","Bob Okafor","False"\n"new.one","New One","True"\n'
    )
    assert run_cli("import", "people", str(export), "--on", DAY, "--partial", "--accept-shortfall")[0] == 0
    people = engine.check(copy, ON).estate.index("people")
    assert people["bob.okafor"].status == "departed" and people["new.one"].name == "New One"


# --- Imports compare ids and e-mails case-insensitively ---------------------------------------------------------


def test_a_device_id_in_another_case_is_the_same_device(copy: Path, run_cli: Run, tmp_path: Path) -> None:
    devices = engine.check(copy, ON).estate.index("devices")
    listed = [d.id for d in devices.values() if d.kind in ("workstation", "mobile") and d.status == "active"]
    export = tmp_path / "devices.csv"
    export.write_text("Device name,OS\n" + "".join(f"{i.lower()},Windows\n" for i in listed))
    assert any(i != i.lower() for i in listed)
    code, out, _ = run_cli("import", "devices", str(export), "--on", DAY)
    assert code == 0 and "0 added, 0 updated, 0 retired" in out
    after = engine.check(copy, ON).estate.index("devices")
    assert sorted(after) == sorted(devices)
    assert [i for i in listed if after[i].status != "active"] == []


def test_two_rows_for_one_person_are_refused(copy: Path, run_cli: Run, tmp_path: Path) -> None:
    export = tmp_path / "people.csv"
    export.write_text(
        '"SamAccountName","Name","EmailAddress","Department","Enabled"\n'
        '"amartin","Alice Martin","Alice.Martin@Fabrikam.example","Sales","True"\n'
        '"alice.m","Alice M.","alice.martin@fabrikam.example","Legal","True"\n'
        '"Carol.Schulz","Carol Schulz","","Legal","True"\n'
        '"carol.schulz","Carol S.","","Sales","True"\n'
    )
    before = snapshot(copy)
    code, out, _ = run_cli("import", "people", str(export), "--on", DAY, "--partial")
    assert code == 1
    shown = str(export)
    assert [line for line in out.splitlines() if ": error [import]" in line] == [
        f"{shown}:3:1: error [import] 'alice.martin@fabrikam.example' appears twice (first on line 2 as "
        "'Alice.Martin@Fabrikam.example')",
        f"{shown}:5:1: error [import] 'carol.schulz' appears twice (first on line 4)",
    ]
    assert snapshot(copy) == before


def test_an_id_and_an_email_that_match_one_person_are_refused(copy: Path, run_cli: Run, tmp_path: Path) -> None:
    export = tmp_path / "people.csv"
    export.write_text(
        '"SamAccountName","Name","EmailAddress","Enabled"\n'
        '"someone","Alice Martin","ALICE.MARTIN@fabrikam.example","True"\n'
        '"Alice.Martin","Alice Martin","","True"\n'
    )
    before = snapshot(copy)
    code, out, _ = run_cli("import", "people", str(export), "--on", DAY, "--partial")
    assert code == 1
    assert f"{export}:3:1: error [import] this row and line 2 both match person 'alice.martin' (by id or e-mail)" in out
    assert snapshot(copy) == before


def test_write_all_stages_every_file_before_renaming_any(tmp_path: Path) -> None:
    from calcheck.core.atomic import PartialWrite, write_all
    from calcheck.core.errors import UsageError

    first, folder = tmp_path / "first.txt", tmp_path / "folder"
    first.write_text("old\n")
    folder.mkdir()
    (folder / "inside").write_text("x")
    with pytest.raises(UsageError, match="no such folder"):
        write_all([(first, b"new\n"), (tmp_path / "missing" / "x.txt", b"y")])
    assert first.read_text() == "old\n"
    with pytest.raises(PartialWrite) as partial:  # a folder cannot be replaced by a file: the second rename fails
        write_all([(first, b"new\n"), (folder, b"y")])
    assert (partial.value.filename, partial.value.done) == (str(folder), [first])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first.txt", "folder"]


def test_audit_record_text_reads_back_exactly(copy: Path, run_cli: Run) -> None:
    auditor, scope = "Eve #1, until: 2027-01-01", "RDS\x9b farm: 'all' hosts\u2028and more"
    code, _, err = run_cli("audit", "record", "--auditor", auditor, "--scope", scope, "--date", "2027-01-04")
    assert (code, err) == (0, "")
    path = copy / "audits" / "2027.yaml"
    record = load_bytes(str(path), path.read_bytes()).documents[0].data["audits"][-1]
    assert (record["auditor"], record["scope"], record["date"]) == (auditor, scope, "2027-01-04")
