"""An import prints what it does to the licence position, and a change for the worse needs --accept-shortfall."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_git import commit, git

Run = Callable[..., tuple[int, str, str]]
DAY = "2026-11-30"
NEWCOMERS = "SamAccountName,DisplayName,Department,Enabled\nnew.one,New One,Finance,True\nnew.two,New Two,Sales,True\n"
POSITION = [
    "now -> after the import (as of 2026-11-30): shortfall 0 CALs (0.00 EUR -> 0.00 EUR), 4 finding(s) introduced, "
    "0 resolved",
    "pools (owned, assigned, required, shortfall):",
    "  Windows Server CAL 2022 (User): (40, 33, 32, 0) -> (40, 33, 34, 0)",
    "  Exchange Server Standard CAL 2019 (User): (55, 49, 48, 0) -> (55, 49, 50, 0)",
    "new errors by rule: uncovered-access 4",
]
REFUSED = (
    "import refused: it would make the licence position worse (--accept-shortfall to apply it anyway); "
    "nothing was changed"
)


@pytest.fixture
def bundled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    shutil.copytree(ROOT / "licenses", root / "licenses")
    shutil.copytree(ROOT / "schemas", root / "schemas")
    commit(root, "The estate", "2026-11-02T09:00:00+00:00")
    (root / "ad.csv").write_text(NEWCOMERS)
    monkeypatch.chdir(root)
    return root / "licenses"


def test_an_import_that_worsens_the_position_is_shown_and_refused(bundled: Path, run_cli: Run) -> None:
    code, out, err = run_cli("import", "people", "ad.csv", "--partial", "--on", DAY)
    assert (code, err) == (1, "")
    lines = out.splitlines()
    assert lines[lines.index("2 added, 0 updated, 0 departed; 0 CALs became reclaimable") + 1 :] == [
        *POSITION,
        REFUSED,
    ]
    assert not (bundled / "people" / "imported.yaml").exists()
    assert git(bundled.parent, "status", "--porcelain", "licenses") == ""
    code, out, _ = run_cli("import", "people", "ad.csv", "--partial", "--on", DAY, "--dry-run")
    assert code == 1 and out.splitlines()[-1] == REFUSED


@pytest.mark.parametrize("flag", ["--accept-shortfall", "--force"])
def test_a_worse_position_is_applied_when_accepted(bundled: Path, run_cli: Run, flag: str) -> None:
    code, out, _ = run_cli("import", "people", "ad.csv", "--partial", "--on", DAY, flag)
    assert code == 0
    assert out.splitlines()[-len(POSITION) :] == POSITION
    assert "new.two" in (bundled / "people" / "imported.yaml").read_text()
    check = run_cli("check", "--as-of", DAY)[1]
    assert check.count("error [uncovered-access] person new.") == 4


def test_accepting_a_shortfall_does_not_accept_a_mass_departure(bundled: Path, run_cli: Run) -> None:
    code, out, _ = run_cli("import", "people", "ad.csv", "--on", DAY, "--accept-shortfall")  # no --partial
    assert code == 1 and "import refused: nothing was changed" in out


def test_an_import_that_changes_no_pool_says_so_and_applies(bundled: Path, run_cli: Run) -> None:
    (bundled.parent / "ad.csv").write_text("SamAccountName,DisplayName,Enabled\nalice.martin,Alice Martin-Roy,True\n")
    code, out, _ = run_cli("import", "people", "ad.csv", "--partial", "--on", DAY)
    assert code == 0
    assert out.splitlines()[-2:] == [
        "0 added, 1 updated, 0 departed; 0 CALs became reclaimable",
        "now -> after the import (as of 2026-11-30): shortfall 0 CALs (0.00 EUR -> 0.00 EUR), 0 finding(s) "
        "introduced, 0 resolved",
    ]
    assert "name: Alice Martin-Roy" in (bundled / "people" / "finance.yaml").read_text()
