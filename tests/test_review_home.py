"""Review: the tests that start other programs (pre-commit and its virtualenv, Chromium) leave nothing in $HOME."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_the_tests_that_start_other_programs_write_nothing_in_the_home_folder(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    selected = [
        "tests/test_ci.py::test_pre_commit_hooks_with_the_real_pre_commit",
        "tests/test_site_browser.py::test_dashboard_people_search_and_no_outside_requests",
    ]
    env = {**os.environ, "HOME": str(home)}
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "PYTEST_ADDOPTS"):
        env.pop(name, None)
    run = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "t"), *selected]
    done = subprocess.run(run, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-2000:]
    # was: .cache/virtualenv, .rustup/settings.toml (the hook's environment), .config/chromium and .cache/dconf
    assert sorted(p.relative_to(home).as_posix() for p in home.rglob("*")) == []
