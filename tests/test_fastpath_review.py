"""Fast paths held to their slow paths on inputs the other differential tests do not generate.

- The file cache and the parsing workers: files whose data a JSON entry could carry inexactly (anchors and aliases
  of whole records and of lists, tags, decimals written as integers and the reverse, huge integers, negative zero,
  infinities, lone surrogates, keys that are not text, a key twice below a key that is not text, merge keys,
  directives, a second document) give the same check with no cache, a cold and a warm cache, parsed on three
  processes, and on three processes into a cache.
- An edit's check from its baseline (``engine.recheck``, ``Charger.rerun``): generated edits of the bundled estate
  with Online Services subscriptions (one ended, one ending soon), a CAL Suite Bridge beside its qualifying
  subscription and without one, and a person on leave whose CAL is with a temporary cover, each give what a whole
  check of the edited estate gives.
- The history cache and the walk's item-by-item reading: a register rewritten in every style, renamed, merged, with
  commits dated after the check's day, amended and reset: ``history``, ``check``, ``diff`` and an edit's dry run print
  the same bytes with the cache as without it.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calcheck.core.errors import CalcheckError
from calcheck.edits import operations
from calcheck.estate import parallel
from calcheck.estate.cache import FileCache
from calcheck.estate.sources import WorkTree
from calcheck.licensing import engine
from calcheck.licensing.rules.example import base_files, write_estate
from tests import test_recheck
from tests.conftest import AS_OF, ROOT
from tests.test_git import git
from tests.test_recheck import answers

DAY = dt.date.fromisoformat(AS_OF)
PERSON = "{name: K, kind: employee, status: active"
ODD_FILES = {
    "aliased-records": "kind: people\npeople:\n  - &p {id: al.x, name: Al, kind: employee, status: active}\n  - *p\n",
    "aliased-invalid-record": (
        "kind: people\npeople:\n  - &p {id: al.y, name: Al, kind: employee, status: active, extra: 1}\n  - *p\n"
    ),
    "aliased-list": f"kind: people\npeople:\n  - {{id: k5, {PERSON[1:]}, groups: &g [a, b]}}\n"
    f"  - {{id: k6, {PERSON[1:]}, groups: *g}}\n",
    "aliased-collection": f"kind: people\npeople: &r\n  - {{id: k12, {PERSON[1:]}}}\nother: *r\n",
    "tags": "kind: people\npeople:\n  - {id: !!str al.z, name: !!str 12, kind: employee, status: active}\n",
    "tag-binary": f"kind: people\npeople:\n  - {{id: k18, {PERSON[1:]}, department: !!binary aGVsbG8=}}\n",
    "tag-nonspecific": f"kind: people\npeople:\n  - {{id: k19, {PERSON[1:]}, department: ! 12}}\n",
    "tag-null": f"kind: people\npeople:\n  - {{id: k20, {PERSON[1:]}, department: !!null ''}}\n",
    "tag-int": f"kind: people\npeople:\n  - {{id: k21, {PERSON[1:]}, department: !!int 0o17}}\n",
    "tag-float-quantity": "kind: holdings\nholdings:\n  - {id: H1, cal: windows-server, version: '2022', type: user, "
    "quantity: !!float 3, channel: volume, purchased: 2024-01-01}\n",
    "decimal-quantity": "kind: holdings\nholdings:\n  - {id: H2, cal: windows-server, version: '2022', type: user, "
    "quantity: 1e1, channel: volume, purchased: 2024-01-01}\n",
    "negative-zero": "kind: holdings\nholdings:\n  - {id: H3, cal: windows-server, version: '2022', type: user, "
    "quantity: -0.0, channel: volume, purchased: 2024-01-01}\n",
    "huge-integer": "kind: holdings\nholdings:\n  - {id: H4, cal: windows-server, version: '2022', type: user, "
    "quantity: 123456789012345678901234567890, channel: volume, purchased: 2024-01-01}\n",
    "infinite-price": "kind: holdings\nholdings:\n  - {id: H5, cal: windows-server, version: 2022, type: user, "
    "quantity: 5, channel: volume, purchased: 2024-01-01, unit_price: .inf}\n",
    "surrogates": 'kind: people\npeople:\n  - {id: "s\\ud800x", name: "bad \\udcff", kind: employee, status: active}\n',
    "keys-not-text": f"kind: people\npeople:\n  - {{id: k1, {PERSON[1:]}, 1: one, true: t}}\n",
    "key-a-list": f"kind: people\npeople:\n  - {{id: k2, {PERSON[1:]}, ? [a, b] : c}}\n",
    "twice-below-an-integer-key": f"kind: people\npeople:\n  - {{id: k3, {PERSON[1:]}, x: {{1: {{a: 1, a: 2}}}}}}\n",
    "twice-below-a-boolean-key": f"kind: people\npeople:\n  - {{id: k4, {PERSON[1:]}, x: {{true: {{a: 1, a: 2}}}}}}\n",
    "id-twice": f"kind: people\npeople:\n  - {{id: k7, {PERSON[1:]}}}\n  - {{id: k8, {PERSON[1:]}, id: k9}}\n",
    "line-breaks": 'kind: people\npeople:\n  - {id: k10, name: "\\u2028x\\x85", kind: employee, status: active}\n',
    "second-document": f"kind: people\npeople:\n  - {{id: k11, {PERSON[1:]}}}\n...\n---\nkind: people\n",
    "yaml-1.1": "%YAML 1.1\n---\nkind: people\npeople:\n  - {id: k13, name: K, kind: employee, status: yes}\n",
    "hex-and-underscores": f"kind: people\npeople:\n  - {{id: k14, {PERSON[1:]}, hours: 0x10}}\n"
    f"  - {{id: k15, {PERSON[1:]}, hours: 1_000}}\n",
    "octal-looking-id": "kind: people\npeople:\n  - {id: 016, name: K, kind: employee, status: active}\n",
    "merge-key": f"kind: people\npeople:\n  - {{id: k17, {PERSON[1:]}, <<: {{department: X}}}}\n",
}


def _answers(root: Path, cache: FileCache | None) -> str:
    """Every answer of a check, as text (a NaN read from a file is never equal to itself)."""
    return repr(answers(engine.check(WorkTree(root), DAY, None, cache)))


@pytest.mark.parametrize("name", sorted(ODD_FILES))
def test_files_json_could_carry_inexactly_check_alike_cached_and_on_every_core(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "licenses"
    shutil.copytree(ROOT / "licenses", root)
    text = ODD_FILES[name]
    folder = "holdings" if "\nholdings:" in text else "people"
    (root / folder / "odd.yaml").write_bytes(text.encode("utf-8", "surrogatepass"))
    monkeypatch.setenv("CALCHECK_JOBS", "1")
    alone = _answers(root, None)
    cache = FileCache(tmp_path / "cache")
    assert _answers(root, cache) == alone  # cold
    assert _answers(root, cache) == alone  # warm
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setenv("CALCHECK_JOBS", "3")
    assert _answers(root, None) == alone
    workers = FileCache(tmp_path / "filled-by-workers")
    assert _answers(root, workers) == alone  # the workers write the entries ...
    assert _answers(root, workers) == alone  # ... which read back the same


ONLINE = """\
kind: holdings
holdings:
  - {id: M365-E3, cal: microsoft-365-e3, type: user, quantity: 4, channel: online-services, agreement: EA-7391042,
     purchased: 2025-07-01, subscription_until: 2026-12-15, unit_price: 30, currency: EUR,
     proof: [{type: invoice, ref: INV-M1}]}
  - {id: O365-E1, cal: office-365-e1, type: user, quantity: 3, channel: online-services, agreement: EA-7391042,
     purchased: 2025-07-01, subscription_until: 2026-10-31, unit_price: 8, currency: EUR,
     proof: [{type: invoice, ref: INV-M2}]}
  - {id: O365-E3, cal: office-365-e3, type: user, quantity: 3, channel: online-services, agreement: EA-7391042,
     purchased: 2025-07-01, subscription_until: 2027-10-31, unit_price: 20, currency: EUR,
     proof: [{type: invoice, ref: INV-M3}]}
  - {id: BRIDGE, cal: core-cal-bridge-o365, type: user, quantity: 2, channel: volume, agreement: EA-7391042,
     purchased: 2025-07-01, sa_until: 2027-06-30, unit_price: 5, currency: EUR, proof: [{type: invoice, ref: INV-M4}]}
"""
ONLINE_PEOPLE = """\
kind: people
people:
  - {id: zoe.leave, name: Zoe, kind: employee, status: on-leave, groups: [rds-users]}
  - {id: yan.sub, name: Yan, kind: employee, status: active, groups: [rds-users, exchange-archiving]}
  - {id: xia.sub, name: Xia, kind: employee, status: active}
"""
ONLINE_ASSIGNMENTS = """\
kind: assignments
assignments:
  - {id: S-1, holding: M365-E3, person: yan.sub, since: 2025-08-01}
  - {id: S-2, holding: O365-E1, person: xia.sub, since: 2025-08-01}
  - {id: S-3, holding: BRIDGE, person: xia.sub, since: 2025-08-01}
  - {id: S-4, holding: EA-WS22-USER, person: zoe.leave, since: 2025-08-01}
  - {id: S-5, holding: EA-WS22-USER, person: xia.sub, since: 2026-09-01, temporary: true, until: 2026-12-31,
     replaces: S-4, reason: temporary-cover}
  - {id: S-6, holding: O365-E3, person: zoe.leave, since: 2025-08-01}
  - {id: S-7, holding: BRIDGE, person: yan.sub, since: 2025-08-01}
"""


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_an_edit_among_subscriptions_bridges_and_covers_rechecked_gives_what_a_whole_check_gives(
    data: st.DataObject, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path_factory.mktemp("estate") / "licenses"
    shutil.copytree(ROOT / "licenses", root)
    (root / "holdings" / "online.yaml").write_text(ONLINE, encoding="utf-8")
    (root / "people" / "online.yaml").write_text(ONLINE_PEOPLE, encoding="utf-8")
    (root / "assignments" / "online.yaml").write_text(ONLINE_ASSIGNMENTS, encoding="utf-8")
    monkeypatch.setattr(test_recheck, "AS_OF", DAY)  # the edits' days around this estate's day
    base = engine.check(WorkTree(root), DAY)
    try:
        files = test_recheck.plan(root, base, data)
    except CalcheckError:  # an edit refused
        return
    edited = operations.Overlay(root, {relative: text.encode("utf-8") for relative, text in files.items()})
    rechecked = engine.recheck(base, WorkTree(root), edited, list(files), DAY)
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text, encoding="utf-8")
    assert answers(rechecked) == answers(engine.check(WorkTree(root), DAY))


# --- the history cache and the walk's item-by-item reading, through the command line ---------------------------

HISTORY_AS_OF = "2026-04-20"
STAFF = "kind: people\npeople:\n" + "".join(
    f"  - {{id: p{i}, name: P{i}, kind: employee, status: active}}\n" for i in range(6)
)


def _register(rows: list[tuple[str, str, str]], style: str) -> bytes:
    """An assignments file of ``rows`` (id, person, since) written one of the ways admins and editors write it."""
    fields = [(f"id: {i}", "holding: WS22-U", f"person: {p}", f"since: {s}") for i, p, s in rows]
    head, newline = "kind: assignments\nassignments:\n", "\n"
    if style == "flow":
        body = "".join(f"  - {{{', '.join(f)}}}\n" for f in fields)
    elif style == "block-column-0":  # re-indented: the items at column 0, a comment naming an id between them
        body = "".join("- " + "\n  ".join(f) + f"\n# - id: {f[0][4:]}-old, person: p0\n" for f in fields)
    elif style == "crlf-bom":
        head, newline = "\ufeff# register\n" + head, "\r\n"
        body = "".join("    - " + "\n      ".join(f) + "\n" for f in fields)
    elif style == "flow-list":
        body = "".join(f"  {{{', '.join(f)}}},\n" for f in fields)
        head, body = "kind: assignments\nassignments: [\n", body + "]\n"
    else:  # "tab": a tab where YAML allows none, the whole file read as the check reads it
        body = "".join(f"  - {{{', '.join(f)}}}\n" for f in fields) + "\tnote: x\n"
    return (head + body).replace("\n", newline).encode("utf-8")


def _outputs(repo: Path, cache: Path, *extra: str) -> list[str]:
    env = {**os.environ, "CALCHECK_CACHE_DIR": str(cache)}
    commands = [
        ["history", "licenses", "--format", "json"],
        ["check", "licenses", "--as-of", HISTORY_AS_OF, "--format", "json"],
        ["check", "licenses", "--as-of", "2026-03-10", "--format", "json"],  # before some commits
        ["diff", "HEAD~2", "--path", "licenses", "--as-of", HISTORY_AS_OF, "--format", "json"],
        ["transfer", "A-1", "--to-person", "p5", "--path", "licenses", "--as-of", HISTORY_AS_OF, "--dry-run"],
    ]
    found = []
    for command in commands:
        done = subprocess.run([sys.executable, "-m", "calcheck", *command, *extra], cwd=repo, env=env,
                              capture_output=True, text=True, check=False)  # fmt: skip
        assert done.returncode in (0, 1), done.stderr
        found.append(f"{' '.join(command)}\n{done.returncode}\n{done.stdout}")
    return found


def test_history_check_and_diff_alike_with_and_without_the_cache_over_files_written_every_way(tmp_path: Path) -> None:
    """A register rewritten in every style (re-indented, CR LF with a byte-order mark, comments naming ids, a flow
    list, a tab that breaks it), moved by a rename, merged from a branch, with commits dated after the check's day,
    an amended commit and a history reset to an earlier commit and grown anew: every command prints the same bytes
    with a cold and a warm cache as without it."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    estate = write_estate({**base_files(), "people/people.yaml": STAFF}, repo / "licenses")
    register = estate / "assignments" / "assignments.yaml"
    rows = [("A-1", "p0", "2026-01-05"), ("A-2", "p1", "2026-01-05"), ("A-3", "p2", "2026-01-05")]
    cache = tmp_path / "cache"

    def commit(style: str, day: str, message: str) -> None:
        register.write_bytes(_register(rows, style))
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", message, date=f"{day}T09:00:00+00:00")

    def same(warm: bool = False) -> None:
        expected = _outputs(repo, tmp_path / "unused", "--no-cache")
        assert _outputs(repo, cache) == expected  # cold, or resumed from what earlier walks kept
        if warm:
            assert _outputs(repo, cache) == expected

    commit("flow", "2026-01-05", "Register")
    rows[1] = ("A-2", "p3", "2026-02-01")
    commit("block-column-0", "2026-02-01", "A-2 to p3, re-indented")
    rows.append(("A-4", "p4", "2026-02-10"))
    commit("crlf-bom", "2026-02-10", "A-4, CR LF")
    git(repo, "checkout", "-q", "-b", "side")
    rows[0] = ("A-1", "p4", "2026-03-01")
    commit("flow-list", "2026-03-01", "A-1 to p4, a flow list")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "side", "-m", "Merge side", date="2026-03-02T09:00:00+00:00")
    git(repo, "mv", "licenses/assignments/assignments.yaml", "licenses/assignments/register.yaml")
    register = estate / "assignments" / "register.yaml"
    rows[2] = ("A-3", "p5", "2026-03-05")
    commit("tab", "2026-03-05", "Renamed, A-3 to p5, a tab")
    rows[1] = ("A-2", "p0", "2026-04-01")
    commit("crlf-bom", "2099-01-01", "A-2 to p0, dated after the check's day")
    same()
    rows[1] = ("A-2", "p2", "2026-04-02")
    register.write_bytes(_register(rows, "block-column-0"))
    git(repo, "commit", "-q", "-a", "--amend", "-m", "A-2 to p2 instead", date="2026-04-02T09:00:00+00:00")
    same()
    git(repo, "reset", "-q", "--hard", "HEAD~3")  # as after a force-push: an earlier commit, then another line
    rows[:] = [("A-1", "p1", "2026-01-05"), ("A-2", "p3", "2026-02-01"), ("A-4", "p2", "2026-04-05")]
    commit("flow", "2026-04-05", "Another line")
    register.write_bytes(_register([*rows, ("A-5", "p5", "2026-04-06")], "crlf-bom"))  # left uncommitted
    same(warm=True)


# --- an edit's dry run against the check of the estate it leaves, when git ignores the file it writes ------------


@pytest.mark.parametrize("ignored", [True, False])
def test_an_edit_of_a_file_git_ignores_is_judged_as_the_check_after_it_judges_it(ignored: bool, tmp_path: Path) -> None:
    """The check reads every file of the estate, but its history sees only the changes git lists, and git never
    lists a file it ignores: an edit of such a file must be judged without it among the uncommitted changes (the
    dry run said "(uncommitted)" of a reassignment the check after the edit finds from the records alone)."""
    from calcheck.cli.common import check_at

    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    estate = write_estate({**base_files(), "people/people.yaml": STAFF}, repo / "licenses")
    register = "kind: assignments\nassignments:\n  - {{id: {}, holding: WS22-U, person: {}, since: 2026-01-05}}\n"
    (estate / "assignments" / "assignments.yaml").write_text(register.format("A-1", "p0"))
    (repo / ".gitignore").write_text("local.yaml\n" if ignored else "")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Register", date="2026-01-05T09:00:00+00:00")
    (estate / "assignments" / "local.yaml").write_text(register.format("A-7", "p1"))
    day = dt.date(2026, 2, 10)
    base = operations.baseline(estate, day)
    changes = operations.plan_transfer(estate, base.result, "A-7", ("person", "p2"), dt.date(2026, 2, 1), None)
    planned = operations.review(base, changes).after
    for change in changes:
        change.path.write_text(change.after, encoding="utf-8")
    written = check_at(estate, None, day, True)
    assert [f for f in planned.findings if f.rule == "reassignment-90-days"]
    assert planned.findings == written.findings
    assert planned.context.transfers == written.context.transfers
