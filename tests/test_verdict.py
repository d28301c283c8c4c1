"""Settings and waivers a pull request cannot use to turn a failing estate into a pass (issue 15, items 5 and 7)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from calcheck.licensing import engine
from calcheck.licensing.rules.example import base_files, write_estate

AS_OF = dt.date(2026, 6, 30)
NEWCOMER = "  - {id: zoe, name: Zoe, kind: employee, status: active}\n"  # reaches the domain controller, has no CAL


def check(tmp_path: Path, **changes: str) -> engine.CheckResult:
    files = dict(base_files())
    for name, text in changes.items():
        files[name.replace("__", "/").replace("_yaml", ".yaml")] = text
    return engine.check(write_estate(files, tmp_path / "licenses"), AS_OF)


def shown(result: engine.CheckResult) -> list[tuple[str, str, str, int, int]]:
    return [(f.rule, f.severity.label, Path(f.path).name, f.line, f.column) for f in result.findings]


def test_file_rules_stay_errors_whatever_the_settings_say(tmp_path: Path) -> None:
    config = base_files()["calcheck.yaml"] + (
        "rules:\n  severity: {yaml-syntax: info, schema: info, headroom: info}\n  disabled: [duplicate-key]\n"
    )
    broken = "kind: people\npeople:\n  - {id: zoe, name: Zoe, kind: employee, status: active, status: gone}\n  - [\n"
    result = check(tmp_path, calcheck_yaml=config, people__broken_yaml=broken)
    assert shown(result) == [
        ("config", "error", "calcheck.yaml", 6, 14),
        ("config", "error", "calcheck.yaml", 6, 33),
        ("config", "error", "calcheck.yaml", 7, 14),
        ("duplicate-key", "error", "broken.yaml", 3, 58),
        ("yaml-syntax", "error", "broken.yaml", 5, 1),
    ]
    assert result.findings[0].message == (
        "rule settings would change the file rule 'yaml-syntax'; file rules are always errors"
    )
    schema = "kind: people\npeople:\n  - {id: zoe, name: Zoe, kind: employee, status: gone}\n"
    result = check(tmp_path / "2", calcheck_yaml=config, people__wrong_yaml=schema)
    assert [(rule, severity) for rule, severity, *_ in shown(result)][-1] == ("schema", "error")


def test_neither_a_waiver_nor_a_setting_silences_the_refusal(tmp_path: Path) -> None:
    config = base_files()["calcheck.yaml"] + "rules:\n  severity: {schema: info, config: info}\n"
    waivers = (
        "kind: waivers\nwaivers:\n"
        "  - {id: W-1, rule: config, owner: Eve, reason: quiet, expires: 2099-01-01}\n"
        "  - {id: W-2, rule: schema, owner: Eve, reason: quiet, expires: 2099-01-01}\n"
    )
    schema = "kind: people\npeople:\n  - {id: zoe, name: Zoe, kind: employee, status: gone}\n"
    result = check(tmp_path, calcheck_yaml=config, waivers__all_yaml=waivers, people__wrong_yaml=schema)
    assert [(rule, severity, name) for rule, severity, name, *_ in shown(result)] == [
        ("config", "error", "calcheck.yaml"),
        ("schema", "error", "wrong.yaml"),
    ]
    assert result.waived == []


def test_a_waiver_with_an_empty_record_list_silences_nothing(tmp_path: Path) -> None:
    people = base_files()["people/people.yaml"] + NEWCOMER
    waivers = "kind: waivers\nwaivers:\n"
    waivers += "  - {id: W-1, rule: uncovered-access, records: [], owner: Eve, reason: none, expires: 2099-01-01}\n"
    result = check(tmp_path, people__people_yaml=people, waivers__empty_yaml=waivers)
    assert [(rule, name, line, column) for rule, _, name, line, column in shown(result)] == [
        ("uncovered-access", "people.yaml", 5, 10),
        ("schema", "empty.yaml", 3, 48),
    ]
    assert result.waived == []
    waivers = waivers.replace("records: [], ", "")  # no list at all: every record, as documented
    assert check(tmp_path / "2", people__people_yaml=people, waivers__all_yaml=waivers).findings == []
