"""`calcheck validate FILE`: the same file findings as a check, from a process that imports only what it needs."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from calcheck.estate import loading
from calcheck.estate.sources import display_path
from calcheck.licensing import engine
from calcheck.licensing.rules import REGISTRY
from tests.conftest import ROOT

Run = Callable[..., tuple[int, str, str]]
AS_OF = "2026-11-30"
ESTATES = [
    ROOT / "licenses",
    ROOT / "tests" / "broken-estate" / "licenses",
    *sorted(p / "licenses" for p in (ROOT / "tests" / "cases").iterdir() if (p / "licenses").is_dir()),
]


def _fields(finding: object) -> tuple[object, ...]:
    return tuple(getattr(finding, name) for name in ("rule", "severity", "path", "line", "column", "message", "hint"))


@pytest.mark.parametrize("estate", ESTATES, ids=lambda p: p.parent.name)
def test_validate_reports_what_check_reports_for_each_file(estate: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(estate.parent)
    result = engine.check(estate, dt.date.fromisoformat(AS_OF))
    file_rules = {rule_id for rule_id, rule in REGISTRY.items() if rule.stage == "files"}
    compared = 0
    for path in sorted(estate.rglob("*.y*ml")):
        from_check = [f for f in result.unfiltered if f.rule in file_rules and f.path == display_path(path)]
        if any(f.rule == "wrong-kind" for f in from_check):
            continue  # only a check knows the folder a file is in: validate reads the file's content alone
        assert sorted(map(_fields, loading.validate_file(path))) == sorted(map(_fields, from_check)), path
        compared += len(from_check)
    assert compared or estate.parent.name not in ("broken-estate", "nested-duplicates")


def test_validate_prints_the_file_findings_with_the_exit_code_of_check(run_cli: Run, tmp_path: Path) -> None:
    broken = ROOT / "tests" / "broken-estate" / "licenses" / "people" / "staff.yaml"
    code, out, err = run_cli("validate", "--format", "json", str(broken), str(ROOT / "licenses" / "calcheck.yaml"))
    report = json.loads(out)
    assert (code, err) == (1, "")
    assert report["files"] == 2
    assert {f["rule"] for f in report["findings"]} <= set(REGISTRY)
    assert all(f["path"].endswith("staff.yaml") for f in report["findings"]) and report["findings"]
    assert run_cli("validate", str(ROOT / "licenses" / "calcheck.yaml"))[0] == 0


# What `validate` must never load: the rest of the command line, the model, the licensing rules, git, the YAML
# round-trip editor, the site, and (for a valid file) the pure-Python jsonschema that only words errors, nor
# dataclasses (and inspect with it).
NEVER = (
    "calcheck.cli.changes",
    "calcheck.cli.editing",
    "calcheck.cli.publishing",
    "calcheck.cli.project",
    "calcheck.licensing",
    "calcheck.git",
    "calcheck.edits",
    "calcheck.site",
    "calcheck.estate.model",
    "calcheck.estate.build",
    "calcheck.estate.cache",
    "calcheck.outputs.ci",
    "git",
    "ruamel",
    "mkdocs",
    "openpyxl",
)
# The pure-Python jsonschema's own imports reach OpenSSL's hashes on some builds (Debian's Python has no built-in
# _sha512, so `random` imports hashlib): only a valid file is held to doing without them.
ONLY_WHEN_INVALID = ("jsonschema", "referencing", "dataclasses", "inspect", "_hashlib")


def _modules_after(argv: list[str], cwd: Path) -> set[str]:
    probe = (
        "import runpy, sys\n"
        f"sys.argv = {['calcheck', *argv]!r}\n"
        "try:\n    runpy.run_module('calcheck', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True, check=False)
    return set(done.stderr.split())


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == name or m.startswith(name + ".") for name in names))


def test_validate_imports_only_what_it_needs(tmp_path: Path) -> None:
    valid = tmp_path / "people.yaml"  # not ASCII: not even the fast lane is needed
    valid.write_text("kind: people\npeople:\n  - {id: u1, name: Zoë, kind: employee, status: active}\n", "utf-8")
    modules = _modules_after(["validate", str(valid)], tmp_path)
    assert "calcheck.estate.yamlload" in modules and "jsonschema_rs" in modules  # the probe saw the run
    assert _loaded(modules, (*NEVER, *ONLY_WHEN_INVALID, "calcheck.estate.fastlane")) == []


def test_validate_of_an_invalid_file_words_its_errors_and_loads_nothing_else(tmp_path: Path) -> None:
    invalid = tmp_path / "people.yaml"
    invalid.write_text("kind: people\npeople:\n  - {id: u1, name: Ann, kind: robot, status: active}\n", "utf-8")
    modules = _modules_after(["validate", str(invalid)], tmp_path)
    assert "jsonschema" in modules
    assert _loaded(modules, NEVER) == []


def test_a_check_of_the_work_tree_without_its_history_loads_no_git_code(tmp_path: Path) -> None:
    estate = tmp_path / "licenses"
    estate.mkdir()
    (estate / "people.yaml").write_text("kind: people\npeople:\n  - {id: u1, name: Ann, kind: employee}\n", "utf-8")
    modules = _modules_after(["check", "--no-history", "--no-cache", "--as-of", "2026-11-30", str(estate)], tmp_path)
    assert "calcheck.licensing.engine" in modules  # the probe saw the check
    assert _loaded(modules, ("calcheck.git", "git", "subprocess", "mkdocs", "calcheck.site")) == []
