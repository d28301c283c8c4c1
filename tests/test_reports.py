"""report, explain, rules and waivers, end to end through the CLI on a small estate."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from calcheck.licensing import engine
from calcheck.licensing.rules import REGISTRY
from calcheck.licensing.rules.example import base_files, write_estate
from tests.conftest import ROOT
from tests.test_elp_scenarios import SCENARIOS

Run = Callable[..., tuple[int, str, str]]
AS_OF = "2026-06-30"


@pytest.fixture
def exchange_se(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    scenario = next(s for s in SCENARIOS if s.name.startswith("Exchange SE"))
    root = write_estate({**base_files(), **scenario.changes}, tmp_path / "licenses")
    monkeypatch.chdir(tmp_path)
    return root


def test_report_markdown(run_cli: Run, exchange_se: Path) -> None:
    code, out, _ = run_cli("report", "--as-of", AS_OF, "--format", "markdown")
    assert code == 0
    assert out == (
        "## Effective License Position: Example Ltd\n\n"
        "**NOT COMPLIANT as of 2026-06-30: shortfall 1 CAL (76.00), 1 error finding, 0 reclaimable**\n\n"
        "| CAL pool | Kind | Owned | Assigned | Required | Surplus | Shortfall | Reclaimable | Shortfall cost |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|\n"
        "| Windows Server CAL 2022 (User) | base | 3 | 2 | 2 | 1 | 0 | 0 | 0.00 |\n"
        "| Exchange Server Standard CAL 2019 (User) | base | 1 | 1 | 0 | 1 | 0 | 0 | 0.00 |\n"
        "| Exchange Server Standard CAL SE (User) | base | 0 | 0 | 1 | 0 | 1 | 0 | 76.00 |\n"
        "| Core CAL Suite (User) | suite | 1 | 1 | 1 | 0 | 0 | 0 | 0.00 |\n"
        "| Total |  | 5 | 4 | 4 | 2 | 1 | 0 | 76.00 |\n"
    )


def test_report_csv_and_json_agree(run_cli: Run, exchange_se: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(run_cli("report", "--as-of", AS_OF, "--format", "csv")[1])))
    document = json.loads(run_cli("report", "--as-of", AS_OF, "--format", "json")[1])
    assert [(r["cal"], r["version"], r["type"], r["shortfall"], r["shortfall_cost"]) for r in rows] == [
        ("windows-server", "2022", "user", "0", "0.00"),
        ("exchange-standard", "2019", "user", "0", "0.00"),
        ("exchange-standard", "SE", "user", "1", "76.00"),
        ("core-cal-suite", "", "user", "0", "0.00"),
    ]
    assert document["compliant"] is False
    assert document["totals"] == {
        "owned": 5, "assigned": 4, "required": 4, "surplus": 2, "shortfall": 1, "reclaimable": 0,
        "shortfall_cost": 76.0, "errors": 1, "waived": 0,
    }  # fmt: skip
    assert [(p["cal"], p["shortfall"]) for p in document["pools"]] == [(r["cal"], int(r["shortfall"])) for r in rows]


def test_explain_shows_needs_coverage_and_rejections(run_cli: Run, exchange_se: Path) -> None:
    code, out, _ = run_cli("explain", "bob", "--as-of", AS_OF)
    assert code == 0
    assert out == (
        "person bob (Bob, employee, active) as of 2026-06-30\n"
        "reaches:\n"
        "  dc: Windows Server 2022 (everyone)\n"
        "  mail: Exchange Server SE on Windows Server 2022 (listed)\n"
        "needs:\n"
        "  OK       Windows Server CAL 2022 (User) or newer for dc, mail: covered by A-2 from WS22-U\n"
        "  MISSING  Exchange Server Standard CAL SE (User) or newer for mail\n"
        "           rejected A-4 from EXS19: Exchange Server SE needs a CAL with active Software Assurance (SA-04)\n"
        "counted in the licence position:\n"
        "  Exchange Server Standard CAL SE (User): MISSING (for mail)\n"
        "  Windows Server CAL 2022 (User): A-2 from WS22-U (for dc, mail)\n"
        "assignments:\n"
        "  A-2: WS22-U since 2024-03-01 (in force)\n"
        "  A-4: EXS19 since 2024-03-01 (in force)\n"
    )
    document = json.loads(run_cli("explain", "alice", "--as-of", AS_OF, "--format", "json")[1])
    mail = [n for n in document["needs"] if "mail" in n["deployments"]]
    assert [(n["cal"], n["deployments"], n["covered_by"]["holding"]) for n in mail] == [
        ("windows-server", ["dc", "mail"], "WS22-U"),
        ("exchange-standard", ["mail"], "CORE"),
    ]


def test_explain_unknown_id_is_a_usage_error(run_cli: Run, exchange_se: Path) -> None:
    code, _, err = run_cli("explain", "nobody", "--as-of", AS_OF)
    assert code == 2 and "no person or device with id 'nobody'" in err


def test_explain_shows_exemptions_and_version_rejections(
    run_cli: Run, estate: Callable[[dict[str, str]], Path]
) -> None:
    files = {k: v for k, v in base_files().items() if k != "calcheck.yaml"}
    files["deployments/deployments.yaml"] = (
        files["deployments/deployments.yaml"]
        .replace('"2022"', '"2025"')
        .replace("access: {everyone: true}", "access: {everyone: true}\n    exemptions: {administrators: [alice]}")
    )
    estate(files)
    out = run_cli("explain", "alice", "--as-of", AS_OF)[1]
    assert "  EXEMPT   Windows Server CAL: one of the two administrators of dc (EXM-01)\n" in out
    out = run_cli("explain", "bob", "--as-of", AS_OF)[1]
    assert (
        "  MISSING  Windows Server CAL 2025 (User) or newer for dc\n"
        "           rejected A-2 from WS22-U: a 2022 CAL is older than Windows Server 2025\n"
    ) in out


WAIVER = """\
kind: waivers
waivers:
  - id: W-1
    rule: headroom
    records: [{record}]
    owner: CFO office
    reason: Order placed.
    expires: {expires}
"""


@pytest.mark.parametrize(
    ("record", "expires", "rules", "waived"),
    [
        ("WS22-U", "2026-12-31", [], 1),
        ("OTHER", "2026-12-31", ["headroom"], 0),
        ("WS22-U", "2026-01-31", ["headroom", "waiver-expired"], 0),
    ],
)
def test_waivers_silence_only_their_records_until_they_expire(
    run_cli: Run,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    record: str,
    expires: str,
    rules: list[str],
    waived: int,
) -> None:
    files = {**base_files(), "waivers/w.yaml": WAIVER.format(record=record, expires=expires)}
    files["holdings/holdings.yaml"] = files["holdings/holdings.yaml"].replace("quantity: 3", "quantity: 2")
    if record == "OTHER":
        files["people/people.yaml"] += (
            "  - {id: OTHER, name: Other, kind: employee, status: departed, departed: 2020-01-01}\n"
        )
    write_estate(files, tmp_path / "licenses")
    monkeypatch.chdir(tmp_path)
    report = json.loads(run_cli("check", "--as-of", AS_OF, "--format", "json")[1])
    assert [f["rule"] for f in report["findings"]] == rules
    assert report["summary"]["waived"] == waived
    text = run_cli("check", "--as-of", AS_OF)[1]
    assert text.splitlines()[-1].startswith(f"OK: 0 errors, {len(rules)} warning")
    assert (", 1 waived in" in text) is (waived == 1)


def test_every_rule_cites_the_cal_rule_catalogue() -> None:
    catalogue = ROOT / "tests" / "reference" / "cal-rules.md"  # the team's catalogue, see tests/reference/refresh.py
    known = set(re.findall(r"\*\*([A-Z]{2,3}-\d{2})\*\*", catalogue.read_text(encoding="utf-8")))
    for rule in REGISTRY.values():
        cited = {s.strip() for s in rule.source.split(",")} - {"-"}
        assert cited <= known, rule.id
    licensing = [r for r in REGISTRY.values() if r.stage == "rules" and r.source != "-"]
    assert len(licensing) >= 18


def test_readme_lists_every_rule() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert [rule for rule in REGISTRY if f"`{rule}`" not in readme] == []


def test_unknown_rule_settings_are_located_at_each_id(tmp_path: Path) -> None:
    files = dict(base_files())  # a copy: base_files() is cached and shared
    files["calcheck.yaml"] += (
        "rules:\n  severity:\n    headroom: info\n    typo-rule: error\n  disabled:\n    - reclaimable\n    - other-typo\n"
    )
    root = write_estate(files, tmp_path / "licenses")
    found = [f for f in engine.check(root, dt.date(2026, 6, 30)).findings if f.rule == "config"]
    assert [(f.line, f.column, f.message) for f in found] == [
        (8, 5, "rule settings name an unknown rule 'typo-rule'"),
        (11, 7, "rule settings name an unknown rule 'other-typo'"),
    ]
