"""Every git process calcheck starts ends with the command that started it (none left running, none a zombie)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_git import commit, git

Run = Callable[..., tuple[int, str, str]]
AS_OF = "2026-11-30"
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts processes through /proc")


def children() -> list[str]:
    """This process's child processes (running or not yet waited for), as 'pid name state'."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # ended while we looked
            continue
        name, _, rest = stat.partition(" (")[2].rpartition(") ")
        state, parent = rest.split()[:2]
        if int(parent) == os.getpid():
            found.append(f"{entry} {name} {state}")
    return sorted(found)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    shutil.copytree(ROOT / "licenses", root / "licenses")
    shutil.copytree(ROOT / "site", root / "site", ignore=shutil.ignore_patterns("_build"))
    (root / ".gitignore").write_text("site/_build/\nbundle/\n")
    commit(root, "Initial estate", "2026-01-05T09:00:00+00:00")
    holdings = root / "licenses" / "holdings" / "windows-server.yaml"
    holdings.write_text(holdings.read_text().replace("quantity: 40", "quantity: 41"))
    commit(root, "One more CAL", "2026-02-05T09:00:00+00:00")
    (root / "people.csv").write_text("SamAccountName,DisplayName,Enabled\nalice,Alice,True\nbob,Bob,True\n")
    monkeypatch.chdir(root)
    return root


COMMANDS = [
    ("check", "--as-of", AS_OF),
    ("check", "--rev", "HEAD", "--as-of", AS_OF),
    ("check", "--rev", "HEAD~1", "--as-of", AS_OF, "--no-history"),
    ("check", "--ratchet", "HEAD~1", "--as-of", AS_OF),
    ("report", "--rev", "HEAD~1", "--as-of", AS_OF),
    ("explain", "alice.martin", "--rev", "HEAD", "--as-of", AS_OF),
    ("history",),
    ("history", "--rev", "HEAD~1", "--id", "EA-WS22-USER"),
    ("diff", "HEAD~1", "--as-of", AS_OF),
    ("diff", "HEAD~1", "HEAD", "--as-of", AS_OF),
    ("export", "--rev", "HEAD", "--to", "bundle", "--as-of", AS_OF),
    ("site", "build", "--as-of", AS_OF),
    ("audit", "record", "--auditor", "Internal SAM", "--date", AS_OF, "--dry-run"),
    ("assign", "EA-WS22-USER", "--person", "svc.backup", "--as-of", AS_OF, "--dry-run", "--force"),
    ("unassign", "A-0001", "--as-of", AS_OF, "--dry-run", "--force"),
    ("transfer", "A-0109", "--to-person", "svc.backup", "--as-of", AS_OF, "--dry-run", "--force"),
    ("import", "people", "people.csv", "--on", AS_OF, "--partial", "--dry-run", "--force"),
    ("check", "--rev", "no-such-revision"),  # refused: what it started ends all the same
]


def test_every_git_process_ends_with_the_command(repo: Path, run_cli: Run) -> None:
    """One command after another in one process, as a long-lived caller would run them."""
    left: dict[str, list[str]] = {}
    for argv in COMMANDS:
        before = children()
        code, _, err = run_cli(*argv)
        assert code in (0, 1, 2), (argv, err)
        if children() != before:
            left[" ".join(argv)] = sorted(set(children()) - set(before))
    assert left == {}


def git_processes_in(folder: Path) -> list[str]:
    """Running git processes working in ``folder`` (by working directory or --git-dir), whoever their parent."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            command = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if command[0].endswith(b"git") and (cwd == str(folder) or any(str(folder).encode() in c for c in command)):
            found.append(b" ".join(command).decode(errors="replace"))
    return found


def test_nothing_of_git_outlives_a_calcheck_process(repo: Path) -> None:
    for argv in (["check", "--rev", "HEAD"], ["diff", "HEAD~1"], ["history"]):
        done = subprocess.run(
            [sys.executable, "-m", "calcheck", *argv, "--as-of", AS_OF],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode in (0, 1), done.stderr
        assert git_processes_in(repo) == []


def test_a_revision_read_in_part_ends_its_readers_when_closed(repo: Path) -> None:
    from calcheck.git.repo import close_all, open_tree

    before = children()
    tree = open_tree(repo / "licenses", "HEAD")
    files = tree.yaml_files()
    tree.read_ahead(files)
    tree.read(files[0])  # the read-ahead stream still has the rest to send
    tree.repo.blob(tree.files[files[-1]])  # and GitPython's reader is running
    assert len(children()) == len(before) + 2
    tree.close()
    assert children() == before
    tree.read(files[1])  # a closed tree still reads, the ordinary way
    close_all()
    assert children() == before


def test_every_repository_of_one_folder_is_closed(repo: Path) -> None:
    """GitPython's repositories of one folder compare equal: each is still tracked, and closed, on its own."""
    from calcheck.git.repo import GitRepo, close_all

    before = children()
    first, second = GitRepo(repo), GitRepo(repo)
    blob = first.tree(first.resolve("HEAD"), "licenses")["calcheck.yaml"]
    assert first.blob(blob) == second.blob(blob)
    assert len(children()) == len(before) + 2
    del first  # gone, while its GitPython repository may live on in a reference cycle
    close_all()
    assert children() == before
