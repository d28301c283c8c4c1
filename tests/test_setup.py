"""A newcomer's first hour: the README's set-up, what CI runs, the install's extras and bounds, the synopsis."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

from calcheck.cli import build_parser
from calcheck.cli.synopsis import synopsis
from tests.conftest import AS_OF, ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
CI = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
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
    assert 'export PATH="/usr/bin:$PATH"' in before  # python3 is Debian's own
    assert any("EXTERNALLY-MANAGED" in line for line in before)  # and proven externally managed first
    assert any(line.startswith('export PIP_CONSTRAINT="$PWD/ci/constraints.txt"') for line in before)
    assert lines.index(tests) < lines.index('export PIP_CONSTRAINT="$PWD/ci/lowest.txt"')
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
    lowest, lock = pins(ROOT / "ci" / "lowest.txt"), pins(ROOT / "ci" / "constraints.txt")
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
