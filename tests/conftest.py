from __future__ import annotations

import os
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

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


@pytest.fixture(autouse=True, scope="session")
def temporary_files_stay_in_pytests_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """What the code under test, or a tool it runs (MkDocs, git, pre-commit), puts in a temporary folder lands in
    pytest's own folder for this run, never directly in /tmp."""
    folder = tmp_path_factory.mktemp("tmp")
    saved = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = tempfile.tempdir = str(folder)
    yield
    tempfile.tempdir = None
    if saved is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = saved


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
