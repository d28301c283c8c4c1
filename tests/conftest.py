from __future__ import annotations

import os
import shutil
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from calcheck.cli import main

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-11-30"

# Small test estates have no audit history; the audit rule has tests of its own.
MINIMAL_CONFIG = """\
kind: config
organisation: Example Ltd
rules:
  disabled: [audit-overdue]
"""


def site_history(estate: Path) -> list[Any]:
    """The history entries a site build of ``estate`` shows (on AS_OF)."""
    import datetime as dt

    from calcheck.estate import loading
    from calcheck.git.timeline import history_with_timeline

    return history_with_timeline(estate, dt.date.fromisoformat(AS_OF), loading.builtin_cal_names())[0]


_OWN_BASETEMP = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    """Each run's temporary folders live in one folder of its own, removed when the run ends (pytest would keep
    /tmp/pytest-of-<user>/ and its last three runs), unless --basetemp names one."""
    if config.option.basetemp is None:
        own = Path(tempfile.mkdtemp(prefix="calcheck-tests-"))
        config.stash[_OWN_BASETEMP] = own
        config.option.basetemp = str(own / "run")


def pytest_unconfigure(config: pytest.Config) -> None:
    own = config.stash.get(_OWN_BASETEMP, None)
    if own is not None:
        shutil.rmtree(own, ignore_errors=True)


@pytest.fixture(autouse=True, scope="session")
def _file_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The loaded-file cache lives in the session's temporary folder, never in the home folder."""
    folder = tmp_path_factory.mktemp("calcheck-cache")
    previous = os.environ.get("CALCHECK_CACHE_DIR")
    os.environ["CALCHECK_CACHE_DIR"] = str(folder)
    yield
    shutil.rmtree(folder, ignore_errors=True)
    if previous is None:
        os.environ.pop("CALCHECK_CACHE_DIR", None)
    else:
        os.environ["CALCHECK_CACHE_DIR"] = previous


@pytest.fixture(autouse=True, scope="session")
def temporary_files_stay_in_pytests_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """What the code under test, or a tool it runs (MkDocs, git, pre-commit, Chromium), puts in a temporary folder or
    a per-user cache or configuration folder lands in pytest's own folder for this run, never in /tmp or $HOME."""
    folder = tmp_path_factory.mktemp("tmp")
    redirected = {
        "TMPDIR": folder,
        "XDG_CACHE_HOME": folder / "cache",
        "XDG_CONFIG_HOME": folder / "config",
        "XDG_DATA_HOME": folder / "data",
        "XDG_STATE_HOME": folder / "state",
    }
    saved = {name: os.environ.get(name) for name in redirected}
    os.environ.update({name: str(path) for name, path in redirected.items()})
    tempfile.tempdir = str(folder)
    yield
    tempfile.tempdir = None
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def estate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, str]], Path]:
    """Write a small estate below tmp_path/licenses (config included unless given) and chdir there."""

    def write(files: dict[str, str]) -> Path:
        root = tmp_path / "licenses"
        files = {"calcheck.yaml": MINIMAL_CONFIG, **files}
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        monkeypatch.chdir(tmp_path)
        return root

    return write
