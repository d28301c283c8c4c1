"""The history cache's packs: a walk writes the entries of each run of ``PACK`` commits it fills as that run's pack
and only the commits after the last such run one file each, cold or resumed inside a run; the history prints the
same bytes as without the cache, warm, and with a pack damaged (real git repositories, pinned dates)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest

from calcheck.git.histcache import PACK, HistoryCache
from calcheck.git.history import Entry, Event
from calcheck.licensing.rules.example import base_files, write_estate
from tests.test_git import ASSIGNMENTS, PEOPLE, commit, git

COMMAND = [sys.executable, "-m", "calcheck", "history", "licenses", "--format", "json"]
EPOCH = 1769850000  # 2026-01-31 09:00 UTC: the commits after the first are an hour apart from here


def more_commits(root: Path, count: int, first: int = 0) -> None:
    """``count`` commits more on main, each moving CAL A-2 between bob and dave (the 6th, if among them, also adds
    thirty people: a commit whose events are summarised), written by ``git fast-import`` with pinned dates."""
    stream = []
    for index in range(first, first + count):
        holder = "dave" if index % 2 == 0 else "bob"
        text = ASSIGNMENTS.replace("person: bob", f"person: {holder}")
        files = [("licenses/assignments/assignments.yaml", text)]
        if index == 5:
            more = "".join(f"  - {{id: p{i}, name: P, kind: employee, status: active}}\n" for i in range(30))
            files.append(("licenses/people/more.yaml", f"kind: people\npeople:\n{more}"))
        stamp = f"{EPOCH + 3600 * index} +0000"
        message = f"Change {index}\n"
        stream.append(f"commit refs/heads/main\ncommitter Dana Admin <dana@example.com> {stamp}\n")
        stream.append(f"data {len(message)}\n{message}")
        if index == first:
            stream.append("from refs/heads/main^0\n")
        for path, content in files:
            data = content.encode()
            stream.append(f"M 100644 inline {path}\ndata {len(data)}\n{content}\n")
        stream.append("\n")
    subprocess.run(["git", "fast-import", "--quiet", "--force"], cwd=root, input="".join(stream).encode(), check=True,
                   env={**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"})  # fmt: skip
    git(root, "reset", "-q", "--hard")


def make_repo(tmp_path: Path, count: int) -> Path:
    """A repository of ``count`` commits, all changing the estate (a fresh people file has dave from the start)."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    people = PEOPLE + "  - {id: dave, name: Dave, kind: employee, status: active}\n"
    estate = write_estate({**base_files(), "people/people.yaml": people}, root / "licenses")
    (estate / "assignments" / "assignments.yaml").write_text(ASSIGNMENTS)
    commit(root, "Initial estate", "2026-01-05T09:00:00+00:00")
    more_commits(root, count - 1)
    return root


def history(root: Path, cache: Path | None, *extra: str) -> str:
    env = {**os.environ, "CALCHECK_CACHE_DIR": str(cache or root.parent / "unused")}
    command = [*COMMAND, *extra, "--no-cache"] if cache is None else [*COMMAND, *extra]
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=True)
    return done.stdout


def walk_folder(cache: Path) -> Path:
    """The one full walk's folder (a history walks nothing else)."""
    (found,) = [p for p in (cache / "history").iterdir() if (p / "entries").is_dir()]
    return found


def entry_files(cache: Path) -> tuple[list[Path], list[Path], list[Path]]:
    """The walk's packs, commits' own entries, and details files."""
    entries = walk_folder(cache) / "entries"
    packs = sorted((entries / "packs").glob("*.json"))
    own = sorted(p for p in entries.glob("??/*.json") if not p.name.endswith(".details.json"))
    return packs, own, sorted(entries.glob("??/*.details.json"))


def body(path: Path) -> dict[str, object]:
    data = json.loads(path.read_bytes().partition(b"\n")[2])
    assert isinstance(data, dict)
    return data


def keys_in_order(root: Path, cache: Path) -> tuple[list[str], list[str]]:
    """Every commit's key and id, oldest first, as the cached entries (packed or not) name them."""
    shas = git(root, "rev-list", "--reverse", "--first-parent", "HEAD").split()
    packs, own, _ = entry_files(cache)
    key_of = {}
    for pack in packs:
        key_of.update({e["sha"]: e["key"] for e in body(pack)["entries"]})  # type: ignore[attr-defined]
    key_of.update({body(p)["sha"]: body(p)["key"] for p in own})
    return [str(key_of[s]) for s in shas], shas


def test_a_cold_walk_writes_whole_runs_as_packs_and_prints_the_same(tmp_path: Path) -> None:
    count = 2 * PACK + 9
    root = make_repo(tmp_path, count)
    cache = tmp_path / "cache"
    expected = history(root, None)
    assert expected.count('"commit"') == count and '"p29"' in expected
    assert history(root, cache) == expected  # cold
    packs, own, details = entry_files(cache)
    assert len(packs) == 2 and len(own) == 9 and len(details) == 1  # the thirty people's details: apart, as before
    keys, shas = keys_in_order(root, cache)
    assert [p.stem for p in packs] == sorted([keys[PACK - 1], keys[2 * PACK - 1]])
    assert sorted(p.stem for p in own) == sorted(keys[2 * PACK :])
    written = {p: p.read_bytes() for p in walk_folder(cache).rglob("*.json") if "snapshots" not in p.parts}
    assert history(root, cache) == expected  # warm: from the packs, nothing written again
    assert {p: p.read_bytes() for p in walk_folder(cache).rglob("*.json") if "snapshots" not in p.parts} == written

    # each pack is byte for byte the one the cache writes when it reads a run whole from its commits' own entries
    store, other = HistoryCache(cache / "history"), HistoryCache(tmp_path / "other")
    walk = walk_folder(cache).name
    found = store.entries(walk, keys, shas)
    assert len(found) == count
    for key, entry in zip(keys, found, strict=True):
        other.put_entry(walk, key, entry)
    assert len(other.entries(walk, keys, shas)) == count
    for pack in packs:
        assert (tmp_path / "other" / walk / "entries" / "packs" / pack.name).read_bytes() == pack.read_bytes()


def test_a_walk_resumed_inside_a_run_packs_it_with_the_cached_commits(tmp_path: Path) -> None:
    count = PACK + 21
    root = make_repo(tmp_path, count)
    cache = tmp_path / "cache"
    assert history(root, cache) == history(root, None)
    packs, own, _ = entry_files(cache)
    assert (len(packs), len(own)) == (1, 21)
    more_commits(root, PACK, count - 1)  # the walk resumes at the 22nd commit of the second run, and fills it
    expected = history(root, None)
    assert expected.count('"commit"') == count + PACK
    assert history(root, cache) == expected
    packs, own, _ = entry_files(cache)
    keys, _ = keys_in_order(root, cache)
    assert [p.stem for p in packs] == sorted([keys[PACK - 1], keys[2 * PACK - 1]])
    assert sorted(p.stem for p in own) == sorted(keys[PACK : PACK + 21] + keys[2 * PACK :])  # the tail: 21 commits
    assert history(root, cache) == expected  # warm
    more_commits(root, 3, count - 1 + PACK)  # resumed inside the last run again, which it does not fill
    expected = history(root, None)
    assert history(root, cache) == expected
    packs, own, _ = entry_files(cache)
    assert (len(packs), len(own)) == (2, 21 + 21 + 3)
    assert history(root, cache) == expected


def test_a_history_up_to_a_commit_inside_a_packed_run_reads_it_from_the_pack(tmp_path: Path) -> None:
    count = 2 * PACK + 9
    root = make_repo(tmp_path, count)
    cache = tmp_path / "cache"
    assert history(root, cache) == history(root, None)
    packs, own, _ = entry_files(cache)
    assert (len(packs), len(own)) == (2, 9)
    runs = sorted((walk_folder(cache) / "entries" / "runs").glob("*.json"))
    keys, _ = keys_in_order(root, cache)
    assert [p.stem for p in runs] == sorted([keys[0], keys[PACK]])  # each pack named by its run's first commit
    snapshots = sorted((walk_folder(cache) / "snapshots").iterdir())
    for rev in ("HEAD~20", f"HEAD~{PACK + 40}", "HEAD~9", "HEAD~10", f"HEAD~{count - 1}"):
        expected = history(root, None, "--rev", rev)
        assert history(root, cache, "--rev", rev) == expected, rev
        assert sorted((walk_folder(cache) / "snapshots").iterdir()) == snapshots  # nothing walked
    expected = history(root, None, "--rev", "HEAD~20")
    for index, path in enumerate(runs):  # damaged names: a miss, walked again
        if index == 0:
            path.write_bytes(path.read_bytes()[:-3])
        else:
            named = body(path)
            named["pack"] = "../packs/" + str(named["pack"])  # another file: never read
            forged = json.dumps(named).encode()
            path.write_bytes(hashlib.sha256(forged).hexdigest().encode() + b"\n" + forged)
    assert history(root, cache, "--rev", "HEAD~20") == expected
    assert len(list((walk_folder(cache) / "snapshots").iterdir())) == len(snapshots) + 1
    assert history(root, cache, "--rev", "HEAD~20") == expected


@pytest.mark.parametrize("damage", ["truncated", "edited", "forged", "link", "removed"])
def test_a_damaged_pack_is_a_miss_and_the_history_prints_the_same(tmp_path: Path, damage: str) -> None:
    root = make_repo(tmp_path, 2 * PACK + 4)
    cache = tmp_path / "cache"
    expected = history(root, None)
    assert history(root, cache) == expected
    packs, _, _ = entry_files(cache)
    assert len(packs) == 2
    pack = packs[0]
    data = pack.read_bytes()
    if damage == "truncated":
        pack.write_bytes(data[: len(data) // 2])
    elif damage == "edited":
        pack.write_bytes(data.replace(b"Change", b"Changf", 1))
    elif damage == "forged":  # two commits' entries swapped, under a matching digest
        found = json.loads(data.partition(b"\n")[2])
        found["entries"][0], found["entries"][1] = found["entries"][1], found["entries"][0]
        forged = json.dumps(found).encode()
        pack.write_bytes(hashlib.sha256(forged).hexdigest().encode() + b"\n" + forged)
    elif damage == "link":  # the same bytes, through a link: never followed
        copy = tmp_path / "elsewhere.json"
        copy.write_bytes(data)
        pack.unlink()
        pack.symlink_to(copy)
    else:
        pack.unlink()
    assert history(root, cache) == expected  # walked again
    assert not pack.is_symlink() and pack.read_bytes() == data  # and written anew
    assert history(root, cache) == expected


def make_entry(index: int, title: str | None = None) -> Entry:
    when = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC) + dt.timedelta(hours=index)
    events: tuple[Event, ...] = (Event(f"e{index}", (f"r{index}",)),)
    if index % 50 == 7:  # summarised: its events' details are kept in a file of their own
        events = (Event("2 added", None, "g", (Event("x added", ("x",)), Event(f"y{index}", ("y",)))),)
    return Entry(f"{index:040x}", when, "a", title if title is not None else f"t{index}", events)


def shown(entries: list[Entry]) -> list[tuple[str, str, list[str], list[tuple[str, ...]]]]:
    return [(e.sha, e.title, [v.text for v in e.events], [v.ids for v in e.events]) for e in entries]


def test_what_a_walk_keeps_reads_back_as_each_commit_stored_alone(tmp_path: Path) -> None:
    """Packs from a cold walk, walks resumed inside runs, an entry that cannot be stored exactly, and a resumed run
    whose earlier commits' own entries are gone: ``entries`` reads back what it reads when each commit was stored
    on its own (and then packed as read)."""
    count = 3 * PACK + 5
    keys, shas = [f"{i:064x}" for i in range(count)], [f"{i:040x}" for i in range(count)]
    odd = PACK + 9  # a title JSON cannot hold as UTF-8: not stored, a miss from there on
    made = [make_entry(i, "\udc80" if i == odd else None) for i in range(count)]

    alone = HistoryCache(tmp_path / "alone")
    for key, entry in zip(keys, made, strict=True):
        alone.put_entry("walk", key, entry)
    expected = shown(alone.entries("walk", keys, shas))
    assert len(expected) == odd

    cold = HistoryCache(tmp_path / "cold")
    keep = cold.keeper("walk", keys, shas, 0)
    for index, entry in enumerate(made):
        keep(index, entry)
    packs = tmp_path / "cold" / "walk" / "entries" / "packs"
    assert sorted(p.stem for p in packs.iterdir()) == sorted([keys[PACK - 1], keys[3 * PACK - 1]])  # not the odd's
    assert shown(cold.entries("walk", keys, shas)) == expected
    (read,) = (tmp_path / "alone" / "walk" / "entries" / "packs").iterdir()  # the first run's, as read
    assert read.read_bytes() == (packs / read.name).read_bytes()

    good = [make_entry(i) for i in range(count)]
    resumed = HistoryCache(tmp_path / "resumed")
    stops = [0, 40, PACK + 3, 2 * PACK, 2 * PACK + 100, count]  # walks of the first commits, each resumed after one
    for start, stop in pairwise(stops):
        keep = resumed.keeper("walk", keys[:stop], shas[:stop], start)
        for index, entry in enumerate(good[start:stop]):
            keep(index, entry)
        assert shown(resumed.entries("walk", keys[:stop], shas[:stop])) == shown(good[:stop])
    packs = tmp_path / "resumed" / "walk" / "entries" / "packs"
    assert sorted(p.stem for p in packs.iterdir()) == sorted(keys[PACK - 1 : 3 * PACK : PACK])

    gone = HistoryCache(tmp_path / "gone")
    keep = gone.keeper("walk", keys[:40], shas[:40], 0)
    for index, entry in enumerate(good[:40]):
        keep(index, entry)
    (tmp_path / "gone" / "walk" / "entries" / keys[3][:2] / f"{keys[3]}.json").unlink()
    keep = gone.keeper("walk", keys, shas, 40)  # the run's earlier commits cannot all be read: one by one
    for index, entry in enumerate(good[40:]):
        keep(index, entry)
    assert not (tmp_path / "gone" / "walk" / "entries" / "packs" / f"{keys[PACK - 1]}.json").exists()
    assert (tmp_path / "gone" / "walk" / "entries" / "packs" / f"{keys[2 * PACK - 1]}.json").exists()
    assert shown(gone.entries("walk", keys, shas)) == shown(good[:3])
    assert (tmp_path / "gone" / "walk" / "entries" / keys[PACK - 1][:2] / f"{keys[PACK - 1]}.json").exists()
