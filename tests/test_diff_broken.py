"""``diff`` of a generated history of real shapes, with uncommitted edits besides (files edited, removed, added,
broken, with a key twice, and a link out of the estate), on one core and with parsing workers forked for any amount
of work: the answer two whole checks give."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from calcheck.cli.common import check_at
from calcheck.estate import parallel
from calcheck.licensing.diff import compare
from calcheck.outputs.diffview import RENDERERS
from tests.conftest import ROOT

AS_OF = dt.date(2026, 11, 30)
GENERATE = ROOT / "tests" / "benchmarks" / "generate.py"


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated estate of real shapes with twelve commits of reassignments."""
    top = tmp_path_factory.mktemp("diff-broken") / "repo"
    command = [sys.executable, str(GENERATE), str(top), "--assignments", "3000", "--people", "1800",
               "--devices", "1200", "--holdings", "30", "--deployments", "15", "--commits", "12"]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True)
    return top


def _edit_work_tree(root: Path, broken: bool) -> None:
    """Uncommitted changes besides: a file edited, one removed, one added; ``broken``: and one that does not parse,
    one with a key twice and a link out of the estate."""
    people = sorted((root / "people").glob("*.yaml"))
    assignments = sorted((root / "assignments").glob("*.yaml"))
    text = people[0].read_text(encoding="utf-8")
    people[0].write_text(text.replace("kind: people", "kind: people  # checked again", 1), encoding="utf-8")
    assignments[-1].unlink()
    (root / "people" / "zz-new.yaml").write_text(
        'kind: people\npeople:\n  - {id: zz-1, name: "Zoë Nouvelle", kind: employee, status: active}\n',
        encoding="utf-8",
    )
    if broken:
        assignments[0].write_text(assignments[0].read_text(encoding="utf-8") + "\n  - {id: [unclosed\n")
        text = people[1].read_text(encoding="utf-8")
        people[1].write_text(text.replace("kind: people", "kind: people\nkind: people", 1), encoding="utf-8")
        (root / "people" / "zz-link.yaml").symlink_to(people[2])


@pytest.mark.parametrize(("jobs", "broken"), [("2", False), ("1", False), ("2", True)])
def test_a_diff_with_uncommitted_and_broken_files_is_two_whole_checks(
    jobs: str,
    broken: bool,
    history: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    run_cli: Callable[..., tuple[int, str, str]],
) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["cp", "-a", str(history), str(repo)], check=True)
    root = repo / "licenses"
    _edit_work_tree(root, broken)
    monkeypatch.chdir(repo)
    monkeypatch.setenv("CALCHECK_JOBS", jobs)
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)  # workers forked for any amount of work
    expected = {}
    for base, head in (("HEAD~6", None), ("HEAD~9", "HEAD~2")):
        sides = check_at(root, base, AS_OF, True), check_at(root, head, AS_OF, True)
        expected[base, head] = compare(*sides, base, head or "working tree")

    for (base, head), diff in expected.items():
        for form in RENDERERS:
            args = ["diff", base, *([head] if head else []), "--as-of", AS_OF.isoformat(), "--format", form]
            code, out, err = run_cli(*args, "--no-cache", "--path", "licenses")
            assert (code, err) == (0, "")
            assert out.rstrip("\n") == RENDERERS[form](diff).rstrip("\n")
            if broken:
                assert all((rule in out) == (head is None) for rule in ("yaml-syntax", "duplicate-key", "estate-link"))
