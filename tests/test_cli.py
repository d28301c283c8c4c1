"""The command line: output formats, exit codes, and no traceback ever."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from calcheck import __version__
from calcheck.licensing import engine
from tests.conftest import AS_OF, ROOT

Run = Callable[..., tuple[int, str, str]]
PEOPLE = "kind: people\npeople:\n  - {id: ann, name: Ann, kind: employee, status: active}\n"


def test_bundled_estate_is_compliant(run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code, out, err = run_cli("check", "--as-of", AS_OF, "--no-history")
    assert (code, err) == (0, "")
    assert out == (ROOT / "tests" / "bundled" / "check.txt").read_text(encoding="utf-8")
    assert [line.split(" [")[1].split("]")[0] for line in out.splitlines() if " [" in line] == [
        "reclaimable",
        "reclaimable",
        "reclaimable",
        "headroom",
    ]


def test_bundled_estate_report_is_the_one_in_the_readme(run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code, out, _ = run_cli("report", "--as-of", AS_OF, "--no-history")
    assert code == 0
    assert out == (ROOT / "tests" / "bundled" / "report.txt").read_text(encoding="utf-8")
    assert out.splitlines()[-1].startswith("COMPLIANT as of 2026-11-30: shortfall 0 CALs (0.00 EUR)")
    assert out in (ROOT / "README.md").read_text(encoding="utf-8")


def test_default_estate_is_found_from_a_subfolder(run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT / "licenses" / "people")
    code, out, _ = run_cli("check", "--as-of", AS_OF, "--no-history")
    assert code == 0 and f"(Fabrikam Logistics Ltd, {ROOT.as_posix()}/licenses, as of" in out


def test_a_finding_is_one_line_with_a_hint(run_cli: Run, estate: Callable[[dict[str, str]], Path]) -> None:
    estate({"people/a.yaml": PEOPLE.replace("active}", "activ}")})
    code, out, _ = run_cli("check", "--as-of", AS_OF)
    assert code == 1
    assert out.splitlines() == [
        'licenses/people/a.yaml:3:50: error [schema] people[0].status: "activ" is not one of the allowed values',
        "    hint: use one of: active, on-leave, departed",
        "FAIL: 1 error, 0 warnings, 0 info in 2 files (Example Ltd, licenses, as of 2026-11-30)",
    ]


def test_json_report_is_versioned_with_the_tool_first(run_cli: Run, estate: Callable[[dict[str, str]], Path]) -> None:
    estate({"people/a.yaml": PEOPLE + "  - {id: ann, name: Ann2, kind: employee, status: active}\n"})
    code, out, _ = run_cli("check", "--format", "json", "--as-of", AS_OF)
    report = json.loads(out)
    assert code == 1
    assert list(report)[:2] == ["tool", "format_version"]
    assert report["tool"] == {"name": "calcheck", "version": __version__}
    assert report["summary"] == {"errors": 1, "warnings": 0, "info": 0, "failed": True, "fail_on": "error", "waived": 0}
    assert report["findings"] == [
        {
            "rule": "duplicate-id", "severity": "error", "path": "licenses/people/a.yaml", "line": 4, "column": 10,
            "message": "person id 'ann' is already used at licenses/people/a.yaml:3",
            "hint": "give every record its own id; ids are never reused",
        }
    ]  # fmt: skip


def test_fail_on_and_severity_overrides(run_cli: Run, estate: Callable[[dict[str, str]], Path]) -> None:
    config = "kind: config\norganisation: X\nrules:\n  severity: {duplicate-id: warning}\n  disabled: [audit-overdue]\n"
    estate(
        {"calcheck.yaml": config, "people/a.yaml": PEOPLE + "  - {id: ann, name: B, kind: employee, status: active}\n"}
    )
    assert run_cli("check", "--as-of", AS_OF)[0] == 0
    assert run_cli("check", "--as-of", AS_OF, "--fail-on", "warning")[0] == 1


def test_disabled_rules_are_not_reported_but_file_errors_always_are(
    run_cli: Run, estate: Callable[[dict[str, str]], Path]
) -> None:
    config = "kind: config\norganisation: X\nrules:\n  disabled: [duplicate-id, schema, audit-overdue]\n"
    estate(
        {"calcheck.yaml": config, "people/a.yaml": PEOPLE + "  - {id: ann, name: B, kind: employee, status: activ}\n"}
    )
    code, out, _ = run_cli("check", "--as-of", AS_OF)
    assert code == 1
    # disabling a file rule is itself an error, located at the setting (and the file rule still runs)
    assert [line.split(" [")[1].split("]")[0] for line in out.splitlines() if " [" in line] == ["config", "schema"]


def test_colour_only_when_asked_or_on_a_terminal(run_cli: Run, estate: Callable[[dict[str, str]], Path]) -> None:
    estate({"people/a.yaml": "kind: people\npeople: 3\n"})
    assert "\033[" not in run_cli("check")[1]
    assert "\033[31merror" in run_cli("check", "--color", "always")[1]


def test_hostile_strings_cannot_break_the_line_format(run_cli: Run, estate: Callable[[dict[str, str]], Path]) -> None:
    estate(
        {
            "people/a.yaml": 'kind: people\npeople:\n  - {id: ann, name: Ann, kind: "x\\n/etc/p:1:1: error [fake]\\u202e", status: active}\n'
        }
    )
    code, out, _ = run_cli("check")
    assert code == 1
    first = out.splitlines()[0]
    assert first.endswith('"x\\n/etc/p:1:1: error [fake]\\u202e" is not one of the allowed values')
    assert len(out.splitlines()) == 3


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["check", "no/such/folder"], "no/such/folder: not a directory"),
        (["rules", "no-such-rule"], "unknown rule 'no-such-rule'"),
    ],
)
def test_usage_errors_exit_2(
    run_cli: Run, argv: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(*argv)
    assert (code, out) == (2, "")
    assert err == f"calcheck: error: {message}" + (
        " (give the estate folder, e.g. licenses/)\n" if argv[0] == "check" else "; run 'calcheck rules' for the list\n"
    )


def test_bad_option_values_exit_2(run_cli: Run) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_cli("check", "--as-of", "2026-02-30")
    assert exit_info.value.code == 2


def test_no_estate_found_exits_2(run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_cli("check")[0] == 2


def test_internal_error_exits_3_without_traceback(
    run_cli: Run, estate: Callable[[dict[str, str]], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    estate({})

    def explode(*_: object) -> None:
        raise ValueError("boom")

    monkeypatch.setattr(engine, "run_rules", explode)
    code, out, err = run_cli("check")
    assert (code, out) == (3, "")
    assert err.startswith("calcheck: internal error: ValueError: boom\n")
    assert "Traceback" not in err


def test_output_file_is_written(run_cli: Run, estate: Callable[[dict[str, str]], Path], tmp_path: Path) -> None:
    estate({})
    code, out, _ = run_cli("check", "--format", "json", "-o", str(tmp_path / "report.json"))
    assert (code, out) == (0, "")
    assert json.loads((tmp_path / "report.json").read_text())["summary"]["failed"] is False


def test_rules_lists_every_rule_and_documents_one(run_cli: Run) -> None:
    from calcheck.licensing.rules import REGISTRY

    code, out, _ = run_cli("rules")
    assert code == 0 and len(out.splitlines()) == len(REGISTRY)
    code, out, _ = run_cli("rules", "duplicate-key")
    assert code == 0 and out.startswith("duplicate-key: Duplicate mapping key\nseverity: error\n")


@pytest.mark.parametrize(
    "command", [[sys.executable, "-m", "calcheck"], [str(Path(sys.executable).parent / "calcheck")]]
)
def test_real_process_entry_points(command: list[str]) -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    result = subprocess.run(
        [*command, "check", "licenses", "--as-of", AS_OF, "--no-history"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines()[-1].startswith("OK: 0 errors, 4 warnings")
    broken = subprocess.run(
        [*command, "check", "licenses", "--no-history"],
        cwd=ROOT / "tests" / "broken-estate",
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert broken.returncode == 1 and "Traceback" not in broken.stderr
