"""git's answer to ``log`` built on a kept one is byte for byte git's whole answer, whatever happened since."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from calcheck.git.repo import GitRepo
from tests.test_git import git


def _answers(repo: Path, kept: Path, prefix: str = "licenses") -> None:
    """The kept answer for HEAD equals git's whole answer, as bytes and as commits (asked twice: the second is read
    back as kept)."""
    with GitRepo(repo) as found:
        head = found.resolve("HEAD")
        whole = found._log_output(prefix, head)
        for _ in range(2):
            assert found._kept_log(prefix, head, kept) == whole
        assert found.log(prefix, head, kept) == found.log(prefix, head)


def _change(repo: Path, rng: random.Random, step: int, fresh: bool = False) -> None:
    """One commit: a file below licenses/ or elsewhere written, renamed or removed (``fresh``: a new file written,
    so that two lines of history merge without conflict)."""
    folder = repo / ("licenses" if rng.random() < 0.7 else "docs") / rng.choice(["a", "b"])
    folder.mkdir(parents=True, exist_ok=True)
    files = sorted(folder.glob("*.yaml"))
    what = 1.0 if fresh else rng.random()
    if files and what < 0.15:
        files[0].rename(folder / f"moved-{step}.yaml")
    elif len(files) > 1 and what < 0.25:
        files[-1].unlink()
    else:
        target = folder / f"f{step}.yaml" if fresh else rng.choice([*files, folder / f"f{step}.yaml"])
        target.write_text((target.read_text() if target.exists() else "kind: people\npeople:\n") + f"  - id: p{step}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", f"change {step}", date=f"2026-01-{1 + step % 28:02d}T09:00:00Z")


@pytest.mark.parametrize("seed", range(5))
def test_a_kept_log_is_gits_whole_answer_after_commits_merges_resets_and_rebases(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    repo = tmp_path / "repo"
    repo.mkdir()
    kept = tmp_path / "logs"
    git(repo, "init", "-q", "-b", "main")
    for step in range(30):
        move = rng.random()
        if move < 0.12 and step > 3:  # a branch merged back (its commits are not on the first-parent line)
            line = git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip()
            git(repo, "checkout", "-q", "-b", f"topic{step}")
            for inner in range(rng.randint(1, 3)):
                _change(repo, rng, 100 * step + inner, fresh=True)
            git(repo, "checkout", "-q", line)
            if rng.random() < 0.5:
                _change(repo, rng, 100 * step + 50, fresh=True)
            git(repo, "merge", "-q", "--no-ff", "-m", f"merge {step}", f"topic{step}", date="2026-02-01T09:00:00Z")
        elif move < 0.2 and step > 3:  # back to an earlier commit: the kept one is no longer on the line
            git(repo, "reset", "-q", "--hard", "HEAD~2")
        elif move < 0.28 and step > 3:  # the last commit rewritten
            git(repo, "commit", "-q", "--amend", "--allow-empty", "-m", f"amended {step}", date="2026-03-01T09:00:00Z")
        elif move < 0.33 and step > 3:  # another line of history checked out
            git(repo, "checkout", "-q", "-B", f"other{step}", "HEAD~1")
        else:
            _change(repo, rng, step)
        _answers(repo, kept)


def test_a_damaged_kept_log_or_another_configuration_is_not_used(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    kept = tmp_path / "logs"
    git(repo, "init", "-q", "-b", "main")
    rng = random.Random(7)
    for step in range(3):
        _change(repo, rng, step)
    _answers(repo, kept)
    (entry,) = kept.iterdir()
    entry.write_bytes(entry.read_bytes().replace(b"change", b"chAnge"))  # damaged: its digest no longer matches
    _answers(repo, kept)
    assert b"chAnge" not in entry.read_bytes()
    # Three commits more: the kept answer's commit is on the new one's first-parent line, and is built on.
    with GitRepo(repo) as found:
        earlier = found.resolve("HEAD")
    for step in range(3, 6):
        _change(repo, rng, step)
    with GitRepo(repo) as found:
        assert found._on_first_parent_line(earlier, found.resolve("HEAD"))
        assert not found._on_first_parent_line(found.resolve("HEAD"), earlier)
    _answers(repo, kept)
    # A configuration that changes what git lists (rename detection) has an entry of its own.
    git(repo, "config", "diff.renameLimit", "1")
    _change(repo, rng, 6)
    _answers(repo, kept)
    assert len(list(kept.iterdir())) == 2
