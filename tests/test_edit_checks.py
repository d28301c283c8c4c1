"""Edits are judged as the next check will judge them: new findings said, duplicates refused, the 90-day rule from git."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from calcheck.licensing.rules.example import base_files, write_estate
from tests.conftest import ROOT
from tests.test_git import PEOPLE, commit, git

Run = Callable[..., tuple[int, str, str]]
DAY = "2026-11-30"


@pytest.fixture
def bundled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The bundled estate, committed in a temporary repository."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    shutil.copytree(ROOT / "licenses", root / "licenses")
    shutil.copytree(ROOT / "schemas", root / "schemas")
    commit(root, "The estate", "2026-11-02T09:00:00+00:00")
    monkeypatch.chdir(root)
    return root / "licenses"


def test_an_edit_that_adds_a_warning_says_so(bundled: Path, run_cli: Run) -> None:
    code, out, _ = run_cli("assign", "CSP-WS25-DEV", "--device", "WS-FIN-06", "--since", DAY, "--as-of", DAY)
    assert code == 0
    assert out.splitlines()[-4:] == [
        "2 new finding(s) after the change ('calcheck check' will report them):",
        "  warning [reclaimable] licenses/assignments/devices.yaml:35: A-0163: the Windows Server CAL from "
        "CSP-WS25-DEV is not reclaimable before 2027-02-28: device WS-FIN-06 was retired on 2026-05-20 in working "
        "order, and was assigned on 2026-11-30",
        "  warning [headroom] licenses/holdings/windows-server.yaml:77: Windows Server CAL 2025 (Device) is 100% used "
        "(6 of 6), above the 95% threshold",
        "A-0163: CSP-WS25-DEV assigned to device WS-FIN-06 from 2026-11-30",
    ]
    check = run_cli("check", "--as-of", DAY)[1]
    assert "warning [headroom] Windows Server CAL 2025 (Device) is 100% used" in check.replace(
        "licenses/holdings/windows-server.yaml:77:15: ", ""
    )


def test_an_edit_that_changes_no_finding_lists_none(bundled: Path, run_cli: Run) -> None:
    code, out, _ = run_cli("assign", "EA-WS22-USER", "--person", "svc.backup", "--since", DAY, "--as-of", DAY)
    assert code == 0 and "new finding" not in out


def test_a_duplicate_assignment_is_refused_unless_forced(bundled: Path, run_cli: Run) -> None:
    register = bundled / "assignments" / "finance.yaml"
    before = register.read_text()
    argv = ("assign", "CSP-RDS22-USER", "--person", "alice.martin", "--since", DAY, "--as-of", DAY)
    code, out, _ = run_cli(*argv)
    assert code == 1
    assert out.splitlines()[-2:] == [
        "refused: the change would make the licence position worse (--force to write it anyway):",
        "  duplicate assignment A-0163: person alice.martin already has a Remote Desktop Services CAL 2022 (User) "
        "(A-0003 from CSP-RDS22-USER, since 2025-03-03)",
    ]
    assert register.read_text() == before
    assert run_cli(*argv, "--force")[0] == 0
    assert register.read_text() == before + (
        "  - {id: A-0163, holding: CSP-RDS22-USER, person: alice.martin, since: 2026-11-30}\n"
    )
    code, out, _ = run_cli(*argv)  # a third time: a duplicate of both
    assert code == 1 and "duplicate assignment A-0164: person alice.martin already has" in out


def test_a_transfer_to_someone_who_has_the_cal_is_a_duplicate(bundled: Path, run_cli: Run) -> None:
    code, out, _ = run_cli("transfer", "A-0109", "--to-person", "alice.martin", "--on", DAY, "--reason", "departure",
                           "--as-of", DAY)  # fmt: skip
    assert code == 1
    assert (
        "  duplicate assignment A-0163: person alice.martin already has a Windows Server CAL 2022 (User) "
        "(A-0001 from EA-WS22-USER, since 2024-09-02)"
    ) in out.splitlines()


DEPLOYMENTS = """\
kind: deployments
deployments:
  - {id: dc, name: Domain controller, product: windows-server, version: "2022", hosts: [SRV-1], access: {people: [alice, bob]}}
"""
HOLDINGS = """\
kind: holdings
holdings:
  - {id: WS22-U, cal: windows-server, version: "2022", type: user, quantity: 3, channel: volume, agreement: EA-1,
     purchased: 2024-02-01, proof: [{type: invoice, ref: INV-1}]}
  - {id: WS22-U2, cal: windows-server, version: "2022", type: user, quantity: 1, channel: volume, agreement: EA-1,
     purchased: 2024-02-01, proof: [{type: invoice, ref: INV-2}]}
"""
ASSIGNMENTS = """\
kind: assignments
assignments:
  - {id: A-1, holding: WS22-U, person: alice, since: 2024-03-01}
  - {id: A-2, holding: WS22-U, person: bob, since: 2024-03-01}
"""
ON = "2026-11-15"
NINETY_DAYS = (
    "the WS22-U CAL was reassigned from carol on 2026-11-15, 45 days after its previous assignment on 2026-10-01 "
    "(uncommitted)"
)


@pytest.fixture
def moved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A-1 went from alice to carol on 2026-10-01 by an edit of the person alone: its record still says 2024."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    files = {**base_files(), "people/people.yaml": PEOPLE, "deployments/deployments.yaml": DEPLOYMENTS}
    files |= {"holdings/holdings.yaml": HOLDINGS, "assignments/assignments.yaml": ASSIGNMENTS}
    estate = write_estate(files, root / "licenses")
    commit(root, "Initial estate", "2024-03-01T09:00:00+00:00")
    register = estate / "assignments" / "assignments.yaml"
    register.write_text(register.read_text().replace("person: alice", "person: carol"))
    commit(root, "Give alice's CAL to carol", "2026-10-01T09:00:00+00:00")
    monkeypatch.chdir(root)
    return estate


def test_the_same_cal_from_another_holding_is_a_duplicate(moved: Path, run_cli: Run) -> None:
    code, out, _ = run_cli("assign", "WS22-U2", "--person", "bob", "--since", ON, "--as-of", ON)
    assert code == 1
    assert out.splitlines()[-1] == (
        "  duplicate assignment A-3: person bob already has a Windows Server CAL 2022 (User) "
        "(A-2 from WS22-U, since 2024-03-01)"
    )
    # not a duplicate: the other assignment ended the day before
    assert run_cli("unassign", "A-2", "--on", "2026-11-14", "--as-of", ON, "--force")[0] == 0
    code, out, _ = run_cli("assign", "WS22-U2", "--person", "bob", "--since", ON, "--as-of", ON)
    assert code == 0 and "duplicate" not in out


def test_a_transfer_is_refused_from_the_history_alone(moved: Path, run_cli: Run) -> None:
    register = moved / "assignments" / "assignments.yaml"
    before = register.read_text()
    argv = ("transfer", "A-1", "--to-person", "alice", "--on", ON, "--reason", "other", "--as-of", ON)
    code, out, _ = run_cli(*argv)
    assert code == 1
    assert out.splitlines()[-2:] == [
        "refused: the change would make the licence position worse (--force to write it anyway):",
        f"  new error [reassignment-90-days] A-3: {NINETY_DAYS}",
    ]
    assert register.read_text() == before
    # by its records alone (since: 2024-03-01) the move looks allowed: only the history tells
    code, out, _ = run_cli(*argv, "--no-history", "--dry-run")
    assert code == 0 and "reassignment-90-days" not in out
    # written anyway, the next check says the same
    assert run_cli(*argv, "--force")[0] == 0
    check = run_cli("check", "--as-of", ON)[1]
    assert f"error [reassignment-90-days] A-3: {NINETY_DAYS}" in check
    # an allowed reason, backed by the records (carol has left), is no regression
    register.write_text(before)
    people = moved / "people" / "people.yaml"
    people.write_text(
        people.read_text().replace(
            "{id: carol, name: Carol, kind: employee, status: active}",
            "{id: carol, name: Carol, kind: employee, status: departed, departed: 2026-11-14}",
        )
    )
    assert (
        run_cli("transfer", "A-1", "--to-person", "alice", "--on", ON, "--reason", "departure", "--as-of", ON)[0] == 0
    )


def test_an_unassign_that_completes_a_reassignment_is_refused_from_the_history(moved: Path, run_cli: Run) -> None:
    register = moved / "assignments" / "assignments.yaml"
    register.write_text(register.read_text() + "  - {id: A-9, holding: WS22-U, person: alice, since: 2026-11-15}\n")
    before = register.read_text()
    code, out, _ = run_cli("unassign", "A-1", "--remove", "--on", ON, "--as-of", ON)
    assert code == 1
    assert out.splitlines()[-1] == f"  new error [reassignment-90-days] A-9: {NINETY_DAYS}"
    assert register.read_text() == before
    assert run_cli("unassign", "A-1", "--remove", "--on", ON, "--as-of", ON, "--no-history", "--dry-run")[0] == 0
    assert run_cli("unassign", "A-1", "--on", ON, "--as-of", ON)[0] == 0  # ended, not removed: no reassignment
