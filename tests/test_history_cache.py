"""The history cache: history, check, diff and the site print the same bytes cold, warm, after a new commit, after
a rewritten history, with the cache damaged, and without it (real git repositories, pinned dates)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest

from calcheck.git.histcache import HistoryCache, Snapshot
from calcheck.licensing.rules.example import base_files, write_estate
from calcheck.site import build
from tests import test_git
from tests.conftest import ROOT
from tests.test_git import ASSIGNMENTS, commit, git

AS_OF = "2026-03-20"  # the reassignment of 2026-02-04 is within 90 days
PEOPLE = test_git.PEOPLE + "  - {id: dave, name: Dave, kind: employee, status: active}\n"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Transfers inside 90 days, an id removed and given to another record, a merge, a renamed file."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / ".git" / "info" / "exclude").write_text("site/\n")  # the site's configuration and build, never committed
    estate = write_estate({**base_files(), "people/people.yaml": PEOPLE}, root / "licenses")
    assignments = estate / "assignments" / "assignments.yaml"
    assignments.write_text(ASSIGNMENTS)
    commit(root, "Initial estate", "2026-01-05T09:00:00+00:00")
    edit(assignments, "person: bob, since: 2026-01-05", "person: dave, since: 2026-02-04")
    commit(root, "Give bob's CAL to dave", "2026-02-04T09:00:00+00:00")
    edit(assignments, "  - {id: A-1, holding: WS22-U, person: alice, since: 2026-01-05}\n", "")
    commit(root, "Alice leaves", "2026-02-06T09:00:00+00:00")
    git(root, "checkout", "-q", "-b", "more-cals")
    edit(estate / "holdings" / "holdings.yaml", "quantity: 3", "quantity: 5")
    commit(root, "Buy two more CALs", "2026-02-10T09:00:00+00:00")
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-ff", "more-cals", "-m", "Merge pull request #7 from dana/more-cals\n\nTwo more CALs",
        date="2026-02-11T09:00:00+00:00")  # fmt: skip
    assignments.write_text(
        assignments.read_text() + "  - {id: A-1, holding: WS22-U, person: carol, since: 2026-02-15}\n"
    )
    commit(root, "A-1 again, for carol", "2026-02-15T09:00:00+00:00")
    git(root, "mv", "licenses/people/people.yaml", "licenses/people/staff.yaml")
    commit(root, "Rename the people file", "2026-03-01T09:00:00+00:00")
    shutil.copytree(ROOT / "site", root / "site", ignore=shutil.ignore_patterns("_build", "_generated"))
    return root


COMMANDS = [
    ["history", "licenses"],
    ["history", "licenses", "--format", "json"],
    ["history", "licenses", "--id", "A-1", "--format", "markdown"],
    ["history", "licenses", "--rev", "HEAD~2", "--since", "2026-02-01"],
    ["check", "licenses", "--as-of", AS_OF, "--format", "json"],
    ["check", "licenses", "--as-of", "2026-02-08", "--format", "json"],  # earlier than some commits
    ["check", "licenses", "--as-of", AS_OF, "--rev", "HEAD~1", "--format", "json"],
    ["diff", "HEAD~3", "--path", "licenses", "--as-of", AS_OF, "--format", "json"],
    ["diff", "HEAD~1", "HEAD", "--path", "licenses", "--as-of", AS_OF],
    ["transfer", "A-2", "--to-person", "alice", "--path", "licenses", "--as-of", AS_OF, "--dry-run"],  # 90-day rule
]


def outputs(repo: Path, cache: Path, *extra: str) -> list[str]:
    """Every command's output (and exit code), each in a fresh process, then the site's generated pages."""
    env = {**os.environ, "CALCHECK_CACHE_DIR": str(cache)}
    found = []
    for command in COMMANDS:
        shutil.rmtree(cache / "results", ignore_errors=True)  # (a result kept whole would not read the history)
        done = subprocess.run([sys.executable, "-m", "calcheck", *command, *extra], cwd=repo, env=env,
                              capture_output=True, text=True, check=False)  # fmt: skip
        assert done.returncode in (0, 1), done.stderr
        found.append(f"{done.returncode}\n{done.stdout}")
    return [*found, *site_pages(repo, cache, "--no-cache" not in extra)]


def site_pages(repo: Path, cache: Path, cached: bool) -> list[str]:
    """The site's generated pages (history, trend and the rest), as ``site build`` writes them before MkDocs runs."""
    from calcheck.estate.cache import FileCache

    shutil.rmtree(repo / ".git" / "calcheck", ignore_errors=True)  # the trend's own cache: the same every time
    paths = build.SitePaths.of(repo / "site" / "mkdocs.yml")

    build.generate(repo / "licenses", paths, dt.date.fromisoformat(AS_OF), FileCache(cache) if cached else None)
    pages = sorted(p for p in paths.docs.rglob("*") if p.is_file() and p.suffix in (".md", ".svg"))
    assert any(p.name == "history.md" for p in pages)
    return [f"{p.relative_to(paths.docs)}\n{p.read_text()}" for p in pages]


def cache_files(cache: Path) -> list[Path]:
    return sorted((cache / "history").rglob("*.json"))


def heads(walk: Path) -> list[list[str | None]]:
    """The shards each snapshot of a walk names, least recently written first."""
    found = sorted((walk / "snapshots").glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
    return [json.loads(p.read_bytes().partition(b"\n")[2])["shards"] for p in found]


def test_outputs_are_the_same_cold_warm_after_new_and_rewritten_commits_and_uncached(
    repo: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    expected = outputs(repo, tmp_path / "unused", "--no-cache")
    assert not (tmp_path / "unused").exists()
    assert "id-reused" in expected[4] and "A-2" in expected[4]
    assert outputs(repo, cache) == expected  # cold: fills the cache
    assert any("snapshots" in p.parts for p in cache_files(cache))
    assert any("entries" in p.parts for p in cache_files(cache))
    assert outputs(repo, cache) == expected  # warm

    edit(repo / "licenses" / "assignments" / "assignments.yaml", "person: dave,", "person: bob,")
    commit(repo, "Give dave's CAL back to bob", "2026-03-05T09:00:00+00:00")
    assert outputs(repo, cache) == outputs(repo, cache, "--no-cache")  # one commit more, on a warm cache
    for walk in (cache / "history").iterdir():  # the new snapshot shares the shards the commit left alone
        *older, newer = heads(walk)
        assert min(sum(a != b for a, b in zip(old, newer, strict=True)) for old in older) <= 2

    git(repo, "commit", "-q", "--amend", "-m", "Give the CAL back to bob", date="2026-03-06T09:00:00+00:00")
    assert outputs(repo, cache) == outputs(repo, cache, "--no-cache")  # the last commit amended: another id

    git(repo, "rebase", "-q", "--force-rebase", "HEAD~4", date="2026-03-07T09:00:00+00:00")  # new ids from there
    assert outputs(repo, cache) == outputs(repo, cache, "--no-cache")


def test_a_damaged_or_forged_cache_is_a_miss_and_is_rebuilt(repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    expected = outputs(repo, cache, "--no-cache")
    assert outputs(repo, cache) == expected
    files = cache_files(cache)
    assert files
    for index, path in enumerate(files):
        body = path.read_bytes()
        if index % 3 == 0:
            path.write_bytes(body[: len(body) // 2])  # truncated
        elif index % 3 == 1:
            path.write_bytes(body.replace(b'"', b"'", 1))  # edited: the digest no longer matches
        else:  # every list of another shape, under a matching digest
            data = json.loads(body.partition(b"\n")[2])
            forged = json.dumps({k: [[1, None]] if isinstance(v, list) else v for k, v in data.items()}).encode()
            path.write_bytes(hashlib.sha256(forged).hexdigest().encode() + b"\n" + forged)
    assert outputs(repo, cache) == expected
    shutil.rmtree(cache / "results", ignore_errors=True)  # a kept diff is read back without its history: walk again
    assert outputs(repo, cache) == expected
    for path in cache_files(cache):  # rebuilt: every entry reads again
        head, _, body = path.read_bytes().partition(b"\n")
        assert head == hashlib.sha256(body).hexdigest().encode(), path
    assert outputs(repo, cache) == expected


def test_records_json_cannot_hold_exactly_are_not_cached(tmp_path: Path) -> None:
    store = HistoryCache(tmp_path)
    odd = Snapshot({("people", "p"): ("a.yaml", {"id": "p", 1: "a key that is a number"})}, {}, {})
    store.put_snapshot("walk", "k" * 64, odd)
    assert store.snapshot("walk", "k" * 64) is None
    nan = Snapshot({("people", "p"): ("a.yaml", {"id": "p", "n": float("nan")})}, {}, {})
    store.put_snapshot("walk", "k" * 64, nan)
    assert store.snapshot("walk", "k" * 64) is None
    plain = Snapshot({("people", "p"): ("a.yaml", {"id": "p", "n": 1.5, "l": [1, None, True]})}, {}, {})
    store.put_snapshot("walk", "k" * 64, plain)
    found = store.snapshot("walk", "k" * 64)
    assert found is not None and found.state == plain.state


def test_a_link_in_the_cache_is_never_followed(tmp_path: Path) -> None:
    store = HistoryCache(tmp_path / "cache")
    target = tmp_path / "elsewhere.json"
    target.write_text("keep me")
    plain = Snapshot({("people", "p"): ("a.yaml", {"id": "p"})}, {}, {})
    folder = tmp_path / "cache" / "walk" / "snapshots"
    folder.mkdir(parents=True)
    (folder / f"{'k' * 64}.json").symlink_to(target)
    assert store.snapshot("walk", "k" * 64) is None  # not read through the link
    store.put_snapshot("walk", "k" * 64, plain)
    assert target.read_text() == "keep me"  # the link was replaced, not written through
    assert not (folder / f"{'k' * 64}.json").is_symlink()
    assert store.snapshot("walk", "k" * 64) is not None


def test_no_cache_environment_variable_turns_it_off(repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = {**os.environ, "CALCHECK_CACHE_DIR": str(cache), "CALCHECK_NO_CACHE": "1"}
    for command in COMMANDS:
        subprocess.run(
            [sys.executable, "-m", "calcheck", *command], cwd=repo, env=env, capture_output=True, check=False
        )
    assert not cache.exists()


def test_a_new_commit_adds_at_most_one_trend_point() -> None:
    """The trend's commits are stable as the history grows, so their cached positions are used again."""
    before: set[int] = set()
    for count in range(1, 3000):
        chosen = set(build.trend_indices(count))
        assert 0 in chosen and len(chosen) <= build.TREND_POINTS
        assert len(chosen - before) <= 1 and max(chosen) >= count - 1 - 2 * (count // build.TREND_POINTS)
        before = chosen


def test_a_snapshot_reads_a_shard_when_first_used_and_stores_only_the_shards_that_changed(tmp_path: Path) -> None:

    from calcheck.estate.transfers import Reuse, Transfer
    from calcheck.git.histcache import BUCKETS, ShardLost, bucket_of

    store = HistoryCache(tmp_path)
    day = dt.date(2026, 1, 5)
    state = {("people", f"p{i}"): ("a.yaml", {"id": f"p{i}", "n": i}) for i in range(2000)}
    now = Snapshot(state, {f"A-{i}": day for i in range(500)}, {"A-9": "x"}, ids={"A-1"})
    store.put_snapshot("walk", "0" * 64, now)
    shards = tmp_path / "walk" / "shards"
    assert len(list(shards.iterdir())) == BUCKETS + 1  # 2,000 records and 500 dates fill every bucket; the ids
    prior = store.snapshot("walk", "0" * 64)
    assert prior is not None and prior.ids == {"A-1"}
    for step in range(1, 4):
        assert prior is not None
        record = prior.state[("people", f"p{step}")]  # reads one shard only
        assert record == state[("people", f"p{step}")] and len(dict.keys(prior.state)) < 100
        prior.state.pop(("people", f"p{step}"))
        prior.state[("devices", f"d{step}")] = ("b.yaml", {"id": f"d{step}", "n": step})
        prior.effective_since[f"A-{step}"] = day + dt.timedelta(days=step)
        prior.gone.pop("A-9", None)
        prior.gone[f"A-{step + 10}"] = "y"
        prior.transfers.append(Transfer("H", f"A-{step}", "p0", day, day, None, False, "c" * 40))
        prior.reused.append(Reuse(f"A-{step}", "a", "b", "c" * 40, day))
        prior.ids.add(f"A-{step}")
        expected = (dict(prior.state), dict(prior.effective_since), dict(prior.gone), list(prior.transfers))
        touched = len(prior.state.shards.changed)
        before = len(list(shards.iterdir()))
        key = str(step) * 64
        store.put_snapshot("walk", key, prior)
        assert len(list(shards.iterdir())) <= before + touched + 1  # only the changed buckets (and the ids)
        back = store.snapshot("walk", key)
        assert back is not None
        assert (back.state, back.effective_since, back.gone, back.transfers) == expected
        assert back.reused == [Reuse(f"A-{s}", "a", "b", "c" * 40, day) for s in range(1, step + 1)]
        assert back.ids == {"A-1", *(f"A-{s}" for s in range(1, step + 1))}
        prior = store.snapshot("walk", key)  # read again: nothing of it read yet
    latest = store.snapshot("walk", "3" * 64)
    assert latest is not None
    wanted = ("people", "p100")
    for shard in shards.iterdir():  # every shard damaged: the snapshot reads, but using a record is ShardLost
        shard.write_bytes(shard.read_bytes()[:-1])
    with pytest.raises(ShardLost):
        latest.state.get(wanted)
    with pytest.raises(ShardLost):  # a bucket that failed is not taken for read
        latest.state.get(wanted)
    assert 0 <= bucket_of(wanted) < BUCKETS


def test_summarised_events_are_read_only_when_used(repo: Path, tmp_path: Path) -> None:
    """A summary's events are kept apart from their entry: printing the texts does not read them, printing the records
    does (a damaged file of them is then a miss, walked anew); read later and found damaged, they are an error."""
    from calcheck.core.errors import CalcheckError
    from calcheck.git.history import Entry, Event

    cache = tmp_path / "cache"
    env = {**os.environ, "CALCHECK_CACHE_DIR": str(cache)}
    run = partial(subprocess.run, cwd=repo, env=env, capture_output=True, text=True, check=True)
    big = repo / "licenses" / "people" / "more.yaml"
    big.write_text("kind: people\npeople:\n" + "".join(f"  - {{id: p{i}, name: P, kind: employee, status: active}}\n"
                                                         for i in range(30)))  # fmt: skip
    commit(repo, "Thirty people", "2026-03-02T09:00:00+00:00")
    command = [sys.executable, "-m", "calcheck", "history", "licenses"]
    expected = {f: run([*command, "--format", f, "--no-cache"]).stdout for f in ("text", "json")}
    assert "30 people added" in expected["text"] and '"p29"' in expected["json"]
    assert {f: run([*command, "--format", f]).stdout for f in ("text", "json")} == expected
    details = list((cache / "history").rglob("*.details.json"))
    assert details  # the thirty people's, and the renamed file's moves
    for path in details:
        path.write_bytes(path.read_bytes()[:-2])
    assert run(command).stdout == expected["text"]  # not read
    assert run([*command, "--format", "json"]).stdout == expected["json"]  # read, damaged: walked and written anew
    assert run(command).stdout == expected["text"]
    for path in details:
        head, _, body = path.read_bytes().partition(b"\n")
        assert head == hashlib.sha256(body).hexdigest().encode()

    store = HistoryCache(tmp_path / "direct")
    members = (Event("p1 added", ("p1",)), Event("p2 added", ("p2",), "", (Event("inner", ("x",)),)))
    entry = Entry(
        "c" * 40, dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC), "a", "t", (Event("2 added", None, "g", members),)
    )
    store.put_entry("walk", "e" * 64, entry)
    for details_now in (True, False):
        found = store.entry("walk", "e" * 64, "c" * 40, details_now)
        assert found is not None and found.events[0].ids == ("p1", "p2") and found.events[0].text == "2 added"
        assert found.events[0].detail[1].detail[0].ids == ("x",)
    (path,) = (tmp_path / "direct").rglob("*.details.json")
    path.write_bytes(b"0" * 64 + b"\n[]")
    assert store.entry("walk", "e" * 64, "c" * 40) is None
    lazy = store.entry("walk", "e" * 64, "c" * 40, details=False)
    assert lazy is not None and lazy.events[0].text == "2 added"
    with pytest.raises(CalcheckError, match="damaged"):
        _ = lazy.events[0].ids


def test_the_entries_of_each_run_of_commits_are_read_from_one_pack(tmp_path: Path) -> None:
    from calcheck.git.histcache import PACK
    from calcheck.git.history import Entry, Event

    store = HistoryCache(tmp_path)
    count = 2 * PACK + 5
    keys, shas = [f"{i:064x}" for i in range(count)], [f"{i:040x}" for i in range(count)]
    when = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    for i in range(count):
        store.put_entry("walk", keys[i], Entry(shas[i], when, "a", f"t{i}", (Event(f"e{i}", (f"r{i}",)),)))

    def shown(entries: list[Entry]) -> list[tuple[str, str, list[str], list[tuple[str, ...]]]]:
        return [(e.sha, e.title, [v.text for v in e.events], [v.ids for v in e.events]) for e in entries]

    expected = [(shas[i], f"t{i}", [f"e{i}"], [(f"r{i}",)]) for i in range(count)]
    assert shown(store.entries("walk", keys, shas)) == expected  # written into packs as read
    packs = tmp_path / "walk" / "entries" / "packs"
    assert sorted(p.stem for p in packs.iterdir()) == sorted([keys[PACK - 1], keys[2 * PACK - 1]])
    for key in keys[: 2 * PACK]:  # the commits' own entries gone: the packs alone answer
        (tmp_path / "walk" / "entries" / key[:2] / f"{key}.json").unlink()
    assert shown(store.entries("walk", keys, shas)) == expected
    short = PACK + 3  # a run not whole is read from its commits' own entries, removed here: the first run only
    assert shown(store.entries("walk", keys[:short], shas[:short])) == expected[:PACK]
    other = [*shas[:5], "f" * 40, *shas[6:]]  # another commit at 5: the pack is not its, and nothing else is cached
    assert store.entries("walk", keys, other) == []
    pack = packs / f"{keys[2 * PACK - 1]}.json"
    data = json.loads(pack.read_bytes().partition(b"\n")[2])
    data["entries"][0], data["entries"][1] = data["entries"][1], data["entries"][0]  # forged, under a right digest
    forged = json.dumps(data).encode()
    pack.write_bytes(hashlib.sha256(forged).hexdigest().encode() + b"\n" + forged)
    assert shown(store.entries("walk", keys, shas)) == expected[:PACK]


def test_a_history_longer_than_a_pack_prints_the_same_cached(tmp_path: Path) -> None:
    from calcheck.git.histcache import PACK

    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    estate = write_estate({**base_files(), "people/people.yaml": PEOPLE}, root / "licenses")
    assignments = estate / "assignments" / "assignments.yaml"
    assignments.write_text(ASSIGNMENTS)
    commit(root, "Initial estate", "2026-01-05T09:00:00+00:00")
    for index in range(PACK + 3):
        edit(
            assignments,
            "person: bob" if index % 2 == 0 else "person: dave",
            "person: dave" if index % 2 == 0 else "person: bob",
        )
        commit(root, f"Change {index}", f"2026-02-{1 + index % 28:02d}T{index % 24:02d}:00:00+00:00")
    cache = tmp_path / "cache"
    env = {**os.environ, "CALCHECK_CACHE_DIR": str(cache)}
    run = partial(subprocess.run, cwd=root, env=env, capture_output=True, text=True, check=True)
    command = [sys.executable, "-m", "calcheck", "history", "licenses", "--format", "json"]
    expected = run([*command, "--no-cache"]).stdout
    assert expected.count('"commit"') == PACK + 4
    assert run(command).stdout == expected  # cold
    assert run(command).stdout == expected  # warm: the first run of commits from its pack
    assert list((cache / "history").glob("*/entries/packs/*.json"))
    edit(assignments, "person: alice", "person: carol")
    commit(root, "One more", "2026-03-01T09:00:00+00:00")
    assert run(command).stdout == run([*command, "--no-cache"]).stdout


def test_the_ids_are_written_again_only_when_they_change(tmp_path: Path) -> None:
    store = HistoryCache(tmp_path)

    def named(key: str) -> str:
        head = tmp_path / "walk" / "snapshots" / f"{key}.json"
        return str(json.loads(head.read_bytes().partition(b"\n")[2])["ids"])

    store.put_snapshot(
        "walk", "0" * 64, Snapshot({("people", "p"): ("a.yaml", {"id": "p"})}, {}, {}, ids={"A-1", "A-2"})
    )
    found = store.snapshot("walk", "0" * 64)
    assert found is not None
    found.state[("people", "q")] = ("a.yaml", {"id": "q"})
    store.put_snapshot("walk", "1" * 64, found)
    assert named("1" * 64) == named("0" * 64)  # the same ids: the same file
    found = store.snapshot("walk", "1" * 64)
    assert found is not None
    found.ids.discard("A-1")
    found.ids.add("A-3")  # as many ids, not the same
    store.put_snapshot("walk", "2" * 64, found)
    again = store.snapshot("walk", "2" * 64)
    assert named("2" * 64) != named("0" * 64) and again is not None and again.ids == {"A-2", "A-3"}
    assert again.state == {("people", "p"): ("a.yaml", {"id": "p"}), ("people", "q"): ("a.yaml", {"id": "q"})}


def test_commit_after_commit_on_a_larger_estate_prints_the_same_cached(tmp_path: Path) -> None:
    """Hundreds of records over several files, so that a resumed walk reads some shards and not others; each commit
    (a reassignment, a new date, a removal, an id given again to someone else, records moved between files, a file
    renamed and one removed) is printed on the cache the commit before left, and compared with no cache."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    people = "kind: people\npeople:\n" + "".join(
        f"  - {{id: u{i:03d}, name: User {i}, kind: employee, status: active}}\n" for i in range(240)
    )
    holdings = base_files()["holdings/holdings.yaml"].replace("quantity: 3", "quantity: 400")
    estate = write_estate({**base_files(), "people/people.yaml": people, "holdings/holdings.yaml": holdings},
                          root / "licenses")  # fmt: skip
    folder = estate / "assignments"
    (folder / "assignments.yaml").unlink()
    for part in range(3):
        lines = [f"  - {{id: A{i:03d}, holding: WS22-U, person: u{i:03d}, since: 2026-01-05}}\n"
                 for i in range(part * 70, part * 70 + 70)]  # fmt: skip
        (folder / f"part{part}.yaml").write_text("kind: assignments\nassignments:\n" + "".join(lines))
    commit(root, "Initial estate", "2026-01-05T09:00:00+00:00")
    steps = [
        ("part0.yaml", "person: u003, since: 2026-01-05", "person: u230, since: 2026-02-01"),  # reassigned
        ("part1.yaml", "A075, holding: WS22-U, person: u075, since: 2026-01-05", "A075, holding: WS22-U, person: u075, since: 2026-01-20"),
        ("part2.yaml", "  - {id: A150, holding: WS22-U, person: u150, since: 2026-01-05}\n", ""),  # removed
        ("part0.yaml", "  - {id: A001,", "  - {id: A150, holding: WS22-U, person: u231, since: 2026-02-10}\n  - {id: A001,"),
        ("part1.yaml", "  - {id: A071, holding: WS22-U, person: u071, since: 2026-01-05}\n", ""),
    ]  # fmt: skip
    cache = tmp_path / "cache"
    env = {**os.environ, "CALCHECK_CACHE_DIR": str(cache)}
    commands = [
        ["history", "licenses"],
        ["history", "licenses", "--format", "json"],
        ["check", "licenses", "--as-of", "2026-03-20", "--format", "json"],
    ]

    def printed(*extra: str) -> list[str]:
        done = [subprocess.run([sys.executable, "-m", "calcheck", *c, *extra], cwd=root, env=env, capture_output=True,
                               text=True, check=False) for c in commands]  # fmt: skip
        assert all(d.returncode in (0, 1) for d in done), [d.stderr for d in done]
        return [f"{d.returncode}\n{d.stdout}" for d in done]

    assert printed() == printed("--no-cache")
    for index, (name, old, new) in enumerate(steps):
        edit(folder / name, old, new)
        commit(root, f"Step {index}", f"2026-02-{10 + index:02d}T09:00:00+00:00")
        assert printed() == printed("--no-cache"), index
    moved = (folder / "part2.yaml").read_text().split("\n")
    (folder / "part2.yaml").write_text("\n".join(moved[:40]) + "\n")  # records moved to part0.yaml
    (folder / "part0.yaml").write_text((folder / "part0.yaml").read_text() + "\n".join(moved[40:]))
    commit(root, "Move records", "2026-02-20T09:00:00+00:00")
    assert printed() == printed("--no-cache")
    git(root, "mv", "licenses/assignments/part1.yaml", "licenses/assignments/renamed.yaml")
    commit(root, "Rename a file", "2026-02-21T09:00:00+00:00")
    assert printed() == printed("--no-cache")
    git(root, "rm", "-q", "licenses/assignments/part2.yaml")
    commit(root, "Remove a file", "2026-02-22T09:00:00+00:00")
    assert printed() == printed("--no-cache")
    assert "reassigned" in printed()[0] and "id-reused" in printed()[2]


def test_a_lazy_state_answers_as_a_plain_dict(tmp_path: Path) -> None:
    """Random lookups, changes and whole reads on a snapshot read back, against the same on a plain dict."""
    import random

    from calcheck.git.histcache import read_whole

    store = HistoryCache(tmp_path)
    rng = random.Random(16)
    plain = {("people", f"p{i}"): ("a.yaml", {"id": f"p{i}"}) for i in range(300)}
    store.put_snapshot("walk", "0" * 64, Snapshot(dict(plain), {}, {}))
    for round_ in range(20):
        found = store.snapshot("walk", "0" * 64)
        assert found is not None
        lazy = found.state
        expected = dict(plain)
        for _ in range(40):
            key = ("people", f"p{rng.randrange(400)}")
            op = rng.randrange(6)
            if op == 0:
                assert lazy.get(key) == expected.get(key)
            elif op == 1:
                assert (key in lazy) == (key in expected)
            elif op == 2:
                assert lazy.pop(key, None) == expected.pop(key, None)
            elif op == 3:
                lazy[key] = expected[key] = ("b.yaml", {"id": key[1], "round": round_})
            elif op == 4:
                lazy.update({key: ("c.yaml", {})})
                expected.update({key: ("c.yaml", {})})
            else:
                assert lazy.setdefault(key, ("d.yaml", {})) == expected.setdefault(key, ("d.yaml", {}))
        if round_ % 2:
            assert lazy == expected and len(lazy) == len(expected) and sorted(lazy) == sorted(expected)
        else:
            read_whole(lazy)
            assert dict(lazy) == expected and lazy.copy() == expected
        store.put_snapshot("walk", "0" * 64, found)
        plain = expected
    again = store.snapshot("walk", "0" * 64)
    assert again is not None and again.state == plain


def test_a_commit_after_shards_were_lost_walks_again(repo: Path, tmp_path: Path) -> None:
    """Shards removed or damaged behind a snapshot: the walk that meets one starts over, and writes them anew."""
    cache = tmp_path / "cache"
    assert outputs(repo, cache) == outputs(repo, cache, "--no-cache")
    for index, shard in enumerate(sorted((cache / "history").glob("*/shards/*.json"))):
        if index % 2:
            shard.unlink()
        else:
            shard.write_bytes(shard.read_bytes().replace(b"{", b"[", 1))
    edit(repo / "licenses" / "assignments" / "assignments.yaml", "person: dave,", "person: bob,")
    commit(repo, "Give dave's CAL back to bob", "2026-03-05T09:00:00+00:00")
    expected = outputs(repo, cache, "--no-cache")
    assert outputs(repo, cache) == expected
    for walk in (cache / "history").iterdir():  # the newest state of each walk is whole again
        for digest in filter(None, heads(walk)[-1]):
            head, _, body = (walk / "shards" / f"{digest}.json").read_bytes().partition(b"\n")
            assert head == hashlib.sha256(body).hexdigest().encode() == digest.encode()
    assert outputs(repo, cache) == expected


def test_only_the_most_recently_used_walks_are_kept(tmp_path: Path) -> None:
    from calcheck.git import histcache

    store = HistoryCache(tmp_path / "cache")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.json").write_text("keep me")
    plain = Snapshot({("people", "p"): ("a.yaml", {"id": "p"})}, {}, {})
    for index in range(histcache.WALKS_KEPT + 3):
        store.put_snapshot(f"walk{index:02d}", "k" * 64, plain)
        if index == 0:  # removed later: the link with it, never what it points to
            (tmp_path / "cache" / "walk00" / "link").symlink_to(outside)
        os.utime(tmp_path / "cache" / f"walk{index:02d}", ns=(index * 10**9, index * 10**9))
    store.put_snapshot("latest", "k" * 64, plain)
    kept = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert kept == ["latest"] + [f"walk{i:02d}" for i in range(4, histcache.WALKS_KEPT + 3)]
    assert (outside / "keep.json").read_text() == "keep me"
