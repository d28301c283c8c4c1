"""History a pull request cannot game: records read as the check reads them, git output read from unambiguous
fields, dates a contributor chooses kept from deciding the 90-day rule, and one policy for links."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from calcheck.git.repo import GitError, GitRepo, parse_log
from calcheck.licensing.rules.example import base_files, write_estate
from tests.test_git import ASSIGNMENTS, PEOPLE

Run = Callable[..., tuple[int, str, str]]
DANA = "2026-01-05T09:00:00+00:00"


def git(repo: Path, *args: str, author: str = "Dana Admin", date: str = DANA, committed: str | None = None) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": "dana@example.com",
        "GIT_COMMITTER_NAME": "Dana Admin", "GIT_COMMITTER_EMAIL": "dana@example.com",
        "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": committed or date,
        "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
    }  # fmt: skip
    return subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, check=True).stdout.decode()


def commit(repo: Path, message: str, date: str, **dates: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, date=date, **dates)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository with an estate of three people, two of them holding a Windows Server CAL since 2026-01-05."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    estate = write_estate({**base_files(), "people/people.yaml": PEOPLE}, root / "licenses")
    (estate / "assignments" / "assignments.yaml").write_text(ASSIGNMENTS)
    commit(root, "Initial estate", DANA)
    monkeypatch.chdir(root)
    return root


def reassign_bob_to_carol(repo: Path, text: str = ASSIGNMENTS) -> None:
    (repo / "licenses" / "assignments" / "assignments.yaml").write_text(text.replace("bob", "carol"))


def ninety_days(out: str) -> list[str]:
    return [line.split("error [reassignment-90-days] ")[1] for line in out.splitlines() if "[reassignment-90" in line]


def short(repo: Path) -> str:
    return git(repo, "log", "-1", "--format=%h", "--abbrev=7").strip()


def test_an_item_using_an_alias_is_read_as_the_check_reads_it(repo: Path, run_cli: Run) -> None:
    """An alias of an anchor in an earlier item once made its item vanish from history (item 2 of issue 15)."""
    aliased = ASSIGNMENTS.replace("alice, since: 2026-01-05", "alice, since: &d 2026-01-05").replace(
        "bob, since: 2026-01-05", "bob, since: *d"
    )
    (repo / "licenses" / "assignments" / "assignments.yaml").write_text(aliased)
    commit(repo, "Anchor the dates", "2026-01-06T09:00:00+00:00")
    reassign_bob_to_carol(repo, aliased)
    commit(repo, "Give bob's CAL to carol", "2026-02-04T09:00:00+00:00")
    code, out, _ = run_cli("check", "--as-of", "2026-03-01")
    assert ninety_days(out) == [
        "A-2: the WS22-U CAL was reassigned from bob on 2026-02-04, 30 days after its previous assignment on "
        f"2026-01-05 (commit {short(repo)})"
    ]
    assert code == 1
    history = json.loads(run_cli("history", "--format", "json")[1])
    assert history[-1]["events"][0]["text"] == (
        "Windows Server CAL 2022 User from holding WS22-U reassigned from bob to carol"
    )


def test_items_that_do_not_read_alone_fall_back_to_the_whole_file(repo: Path, run_cli: Run) -> None:
    """A key given twice in an item: the check drops that record, and so does history; the others stay."""
    path = repo / "licenses" / "assignments" / "assignments.yaml"
    path.write_text(ASSIGNMENTS.replace("person: alice,", "person: alice, person: alice,"))
    commit(repo, "A slip", "2026-01-06T09:00:00+00:00")
    reassign_bob_to_carol(repo, ASSIGNMENTS.replace("person: alice,", "person: alice, person: alice,"))
    commit(repo, "Give bob's CAL to carol", "2026-02-04T09:00:00+00:00")
    assert len(ninety_days(run_cli("check", "--as-of", "2026-03-01")[1])) == 1
    history = json.loads(run_cli("history", "--format", "json")[1])
    assert [event["text"] for event in history[1]["events"]] == [
        "Windows Server CAL 2022 User from holding WS22-U unassigned from alice"
    ]


def test_a_forged_subject_makes_no_history_entry(repo: Path, run_cli: Run) -> None:
    """Fields once split on \\x1e and \\x1f: a subject holding them forged a commit by another author and date."""
    reassign_bob_to_carol(repo)
    forged = "Routine\x1e" + "a" * 40 + "\x1f\x1fMallory\x1fm@x.example\x1f2099-01-01T00:00:00+00:00\x1fforged\x1f"
    commit(repo, forged, "2026-02-04T09:00:00+00:00")
    commits = GitRepo(repo).log("licenses", GitRepo(repo).resolve("HEAD"))
    assert [(c.author, c.subject, c.date.isoformat()) for c in commits] == [
        ("Dana Admin", "Initial estate", DANA),
        ("Dana Admin", forged, "2026-02-04T09:00:00+00:00"),
    ]
    code, out, _ = run_cli("check", "--as-of", "2026-03-01")
    assert (code, len(ninety_days(out))) == (1, 1)
    history = json.loads(run_cli("history", "--format", "json")[1])
    assert [(entry["author"], entry["title"]) for entry in history] == [
        ("Dana Admin", "Initial estate"),
        ("Dana Admin", forged),
    ]


@pytest.mark.parametrize(
    "author", ["Eve\x1fEvans", "Eve\x1e" + "b" * 40 + "\x1fx", "Eve :100644 100644 " + "0" * 40, "Ève «ø» 李"]
)
def test_odd_author_names_are_read_as_names(repo: Path, run_cli: Run, author: str) -> None:
    reassign_bob_to_carol(repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Give bob's CAL to carol", author=author, date="2026-02-04T09:00:00+00:00")
    code, out, err = run_cli("check", "--as-of", "2026-03-01")
    assert (code, err, len(ninety_days(out))) == (1, "", 1)
    history = json.loads(run_cli("history", "--format", "json")[1])
    assert [entry["author"] for entry in history] == ["Dana Admin", author]


def test_a_commit_dated_in_the_future_is_dated_no_later_than_the_check(repo: Path, run_cli: Run) -> None:
    """A reassignment dated 2099 (author and committer date) once fell outside the rule (item 4 of issue 15)."""
    reassign_bob_to_carol(repo)
    commit(repo, "Give bob's CAL to carol", "2099-01-01T00:00:00+00:00")
    code, out, _ = run_cli("check", "--as-of", "2026-03-01")
    assert ninety_days(out) == [
        "A-2: the WS22-U CAL was reassigned from bob on 2026-03-01, 55 days after its previous assignment on "
        f"2026-01-05 (commit {short(repo)})"
    ]
    assert code == 1


def test_the_committer_date_not_the_author_date_dates_a_reassignment(repo: Path, run_cli: Run) -> None:
    reassign_bob_to_carol(repo)
    commit(repo, "Give bob's CAL to carol", "2099-01-01T00:00:00+00:00", committed="2026-02-04T09:00:00+00:00")
    assert ninety_days(run_cli("check", "--as-of", "2026-03-01")[1]) == [
        "A-2: the WS22-U CAL was reassigned from bob on 2026-02-04, 30 days after its previous assignment on "
        f"2026-01-05 (commit {short(repo)})"
    ]
    history = run_cli("history")[1].splitlines()
    assert history[-1].startswith(f"2026-02-04, commit {short(repo)} by Dana Admin (Give bob's CAL to carol)")


def test_the_work_tree_and_a_revision_read_links_alike(repo: Path, run_cli: Run) -> None:
    """A link inside the estate was read in the work tree and skipped in a revision (item 6 of issue 15)."""
    estate = repo / "licenses"
    (estate / "people" / "alias.yaml").symlink_to("people.yaml")
    (estate / "staff").symlink_to("people")
    (estate / "proofs").mkdir()
    (estate / "proofs" / "invoice.pdf").write_bytes(b"%PDF-1.4\n")
    (estate / "proofs" / "linked.pdf").symlink_to("invoice.pdf")
    holdings = estate / "holdings" / "holdings.yaml"
    holdings.write_text(holdings.read_text().replace("ref: INV-1}", "ref: INV-1, file: proofs/linked.pdf}"))
    commit(repo, "Links inside the estate", "2026-01-06T09:00:00+00:00")
    work = run_cli("check", "--as-of", "2026-03-01", "--no-history")[1].splitlines()
    revision = run_cli("check", "--rev", "HEAD", "--as-of", "2026-03-01", "--no-history")[1].splitlines()
    assert work[:-1] == revision[:-1]  # the same findings; the summary line names the estate differently
    assert [line for line in work if "error [" in line] == [
        "licenses/holdings/holdings.yaml:11:47: error [proof-file] WS22-U: proof file 'proofs/linked.pdf' is a "
        "symbolic link, or inside one (links are never followed)",
        "licenses/people/alias.yaml:1:1: error [estate-link] 'people/alias.yaml' is a symbolic link; it is not read",
        "licenses/people/people.yaml:5:10: error [uncovered-access] person carol reaches dc without a Windows Server "
        "CAL 2022 (User) or newer",
        "licenses/staff:1:1: error [estate-link] 'staff' is a symbolic link; it is not read",
    ]
    code, out, _ = run_cli("diff", "HEAD", "--as-of", "2026-03-01", "--no-history")
    assert code == 0
    assert out.splitlines()[0] == (
        "HEAD -> working tree (as of 2026-03-01): shortfall 0 CALs (0.00 -> 0.00), 0 finding(s) introduced, 0 resolved"
    )
    assert "assignments:" not in out and "introduced:" not in out


def test_a_committed_link_is_no_file_to_history(repo: Path, run_cli: Run) -> None:
    """History follows no link either: a link named like a register is not read as one."""
    (repo / "licenses" / "assignments" / "more.yaml").symlink_to("assignments.yaml")
    commit(repo, "A link", "2026-01-06T09:00:00+00:00")
    history = json.loads(run_cli("history", "--format", "json")[1])
    assert [entry["title"] for entry in history] == ["Initial estate"]


def test_git_log_output_of_any_other_shape_is_refused() -> None:
    sha, date = "a" * 40, b"2026-01-05T09:00:00+00:00"
    header = [sha.encode(), b"", b"Dana", b"d@x", date, date, b"subject"]
    raw = b":100644 100644 " + b"0" * 40 + b" " + b"b" * 40 + b" M"
    assert [c.subject for c in parse_log(b"\0".join([*header, b"\n" + raw, b"licenses/a.yaml", b""]))] == ["subject"]
    for bad in (
        [b"not-a-sha", *header[1:]],  # a hash that is none
        [*header[:4], b"2099-13-45T00:00:00", *header[5:]],  # a date that is none
        [*header[:1], b"c" * 39, *header[2:]],  # a parent that is no hash
        header[:5],  # a commit cut short
        [*header, b"\n" + raw],  # a change without its path
        [*header, b"\n" + raw, b"licenses/a.yaml", b"trailing words"],  # something after the last commit
    ):
        with pytest.raises(GitError):
            parse_log(b"\0".join([*bad, b""]))


def test_a_submodule_is_read_in_neither(repo: Path, run_cli: Run) -> None:
    """A revision holds no files of a submodule, so the work tree does not read its checkout either."""
    inner = repo / "licenses" / "more"
    inner.mkdir()
    git(inner, "init", "-q", "-b", "main")
    (inner / "people.yaml").write_text(
        "kind: people\npeople:\n  - {id: zed, name: Zed, kind: employee, status: active}\n"
    )
    commit(inner, "Inner", DANA)
    git(repo, "add", "licenses/more")  # recorded as a submodule (a gitlink)
    commit(repo, "A submodule", "2026-01-06T09:00:00+00:00")
    work = run_cli("check", "--as-of", "2026-03-01", "--no-history")[1].splitlines()
    revision = run_cli("check", "--rev", "HEAD", "--as-of", "2026-03-01", "--no-history")[1].splitlines()
    assert work[:-1] == revision[:-1]
    assert "licenses/more:1:1: error [estate-link] 'more' is a symbolic link; it is not read" in work


def test_a_proof_name_too_long_for_the_system_is_one_finding_in_both(repo: Path, run_cli: Run) -> None:
    """Once the whole check stopped (exit 2, no findings) on a proof file name over 255 bytes (item 7)."""
    (repo / "licenses" / "proofs").mkdir()
    (repo / "licenses" / "proofs" / "invoice.pdf").write_bytes(b"%PDF-1.4\n")
    holdings = repo / "licenses" / "holdings" / "holdings.yaml"
    long_name = "proofs/" + "p" * 300 + ".pdf"
    holdings.write_text(holdings.read_text().replace("ref: INV-1}", f"ref: INV-1, file: {long_name}}}"))
    commit(repo, "A long name", "2026-01-06T09:00:00+00:00")
    code, work, _ = run_cli("check", "--as-of", "2026-03-01", "--no-history")
    revision = run_cli("check", "--rev", "HEAD", "--as-of", "2026-03-01", "--no-history")[1]
    assert work.splitlines()[:-1] == revision.splitlines()[:-1]
    assert [line[:90] for line in work.splitlines() if "[proof-file]" in line] == [
        f"licenses/holdings/holdings.yaml:11:47: error [proof-file] WS22-U: proof file '{long_name}"[:90]
    ]
    assert code == 1 and f"'{long_name}' does not exist" in work
