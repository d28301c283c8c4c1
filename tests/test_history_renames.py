"""Renamed files of every record kind show as moves in `history`, also when the commit edits them too."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from calcheck.licensing.rules.example import base_files, write_estate
from tests.test_git import commit, git

Run = Callable[..., tuple[int, str, str]]
WAIVERS = """\
kind: waivers
waivers:
  - {id: W-1, rule: shelfware, records: [WS22-U], owner: Dana, reason: bought ahead, expires: 2027-01-01}
"""
CATALOGUE = """\
kind: catalogue
products:
  - {id: erp, name: ERP, versions: [{version: "1", released: 2020-01-01}]}
cals:
  - {id: erp-cal, name: ERP CAL, product: erp, kind: base}
"""
# Block-style assignments, so that a small edit still leaves most of the file the same (git pairs the rename).
ASSIGNMENTS = """\
kind: assignments
assignments:
  - id: A-1
    holding: WS22-U
    person: alice
    since: 2024-03-01
  - id: A-2
    holding: WS22-U
    person: bob
    since: 2024-03-01
  - id: A-3
    holding: WS22-U
    device: PC-1
    since: 2024-03-01
"""
RENAMES = [  # (folder, old name, new name): one file of every kind
    ("assignments", "assignments", "register"),
    ("audits", "audits", "2026"),
    ("catalogue", "extra", "erp"),
    ("deployments", "deployments", "servers"),
    ("devices", "devices", "fleet"),
    ("holdings", "holdings", "cals"),
    ("people", "people", "staff"),
    ("waivers", "waivers", "exceptions"),
]


def _move(root: Path, old: str, new: str) -> None:
    git(root, "mv", f"licenses/{old}", f"licenses/{new}")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.fixture
def renamed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An estate of every record kind; one commit renames every file, the next renames three with small edits."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    files = {**base_files(), "waivers/waivers.yaml": WAIVERS, "catalogue/extra.yaml": CATALOGUE}
    files["assignments/assignments.yaml"] = ASSIGNMENTS
    write_estate(files, root / "licenses")
    commit(root, "Initial estate", "2026-01-05T09:00:00+00:00")
    for folder, old, new in RENAMES:
        _move(root, f"{folder}/{old}.yaml", f"{folder}/{new}.yaml")
    _move(root, "calcheck.yaml", "config.yaml")
    commit(root, "Rename every file", "2026-02-01T09:00:00+00:00")
    _move(root, "assignments/register.yaml", "assignments/staff.yaml")
    _edit(root / "licenses/assignments/staff.yaml", "    person: bob\n", "    person: bob\n    note: desk 4\n")
    _move(root, "people/staff.yaml", "people/everyone.yaml")
    _edit(root / "licenses/people/everyone.yaml", "name: Bob,", "name: Bob Baker,")
    _move(root, "devices/fleet.yaml", "devices/all.yaml")
    _edit(
        root / "licenses/devices/all.yaml",
        "{id: PC-1, kind: workstation",
        "{id: PC-1, name: Front desk, kind: workstation",
    )
    commit(root, "Rename and tidy three files", "2026-03-01T09:00:00+00:00")
    monkeypatch.chdir(root)
    return root


def _moves(old: str, new: str) -> str:
    return f"moved from licenses/{old} to licenses/{new}"


def test_git_pairs_the_edited_renames(renamed: Path) -> None:
    """The fixture is what the test claims: git -M reports the edited files as renames, not as removals."""
    statuses = git(renamed, "log", "-1", "-M", "--name-status", "--format=").split("\n")
    assert sorted(line.split("\t")[0][:1] for line in statuses if line) == ["R", "R", "R"]
    assert all(not line.startswith("R100") for line in statuses if line)


def test_renamed_files_of_every_kind_show_as_moves(renamed: Path, run_cli: Run) -> None:
    code, out, err = run_cli("history", "--since", "2026-02-01")
    assert (code, err) == (0, "")
    first, second = out.splitlines()
    assert first.split(": ", 1)[1].split("; ") == [
        "3 assignments " + _moves("assignments/assignments.yaml", "assignments/register.yaml"),
        "audit AUD-1 " + _moves("audits/audits.yaml", "audits/2026.yaml"),
        "catalogue CAL erp-cal " + _moves("catalogue/extra.yaml", "catalogue/erp.yaml"),
        "configuration " + _moves("calcheck.yaml", "config.yaml"),
        "deployment dc " + _moves("deployments/deployments.yaml", "deployments/servers.yaml"),
        "2 devices " + _moves("devices/devices.yaml", "devices/fleet.yaml"),
        "holding WS22-U " + _moves("holdings/holdings.yaml", "holdings/cals.yaml"),
        "2 people " + _moves("people/people.yaml", "people/staff.yaml"),
        "catalogue product erp " + _moves("catalogue/extra.yaml", "catalogue/erp.yaml"),
        "waiver W-1 " + _moves("waivers/waivers.yaml", "waivers/exceptions.yaml"),
    ]
    assert second.split(": ", 1)[1].split("; ") == [
        "3 assignments " + _moves("assignments/register.yaml", "assignments/staff.yaml"),
        "assignment A-2 of Windows Server CAL 2022 User from holding WS22-U to bob: note set to desk 4",
        "2 devices " + _moves("devices/fleet.yaml", "devices/all.yaml"),
        "device PC-1 name set to Front desk",
        "2 people " + _moves("people/staff.yaml", "people/everyone.yaml"),
        "person bob name Bob -> Bob Baker",
    ]


def test_one_records_moves_are_listed_with_its_id(renamed: Path, run_cli: Run) -> None:
    out = run_cli("history", "--id", "A-2", "--since", "2026-02-01")[1]
    assert [line.split(": ", 1)[1] for line in out.splitlines()] == [
        "assignment A-2 " + _moves("assignments/assignments.yaml", "assignments/register.yaml"),
        "assignment A-2 " + _moves("assignments/register.yaml", "assignments/staff.yaml")
        + "; assignment A-2 of Windows Server CAL 2022 User from holding WS22-U to bob: note set to desk 4",
    ]  # fmt: skip
    document = json.loads(run_cli("history", "--id", "erp", "--format", "json")[1])
    assert [[e["text"] for e in entry["events"]] for entry in document] == [
        ["catalogue product erp added"],
        ["catalogue product erp " + _moves("catalogue/extra.yaml", "catalogue/erp.yaml")],
    ]


def test_a_renamed_file_moves_no_cal(renamed: Path, run_cli: Run) -> None:
    """A move is not a reassignment: the 90-day rule sees nothing in the renames."""
    assert "reassignment-90-days" not in run_cli("check", "--as-of", "2026-03-02")[1]
