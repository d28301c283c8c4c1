"""What a command read is freed when ``main`` is called in-process, and left to the operating system when the
process is about to exit (freeing millions of records one by one costs about a tenth of a check)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from calcheck.cli import common, main
from tests.conftest import AS_OF, ROOT


def test_main_with_arguments_keeps_nothing(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["check", "--as-of", AS_OF, "--no-history", "--no-cache"]) == 0
    assert common._READ == []
    assert capsys.readouterr().out == (ROOT / "tests" / "bundled" / "check.txt").read_text(encoding="utf-8")


def test_the_process_entry_leaves_the_result_to_the_exit() -> None:
    probe = (
        "import gc, sys\n"
        "from calcheck.cli import common, main\n"
        "from calcheck.licensing.engine import CheckResult\n"
        f"sys.argv = ['calcheck', 'check', '--as-of', {AS_OF!r}, '--no-history', '--no-cache']\n"
        "code = main()\n"
        "kept = common._READ\n"
        "assert kept[-1] is kept, 'kept in a cycle'\n"
        "assert any(isinstance(item, CheckResult) for item in kept)\n"
        "assert gc.get_freeze_count() > 0, 'in the permanent generation'\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=False)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (ROOT / "tests" / "bundled" / "check.txt").read_text(encoding="utf-8")
