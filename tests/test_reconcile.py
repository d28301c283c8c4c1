"""Reconciliation against observed usage: RD Licensing reports, User Access Logging, group membership."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from calcheck.edits import reconcile
from tests.conftest import ROOT

Run = Callable[..., tuple[int, str, str]]
SAMPLES = ROOT / "tests" / "samples"


@pytest.fixture
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def rows(out: str, *rules: str) -> list[str]:
    return [line for line in out.splitlines() if any(f"[{rule}]" in line for rule in rules)]


def test_observed_users_without_a_cal(run_cli: Run, at_root: None) -> None:
    code, out, _ = run_cli("reconcile", "tests/samples/rdl-per-user-report.csv", "tests/samples/ual-clean.csv",
                           "tests/samples/group-members.csv", "--as-of", "2026-11-30")  # fmt: skip
    assert code == 1
    assert rows(out, "observed-uncovered", "observed-unknown") == [
        "tests/samples/rdl-per-user-report.csv:3:1: error [observed-uncovered] lena.moreau was observed (rds) without an RDS CAL",
        "tests/samples/rdl-per-user-report.csv:4:1: warning [observed-unknown] FABRIKAM\\contractor.x was observed (rds) but is not in the estate",
        "tests/samples/ual-clean.csv:3:1: error [observed-uncovered] svc.backup was observed (ual) without a Windows Server CAL",
    ]
    harvest = rows(out, "harvest-candidate")
    assert len(harvest) == 126
    assert not [line for line in harvest if "alice.martin" in line]  # seen on 2026-11-28


def test_unused_days_window(run_cli: Run, at_root: None) -> None:
    out = run_cli("reconcile", "tests/samples/ual-clean.csv", "--as-of", "2027-06-30", "--unused-days", "30")[1]
    assert (
        "info [harvest-candidate] A-0001: alice.martin holds a EA-WS22-USER CAL but was last seen 2026-11-28 (over 30 days)"
        in out
    )


def test_per_user_rds_over_allocation(run_cli: Run, at_root: None, tmp_path: Path) -> None:
    report = tmp_path / "rdl.csv"
    names = [f"user{i:02d}" for i in range(25)]
    report.write_text(
        "License Server,Issued To User,Issued On\n" + "".join(f"SRV,FABRIKAM\\{n},2026-11-01\n" for n in names)
    )
    out = run_cli("reconcile", str(report), "--as-of", "2026-11-30")[1]
    assert rows(out, "rds-per-user-overallocation") == []  # unknown users are not RDS CAL holders of the estate
    known = ["alice.martin", "bob.okafor", "carol.schulz", "dan.novak", "erin.haddad", "frank.kowalski", "heidi.moreau",
             "bella.uddin", "chen.vogel", "diego.weber", "elif.martin", "farah.okafor", "goran.schulz", "igor.haddad",
             "jonas.kowalski", "kemal.lindqvist", "lena.moreau", "mateo.tanaka", "noor.rossi", "olga.berg",
             "pavel.dubois"]  # fmt: skip
    report.write_text("License Server,Issued To User,Issued On\n" + "".join(f"SRV,{n},2026-11-01\n" for n in known))
    out = run_cli("reconcile", str(report), "--as-of", "2026-11-30")[1]
    assert rows(out, "rds-per-user-overallocation") == [
        f"{report}:2:1: error [rds-per-user-overallocation] 21 distinct users hold per-user RDS CALs on the licence server, but 20 are owned"
    ]


def test_bad_rows_are_located_and_stop_the_reconciliation(run_cli: Run, at_root: None) -> None:
    code, out, _ = run_cli("reconcile", "tests/samples/ual-user-access.csv", "--as-of", "2026-11-30")
    assert code == 1
    assert (
        out.splitlines()[0]
        == "tests/samples/ual-user-access.csv:5:1: error [reconcile] not a date: '13/45/2026 9:00:00 AM'"
    )
    assert rows(out, "harvest-candidate") == []


def test_progress_is_silent_off_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    from calcheck.core.progress import progress

    assert list(progress(list(range(5000)), "rows")) == list(range(5000))
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-30",
        "2026-11-30T10:00:00.1234567Z",
        "2026-11-30T23:30:00+01:00",
        "11/30/2026 10:00:00 PM",
        "11/30/2026 10:00 AM",
        "11/30/2026 22:00:00.125",
        "30.11.2026",
        "30.11.2026 14:05:00",
        "30.11.2026 14:05",
    ],
)
def test_usage_export_date_formats(text: str) -> None:
    assert reconcile._date(text) == dt.date(2026, 11, 30)


@pytest.mark.parametrize("text", ["13/45/2026 9:00:00 AM", "30.11.26x", "yesterday", ""])
def test_not_dates(text: str) -> None:
    assert reconcile._date(text) is None


def test_a_cal_assigned_within_the_window_is_no_harvest_candidate_and_json_names_the_organisation(
    run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import shutil

    shutil.copytree(ROOT / "licenses", tmp_path / "licenses")
    register = tmp_path / "licenses" / "assignments" / "finance.yaml"
    register.write_text(
        register.read_text() + "  - {id: A-0999, holding: EA-WS22-USER, person: nina.garcia, since: 2026-11-30}\n"
    )
    monkeypatch.chdir(tmp_path)
    usage = str(SAMPLES / "ual-clean.csv")
    assert "A-0999" not in run_cli("reconcile", usage, "--as-of", "2026-11-30")[1]  # assigned today
    later = rows(run_cli("reconcile", usage, "--as-of", "2027-03-31")[1], "harvest-candidate")
    assert [line.split(": ", 1)[1] for line in later if "A-0999" in line] == [
        "info [harvest-candidate] A-0999: nina.garcia holds a EA-WS22-USER CAL but was never seen in the usage data "
        "(over 90 days)"
    ]
    document = json.loads(run_cli("reconcile", usage, "--as-of", "2026-11-30", "--format", "json")[1])
    assert document["organisation"] == "Fabrikam Logistics Ltd"
