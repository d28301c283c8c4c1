"""Review of edits and imports answered from a kept decision: each is what the same command planned anew
(``--no-cache``) says and writes, whatever changed between the two that the key might not hold."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from calcheck.licensing.rules.example import base_files, write_estate
from tests.conftest import ROOT
from tests.test_git import ASSIGNMENTS, PEOPLE, commit, git

Run = Callable[..., tuple[int, str, str]]
SAMPLES = ROOT / "tests" / "samples"


def _files(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def _estate(root: Path) -> Path:
    estate = write_estate({**base_files(), "people/people.yaml": PEOPLE}, root / "licenses")
    (estate / "assignments" / "assignments.yaml").write_text(ASSIGNMENTS)
    (root / "schemas").mkdir()
    return estate


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository whose history moved bob's CAL to carol within 90 days (pinned names and dates)."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    estate = _estate(root)
    commit(root, "Initial estate", "2026-01-05T09:00:00+00:00")
    register = estate / "assignments" / "assignments.yaml"
    register.write_text(ASSIGNMENTS.replace("person: bob", "person: carol"))
    commit(root, "Give bob's CAL to carol", "2026-02-04T09:00:00+00:00")
    holdings = estate / "holdings" / "holdings.yaml"
    holdings.write_text(holdings.read_text().replace("quantity: 3", "quantity: 5"))
    git(root, "mv", "licenses/people/people.yaml", "licenses/people/staff.yaml")
    commit(root, "Two more CALs; rename the people file", "2026-03-01T09:00:00+00:00")
    monkeypatch.chdir(root)
    return root


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


EDITS = [
    ("assign", "WS22-U", "--person", "dave"),  # dave: an uncommitted new person
    ("assign", "WS22-U", "--person", "alice"),  # refused: alice holds one already
    ("assign", "WS22-U", "--person", "alice", "--force"),
    ("assign", "WS22-U", "--device", "PC-1", "--file", "licenses/assignments/devices.yaml", "--note", "é \u2028 x"),
    ("assign", "WS22-U", "--device", "PC-1", "--file", "licenses/assignments/devices.yaml", "--force"),
    ("unassign", "A-2", "--on", "2026-03-20"),
    ("unassign", "A-2", "--remove"),  # refused: carol then reaches dc without a CAL
    ("unassign", "A-1", "--remove", "--no-history", "--force"),
    ("transfer", "A-1", "--to-person", "dave", "--on", "2026-03-16", "--reason", "departure"),
    ("transfer", "A-2", "--to-person", "dave", "--force"),  # within 90 days of carol's, seen in the history
    ("transfer", "A-1", "--to-device", "PC-1", "--temporary", "--until", "2026-04-30", "--force"),
    ("audit", "record", "--auditor", "Dana", "--scope", "all CALs"),
    ("audit", "record", "--auditor", "Dana", "--date", "2027-02-01", "--id", "AUD-X"),
]


@pytest.mark.parametrize("edit", EDITS, ids=[" ".join(edit) for edit in EDITS])
def test_every_edit_applied_from_its_kept_decision_says_and_writes_what_planning_anew_does(
    repo: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, edit: tuple[str, ...]
) -> None:
    """Each edit command, refused or not, in a repository with history: a dry run keeps the decision, asked again
    it is shown from it, then applied from it; a copy of the repository planned anew (``--no-cache``) says the
    same, exits the same and writes the same bytes (the audit's HEAD and changed files included)."""
    monkeypatch.setenv("CALCHECK_CACHE_DIR", str(tmp_path / "cache"))
    dave = "  - {id: dave, name: Dave, kind: employee, status: active}\n"
    (repo / "licenses" / "people" / "staff.yaml").write_text(PEOPLE + dave)  # uncommitted
    twin = tmp_path / "twin"
    shutil.copytree(repo, twin, symlinks=True)
    results = tmp_path / "cache" / "results"
    edit = (*edit, "--as-of", "2026-03-15")
    dry = run_cli(*edit, "--dry-run")
    entries = sorted(results.rglob("*.json"))
    assert len(entries) == 1
    assert run_cli(*edit, "--dry-run") == dry
    applied = run_cli(*edit), _files(repo)
    assert sorted(results.rglob("*.json")) == entries  # answered from the kept decision
    monkeypatch.chdir(twin)
    anew = run_cli(*edit, "--no-cache", "--dry-run")
    assert anew == dry
    assert (run_cli(*edit, "--no-cache"), _files(twin)) == applied
    assert applied[0][0] == dry[0] and (dry[0] == 1) == ("refused:" in dry[1])


IMPORTS = [
    ("people", "entra-users.csv", "--partial"),
    ("people", "ad-users.csv", "--partial"),  # refused: a worse position
    ("people", "ad-users.csv", "--partial", "--accept-shortfall", "--file-to", "licenses/people/joiners.yaml"),
    ("people", "ad-users-broken.csv"),  # refused: rows that do not read
    ("people", "hr-system.csv", "--mapping", str(SAMPLES / "hr-system-mapping.yaml"), "--partial", "--force"),
    ("devices", "intune-devices.csv"),
    ("devices", "intune-devices.csv", "--file-to", "licenses/devices/enrolled.yml", "--force"),
]


@pytest.mark.parametrize("command", IMPORTS, ids=[" ".join(c[:2] + c[2:3]) for c in IMPORTS])
def test_every_import_applied_from_its_kept_decision_says_and_writes_what_planning_anew_does(
    run_cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: tuple[str, ...]
) -> None:
    """Each kind of import, refused or not: its dry run keeps the decision, the import is then shown and written
    from it, and a copy of the estate planned anew (``--no-cache``) says, exits and writes the same."""
    monkeypatch.setenv("CALCHECK_CACHE_DIR", str(tmp_path / "cache"))
    for place in ("here", "twin"):
        shutil.copytree(ROOT / "licenses", tmp_path / place / "licenses")
    results = tmp_path / "cache" / "results"
    what, export, *options = command
    args = ("import", what, str(SAMPLES / export), "--on", "2026-12-01", *options)
    monkeypatch.chdir(tmp_path / "here")
    dry = run_cli(*args, "--dry-run")
    entries = sorted(results.rglob("*.json"))
    assert len(entries) == 1 and run_cli(*args, "--dry-run") == dry
    applied = run_cli(*args), _files(tmp_path / "here")
    assert sorted(results.rglob("*.json")) == entries  # answered from the kept decision
    monkeypatch.chdir(tmp_path / "twin")
    assert run_cli(*args, "--no-cache", "--dry-run") == dry
    assert (run_cli(*args, "--no-cache"), _files(tmp_path / "twin")) == applied
    assert applied[0][0] == dry[0] and (dry[0] == 1) == ("refused" in dry[1])


def _forge(results: Path, change: Callable[[dict[str, object]], None]) -> None:
    """Rewrite the latest kept decision below ``results`` with ``change``, digest line and all (a forged entry)."""
    from calcheck.estate.cache import read_entry, write_entry

    entry = max(results.rglob("*.json"), key=lambda path: path.stat().st_mtime_ns)
    body = read_entry(entry)
    assert body is not None
    outer = json.loads(body)
    decided = json.loads(outer["text"])
    change(decided)
    outer["text"] = json.dumps(decided)  # (escapes: a lone surrogate is kept as written)
    write_entry(entry, json.dumps(outer).encode())


def test_a_forged_decision_writes_no_file_outside_the_estate_nor_through_a_link_and_a_malformed_one_is_a_miss(
    run_cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The cache folder is trusted, but a decision read back is written under the rule every edit is written under:
    never outside the estate nor through a link (the entry is refused, nothing written). A file entry that is not
    one (a NUL in its path, a digest that is not one, text no file can hold) is a miss: planned anew."""
    monkeypatch.setenv("CALCHECK_CACHE_DIR", str(tmp_path / "cache"))
    results = tmp_path / "cache" / "results"
    estate = _estate(tmp_path)
    monkeypatch.chdir(tmp_path)
    (estate / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (tmp_path / "elsewhere").mkdir()
    shutil.copytree(estate, tmp_path / "pristine", symlinks=True)
    edit = ("assign", "WS22-U", "--person", "carol", "--as-of", "2026-03-15")
    dry = run_cli(*edit, "--dry-run")
    assert dry[0] == 0
    before = _files(estate)
    for outside in (str(tmp_path / "outside.yaml"), "licenses/linked/new.yaml", "licenses/../outside.yaml"):

        def new_file(decided: dict[str, object], outside: str = outside) -> None:
            decided["files"] = [[outside, None, "kind: assignments\nassignments: []\n", "written"]]

        _forge(results, new_file)
        code, _, err = run_cli(*edit)
        assert code == 2 and ("not inside the estate" in err or "symbolic link" in err), err
        assert _files(estate) == before and not (tmp_path / "outside.yaml").exists()
        assert not any((tmp_path / "elsewhere").iterdir())
    for damaged in (["licenses/assign\0ments.yaml", None, "x\n", "s"], ["a.yaml", "not a digest", "x\n", "s"],
                    ["a.yaml", None, "\ud800\n", "s"], ["", None, "x\n", "s"]):  # fmt: skip

        def damage(decided: dict[str, object], damaged: list[object] = damaged) -> None:
            decided["files"] = [damaged]

        _forge(results, damage)
        assert run_cli(*edit, "--dry-run") == dry  # a miss: planned anew, and kept again
    kept = run_cli(*edit), _files(tmp_path / "licenses")
    _restored(estate, tmp_path / "pristine")
    assert (run_cli(*edit, "--no-cache"), _files(tmp_path / "licenses")) == kept and kept[0][0] == 0


def test_an_edit_asked_again_after_it_was_written_is_planned_anew_and_without_a_cache_none_is_read_or_kept(
    repo: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Written once from its kept decision, the same edit asked again (a second process that waited for the
    lock) reads the estate it wrote: planned anew (the next id), never the first decision written twice.
    ``CALCHECK_NO_CACHE`` neither reads nor keeps a decision, and a cache that cannot be written changes nothing."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("CALCHECK_CACHE_DIR", str(cache))
    twin = tmp_path / "twin"
    shutil.copytree(repo, twin, symlinks=True)
    edit = ("assign", "WS22-U", "--person", "alice", "--as-of", "2026-03-15", "--force")
    assert run_cli(*edit, "--dry-run")[0] == 0
    first, second = run_cli(*edit), run_cli(*edit)
    assert "id: A-3" in first[1] and "id: A-4" in second[1]
    monkeypatch.chdir(twin)
    assert [run_cli(*edit, "--no-cache"), run_cli(*edit, "--no-cache")] == [first, second]
    assert _files(repo / "licenses") == _files(twin / "licenses")

    monkeypatch.chdir(repo)
    assert run_cli(*edit, "--dry-run")[0] == 0
    _forge(cache / "results", lambda decided: decided.update(shown="FORGED\n"))
    assert run_cli(*edit, "--dry-run")[1].startswith("FORGED\n")  # (the forged entry is read with a cache)
    entries = sorted((cache / "results").rglob("*"))
    monkeypatch.setenv("CALCHECK_NO_CACHE", "1")
    for _ in range(2):
        assert "FORGED" not in run_cli(*edit, "--dry-run")[1]
    assert sorted((cache / "results").rglob("*")) == entries
    monkeypatch.delenv("CALCHECK_NO_CACHE")

    monkeypatch.setenv("CALCHECK_CACHE_DIR", str(tmp_path / "a-file"))  # no folder can be made there
    (tmp_path / "a-file").write_text("")
    shown = run_cli(*edit, "--dry-run")
    assert shown == run_cli(*edit, "--dry-run") == run_cli(*edit, "--dry-run", "--no-cache") and shown[0] == 0


def test_an_import_of_subscriptions_keeps_no_decision_and_still_says_and_writes_what_it_did(
    estate: Callable[[dict[str, str]], Path], run_cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``import subscriptions`` is planned every time (no kept decision): with a cache, its dry run and import say
    and write what they say and write without one."""
    from tests import test_import_subscriptions as online

    monkeypatch.setenv("CALCHECK_CACHE_DIR", str(tmp_path / "cache"))
    files = {
        "people/people.yaml": online.PEOPLE,
        "holdings/online.yaml": online.HOLDINGS,
        "assignments/assignments.yaml": online.ASSIGNMENTS,
        "deployments/deployments.yaml": online.DEPLOYMENTS,
    }
    tenant = estate(files)
    shutil.copytree(tenant, tmp_path / "pristine")
    command = ("import", "subscriptions", str(SAMPLES / "m365-admin-users.csv"), "--on", "2026-06-30")
    cached = [run_cli(*command, "--dry-run"), run_cli(*command, "--dry-run"), run_cli(*command)]
    written = _files(tenant)
    assert not (tmp_path / "cache" / "results").exists()
    _restored(tenant, tmp_path / "pristine")
    assert [run_cli(*command, "--dry-run", "--no-cache"), run_cli(*command, "--dry-run", "--no-cache"),
            run_cli(*command, "--no-cache")] == cached  # fmt: skip
    assert _files(tenant) == written != _files(tmp_path / "pristine") and cached[2][0] == 0


def test_a_graft_file_rewrites_no_history_calcheck_reads_so_a_kept_decision_stays_what_planning_anew_says(
    repo: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """git's deprecated ``info/grafts`` gives a commit other parents without changing HEAD (nor any key). calcheck
    reads the history the commits hold (as it ignores replace refs), so an edit kept before a graft file appeared
    is what planning anew says after (the 90-day rule counts from carol's commit on 2026-02-04 either way)."""
    monkeypatch.setenv("CALCHECK_CACHE_DIR", str(tmp_path / "cache"))
    edit = ("transfer", "A-2", "--to-person", "alice", "--on", "2026-03-16", "--as-of", "2026-03-16", "--dry-run")
    kept = run_cli(*edit)
    assert "40 days after its previous assignment on 2026-02-04" in kept[1]
    head = git(repo, "rev-parse", "HEAD").strip()
    (repo / ".git" / "info" / "grafts").write_text(f"{head}\n")  # HEAD made a root: the estate's first commit
    assert run_cli(*edit, "--no-cache") == kept == run_cli(*edit)
    assert run_cli("check", "--as-of", "2026-03-16", "--no-cache")[1] == run_cli("check", "--as-of", "2026-03-16")[1]


def test_a_kept_edit_is_not_taken_for_a_file_named_through_a_link_outside_the_estate_that_now_leads_elsewhere(
    run_cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``--file hop/../licenses/...`` is a file of the estate while the link ``hop`` (outside the estate, so in no
    folder's digest) leads beside it; retargeted after the dry run, the same name leads to a copy elsewhere. The
    key holds where each file named leads, so the edit is planned anew and refused as ``--no-cache`` refuses it; and
    a decision is never written to a file the system finds elsewhere than its name says (``Decided.write``)."""
    from calcheck.edits.operations import Decided, EditError

    monkeypatch.setenv("CALCHECK_CACHE_DIR", str(tmp_path / "cache"))
    estate = _estate(tmp_path)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "side").mkdir()
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "side").mkdir(parents=True)
    shutil.copytree(estate, elsewhere / "licenses")
    hop = tmp_path / "hop"
    hop.symlink_to(tmp_path / "side")
    edit = ("assign", "WS22-U", "--person", "carol", "--file", "hop/../licenses/assignments/new.yaml")
    edit = (*edit, "--as-of", "2026-03-15")
    assert run_cli(*edit, "--dry-run")[0] == 0
    hop.unlink()
    hop.symlink_to(elsewhere / "side")
    before = _files(estate), _files(elsewhere)
    anew = run_cli(*edit, "--no-cache")
    assert run_cli(*edit) == anew and anew[0] == 2 and "not inside the estate" in anew[2]
    assert (_files(estate), _files(elsewhere)) == before

    decided = Decided("", None, (("hop/../licenses/assignments/new.yaml", None, "kind: assignments\n", "new"),))
    with pytest.raises(EditError, match="through a symbolic link"):
        decided.write(estate)
    assert (_files(estate), _files(elsewhere)) == before


def test_a_kept_edit_waits_for_the_lock_like_any_edit_and_reads_its_key_under_it(
    repo: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """While another calcheck holds the estate's lock, the edit asked again is refused as one planned anew is, and
    writes nothing; the lock let go, it is written from its kept decision (the key taken under the lock)."""
    from calcheck.edits.lock import estate_lock

    monkeypatch.setenv("CALCHECK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CALCHECK_LOCK_WAIT", "0")
    edit = ("assign", "WS22-U", "--person", "alice", "--as-of", "2026-03-15", "--force")
    assert run_cli(*edit, "--dry-run")[0] == 0
    before = _files(repo / "licenses")
    with estate_lock(repo / "licenses"):
        kept, anew = run_cli(*edit), run_cli(*edit, "--no-cache")
    assert kept[0] == anew[0] == 2 and "being edited by another calcheck" in kept[2]
    assert _files(repo / "licenses") == before
    entries = sorted((tmp_path / "cache" / "results").rglob("*.json"))
    assert run_cli(*edit)[0] == 0 and sorted((tmp_path / "cache" / "results").rglob("*.json")) == entries
    assert _files(repo / "licenses") != before
