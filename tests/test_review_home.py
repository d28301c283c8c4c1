"""Review: the tests that start other programs (pre-commit and its virtualenv, Chromium) leave nothing in $HOME."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.conftest import ROOT


def test_the_tests_that_start_other_programs_write_nothing_in_the_home_folder(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    selected = [
        "tests/test_ci.py::test_pre_commit_hooks_with_the_real_pre_commit",
        "tests/test_site_browser.py::test_hostile_data_runs_no_script",
    ]
    env = {**os.environ, "HOME": str(home)}
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "PYTEST_ADDOPTS"):
        env.pop(name, None)
    # A short folder of its own: Chromium's socket path under a nested pytest folder would pass the 108-byte limit.
    base = Path(tempfile.mkdtemp(prefix="cc-", dir="/tmp"))
    run = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp", str(base / "t"), *selected]
    try:
        done = subprocess.run(run, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert done.returncode == 0, done.stdout[-2000:]
    # was: .cache/virtualenv, .rustup/settings.toml (the hook's environment), .config/chromium and .cache/dconf
    assert sorted(p.relative_to(home).as_posix() for p in home.rglob("*")) == []
