"""Review of edits and imports answered from a kept decision: each is what the same command planned anew
(``--no-cache``) says and writes, whatever changed between the two that the key might not hold."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from calcheck.licensing.rules.example import base_files, write_estate
from tests.test_git import ASSIGNMENTS, PEOPLE

Run = Callable[..., tuple[int, str, str]]


def _files(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def _estate(root: Path) -> Path:
    estate = write_estate({**base_files(), "people/people.yaml": PEOPLE}, root / "licenses")
    (estate / "assignments" / "assignments.yaml").write_text(ASSIGNMENTS)
    (root / "schemas").mkdir()
    return estate


def _restored(estate: Path, pristine: Path) -> None:
    shutil.rmtree(estate)
    shutil.copytree(pristine, estate, symlinks=True)


def test_a_kept_edit_is_not_taken_for_an_estate_a_link_now_sends_elsewhere(
    run_cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A new file's schema line is the way from it to the schemas beside the folder the estate's link leads to:
    the link retargeted to a copy of the same files after a dry run, the edit writes what planning anew writes."""
    monkeypatch.setenv("CALCHECK_CACHE_DIR", str(tmp_path / "cache"))
    first, second = _estate(tmp_path / "first"), _estate(tmp_path / "second")
    pristine = tmp_path / "pristine"
    shutil.copytree(second, pristine)
    link = tmp_path / "work" / "repository"  # (an estate folder that is a link itself is not read)
    link.parent.mkdir()
    monkeypatch.chdir(link.parent)
    options = ("--path", "repository/licenses", "--as-of", "2026-03-15")
    for edit in (
        ("assign", "WS22-U", "--person", "carol", "--file", "repository/licenses/assignments/more.yaml"),
        ("audit", "record", "--auditor", "Dana", "--date", "2027-01-04"),
    ):
        link.unlink(missing_ok=True)
        link.symlink_to(first.parent)
        dry = run_cli(*edit, *options, "--dry-run")
        assert dry[0] == 0, dry
        link.unlink()
        link.symlink_to(second.parent)
        kept = run_cli(*edit, *options), _files(second)
        _restored(second, pristine)
        anew = run_cli(*edit, *options, "--no-cache"), _files(second)
        assert kept == anew and anew[0][0] == 0
        _restored(second, pristine)
