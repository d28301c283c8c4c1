"""Example estates with the exact expected output beside them (expected.txt)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import AS_OF, ROOT

CASES = sorted([ROOT / "tests" / "broken-estate", *(ROOT / "tests" / "cases").iterdir()])


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_expected_output(
    case: Path, run_cli: Callable[..., tuple[int, str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(case)
    # --no-history: these estates live in calcheck's own repository, whose history is not theirs to judge
    code, out, err = run_cli("check", "licenses", "--as-of", AS_OF, "--color", "never", "--no-history")
    expected_file = case / "expected.txt"
    if os.environ.get("CALCHECK_UPDATE_GOLDEN"):
        expected_file.write_text(out, encoding="utf-8")
    assert err == ""
    assert out == expected_file.read_text(encoding="utf-8")
    assert code == (1 if "FAIL:" in out.splitlines()[-1] else 0)


def test_broken_estate_shows_every_file_and_integrity_rule() -> None:
    from calcheck.licensing.rules import files, integrity

    text = (ROOT / "tests" / "broken-estate" / "expected.txt").read_text(encoding="utf-8")
    shown = {
        line.split("[", 1)[1].split("]", 1)[0]
        for line in text.splitlines()
        if ": error [" in line or ": warning [" in line
    }
    expected = {
        rule.id
        for rule in (*files.RULES, *integrity.RULES)
        if rule.id not in {"file-too-large", "unreadable-file", "yaml-too-deep", "yaml-alias-bomb", "estate-link"}
    }
    assert expected <= shown
