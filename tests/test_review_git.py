"""Review of git reading: commit texts that could forge or break history entries."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from calcheck.licensing.rules.example import base_files, write_estate

Run = Callable[..., tuple[int, str, str]]
ASSIGNMENTS = """\
kind: assignments
assignments:
  - {id: A-1, holding: WS22-U, person: alice, since: 2026-01-05}
"""
FORGED = "0123456789abcdef0123456789abcdef01234567"


def git(repo: Path, *args: str, author: str = "Dana Admin", date: str = "2026-01-05T09:00:00+00:00") -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": "dana@example.com",
        "GIT_COMMITTER_NAME": "Dana Admin", "GIT_COMMITTER_EMAIL": "dana@example.com",
        "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date,
        "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
    }  # fmt: skip
    return subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, check=True).stdout.decode()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    estate = write_estate(base_files(), root / "licenses")
    (estate / "assignments" / "assignments.yaml").write_text(ASSIGNMENTS)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Initial estate")
    monkeypatch.chdir(root)
    return root


def _change(repo: Path, message: str, author: str = "Dana Admin") -> str:
    path = repo / "licenses" / "assignments" / "assignments.yaml"
    path.write_text(ASSIGNMENTS.replace("since: 2026-01-05", "since: 2026-01-05, until: 2026-03-01"))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, author=author, date="2026-03-01T09:00:00+00:00")
    return git(repo, "rev-parse", "--short=7", "HEAD").strip()


def test_a_commit_subject_cannot_forge_a_history_entry(repo: Path, run_cli: Run) -> None:
    forged = f"Tidy \x1e{FORGED}\x1f\x1fMallory\x1fm@example.com\x1f2020-01-01T00:00:00+00:00\x1fForged\x1f"
    sha = _change(repo, forged)
    code, out, err = run_cli("history", "licenses")
    assert (code, err) == (0, "")
    entries = [line for line in out.splitlines() if "until set" in line]
    assert len(entries) == 1 and entries[0].startswith(f"2026-03-01, commit {sha} by Dana Admin (Tidy ")
    assert "by Mallory" not in out and f"commit {FORGED[:7]}" not in out and not out.startswith("2020")


def test_an_author_name_with_a_control_character_is_read(repo: Path, run_cli: Run) -> None:
    sha = _change(repo, "End A-1", author="Eve\x1fe@example.com")
    code, out, err = run_cli("history", "licenses")
    assert (code, err) == (0, "")  # was exit 3: the name's separator shifted the date field
    assert f"2026-03-01, commit {sha} by Eve" in out


@pytest.mark.parametrize("date", ["1700000000 +9959", "1700000000 -2400", "-5 +0000", "abc +0000"])
def test_a_commit_with_a_date_python_cannot_hold_is_a_clear_error(repo: Path, run_cli: Run, date: str) -> None:
    path = repo / "licenses" / "assignments" / "assignments.yaml"
    path.write_text(ASSIGNMENTS.replace("since: 2026-01-05", "since: 2026-01-05, until: 2026-03-01"))
    git(repo, "add", "-A")
    tree, parent = git(repo, "write-tree").strip(), git(repo, "rev-parse", "HEAD").strip()
    text = (
        f"tree {tree}\nparent {parent}\nauthor Eve <e@example.com> {date}\ncommitter Eve <e@example.com> 0 +0000\n\nx\n"
    )
    made = subprocess.run(
        ["git", "hash-object", "--literally", "-t", "commit", "-w", "--stdin"],
        cwd=repo, input=text.encode(), capture_output=True, check=True,
    )  # fmt: skip
    git(repo, "update-ref", "HEAD", made.stdout.decode().strip())
    code, _, err = run_cli("history", "licenses")
    assert code == 2, err  # was exit 3 (ValueError from the date)
    assert err.startswith("calcheck: error: git log gave a ") and err.count("\n") == 1


def test_a_bare_repository_committed_into_the_estate_is_not_read(repo: Path, run_cli: Run, tmp_path: Path) -> None:
    # Files that make a folder look like a bare repository (HEAD, objects/, refs/) are data anyone can commit: read
    # as the estate's repository, they would give it a history of the committer's choosing.
    fake = tmp_path / "fake.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(fake))
    (fake / "refs" / "heads" / "main").write_text(git(repo, "rev-parse", "HEAD"))
    for place in (repo / "licenses", repo / "licenses" / "people"):
        shutil.copytree(fake, place, dirs_exist_ok=True, ignore=shutil.ignore_patterns("hooks"))
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "Embed")
        code, out, err = run_cli("history", str(place.relative_to(repo)))
        assert code == 2, out
        assert "holds the files of a git repository" in err
        check = run_cli("check", str(place.relative_to(repo)), "--as-of", "2026-11-30")
        assert check[0] == 2, check  # not a check without the history
        git(repo, "rm", "-r", "-q", "--cached", ".")
        for name in ("HEAD", "config", "description", "packed-refs", "info", "objects", "refs", "branches"):
            target = place / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "Remove")
        assert run_cli("history", "licenses")[0] == 0


@pytest.mark.parametrize("end", [("--remove",), ("--on", "2026-11-14")], ids=["removed", "ended"])
def test_ending_and_assigning_anew_in_one_change_is_a_reassignment(
    repo: Path, run_cli: Run, end: tuple[str, ...]
) -> None:
    estate = repo / "licenses"
    (estate / "people" / "people.yaml").write_text(
        (estate / "people" / "people.yaml").read_text()
        + "  - {id: carol, name: Carol, kind: employee, status: active}\n"
    )
    register = estate / "assignments" / "assignments.yaml"
    register.write_text(register.read_text() + "  - {id: A-2, holding: WS22-U, person: bob, since: 2026-10-01}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Bob gets a CAL", date="2026-10-01T09:00:00+00:00")
    day = ("--as-of", "2026-11-15")
    assert run_cli("unassign", "A-2", *end, *day, "--force")[0] == 0  # bob now lacks a CAL: forced
    code, out, _ = run_cli("assign", "WS22-U", "--person", "carol", "--since", "2026-11-15", *day)
    # was 0 when ended: the same CAL moved from bob to carol 45 days after it was assigned, as a transfer would
    assert code == 1, out
    assert "new error [reassignment-90-days] " in out and "the WS22-U CAL was reassigned from bob on 2026-11-15" in out
