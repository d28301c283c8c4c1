"""``diff`` parses the head's files that differ from the base in a forked process while it judges the base (one
core): the answer is the one two whole checks give, and each such file is parsed once, by that process."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from calcheck.cli.common import check_at
from calcheck.estate import loading, parallel
from calcheck.licensing.diff import compare
from calcheck.outputs.diffview import RENDERERS
from tests.conftest import ROOT

AS_OF = dt.date(2026, 11, 30)
GENERATE = ROOT / "tests" / "benchmarks" / "generate.py"


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated estate of real shapes with twelve commits of reassignments."""
    top = tmp_path_factory.mktemp("diff-meanwhile") / "repo"
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


def _parses(log: Path) -> Counter[tuple[int, str, str]]:
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return Counter((int(pid), relative, digest) for pid, relative, digest in (line.split(" ") for line in lines))


@pytest.mark.parametrize(("jobs", "broken"), [("2", False), ("1", False), ("2", True)])
def test_the_files_that_differ_are_parsed_meanwhile_and_the_diff_is_two_whole_checks(
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
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)  # forked for any amount of work
    expected = {}
    for base, head in (("HEAD~6", None), ("HEAD~9", "HEAD~2")):
        sides = check_at(root, base, AS_OF, True), check_at(root, head, AS_OF, True)
        expected[base, head] = compare(*sides, base, head or "working tree")

    log = tmp_path / "parsed"
    parse = loading._parse

    def recording(item: loading._Pending) -> object:  # (also in forked processes: a line each, appended)
        with log.open("a", encoding="utf-8") as out:
            out.write(f"{os.getpid()} {item.relative} {hashlib.sha256(item.raw).hexdigest()}\n")
        return parse(item)

    monkeypatch.setattr(loading, "_parse", recording)
    for (base, head), diff in expected.items():
        for form in RENDERERS:
            log.unlink(missing_ok=True)
            args = ["diff", base, *([head] if head else []), "--as-of", AS_OF.isoformat(), "--format", form]
            code, out, err = run_cli(*args, "--no-cache", "--path", "licenses")
            assert (code, err) == (0, "")
            assert out.rstrip("\n") == RENDERERS[form](diff).rstrip("\n")
            if broken:
                assert all((rule in out) == (head is None) for rule in ("yaml-syntax", "duplicate-key", "estate-link"))
                continue  # (a link found: the head is read whole, and a file may be read again)
            parses = _parses(log)
            assert max(parses.values()) == 1  # no version of a file parsed twice
            changed = _changed(repo, base, head)
            assert changed  # (the sides differ)
            heads = [key for key in parses if (key[1], key[2]) in changed]
            assert sorted((relative, digest) for _, relative, digest in heads) == sorted(changed)
            if jobs == "2":  # all by one other process (the files a whole check reads are shared with this one)
                assert len({pid for pid, _, _ in heads}) == 1 and heads[0][0] != os.getpid()


def _changed(repo: Path, base: str, head: str | None) -> set[tuple[str, str]]:
    """The head's versions of the files that differ from the base: (estate-relative path, SHA-256 of the bytes)."""
    names = subprocess.run(
        ["git", "diff", "--name-only", "--no-renames", base, *([head] if head else []), "--", "licenses"],
        cwd=repo, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    untracked = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard", "licenses"], cwd=repo, capture_output=True, text=True,
        check=True,
    ).stdout.split()  # fmt: skip
    found = set()
    for name in [*names, *(untracked if head is None else [])]:
        if head is None:
            path = repo / name
            raw = path.read_bytes() if path.exists() else None
        else:
            shown = subprocess.run(["git", "show", f"{head}:{name}"], cwd=repo, capture_output=True, check=False)
            raw = shown.stdout if shown.returncode == 0 else None
        if raw is not None:
            found.add((name.removeprefix("licenses/"), hashlib.sha256(raw).hexdigest()))
    return found
