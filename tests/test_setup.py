"""A newcomer's first hour: the README's set-up, what CI runs, the install's extras and bounds, the synopsis."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from calcheck.cli import build_parser
from calcheck.cli.synopsis import synopsis
from tests.conftest import AS_OF, ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
CI = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
Run = Callable[..., tuple[int, str, str]]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def setup_lines() -> list[str]:
    section = README.split("## Set-up\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    assert all(block.count("\n") == 1 for block in blocks), blocks
    return [block.strip() for block in blocks]


def test_the_readme_sets_up_with_two_lines_that_need_no_system_install() -> None:
    install, tests = setup_lines()
    # PEP 668: nothing is installed into the system's Python; everything goes into a virtual environment.
    assert install == "python3 -m venv .venv && .venv/bin/python -m pip install -e '.[dev]' && .venv/bin/calcheck check"
    assert tests == ".venv/bin/python -m pytest"


def test_ci_runs_the_readme_lines_verbatim_on_debians_externally_managed_python() -> None:
    lines = CI.splitlines()
    install, tests = setup_lines()
    assert install in lines and tests in lines
    before = lines[: lines.index(install)]
    assert 'git clone --quiet --no-hardlinks . "$fresh/calcheck"' in before and 'cd "$fresh/calcheck"' in before
    assert 'export PATH="/usr/bin:$PATH"' in before  # python3 is Debian's own
    assert any("EXTERNALLY-MANAGED" in line for line in before)  # and proven externally managed first
    assert any(line.startswith('export PIP_CONSTRAINT="$PWD/.ci/constraints.txt"') for line in before)
    assert lines.index(tests) < lines.index('export PIP_CONSTRAINT="$PWD/.ci/lowest.txt"')
    assert lines[-1] == ".venv-lowest/bin/python -m pytest -p no:cacheprovider"


def test_the_readme_says_what_the_bundled_check_prints() -> None:
    claim = re.search(r"`(OK: [^`]*) …\)`", README.split("## Set-up\n", 1)[1])
    assert claim is not None
    done = subprocess.run(
        [sys.executable, "-m", "calcheck", "check", "--as-of", AS_OF],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == f"{claim.group(1)} {AS_OF})"
    assert len([line for line in done.stdout.splitlines() if ": warning [" in line]) == 4


def requirements(names: list[str]) -> list[Requirement]:
    return [Requirement(text) for text in names]


def test_the_lean_install_is_the_checker_alone() -> None:
    names = {r.name.lower() for r in requirements(PROJECT["dependencies"])}
    assert names == {"pyyaml", "jsonschema", "referencing", "jsonschema-rs", "gitpython", "ruamel.yaml"}
    extras = PROJECT["optional-dependencies"]
    assert {r.name.lower() for r in requirements(extras["site"])} == {"mkdocs", "mkdocs-material"}
    assert {r.name.lower() for r in requirements(extras["xlsx"])} == {"openpyxl"}
    assert "calcheck[site,xlsx]" in extras["dev"]


def test_every_extra_a_message_names_exists() -> None:
    named = set()
    for path in [*(ROOT / "calcheck").rglob("*.py"), ROOT / "README.md", ROOT / "action.yml"]:
        named |= set(re.findall(r"calcheck\[([a-z,]+)\]", path.read_text(encoding="utf-8")))
    extras = {name for group in named for name in group.split(",")}
    assert extras and extras <= set(PROJECT["optional-dependencies"]), extras


def test_0x_packages_are_bounded_above_and_jsonschema_rs_starts_where_it_works() -> None:
    every = requirements(PROJECT["dependencies"]) + [
        r for group in ("site", "xlsx") for r in requirements(PROJECT["optional-dependencies"][group])
    ]
    for requirement in every:
        lower = next(s.version for s in requirement.specifier if s.operator == ">=")
        if lower.startswith("0."):
            assert any(s.operator == "<" for s in requirement.specifier), requirement
    rs = next(r for r in every if r.name == "jsonschema-rs")
    assert not rs.specifier.contains("0.34.0") and rs.specifier.contains("0.35.0")


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            found[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    return found


def test_the_lowest_job_pins_every_lower_bound_and_the_lock_fits_the_bounds() -> None:
    lowest, lock = pins(ROOT / ".ci" / "lowest.txt"), pins(ROOT / ".ci" / "constraints.txt")
    every = requirements(PROJECT["dependencies"]) + [
        r for group in ("site", "xlsx") for r in requirements(PROJECT["optional-dependencies"][group])
    ]
    for requirement in every:
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        lower = next(s.version for s in requirement.specifier if s.operator == ">=")
        assert Version(lowest[name]) == Version(lower), (name, lowest[name], lower)
        assert requirement.specifier.contains(lock[name]), (name, lock[name])


def test_the_readme_synopsis_is_the_parsers() -> None:
    generated = synopsis(build_parser()[0])
    start, end = (
        "<!-- synopsis:start (generated from the argument parser; a test keeps it equal) -->\n```text\n",
        "```\n<!-- synopsis:end -->",
    )
    if os.environ.get("CALCHECK_UPDATE_GOLDEN"):
        head, rest = README.split(start, 1)
        (ROOT / "README.md").write_text(head + start + generated + end + rest.split(end, 1)[1], encoding="utf-8")
    assert README.split(start, 1)[1].split(end, 1)[0] == generated


# --- the CLI and the README agree ---------------------------------------------------------------------------------


def test_export_has_no_output_option_to_ignore(run_cli: Run, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        run_cli("export", "licenses", "--to", "x", "--output", "y")
    assert stopped.value.code == 2 and "unrecognized arguments: --output y" in capsys.readouterr().err


def test_validate_of_a_missing_file_is_a_usage_error(run_cli: Run, tmp_path: Path) -> None:
    assert run_cli("validate", str(tmp_path / "none.yaml")) == (
        2,
        "",
        f"calcheck: error: {tmp_path}/none.yaml: no such file\n",
    )
    assert run_cli("validate", str(tmp_path)) == (2, "", f"calcheck: error: {tmp_path}: not a file\n")


def test_help_texts_tell_what_the_commands_do() -> None:
    parser = build_parser()[0]
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    history = commands["history"]
    assert "oldest first" in (history.description or "")
    assert next(a for a in history._actions if "--as-of" in a.option_strings).help == (
        "only changes committed on or before DATE"
    )
    audit = next(a for a in commands["audit"]._actions if isinstance(a, argparse._SubParsersAction)).choices["record"]
    identifier = next(a for a in audit._actions if "--id" in a.option_strings).help or ""
    assert "AUD-2026-Q3 then AUD-2026-Q4" in identifier  # what next_id does with the bundled estate's numbering


# --- site serve ---------------------------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "site", tmp_path / "site", ignore=shutil.ignore_patterns("_build"))
    shutil.copytree(ROOT / "licenses", tmp_path / "licenses")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_site_serve_on_a_taken_port_says_so_in_one_line(run_cli: Run, project: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        code, out, err = run_cli("site", "serve", "licenses", "--dev-addr", address)
    assert (code, out) == (2, "")
    assert err == (
        f"calcheck: error: cannot serve on {address}: Address already in use; choose another with --dev-addr HOST:PORT\n"
    )
    assert not (project / "site" / "_build").exists()  # refused before anything was generated


def _ctrl_c_as_in_a_terminal() -> None:
    """In the child before it starts: Ctrl-C's default action, as a terminal's foreground command has it. A test run
    started in the background of a script inherits SIGINT ignored, and Python keeps it ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_site_serve_cleans_up_after_ctrl_c(project: Path) -> None:
    scratch = project / "tmp"
    scratch.mkdir()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "calcheck", "site", "serve", "licenses", "--as-of", AS_OF,
               "--dev-addr", f"127.0.0.1:{port}"]  # fmt: skip
    env = {**os.environ, "TMPDIR": str(scratch), "NO_COLOR": "1"}
    process = subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True, text=True, preexec_fn=_ctrl_c_as_in_a_terminal)  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not any(scratch.rglob("*.html")):
            time.sleep(0.2)  # the server has built the site into its temporary folder
        assert any(scratch.rglob("*.html"))
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group is interrupted
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 130 and err.splitlines()[-1] == "calcheck: interrupted"
    assert list(scratch.iterdir()) == []


# --- what a lean install says ---------------------------------------------------------------------------------------


def test_without_the_site_extra_site_commands_name_it(
    run_cli: Run, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "material", None)  # as if Material for MkDocs were not installed
    for action in ("build", "serve"):
        assert run_cli("site", action, "licenses") == (
            2,
            "",
            "calcheck: error: MkDocs with Material for MkDocs is not installed: pip install 'calcheck[site]'\n",
        )


def test_without_the_xlsx_extra_the_xlsx_export_names_it(
    run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "openpyxl", None)
    code, _, err = run_cli("export", str(ROOT / "licenses"), "--as-of", AS_OF, "--no-history", "--format", "xlsx",
                           "--to", str(tmp_path / "out"))  # fmt: skip
    assert (code, err) == (2, "calcheck: error: XLSX export needs openpyxl: pip install 'calcheck[xlsx]'\n")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("extras", "code", "argument"),
    [("", 0, "/action"), ("site", 0, "/action[site]"), ("site,xlsx", 0, "/action[site,xlsx]"), ("site;x", 2, None)],
)
def test_the_action_installs_the_lean_package_unless_asked_for_extras(
    extras: str, code: int, argument: str | None, tmp_path: Path
) -> None:
    import yaml

    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    script = next(step["run"] for step in action["runs"]["steps"] if step.get("name") == "Install calcheck")
    fake = tmp_path / "bin" / "python"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho "$@"\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake.parent}:{os.environ['PATH']}", "ACTION_PATH": "/action", "EXTRAS": extras}
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == code, done.stderr
    if argument is not None:
        assert done.stdout == f"-m pip install --disable-pip-version-check --quiet {argument}\n"
