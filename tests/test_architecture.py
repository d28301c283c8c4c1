"""The folders are the layers: import-linter holds the contracts in pyproject.toml."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_import_contracts_are_kept() -> None:
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert command is not None, "import-linter is a dev dependency: pip install -e '.[dev]'"
    done = subprocess.run([command, "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 kept, 0 broken" in done.stdout


def test_each_layer_says_what_it_may_import() -> None:
    for package in ("core", "estate", "licensing", "git", "edits", "outputs", "site", "cli"):
        doc = (ROOT / "calcheck" / package / "__init__.py").read_text(encoding="utf-8")
        assert doc.startswith('"""') and len(doc) > 150, package
        assert "import" in doc, package
