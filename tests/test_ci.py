"""CI integration: report formats (golden files), the workflows and action, pre-commit hooks, `calcheck init`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import pytest
import yaml

from calcheck.outputs.ci import escape_data, escape_property
from tests.conftest import AS_OF, ROOT

Run = Callable[..., tuple[int, str, str]]
BROKEN = ROOT / "tests" / "broken-estate"
GOLDEN = ROOT / "tests" / "golden"
SARIF_SCHEMA = ROOT / "tests" / "reference" / "sarif-schema-2.1.0.json"  # the official schema, see its refresh.py
BIN = Path(sys.executable).parent


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("CALCHECK_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


@pytest.fixture
def in_broken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BROKEN)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


@pytest.mark.parametrize("fmt", ["github", "sarif", "junit", "markdown"])
def test_formats_match_their_golden_files(fmt: str, run_cli: Run, in_broken: None) -> None:
    code, out, err = run_cli("check", "licenses", "--as-of", AS_OF, "--no-history", "--format", fmt)
    assert (code, err) == (1, "")
    golden(
        f"broken.{ {'github': 'github.txt', 'sarif': 'sarif.json', 'junit': 'junit.xml', 'markdown': 'md'}[fmt] }", out
    )


def test_workflow_command_escaping() -> None:
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_github_annotations_are_capped_and_point_to_the_summary(
    run_cli: Run, in_broken: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    out = run_cli("check", "licenses", "--as-of", AS_OF, "--no-history", "--format", "github")[1]
    commands = [line for line in out.splitlines() if line.startswith("::")]
    assert sum(line.startswith("::error ") for line in commands) == 10
    assert sum(line.startswith("::warning ") for line in commands) == 3
    assert commands[-1] == ("::notice title=calcheck::21 more findings are not annotated (GitHub shows 10 of each kind "
                            "per step); the job summary lists them all")  # fmt: skip
    table_rows = [
        line for line in summary.read_text().splitlines() if line.startswith("| error") or line.startswith("| warning")
    ]
    assert len(table_rows) == 34


def test_github_annotation_of_hostile_text(run_cli: Run, estate: Callable[[dict[str, str]], Path]) -> None:
    estate(
        {
            "people/a,b:c%.yaml": 'kind: people\npeople:\n  - {id: ann, name: Ann, kind: "x\\r\\n::error::fake", status: active}\n'
        }
    )
    out = run_cli("check", "--as-of", AS_OF, "--format", "github")[1]
    first = out.splitlines()[0]
    assert first.startswith(
        "::error file=licenses/people/a%2Cb%3Ac%25.yaml,line=3,col=32,title=schema%3A Schema violation::"
    )
    assert 'people[0].kind: "x\\r\\n::error::fake" is not one of the allowed values%0Ause one of:' in first
    assert len([line for line in out.splitlines() if line.startswith("::")]) == 1


def test_sarif_validates_against_the_official_schema(run_cli: Run, in_broken: None) -> None:
    document = json.loads(run_cli("check", "licenses", "--as-of", AS_OF, "--no-history", "--format", "sarif")[1])
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER).validate(document)
    run = document["runs"][0]
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    first = run["results"][0]
    assert rule_ids[first["ruleIndex"]] == first["ruleId"] == "unknown-reference"
    assert first["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "licenses/assignments/main.yaml", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 4, "startColumn": 24},
    }


def test_junit_has_a_case_per_rule(run_cli: Run, in_broken: None) -> None:
    root = ElementTree.fromstring(
        run_cli("check", "licenses", "--as-of", AS_OF, "--no-history", "--format", "junit")[1]
    )
    cases = {case.get("name"): case for case in root.iter("testcase")}
    from calcheck.licensing.rules import REGISTRY

    assert set(cases) == set(REGISTRY)
    assert cases["schema"].find("failure") is not None
    assert cases["audit-overdue"].find("failure") is None and cases["audit-overdue"].find("system-out") is not None
    assert root.get("failures") == str(sum(case.find("failure") is not None for case in cases.values()))


def run_tool(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / args[0]), *args[1:]], cwd=cwd, capture_output=True, text=True, check=False)


def test_workflows_and_action_match_githubs_schemas() -> None:
    workflows = sorted(str(p) for p in (ROOT / ".github" / "workflows").glob("*.yml"))
    assert len(workflows) == 2
    result = run_tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *workflows)
    assert result.returncode == 0, result.stdout + result.stderr
    result = run_tool("check-jsonschema", "--builtin-schema", "vendor.github-actions", str(ROOT / "action.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing_of_medium_severity_or_above() -> None:
    result = run_tool("zizmor", "--offline", "--min-severity", "medium", ".github/workflows", "action.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr or "0 medium, 0 high" in result.stdout


def test_inputs_reach_scripts_only_through_env() -> None:
    for path in [ROOT / "action.yml", *(ROOT / ".github" / "workflows").glob("*.yml")]:
        document = yaml.safe_load(path.read_text())
        steps = document.get("runs", {}).get("steps", []) + [
            step for job in document.get("jobs", {}).values() for step in job.get("steps", [])
        ]
        for step in steps:
            assert "${{" not in step.get("run", ""), (path.name, step.get("name"))


def action_script() -> str:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert set(action["inputs"]) >= {"path", "format", "fail-on", "sarif-file", "ratchet"}
    return next(step["run"] for step in action["runs"]["steps"] if step.get("id") == "check")


@pytest.mark.parametrize(
    ("inputs", "code", "sarif"),
    [
        ({"ESTATE": "licenses", "FORMAT": "github", "FAIL_ON": "error", "SARIF_FILE": "out.sarif"}, 0, True),
        ({"ESTATE": "licenses", "FORMAT": "text", "FAIL_ON": "warning", "SARIF_FILE": ""}, 1, False),
    ],
)
def test_the_actions_check_step_honours_its_inputs(
    inputs: dict[str, str], code: int, sarif: bool, tmp_path: Path
) -> None:
    shutil.copytree(ROOT / "licenses", tmp_path / "licenses")
    output = tmp_path / "github-output"
    env = {
        **os.environ,
        **inputs,
        "RATCHET": "",
        "AS_OF": AS_OF,
        "GITHUB_OUTPUT": str(output),
        "PATH": f"{BIN}:{os.environ['PATH']}",
    }
    env.pop("GITHUB_STEP_SUMMARY", None)
    result = subprocess.run(
        ["bash", "-c", action_script()], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == code, result.stdout + result.stderr
    assert (tmp_path / "out.sarif").is_file() is sarif
    assert output.read_text() == ("sarif-file=out.sarif\n" if sarif else "sarif-file=\n")
    if inputs["FORMAT"] == "github":
        assert "::warning file=licenses/assignments/devices.yaml" in result.stdout


def pre_commit(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ, "PRE_COMMIT_HOME": str(repo.parent / "pre-commit-home"),
        # offline: the hook's environment sees the installed packages and builds calcheck without an index
        "VIRTUALENV_SYSTEM_SITE_PACKAGES": "1", "PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0",
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x",
        "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(repo.parent / "home"),  # virtualenv's wheels, pip and rustup write there, not in the user's home
    }  # fmt: skip
    return subprocess.run(
        [str(BIN / "pre-commit"), *args], cwd=repo, env=env, capture_output=True, text=True, check=False
    )


def test_pre_commit_hooks_with_the_real_pre_commit(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "licenses", repo / "licenses")
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    ok = pre_commit(repo, "try-repo", str(ROOT), "calcheck", "--all-files")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert re.search(r"calcheck \(whole estate\)\.+Passed", ok.stdout)
    broken = repo / "licenses" / "people" / "finance.yaml"
    broken.write_text(broken.read_text().replace("status: active", "status: activ", 1))
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    for hook in ("calcheck", "calcheck-schema"):
        failed = pre_commit(repo, "try-repo", str(ROOT), hook, "--files", "licenses/people/finance.yaml")
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert (
            'licenses/people/finance.yaml:8:13: error [schema] people[0].status: "activ" is not one of the allowed values'
            in failed.stdout
        )


def test_init_scaffolds_a_repository_that_checks_and_builds(
    run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "new"
    sha = "0123456789abcdef0123456789abcdef01234567"
    code, out, _ = run_cli("init", str(target), "--date", AS_OF, "--action", f"calcheck/calcheck@{sha}")
    assert code == 0 and out.startswith("created 26 files in ")
    monkeypatch.chdir(target)
    code, out, _ = run_cli("check", "--as-of", AS_OF)
    assert (code, out) == (
        0,
        "OK: 0 errors, 0 warnings, 0 info in 8 files (Example Organisation, licenses, as of 2026-11-30)\n",
    )
    assert run_cli("site", "build", "--as-of", AS_OF)[0] == 0
    assert (target / "site" / "_build" / "html" / "index.html").is_file()
    kinds = {yaml.safe_load(p.read_text())["kind"] for p in (target / "licenses").rglob("*.yaml")}
    assert kinds == {"config", "holdings", "people", "devices", "deployments", "assignments", "audits", "waivers"}
    workflow = target / ".github" / "workflows" / "calcheck.yml"
    assert f"      - uses: calcheck/calcheck@{sha}\n" in workflow.read_text()
    assert run_tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", str(workflow)).returncode == 0
    result = run_tool("zizmor", "--offline", "--min-severity", "medium", str(workflow))
    assert result.returncode == 0, result.stdout + result.stderr


def test_init_never_overwrites(run_cli: Run, tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("mine\n")
    code, _, err = run_cli("init", str(tmp_path))
    assert code == 2 and "would overwrite README.md; nothing was written" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md"]
    assert (tmp_path / "README.md").read_text() == "mine\n"


def test_editor_settings_map_every_kind_to_its_schema() -> None:
    settings = json.loads((ROOT / ".vscode" / "settings.json").read_text())["yaml.schemas"]
    for schema, globs in settings.items():
        assert (ROOT / schema).is_file()
        kind = Path(schema).name.split(".")[0]
        files = [p for glob in globs for p in ROOT.glob(glob)]
        assert files or kind == "catalogue", schema  # the bundled estate adds nothing to the catalogue
        assert {yaml.safe_load(p.read_text())["kind"] for p in files} <= {kind}
