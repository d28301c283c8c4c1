"""Git-native features on real temporary repositories with pinned authors and dates."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from calcheck.licensing.rules.example import base_files, write_estate

Run = Callable[..., tuple[int, str, str]]
PEOPLE = """\
kind: people
people:
  - {id: alice, name: Alice, kind: employee, status: active}
  - {id: bob, name: Bob, kind: employee, status: active}
  - {id: carol, name: Carol, kind: employee, status: active}
"""
ASSIGNMENTS = """\
kind: assignments
assignments:
  - {id: A-1, holding: WS22-U, person: alice, since: 2026-01-05}
  - {id: A-2, holding: WS22-U, person: bob, since: 2026-01-05}
"""


def git(repo: Path, *args: str, date: str = "2026-01-05T09:00:00+00:00") -> str:
    env = {
        "PATH": os.environ["PATH"], "HOME": str(repo.parent), "TZ": "UTC",
        "GIT_AUTHOR_NAME": "Dana Admin", "GIT_AUTHOR_EMAIL": "dana@example.com",
        "GIT_COMMITTER_NAME": "Dana Admin", "GIT_COMMITTER_EMAIL": "dana@example.com",
        "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date,
        "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
    }  # fmt: skip
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def commit(repo: Path, message: str, date: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, date=date)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository whose estate went through three changes, one of them merged from a branch."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    estate = write_estate({**base_files(), "people/people.yaml": PEOPLE}, root / "licenses")
    (estate / "assignments" / "assignments.yaml").write_text(ASSIGNMENTS)
    commit(root, "Initial estate", "2026-01-05T09:00:00+00:00")
    # bob hands his CAL to carol after 30 days, without a reason that allows it
    text = ASSIGNMENTS.replace("person: bob, since: 2026-01-05", "person: carol, since: 2026-01-05")
    (estate / "assignments" / "assignments.yaml").write_text(text)
    commit(root, "Give bob's CAL to carol", "2026-02-04T09:00:00+00:00")
    git(root, "checkout", "-q", "-b", "more-cals")
    holdings = estate / "holdings" / "holdings.yaml"
    holdings.write_text(holdings.read_text().replace("quantity: 3", "quantity: 5"))
    commit(root, "Buy two more CALs", "2026-02-10T09:00:00+00:00")
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-ff", "more-cals", "-m", "Merge pull request #7 from dana/more-cals\n\nTwo more Windows Server CALs",
        date="2026-02-11T09:00:00+00:00")  # fmt: skip
    git(root, "mv", "licenses/people/people.yaml", "licenses/people/staff.yaml")
    commit(root, "Rename the people file", "2026-03-01T09:00:00+00:00")
    monkeypatch.chdir(root)
    return root


HISTORY = [
    "2026-01-05, commit {0} by Dana Admin (Initial estate): Windows Server CAL 2022 User from holding WS22-U "
    "assigned to alice; Windows Server CAL 2022 User from holding WS22-U assigned to bob; audit AUD-1 added; "
    "configuration added; deployment dc added; device PC-1 added; device SRV-1 added; holding WS22-U added: "
    "3 windows-server 2022 user CALs; person alice added (employee, active); person bob added (employee, active); "
    "person carol added (employee, active)",
    "2026-02-04, commit {1} by Dana Admin (Give bob's CAL to carol): Windows Server CAL 2022 User from holding "
    "WS22-U reassigned from bob to carol",
    "2026-02-11, commit {2} by Dana Admin (Two more Windows Server CALs): holding WS22-U quantity 3 -> 5",
    "2026-03-01, commit {3} by Dana Admin (Rename the people file): 3 people moved from licenses/people/people.yaml "
    "to licenses/people/staff.yaml",
]


def shas(repo: Path) -> list[str]:
    return git(repo, "log", "--first-parent", "--reverse", "--format=%h", "--abbrev=7").split()


def test_history_in_licensing_terms(repo: Path, run_cli: Run) -> None:
    code, out, err = run_cli("history")
    assert (code, err) == (0, "")
    assert out.splitlines() == [line.format(*shas(repo)) for line in HISTORY]


def test_history_filters_and_formats(repo: Path, run_cli: Run) -> None:
    ids = shas(repo)
    assert run_cli("history", "--id", "carol")[1].splitlines() == [
        f"2026-01-05, commit {ids[0]} by Dana Admin (Initial estate): person carol added (employee, active)",
        HISTORY[1].format(*ids),
        f"2026-03-01, commit {ids[3]} by Dana Admin (Rename the people file): person carol moved from "
        "licenses/people/people.yaml to licenses/people/staff.yaml",
    ]
    assert run_cli("history", "--since", "2026-02-05")[1].splitlines() == [
        HISTORY[2].format(*ids),
        HISTORY[3].format(*ids),
    ]
    document = json.loads(run_cli("history", "--format", "json", "--rev", "HEAD~1")[1])
    assert [entry["title"] for entry in document] == [
        "Initial estate",
        "Give bob's CAL to carol",
        "Two more Windows Server CALs",
    ]
    assert document[1]["events"] == [
        {"text": "Windows Server CAL 2022 User from holding WS22-U reassigned from bob to carol",
         "records": ["A-2", "A-2", "WS22-U", "bob", "carol"]}
    ]  # fmt: skip
    markdown = run_cli("history", "--format", "markdown", "--since", "2026-02-05")[1]
    assert (
        "| 2026-02-11 | `{2}` | Dana Admin | Two more Windows Server CALs | holding WS22-U quantity 3 -\\> 5 |".format(
            *ids
        )
        in markdown
    )


def test_in_place_reassignment_within_90_days_uses_the_commit_date(repo: Path, run_cli: Run) -> None:
    code, out, _ = run_cli("check", "--as-of", "2026-03-15")
    assert code == 1
    first = shas(repo)[1]
    assert out.splitlines()[:2] == [
        "licenses/assignments/assignments.yaml:4:54: error [reassignment-90-days] A-2: the WS22-U CAL was reassigned "
        f"from bob on 2026-02-04, 30 days after its previous assignment on 2026-01-05 (commit {first})",
        "    hint: a CAL may move again only after 90 days, unless for departure, hardware-failure, hardware-loss or "
        "temporary-cover: record the reason, or keep the CAL with its holder",
    ]
    assert "reassignment-90-days" not in run_cli("check", "--as-of", "2026-03-15", "--no-history")[1]


def test_an_allowed_reason_permits_an_early_reassignment(repo: Path, run_cli: Run) -> None:
    path = repo / "licenses" / "assignments" / "assignments.yaml"
    path.write_text(
        path.read_text().replace(
            "person: carol, since: 2026-01-05}", "person: carol, since: 2026-01-05, reason: temporary-cover}"
        )
    )
    commit(repo, "Record why", "2026-03-02T09:00:00+00:00")
    assert "reassignment-90-days" not in run_cli("check", "--as-of", "2026-03-15")[1]


def test_uncommitted_reassignment_is_checked_too(repo: Path, run_cli: Run) -> None:
    path = repo / "licenses" / "assignments" / "assignments.yaml"
    path.write_text(path.read_text().replace("person: alice, since: 2026-01-05", "person: bob, since: 2026-03-10"))
    out = run_cli("check", "--as-of", "2026-03-15")[1]
    assert (
        "error [reassignment-90-days] A-1: the WS22-U CAL was reassigned from alice on 2026-03-10, 64 days after "
        "its previous assignment on 2026-01-05 (uncommitted)" in out
    )


def test_check_and_report_any_revision(repo: Path, run_cli: Run) -> None:
    out = run_cli("report", "--rev", "HEAD~2", "--as-of", "2026-02-05", "--format", "json")[1]
    assert json.loads(out)["totals"]["owned"] == 3
    assert json.loads(run_cli("report", "--as-of", "2026-02-05", "--format", "json")[1])["totals"]["owned"] == 5
    code, out, _ = run_cli("check", "--rev", "HEAD~3", "--as-of", "2026-01-06")
    assert code == 1
    assert (
        out.splitlines()[-1]
        == "FAIL: 1 error, 1 warning, 0 info in 7 files (Example Ltd, licenses@HEAD~3, as of 2026-01-06)"
    )
    assert "licenses/people/people.yaml:5:10: error [uncovered-access] person carol" in out


def test_check_a_revision_in_a_bare_clone(
    repo: Path, run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(bare)], check=True)
    monkeypatch.chdir(bare)
    code, out, err = run_cli("report", "--rev", "main", "--as-of", "2026-03-02", "--format", "json")
    assert (code, err) == (0, "")
    assert json.loads(out)["estate"] == "licenses@main"
    assert json.loads(out)["totals"]["owned"] == 5
    assert run_cli("history", "--since", "2026-03-01")[1] == HISTORY[3].format(*shas(repo)) + "\n"


def test_diff_against_a_base(repo: Path, run_cli: Run) -> None:
    path = repo / "licenses" / "assignments" / "assignments.yaml"
    path.write_text(path.read_text().replace("  - {id: A-1, holding: WS22-U, person: alice, since: 2026-01-05}\n", ""))
    code, out, _ = run_cli("diff", "HEAD", "--as-of", "2026-03-15", "--no-history")
    assert code == 0
    assert out.splitlines() == [
        "HEAD -> working tree (as of 2026-03-15): shortfall 0 CALs (0.00 -> 0.00), 1 finding(s) introduced, 0 resolved",
        "pools (owned, assigned, required, shortfall):",
        "  Windows Server CAL 2022 (User): (5, 2, 3, 0) -> (5, 1, 3, 0)",
        "assignments:",
        "  WS22-U: A-1 unassigned from alice",
        "introduced:",
        "  error [uncovered-access] licenses/people/staff.yaml:3: person alice reaches dc without a Windows Server "
        "CAL 2022 (User) or newer",
    ]
    markdown = run_cli("diff", "HEAD", "--as-of", "2026-03-15", "--no-history", "--format", "markdown")[1]
    assert "| Windows Server CAL 2022 (User) | 5 | 2 -> 1 | 3 | 0 |" in markdown
    between = json.loads(run_cli("diff", "HEAD~3", "HEAD~2", "--as-of", "2026-03-15", "--format", "json")[1])
    assert between["assignments"]["transferred"] == [
        {
            "from": {"id": "A-2", "holding": "WS22-U", "assignee": "bob"},
            "to": {"id": "A-2", "holding": "WS22-U", "assignee": "carol"},
        }
    ]


def test_ratchet_fails_only_when_the_position_gets_worse(repo: Path, run_cli: Run) -> None:
    holdings = repo / "licenses" / "holdings" / "holdings.yaml"
    people = repo / "licenses" / "people" / "staff.yaml"
    people.write_text(people.read_text() + "  - {id: dave, name: Dave, kind: employee, status: active}\n")
    code, out, _ = run_cli("check", "--as-of", "2026-03-15", "--ratchet", "HEAD", "--no-history")
    assert code == 1
    assert out.splitlines()[-2:] == [
        "ratchet against HEAD: 1 regression(s)",
        "  new error [uncovered-access] person dave reaches dc without a Windows Server CAL 2022 (User) or newer",
    ]
    git(repo, "commit", "-q", "-am", "Dave joins", date="2026-03-12T09:00:00+00:00")
    holdings.write_text(holdings.read_text().replace("quantity: 5", "quantity: 1"))
    code, out, _ = run_cli("check", "--as-of", "2026-03-15", "--ratchet", "HEAD", "--no-history")
    assert code == 1
    assert out.splitlines()[-3:] == [
        "ratchet against HEAD: 2 regression(s)",
        "  Windows Server CAL 2022 (User): shortfall 0 -> 3",
        "  new error [over-allocation] WS22-U: 2 CALs assigned but only 1 owned",
    ]
    holdings.write_text(holdings.read_text().replace("quantity: 1", "quantity: 5"))
    code, out, _ = run_cli("check", "--as-of", "2026-03-15", "--ratchet", "HEAD", "--no-history")
    assert code == 0  # dave is still uncovered, but that is no worse than on HEAD
    assert "error [uncovered-access] person dave" in out
    assert out.splitlines()[-1] == "ratchet against HEAD: no regression (the position is no worse)"


def test_shallow_clone_says_what_to_fix(
    repo: Path, run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow)], check=True)
    monkeypatch.chdir(shallow)
    code, _, err = run_cli("history")
    assert code == 2
    assert "shallow clone" in err and "fetch-depth: 0" in err
    code, out, _ = run_cli("check", "--as-of", "2026-03-15")
    assert "warning [history-unavailable] the git history could not be read" in out
    assert "reassignment-90-days" not in out
    code, _, err = run_cli("diff", "HEAD~1")
    assert code == 2 and "fetch-depth: 0" in err


@pytest.mark.parametrize("rev", ["--output=/tmp/pwned", "-h", "HEAD\n--all", "a b", ""])
def test_revisions_never_become_git_options(repo: Path, run_cli: Run, rev: str) -> None:
    code, out, err = run_cli("check", f"--rev={rev}")
    assert (code, out) == (2, "")
    assert err == f"calcheck: error: not a valid git revision: {rev!r}\n"
    assert not Path("/tmp/pwned").exists()


def test_unknown_revision_is_a_usage_error(repo: Path, run_cli: Run) -> None:
    code, _, err = run_cli("report", "--rev", "no-such-branch")
    assert code == 2 and err == "calcheck: error: unknown git revision 'no-such-branch'\n"


def test_odd_file_names_work(repo: Path, run_cli: Run) -> None:
    odd = repo / "licenses" / "people" / "-rf ünïcode x.yaml"
    odd.write_text("kind: people\npeople:\n  - {id: dave, name: Dave, kind: employee, status: active}\n")
    commit(repo, "Odd name", "2026-03-05T09:00:00+00:00")
    assert run_cli("history", "--id", "dave")[1].endswith("(Odd name): person dave added (employee, active)\n")
    out = run_cli("check", "--rev", "HEAD", "--as-of", "2026-03-15", "--no-history")[1]
    assert "licenses/people/-rf ünïcode x.yaml:3:10: error [uncovered-access] person dave" in out


def test_committed_links_are_findings_not_silently_skipped(repo: Path, run_cli: Run) -> None:
    (repo / "licenses" / "people" / "outside.yaml").symlink_to("/etc/passwd")
    (repo / "licenses" / "devices-elsewhere").symlink_to("/tmp")
    (repo / "licenses" / "proofs").mkdir()
    (repo / "licenses" / "proofs" / "po.pdf").symlink_to("/etc/hostname")
    commit(repo, "Links", "2026-03-05T09:00:00+00:00")
    out = run_cli("check", "--rev", "HEAD", "--as-of", "2026-03-15", "--no-history")[1]
    links = [line for line in out.splitlines() if "[estate-link]" in line]
    assert links == [
        "licenses/devices-elsewhere:1:1: error [estate-link] 'devices-elsewhere' is a symbolic link; it is not read",
        "licenses/people/outside.yaml:1:1: error [estate-link] 'people/outside.yaml' is a symbolic link; it is not read",
    ]


def test_blobs_read_ahead_are_the_blobs_git_holds(repo: Path) -> None:
    """The read-ahead stream answers exactly as a plain read, in order, out of order, again, or missing."""
    from calcheck.git.repo import GitError, GitRepo

    git_repo = GitRepo(repo)
    files = git_repo.tree(git_repo.resolve("HEAD"), "licenses")
    blobs = sorted(set(files.values()))
    expected = {blob: git_repo.blob(blob) for blob in blobs}
    missing = "0123456789abcdef0123456789abcdef01234567"
    asked = [*blobs, missing, blobs[0]]
    with git_repo.stream([*blobs, missing]) as stream:
        assert [stream.read(b) for b in blobs] == [expected[b] for b in blobs]
        assert stream.read(blobs[0]) == expected[blobs[0]]  # again: read the ordinary way
        with pytest.raises(GitError):
            stream.read(missing)
    with git_repo.stream(asked) as stream:  # asked backwards: the last is taken from the stream, the rest read
        assert [stream.read(b) for b in reversed(blobs)] == [expected[b] for b in reversed(blobs)]
    with git_repo.stream(blobs) as stream:  # closed before reading: nothing left running
        pass
    assert stream._process is None


def test_a_revision_is_read_through_the_stream(repo: Path) -> None:
    from calcheck.git.repo import open_tree

    tree = open_tree(repo / "licenses", "HEAD~1")
    files = tree.yaml_files()
    assert len(files) > 1 and tree._stream is None  # files read one by one (as a splice does) are not streamed
    tree.read_ahead(files)
    assert tree._stream is not None
    assert [tree.read(f) for f in files] == [tree.repo.blob(tree.files[f]) for f in files]
    assert tree._stream._process is None  # every blob taken: git is done and waited for
    tree.close()


def test_history_reads_blobs_the_ordinary_way_when_no_stream_can_start(
    repo: Path, run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-folder"))  # the id list cannot be written
    code, out, err = run_cli("history")
    assert (code, err) == (0, "")
    assert out.splitlines() == [line.format(*shas(repo)) for line in HISTORY]


@pytest.mark.parametrize(
    "policy",
    [
        "rules:\n  disabled: [over-allocation]\n",
        "rules:\n  severity: {over-allocation: info}\n",
        "WAIVER",
    ],
    ids=["rule-disabled", "severity-lowered", "waiver-added"],
)
def test_ratchet_sees_a_new_error_the_change_silences_itself(repo: Path, run_cli: Run, policy: str) -> None:
    """A pull request cannot pass the ratchet by switching off, downgrading or waiving the error it introduces."""
    estate = repo / "licenses"
    holdings = estate / "holdings" / "holdings.yaml"
    holdings.write_text(holdings.read_text().replace("quantity: 5", "quantity: 1"))
    if policy == "WAIVER":
        (estate / "waivers").mkdir(exist_ok=True)
        (estate / "waivers" / "pr.yaml").write_text(
            "kind: waivers\nwaivers:\n  - {id: W-PR, rule: over-allocation, records: [WS22-U], owner: dana,"
            " reason: fixed next quarter, expires: 2027-01-31}\n"
        )
    else:
        config = estate / "calcheck.yaml"
        config.write_text(config.read_text() + policy)
    code, out, _ = run_cli("check", "--as-of", "2026-03-15", "--ratchet", "HEAD", "--no-history")
    assert "error [over-allocation]" not in out.split("ratchet against HEAD")[0]  # the change's own check hides it
    assert code == 1
    assert out.splitlines()[-3:] == [
        "ratchet against HEAD: 2 regression(s)",
        "  Windows Server CAL 2022 (User): shortfall 0 -> 2",
        "  new error [over-allocation] WS22-U: 2 CALs assigned but only 1 owned "
        "(silenced by this change's rule settings or waivers)",
    ]
    diff = json.loads(run_cli("diff", "HEAD", "--as-of", "2026-03-15", "--no-history", "--format", "json")[1])
    assert [(f["rule"], f["message"]) for f in diff["silenced"]] == [
        ("over-allocation", "WS22-U: 2 CALs assigned but only 1 owned")
    ]


def test_a_rule_the_base_already_disables_is_no_regression(repo: Path, run_cli: Run) -> None:
    config = repo / "licenses" / "calcheck.yaml"
    config.write_text(config.read_text() + "rules:\n  disabled: [over-allocation]\n")
    git(repo, "commit", "-q", "-am", "Over-allocation is tracked elsewhere", date="2026-03-12T09:00:00+00:00")
    holdings = repo / "licenses" / "holdings" / "holdings.yaml"
    holdings.write_text(holdings.read_text().replace("quantity: 5", "quantity: 1"))
    code, out, _ = run_cli("check", "--as-of", "2026-03-15", "--ratchet", "HEAD", "--no-history")
    assert code == 1  # the shortfall still grows, but the disabled rule is not counted against the change
    assert out.splitlines()[-2:] == [
        "ratchet against HEAD: 1 regression(s)",
        "  Windows Server CAL 2022 (User): shortfall 0 -> 2",
    ]


@pytest.mark.parametrize("walk", ["one process", "meanwhile", "damaged"])
def test_diff_reads_the_files_both_sides_share_once_and_says_what_two_separate_checks_say(
    repo: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch, walk: str
) -> None:
    """``diff`` keeps what it loaded for one side for the other (same bytes) and, without the history cache, walks
    the history once for both sides when the base is on the head's way (by a forked process while the estate is
    read; here when that is not possible or its result comes back damaged): its answer is that of two checks."""
    from calcheck.cli.common import check_at
    from calcheck.estate import transfers
    from calcheck.licensing.diff import compare
    from calcheck.outputs.diffview import RENDERERS

    monkeypatch.setenv("CALCHECK_JOBS", "1" if walk == "one process" else "2")
    if walk == "damaged":
        monkeypatch.setattr(transfers, "encode_timelines", lambda timelines: b"[{}, ")

    path = repo / "licenses" / "assignments" / "assignments.yaml"
    path.write_text(path.read_text().replace("person: alice", "person: nobody").replace("A-2,", "A-2, bad: 1,"))
    estate, as_of = repo / "licenses", dt.date(2026, 3, 15)
    for base, head in (("HEAD~3", None), ("HEAD~1", "HEAD"), ("HEAD", None), ("HEAD", "HEAD~2")):
        sides = check_at(estate, base, as_of, True), check_at(estate, head, as_of, True)
        alone = compare(*sides, base, head or "working tree")
        for form in ("text", "json"):
            args = ["diff", base, *([head] if head else []), "--as-of", "2026-03-15", "--format", form, "--no-cache"]
            assert run_cli(*args)[1].rstrip("\n") == RENDERERS[form](alone).rstrip("\n")


def test_the_history_walked_by_another_process_meanwhile_gives_the_same_check(
    repo: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check's history is walked by a forked process while the estate is read: one process, two, and a walk whose
    result comes back damaged (walked again here) say the same, the 90-day finding and the uncommitted change included."""
    from calcheck.estate import transfers

    path = repo / "licenses" / "assignments" / "assignments.yaml"
    path.write_text(path.read_text().replace("person: alice", "person: dave"))  # an uncommitted reassignment
    args = ("check", "--as-of", "2026-03-15", "--format", "json", "--no-cache")
    monkeypatch.setenv("CALCHECK_JOBS", "1")
    alone = run_cli(*args)
    assert alone[0] == 1 and alone[1].count('"reassignment-90-days"') == 2
    monkeypatch.setenv("CALCHECK_JOBS", "2")
    assert run_cli(*args) == alone
    assert run_cli(*args[:-1]) == alone  # with the history cache, cold and warm
    assert run_cli(*args[:-1]) == alone
    monkeypatch.setattr(transfers, "encode_timeline", lambda timeline: b'{"transfers": [["cut')
    assert run_cli(*args) == alone


def test_diff_takes_the_base_estate_for_the_files_both_sides_share_and_says_what_two_checks_say(
    repo: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``diff`` reads the head's estate as the base's with the files that differ read again: a file renamed,
    removed, added or edited, a proof file changed beside unchanged holdings, a file broken on one side, the
    configuration changed, and the work tree shown from another folder each give what two separate checks say."""
    from calcheck.cli.common import check_at, estate_source
    from calcheck.estate.splice import changed_between
    from calcheck.licensing import engine
    from calcheck.licensing.diff import compare
    from calcheck.outputs.diffview import RENDERERS

    estate, as_of = repo / "licenses", dt.date(2026, 3, 15)
    holdings = estate / "holdings" / "holdings.yaml"
    (estate / "proof").mkdir()
    (estate / "proof" / "inv-1.pdf").write_bytes(b"%PDF-1.4 one")
    digest = hashlib.sha256(b"%PDF-1.4 one").hexdigest()
    holdings.write_text(
        holdings.read_text().replace("ref: INV-1}", f"ref: INV-1, file: proof/inv-1.pdf, sha256: {digest}}}")
    )
    (estate / "devices" / "more.yaml").write_text(
        "kind: devices\ndevices:\n  - {id: PC-9, kind: workstation, status: active}\n"
    )
    commit(repo, "Proof and a laptop", "2026-03-02T09:00:00+00:00")
    (estate / "proof" / "inv-1.pdf").write_bytes(b"%PDF-1.4 two")  # the holding's file is the same
    (estate / "devices" / "more.yaml").unlink()
    (estate / "people" / "contractors.yaml").write_text(
        "kind: people\npeople:\n  - {id: erin, name: Erin, kind: contractor, status: active}\n"
    )
    commit(repo, "Another proof; the laptop gone; a contractor", "2026-03-03T09:00:00+00:00")
    people = estate / "people" / "staff.yaml"
    people.write_text(people.read_text().replace("status: active}\n", "status: active, bad: 1}\n", 1))
    commit(repo, "A broken person", "2026-03-04T09:00:00+00:00")
    people.write_text(people.read_text().replace(", bad: 1}", "}").replace("Carol", "Caroline"))
    config = estate / "calcheck.yaml"
    config.write_text(config.read_text() + "rules:\n  disabled: [reassignment-90-days]\n")
    git(repo, "mv", "licenses/assignments/assignments.yaml", "licenses/assignments/all.yaml")
    commit(repo, "Fixed, renamed, configured", "2026-03-05T09:00:00+00:00")
    (estate / "assignments" / "all.yaml").write_text(ASSIGNMENTS.replace("person: bob", "person: erin"))
    pairs = [(f"HEAD~{n}", head) for n in range(1, 7) for head in (None, "HEAD~1")]
    pairs += [("HEAD", "HEAD~6"), ("HEAD~3", "HEAD~2"), ("HEAD~2", "HEAD~3")]
    for base, head in pairs:
        alone = compare(
            check_at(estate, base, as_of, True), check_at(estate, head, as_of, True), base, head or "working tree"
        )
        for form in ("text", "json"):
            args = ["diff", base, *([head] if head else []), "--as-of", "2026-03-15", "--format", form, "--no-cache"]
            assert run_cli(*args)[1].rstrip("\n") == RENDERERS[form](alone).rstrip("\n"), (base, head, form)
    monkeypatch.chdir(estate / "people")  # the work tree's paths are shown from here, a revision's from the top
    sides = check_at(Path(".."), "HEAD", as_of, True), check_at(Path(".."), None, as_of, True)
    shown = run_cli("diff", "HEAD", "--path", "..", "--as-of", "2026-03-15", "--no-cache", "--format", "json")[1]
    assert shown.rstrip("\n") == RENDERERS["json"](compare(*sides, "HEAD", "working tree")).rstrip("\n")
    shown_as = [side.estate.assignments[0].source.path for side in sides]  # (a folder above is shown in full)
    assert shown_as == ["licenses/assignments/all.yaml", str(estate / "assignments" / "all.yaml")]
    # where the files are the same, the head's records are the base's own (the estate was spliced); a proof file
    # that changed beside its holding has every file read again
    monkeypatch.chdir(repo)
    for base_rev, head_rev, spliced in (("HEAD", None, True), ("HEAD~3", "HEAD~2", False)):
        with estate_source(estate, base_rev) as before, estate_source(estate, head_rev) as after:
            base = engine.check(before, as_of)
            changed = changed_between(before, after)
            head = engine.recheck(base, before, after, changed, as_of)
            assert (head.estate.holdings[0] is base.estate.holdings[0]) is spliced
    assert changed == ["devices/more.yaml", "people/contractors.yaml"]


def test_a_diff_asked_again_of_the_same_estates_is_its_kept_result_and_any_change_to_what_it_reads_is_not(
    repo: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``diff``'s result is kept by the digest of everything it reads: asked again, it is read back (a forged
    entry shows it is); a change to a work-tree file, a proof file, the schemas beside the estate, what git ignores,
    the commits, the date or the format is a miss and gives what ``--no-cache`` gives; a damaged entry is a miss and
    is rewritten; ``--no-cache`` neither reads nor writes them."""
    from calcheck.estate.cache import read_entry, write_entry

    monkeypatch.setenv("CALCHECK_CACHE_DIR", str(tmp_path / "cache"))
    results = tmp_path / "cache" / "results"

    def kept() -> list[Path]:
        return sorted(results.rglob("*.json")) if results.exists() else []

    def diff(*args: str) -> str:
        """The diff with its result kept, checked against --no-cache; the number of entries grows by one."""
        entries = len(kept())
        fresh = run_cli("diff", *args, "--no-cache")
        assert len(kept()) == entries
        assert run_cli("diff", *args) == fresh and len(kept()) == entries + 1
        assert run_cli("diff", *args) == fresh and len(kept()) == entries + 1
        return fresh[1]

    estate = repo / "licenses"
    first = diff("HEAD~2", "--as-of", "2026-03-15")
    [entry] = kept()
    body = read_entry(entry)
    assert body is not None
    write_entry(entry, body.replace(b"HEAD~2 -> working tree", b"HEAD~2 -> forged"))
    assert run_cli("diff", "HEAD~2", "--as-of", "2026-03-15")[1] == first.replace("-> working tree", "-> forged")
    entry.write_bytes(entry.read_bytes().replace(b"HEAD~2", b"HEAD~3"))  # damaged: its digest no longer matches
    assert run_cli("diff", "HEAD~2", "--as-of", "2026-03-15")[1] == first
    assert read_entry(entry) == body  # worked out again and rewritten

    assignments = estate / "assignments" / "assignments.yaml"
    assignments.write_text(assignments.read_text().replace("person: alice", "person: bob"))
    assert diff("HEAD~2", "--as-of", "2026-03-15") != first
    holdings = estate / "holdings" / "holdings.yaml"
    digest = hashlib.sha256(b"%PDF-1.4 one").hexdigest()
    holdings.write_text(holdings.read_text().replace("ref: INV-1}", f"ref: INV-1, file: inv.pdf, sha256: {digest}}}"))
    (estate / "inv.pdf").write_bytes(b"%PDF-1.4 one")
    proof_kept = diff("HEAD~2", "--as-of", "2026-03-15")
    (estate / "inv.pdf").write_bytes(b"%PDF-1.4 two")
    assert "has changed" in diff("HEAD~2", "--as-of", "2026-03-15") and "has changed" not in proof_kept
    assert "schema-outdated" not in diff("HEAD~2", "--as-of", "2026-03-15", "--format", "json")
    (repo / "schemas").mkdir()
    (repo / "schemas" / "people.schema.json").write_text("{}")
    assert "schema-outdated" in diff("HEAD~2", "--as-of", "2026-03-15", "--format", "json")
    (estate / "devices" / "extra.yaml").write_text("kind: devices\ndevices: []\n")
    diff("HEAD~2", "--as-of", "2026-03-15")
    (repo / ".gitignore").write_text("extra.yaml\n")  # git now takes it for unchanged: the history reads otherwise
    diff("HEAD~2", "--as-of", "2026-03-15")
    commit(repo, "Everything", "2026-03-10T09:00:00+00:00")
    diff("HEAD~2", "--as-of", "2026-03-15")  # the same names, other commits
    diff("HEAD~2", "HEAD", "--as-of", "2026-03-15")
    diff("HEAD~2", "HEAD", "--as-of", "2026-03-16")
    diff("HEAD~2", "HEAD", "--as-of", "2026-03-16", "--no-history")  # (the helper asserts the miss and the answer)


def test_a_check_asked_again_of_the_same_estate_is_its_kept_result_and_any_change_to_what_it_reads_is_not(
    repo: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``check``'s exit code and text are kept by the digest of everything it reads, as ``diff``'s are: asked again
    it answers from them (a forged entry shows it does), and a change to a file, the schemas beside the estate, what
    git ignores, the commits or any option is a miss that gives what ``--no-cache`` gives; a ratchet or a summary
    file is never answered from them."""
    from calcheck.estate.cache import read_entry, write_entry

    monkeypatch.setenv("CALCHECK_CACHE_DIR", str(tmp_path / "cache"))
    results = tmp_path / "cache" / "results"

    def kept() -> list[Path]:
        return sorted(results.rglob("*.json")) if results.exists() else []

    def check(*args: str, new: int = 1) -> tuple[int, str, str]:
        entries = len(kept())
        fresh = run_cli("check", *args, "--no-cache")
        assert len(kept()) == entries
        assert run_cli("check", *args) == fresh and len(kept()) == entries + new
        assert run_cli("check", *args) == fresh and len(kept()) == entries + new
        return fresh

    first = check("--as-of", "2026-03-15")
    assert first[0] == 1 and "reassignment-90-days" in first[1]
    [entry] = kept()
    body = read_entry(entry)
    assert body is not None
    write_entry(entry, body.replace(b'\\"exit\\": 1', b'\\"exit\\": 0'))  # (the record is JSON in JSON)
    assert run_cli("check", "--as-of", "2026-03-15") == (0, first[1], "")  # believed: the folder is trusted
    entry.write_bytes(entry.read_bytes() + b" ")  # damaged: a miss, worked out and written again
    assert run_cli("check", "--as-of", "2026-03-15") == first and read_entry(entry) == body

    for options in (["--format", "json"], ["--fail-on", "info"], ["--color", "always"], ["--no-history"]):
        check("--as-of", "2026-03-15", *options)
    check("--as-of", "2026-03-16")
    check("--as-of", "2026-03-15", "--rev", "HEAD~1")
    assignments = repo / "licenses" / "assignments" / "assignments.yaml"
    assignments.write_text(assignments.read_text().replace("person: carol", "person: dave"))
    assert check("--as-of", "2026-03-15") != first
    (repo / "schemas").mkdir()
    (repo / "schemas" / "people.schema.json").write_text("{}")
    assert "schema-outdated" in check("--as-of", "2026-03-15")[1]
    (repo / "licenses" / "devices" / "extra.yaml").write_text("kind: devices\ndevices: []\n")
    check("--as-of", "2026-03-15")
    (repo / ".gitignore").write_text("extra.yaml\n")
    check("--as-of", "2026-03-15")
    commit(repo, "Everything", "2026-03-10T09:00:00+00:00")
    check("--as-of", "2026-03-15")
    check("--as-of", "2026-03-15", "--ratchet", "HEAD~1", new=0)
    check("--as-of", "2026-03-15", "--summary", str(tmp_path / "summary.md"), new=0)


def test_an_edit_asked_again_is_its_kept_decision_and_any_change_to_what_it_reads_is_not(
    repo: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An edit's decision (its diff, the new findings, a refusal, the files it writes) is kept by the digest of
    everything its planning reads: asked again, as after its dry run, it is shown and written from it (a forged
    entry shows it is read), byte for byte as a planning anew (``--no-cache``, in a copy of the repository) shows
    and writes it. A change to a file, an option or the commits is a miss; a damaged entry is worked out again."""
    import shutil

    from calcheck.estate.cache import read_entry, write_entry

    monkeypatch.setenv("CALCHECK_CACHE_DIR", str(tmp_path / "cache"))
    results = tmp_path / "cache" / "results"
    twin = tmp_path / "twin"
    shutil.copytree(repo, twin)

    def kept() -> list[Path]:
        return sorted(results.rglob("*.json")) if results.exists() else []

    def anew(*args: str) -> tuple[tuple[int, str, str], dict[str, bytes]]:
        """The edit planned anew in the copy (which is then made the repository's estate again)."""
        monkeypatch.chdir(twin)
        try:
            return run_cli(*args, "--no-cache"), _files(twin / "licenses")
        finally:
            shutil.rmtree(twin / "licenses")
            shutil.copytree(repo / "licenses", twin / "licenses")
            monkeypatch.chdir(repo)

    def edit(*args: str, new: int = 1) -> tuple[int, str, str]:
        """A dry run planned (and kept), then asked again from what was kept, both as a planning anew says."""
        entries = len(kept())
        fresh, _ = anew(*args, "--dry-run")
        assert run_cli(*args, "--dry-run") == fresh and len(kept()) == entries + new
        assert run_cli(*args, "--dry-run") == fresh and len(kept()) == entries + new
        return fresh

    assign = ("assign", "WS22-U", "--person", "bob", "--as-of", "2026-03-15")
    dry = edit(*assign)
    assert dry[0] == 0 and "+  - {id: A-3, holding: WS22-U, person: bob, since: 2026-03-15}" in dry[1]
    [entry] = kept()
    body = read_entry(entry)
    assert body is not None
    write_entry(entry, body.replace(b"person: bob", b"person: FORGED"))
    assert "person: FORGED" in run_cli(*assign, "--dry-run")[1]  # believed: the cache folder is trusted
    entry.write_bytes(entry.read_bytes() + b" ")  # damaged: a miss, worked out and written again
    assert run_cli(*assign, "--dry-run") == dry and read_entry(entry) == body

    refused = edit("assign", "WS22-U", "--person", "alice", "--as-of", "2026-03-15")  # alice holds one already
    assert refused[0] == 1 and "refused:" in refused[1]
    for options in (["--since", "2026-03-02"], ["--no-history"], ["--id", "A-9"], ["--force"]):
        edit(*assign, *options)
    edit(*assign[:-1], "2026-03-16")
    people = repo / "licenses" / "people" / "staff.yaml"
    people.write_text(people.read_text() + "  - {id: dave, name: Dave, kind: employee, status: active}\n")
    shutil.copy(people, twin / "licenses" / "people" / "staff.yaml")
    edit(*assign)
    commit(repo, "Dave joins", "2026-03-10T09:00:00+00:00")
    commit(twin, "Dave joins", "2026-03-10T09:00:00+00:00")
    edit(*assign)

    # written from the decision its dry run kept: what a planning anew writes, and nothing is kept meanwhile
    entries = len(kept())
    fresh, written = anew(*assign)
    assert run_cli(*assign) == fresh and fresh[0] == 0 and len(kept()) == entries
    assert _files(repo / "licenses") == written != _files(twin / "licenses")


def test_a_kept_decision_is_never_written_over_a_file_that_changed_or_appeared_since(tmp_path: Path) -> None:
    from calcheck.edits.operations import Decided, EditError

    register, new = tmp_path / "register.yaml", tmp_path / "new.yaml"
    register.write_text("planned on\n")
    digest = hashlib.sha256(b"planned on\n").hexdigest()
    decided = Decided("", None, ((str(register), digest, "edited\n", "edited"), (str(new), None, "new\n", "new")))
    assert Decided.decode(decided.encode()) == decided
    for damaged in (
        "",
        "[]",
        '{"shown": 1, "refused": null, "files": []}',
        '{"shown": "", "refused": 2, "files": []}',
        '{"shown": "", "refused": null, "files": [[1]]}',
    ):
        assert Decided.decode(damaged) is None
    register.write_text("changed meanwhile\n")
    with pytest.raises(EditError, match="changed since calcheck read it"):
        decided.write(tmp_path)
    register.write_text("planned on\n")
    new.write_text("appeared\n")
    with pytest.raises(EditError, match="appeared since calcheck planned the edit"):
        decided.write(tmp_path)
    assert (register.read_text(), new.read_text()) == ("planned on\n", "appeared\n")
    new.unlink()
    decided.write(tmp_path)
    assert (register.read_text(), new.read_text()) == ("edited\n", "new\n")


def _files(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def test_a_kept_diff_digests_the_folders_the_check_reads_where_a_link_sends_it(
    repo: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The key of a kept diff covers the folders the check reads, as the system finds them: an estate named through
    a link and '..' is read where the link leads (not where the name seems to point), and the schemas compared with
    calcheck's are those beside the folder a linked estate leads to. A change there is a miss, never a stale text."""
    monkeypatch.setenv("CALCHECK_CACHE_DIR", str(tmp_path / "cache"))

    def diff(*args: str) -> str:
        """The diff with its result kept (read back when asked again), which must be what --no-cache says."""
        fresh = run_cli("diff", *args, "--as-of", "2026-03-15", "--no-cache")
        assert run_cli("diff", *args, "--as-of", "2026-03-15") == fresh
        assert run_cli("diff", *args, "--as-of", "2026-03-15") == fresh
        return fresh[1]

    estate = repo / "licenses"
    assignments = estate / "assignments" / "assignments.yaml"
    (repo / "elsewhere").mkdir()
    (repo / "elsewhere" / "people").symlink_to("../licenses/people")  # 'elsewhere/people/..' is licenses/
    for holder in ("bob", "carol"):  # an uncommitted change, then another to the same file
        assignments.write_text(assignments.read_text().replace("person: alice", f"person: {holder}"))
        shown = diff("HEAD", "--path", "elsewhere/people/..").splitlines()
        assert shown[3:6] == ["assignments:", f"  WS22-U: A-1 assigned to {holder}", "  WS22-U: A-2 assigned to carol"]
        git(repo, "checkout", "-q", "--", ".")

    (repo / "store").mkdir()
    estate.rename(repo / "store" / "licenses")
    estate.symlink_to("store/licenses")  # a linked estate is not read, but the schemas beside it are compared
    (repo / "store" / "schemas").mkdir()
    assert "schema-outdated" not in diff("HEAD", "--format", "json")
    (repo / "store" / "schemas" / "people.schema.json").write_text("{}")
    assert "schema-outdated" in diff("HEAD", "--format", "json")


def test_a_diff_whose_estate_changes_while_it_runs_keeps_no_result_under_the_estate_it_began_with(
    repo: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A work-tree file edited while ``diff`` reads (an editor saving, a checkout) leaves its text computed from other
    files than its key names: it is not kept, so the estate as it was before is never answered with that text."""
    from calcheck.cli import changes

    monkeypatch.setenv("CALCHECK_CACHE_DIR", str(tmp_path / "cache"))
    assignments = repo / "licenses" / "assignments" / "assignments.yaml"
    as_it_was = assignments.read_text()
    checked = changes.check_source

    def edited_meanwhile(*args: Any, **kwargs: Any) -> Any:
        result = checked(*args, **kwargs)
        assignments.write_text(as_it_was.replace("person: alice", "person: bob"))  # once the base is checked
        return result

    with monkeypatch.context() as patch:
        patch.setattr(changes, "check_source", edited_meanwhile)
        meanwhile = run_cli("diff", "HEAD", "--as-of", "2026-03-15")
    assert "WS22-U: reassigned from alice to bob (A-1)" in meanwhile[1]
    assert run_cli("diff", "HEAD", "--as-of", "2026-03-15") == meanwhile  # (its estate, asked for afresh)
    assignments.write_text(as_it_was)
    fresh = run_cli("diff", "HEAD", "--as-of", "2026-03-15", "--no-cache")
    assert fresh[1].splitlines()[0] == (
        "HEAD -> working tree (as of 2026-03-15): shortfall 0 CALs (0.00 -> 0.00), 0 finding(s) introduced, 0 resolved"
    )
    assert run_cli("diff", "HEAD", "--as-of", "2026-03-15") == fresh


def test_a_kept_diff_sees_an_empty_folder_that_changes_what_the_check_reads(
    repo: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Folders are part of what a kept diff's key covers, empty ones too: an empty '.git' folder makes a folder of the
    estate a submodule (not read, a finding), and a proof file's path that becomes an empty folder is not a regular
    file rather than a missing one. Each is a miss, never the text kept before it."""
    monkeypatch.setenv("CALCHECK_CACHE_DIR", str(tmp_path / "cache"))

    def diff() -> list[str]:
        """The diff with its result kept (read back when asked again), which must be what --no-cache says."""
        fresh = run_cli("diff", "HEAD", "--as-of", "2026-03-15", "--no-cache")
        assert run_cli("diff", "HEAD", "--as-of", "2026-03-15") == fresh
        assert run_cli("diff", "HEAD", "--as-of", "2026-03-15") == fresh
        return fresh[1].splitlines()

    estate = repo / "licenses"
    assert len(diff()) == 1  # the work tree is HEAD
    (estate / "people" / ".git").mkdir()
    assert "  error [estate-link] licenses/people:1: 'people' is a symbolic link; it is not read" in diff()
    (estate / "people" / ".git").rmdir()
    assert len(diff()) == 1
    holdings = estate / "holdings" / "holdings.yaml"
    digest = hashlib.sha256(b"%PDF-1.4 one").hexdigest()
    holdings.write_text(holdings.read_text().replace("ref: INV-1}", f"ref: INV-1, file: inv.pdf, sha256: {digest}}}"))
    shown = "  error [proof-file] licenses/holdings/holdings.yaml:11: WS22-U: proof file 'inv.pdf'"
    assert diff()[-1] == f"{shown} does not exist"
    (estate / "inv.pdf").mkdir()
    assert diff()[-1] == f"{shown} is not a regular file"


def test_a_diff_without_history_answers_as_without_the_cache_when_git_cannot_list_the_changed_files(
    repo: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A diff without history never asks git which work-tree files changed; when git cannot say (a damaged index),
    the key of its kept result cannot be taken either: the diff answers as ``--no-cache`` does, and keeps nothing."""
    monkeypatch.setenv("CALCHECK_CACHE_DIR", str(tmp_path / "cache"))
    assignments = repo / "licenses" / "assignments" / "assignments.yaml"
    assignments.write_text(assignments.read_text().replace("person: carol", "person: bob"))
    (repo / ".git" / "index").write_bytes(b"damaged")
    args = ("diff", "HEAD", "--as-of", "2026-03-15", "--no-history")
    fresh = run_cli(*args, "--no-cache")
    assert fresh[0] == 0 and fresh[1].splitlines()[:3] == [
        "HEAD -> working tree (as of 2026-03-15): shortfall 0 CALs (0.00 -> 0.00), 1 finding(s) introduced, 1 resolved",
        "assignments:",
        "  WS22-U: reassigned from carol to bob (A-2)",
    ]
    assert run_cli(*args) == fresh
    assert run_cli(*args) == fresh
    assert not (tmp_path / "cache" / "results").exists()


def test_a_diff_of_an_estate_named_by_a_link_loop_is_the_usage_error_it_is_without_the_cache(
    repo: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Bad input never crashes: an estate path that is a link to itself is no folder, to diff and check, with the kept
    results or not."""
    monkeypatch.setenv("CALCHECK_CACHE_DIR", str(tmp_path / "cache"))
    (repo / "loop").symlink_to("loop")
    for path in ("loop", "loop/licenses"):
        said = (2, "", f"calcheck: error: {path}: not a directory (give the estate folder, e.g. licenses/)\n")
        for args in (("diff", "HEAD", "--path", path), ("check", path)):
            assert run_cli(*args, "--as-of", "2026-03-15", "--no-cache") == said
            assert run_cli(*args, "--as-of", "2026-03-15") == said
