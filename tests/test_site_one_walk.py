"""The site's one history walk (``history_with_timeline``) gives exactly what its two walks give: the history pages'
entries (``entries_at``) and the check's transfers, reused ids and ids (``timeline_for``), on generated histories in
real git repositories (pinned names and dates), with and without the history cache, whatever runs filled it before.

The histories hold what can tell a full walk from a check's: files of every kind (catalogue and config included),
files whose kind changes, records moved between files, renamed and removed files, a key held twice, anchors and
aliases, files unreadable for a while, ids removed and given again, ``replaces:``, ended assignments, temporary
covers, merges (first parent), commit dates in several time zones (some after the check's day, some on it), and
uncommitted changes (edits, deletions, new untracked files, renames) in the work tree.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from calcheck.estate import loading
from calcheck.estate.cache import FileCache
from calcheck.estate.transfers import Timeline
from calcheck.git.timeline import entries_at, history_with_timeline, open_repo, timeline_for
from tests.test_site_fast import _plain

NAMES = loading.builtin_cal_names()
ZONES = ["+00:00", "-05:00", "+13:00", "-11:00", "+05:30"]
PEOPLE = [f"p{i}" for i in range(1, 9)]
HOLDINGS = ["H1", "H2", "H3", "H4"]
HOSTILE = ["\tbroken: tab", "  - {id: [unclosed", "--- \nkind: people"]
Answer = tuple[list[object], Timeline]


def git(root: Path, *args: str, date: str = "2026-01-05T09:00:00+00:00") -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(root.parent), "TZ": "UTC",
           "GIT_AUTHOR_NAME": "Dana", "GIT_AUTHOR_EMAIL": "d@x", "GIT_COMMITTER_NAME": "Dana",
           "GIT_COMMITTER_EMAIL": "d@x", "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date,
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}  # fmt: skip
    done = subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


@dataclass
class File:
    """One estate file: its kind, its records (as fields) and raw items a record list may also hold."""

    kind: str
    rows: list[dict[str, str]] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)  # raw item texts (a key twice, an anchor and its alias...)
    flow: bool = True
    indent: str = "  "
    broken: str = ""  # a line that makes the file unreadable while set

    def text(self) -> str:
        if self.kind == "config":
            return f"kind: config\norganisation: {self.rows[0]['organisation']}\n{self.broken}\n"
        if self.kind == "catalogue":
            products = "".join(f"  - {{id: {r['id']}, name: {r['name']}}}\n" for r in self.rows)
            return f"kind: catalogue\nproducts:\n{products}cals:\n  - {{id: X-CAL, name: Extra}}\n{self.broken}\n"
        key = self.kind
        items = [self._item(row) for row in self.rows] + [self.indent + item for item in self.extra]
        body = "\n".join(items) if items else f"{self.indent}[]"
        return f"kind: {self.kind}\n{key}:{'' if items else ' []'}\n" + (body + "\n" if items else "") + self.broken

    def _item(self, row: dict[str, str]) -> str:
        fields = [f"{k}: {v}" for k, v in row.items()]
        if self.flow:
            return f"{self.indent}- {{{', '.join(fields)}}}"
        return f"{self.indent}- " + f"\n{self.indent}  ".join(fields)


class Estate:
    """A generated estate and the operations its commits (and its work tree) are made of."""

    def __init__(self, rng: random.Random, folder: Path) -> None:
        self.rng, self.folder = rng, folder
        flow = rng.random() < 0.6
        self.files: dict[str, File] = {
            "calcheck.yaml": File("config", [{"organisation": "Org"}]),
            "catalogue.yaml": File("catalogue", [{"id": "P1", "name": "Product"}]),
            "holdings/h.yaml": File("holdings", [{"id": h, "cal": "X-CAL", "quantity": "3"} for h in HOLDINGS]),
            "people/p.yaml": File("people", [{"id": p, "name": p.upper(), "status": "active"} for p in PEOPLE]),
            "devices/d.yml": File("devices", [{"id": f"d{i}", "status": "active"} for i in range(1, 4)]),
        }
        self.next_id = 1
        self.day = dt.date(2026, 1, 5)
        for number in range(rng.randint(1, 3)):
            rows = [self._new_row() for _ in range(rng.choice([2, 4, 6, 20]))]  # 20: more items than read one by one
            self.files[f"assignments/a{number}.yaml"] = File(
                "assignments", rows, flow=flow, indent=rng.choice(["", "  "])
            )
        self.removed: dict[str, dict[str, str]] = {}

    def _new_row(self, holding: str | None = None) -> dict[str, str]:
        aid = f"A-{self.next_id:03d}"
        self.next_id += 1
        return {"id": aid, "holding": holding or self.rng.choice(HOLDINGS), **self._holder(), "since": str(self.day)}

    def _holder(self) -> dict[str, str]:
        if self.rng.random() < 0.2:
            return {"device": self.rng.choice(["d1", "d2", "d3"])}
        return {"person": self.rng.choice(PEOPLE)}

    def assignment_files(self) -> list[str]:
        return sorted(p for p, f in self.files.items() if f.kind == "assignments")

    def write(self) -> None:
        for path in self.folder.rglob("*.y*ml"):
            if path.relative_to(self.folder).as_posix() not in self.files:
                path.unlink()
        for name, file in self.files.items():
            target = self.folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(file.text(), encoding="utf-8")

    def change(self) -> None:
        """One random operation."""
        rng = self.rng
        names = self.assignment_files()
        if not names:
            self.files["assignments/new.yaml"] = File("assignments", [self._new_row()])
            return
        file = self.files[rng.choice(names)]
        rows = file.rows
        action = rng.choice(
            ["reassign", "reassign", "remove", "remove", "reuse", "reuse", "reuse", "add", "replaces", "end", "move",
             "rename", "kind", "break", "twice", "alias", "shared", "people", "other", "drop"]
        )  # fmt: skip
        if action == "reassign" and rows:
            row = rng.choice(rows)
            for key in ("person", "device"):
                row.pop(key, None)
            row.update(self._holder())
            if rng.random() < 0.4:
                row["reason"] = rng.choice(["departure", "temporary-cover", "other"])
            if rng.random() < 0.3:
                row["temporary"] = "true"
            if rng.random() < 0.3:
                row["since"] = str(self.day)
        elif action == "remove" and rows:
            for _ in range(min(len(rows), rng.randint(1, 3))):
                row = rows.pop(rng.randrange(len(rows)))
                self.removed[row["id"]] = row
        elif action == "reuse" and self.removed:
            for aid in rng.sample(sorted(self.removed), min(len(self.removed), rng.randint(2, 6))):
                self.removed.pop(aid)
                row = {"id": aid, "holding": rng.choice(HOLDINGS), **self._holder(), "since": str(self.day)}
                rows.insert(rng.randint(0, len(rows)), row)
        elif action == "add":
            rows.insert(rng.randint(0, len(rows)), self._new_row())
        elif action == "replaces" and rows:
            old = rng.choice(rows)
            row = self._new_row(old["holding"])
            row["replaces"] = old["id"]
            if rng.random() < 0.6:
                rows.remove(old)
                self.removed[old["id"]] = old
            rows.append(row)
        elif action == "end" and rows:
            old = rng.choice(rows)
            old["until"] = str(self.day - dt.timedelta(days=1))
            new = self._new_row(old["holding"])
            self.files[rng.choice(names)].rows.append(new)
        elif action == "move" and rows:
            row = rows.pop(rng.randrange(len(rows)))
            target = rng.choice(names)
            self.files[target].rows.insert(rng.randint(0, len(self.files[target].rows)), row)
        elif action == "rename":
            old_name = rng.choice(names)
            self.files[f"assignments/r{self.next_id}.yaml"] = self.files.pop(old_name)
            self.next_id += 1
        elif action == "kind":  # an assignments file read as people for a while, or a people file as devices
            if file.kind == "assignments" and rng.random() < 0.5:
                file.kind = "people"
            else:
                flipped = [f for f in self.files.values() if f.kind in ("people", "devices") and f.rows]
                for other in flipped[:1]:
                    other.kind = "devices" if other.kind == "people" else "people"
                    if any("holding" in r for r in other.rows) and rng.random() < 0.7:
                        other.kind = "assignments"
        elif action == "break":
            spoilt = rng.choice(list(self.files.values()))
            spoilt.broken = "" if spoilt.broken else rng.choice(HOSTILE)
        elif action == "twice" and rows:
            row = dict(rng.choice(rows), **self._holder())
            file.extra = [] if file.extra else ["- {" + ", ".join(f"{k}: {v}" for k, v in row.items()) + "}"]
        elif action == "alias" and rows:
            aid = f"Z-{self.next_id}"
            self.next_id += 1
            file.extra = [f"- &a{aid} {{id: {aid}, holding: H1, person: p1, since: {self.day}}}", f"- *a{aid}"]
        elif action == "shared":  # an item no file reads (a field twice) in a people file and an assignments file
            item = f"- {{id: Y-{self.next_id}, holding: H1, holding: H2, person: p2, since: {self.day}}}"
            self.next_id += 1
            file.extra = [item]
            if "people/p.yaml" in self.files:
                self.files["people/p.yaml"].extra = [item]
        elif action == "people":
            person = rng.choice(self.files["people/p.yaml"].rows) if "people/p.yaml" in self.files else None
            if person is not None:
                person["status"] = "departed" if person["status"] == "active" else "active"
            self.files["holdings/h.yaml"].rows[0]["quantity"] = str(rng.randint(1, 9))
        elif action == "other":
            self.files["calcheck.yaml"].rows[0]["organisation"] = f"Org {self.next_id}"
            self.files["catalogue.yaml"].rows[0]["name"] = f"Product {self.next_id}"
            self.next_id += 1
        elif action == "drop" and len(names) > 1:
            gone = self.files.pop(rng.choice(names))
            self.removed.update((r["id"], r) for r in gone.rows)


def commit_date(rng: random.Random, day: dt.date) -> str:
    return f"{day}T{rng.choice(['00:30', '09:00', '23:30'])}:00{rng.choice(ZONES)}"


@dataclass
class History:
    root: Path
    estate: Path
    days: list[dt.date]  # each commit's committer date, in its own time zone


def make_history(seed: int, folder: Path, before: Callable[[Path, Path], None]) -> History:
    """A repository with a generated history; ``before(root, estate)`` runs after some commits (a previous run)."""
    rng = random.Random(seed)
    root = folder / "repo"
    prefix = rng.choice(["licenses", "licenses", "org/licenses", ""])
    estate = root / prefix if prefix else root
    estate.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    model = Estate(rng, estate)
    days: list[dt.date] = []
    for number in range(rng.randint(3, 9)):
        if number:
            for _ in range(rng.randint(1, 3)):
                model.change()
            model.day += dt.timedelta(days=rng.choice([0, 1, 2, 30]))
        model.write()
        if prefix and rng.random() < 0.2:  # a file beside the estate: no part of its history
            (root / "notes.yaml").write_text(f"kind: people\npeople: [{{id: n{number}}}]\n")
        when = commit_date(rng, model.day)
        days.append(dt.date.fromisoformat(when[:10]))
        if number and rng.random() < 0.2:  # the change comes from a branch, merged (the walk takes the first parent)
            git(root, "checkout", "-q", "-b", f"side{number}")
            git(root, "add", "-A")
            side = commit_date(rng, model.day + dt.timedelta(days=rng.choice([-1, 0, 400])))
            git(root, "commit", "-q", "--allow-empty", "-m", f"Side {number}", date=side)
            git(root, "checkout", "-q", "main")
            git(root, "merge", "-q", "--no-ff", f"side{number}", "-m", f"Merge pull request #{number}\n\nC{number}",
                date=when)  # fmt: skip
        else:
            git(root, "add", "-A")
            git(root, "commit", "-q", "--allow-empty", "-m", f"Commit {number}", date=when)
        if rng.random() < 0.5:
            before(root, estate)
    for _ in range(rng.randint(0, 3)):  # uncommitted changes
        model.change()
    model.write()
    if rng.random() < 0.3:
        (estate / "assignments" / "untracked.yaml").parent.mkdir(parents=True, exist_ok=True)
        (estate / "assignments" / "untracked.yaml").write_text(
            f"kind: assignments\nassignments:\n  - {{id: U-1, holding: H2, person: p3, since: {model.day}}}\n"
        )
    return History(root, estate, days)


def reference(estate: Path, as_of: dt.date, cache: FileCache | None) -> Answer:
    """What the site walked before: the history pages' walk and the check's walk, each on its own."""
    repo = open_repo(estate)
    assert repo is not None
    with repo:
        entries = entries_at(repo, repo.prefix(estate), repo.resolve("HEAD"), NAMES, cache)
    return _plain(entries), timeline_for(estate, None, as_of, NAMES, cache)


def one_walk(estate: Path, as_of: dt.date, cache: FileCache | None) -> Answer:
    entries, timeline = history_with_timeline(estate, as_of, NAMES, cache)
    return _plain(entries), timeline


def previous_run(rng: random.Random, cache: Path) -> Callable[[Path, Path], None]:
    """A run of ``calcheck check``, ``history`` or ``site build`` (on some day) that fills the cache."""

    def run(root: Path, estate: Path) -> None:
        day = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 330))
        what = rng.choice(["check", "history", "site"])
        if what == "check":
            timeline_for(estate, None, day, NAMES, FileCache(cache))
        elif what == "history":
            repo = open_repo(estate)
            assert repo is not None
            with repo:
                entries_at(repo, repo.prefix(estate), repo.resolve("HEAD"), NAMES, FileCache(cache))
        else:
            one_walk(estate, day, FileCache(cache))

    return run


def damage(rng: random.Random, cache: Path) -> None:
    """Remove or spoil some of the history cache's shards and heads (the walk must then resume less, or not)."""
    found = sorted(
        p for p in (cache / "history").rglob("*.json") if "/shards/" in p.as_posix() or "/snapshots/" in p.as_posix()
    )
    for path in rng.sample(found, min(len(found), rng.randint(1, 4))):
        if rng.random() < 0.5:
            path.unlink()
        else:
            path.write_bytes(path.read_bytes()[:-7] + b"garbage")


def days_to_check(rng: random.Random, days: list[dt.date]) -> list[dt.date]:
    """The check's day: the latest commit's (in its own time zone: one walk), the day before (two walks), and now and
    then a later day or an earlier commit's."""
    latest = max(days)
    extra = [rng.choice([dt.date(2026, 11, 30), rng.choice(days)])] if rng.random() < 0.3 else []
    return sorted({latest, latest - dt.timedelta(days=1), *extra})


def compare(seed: int, folder: Path, chdir: Callable[[Path], None]) -> tuple[int, int]:
    """Both answers for one generated history, without the cache, with a cache of its own, with the cache previous
    runs filled, with that cache damaged, and read from a bare clone; (days one walk answered, days two walks did)."""
    rng = random.Random(seed * 7919)
    filled = folder / "filled"
    history = make_history(seed, folder, previous_run(rng, filled))
    taken = [0, 0]
    for as_of in days_to_check(rng, history.days):
        expected = reference(history.estate, as_of, None)
        assert one_walk(history.estate, as_of, None) == expected, (seed, as_of)
        two = any(day > as_of for day in history.days)
        taken[two] += 1
        if two:  # each walked on its own, by the same code as the expected answer
            continue
        variants = ["fresh", "filled", "damaged"] if filled.exists() and as_of == max(history.days) else ["fresh"]
        for variant in variants:
            mine, theirs = folder / f"{variant}-mine-{as_of}", folder / f"{variant}-theirs-{as_of}"
            for copy in (mine, theirs) if variant != "fresh" else ():
                shutil.copytree(filled, copy)
                if variant == "damaged":
                    damage(random.Random(seed), copy)
            assert reference(history.estate, as_of, FileCache(theirs)) == expected, (seed, as_of, variant)
            for _ in range(2 if variant == "fresh" else 1):  # then again from what it cached
                assert one_walk(history.estate, as_of, FileCache(mine)) == expected, (seed, as_of, variant)
    if seed % 4 == 0:  # a bare clone: the committed history only, the estate named by its path in the repository
        git(folder, "clone", "-q", "--bare", str(history.root), str(folder / "bare.git"))
        chdir(folder / "bare.git")
        estate = Path(history.estate.relative_to(history.root).as_posix())
        as_of = max(history.days)
        expected = reference(estate, as_of, None)
        assert one_walk(estate, as_of, None) == expected == one_walk(estate, as_of, FileCache(folder / "bare")), seed
    return taken[0], taken[1]


@pytest.mark.parametrize("seeds", [range(10, 14), range(14, 18), range(18, 22)], ids=["10-13", "14-17", "18-21"])
def test_one_walk_gives_both_walks_answers_on_generated_histories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seeds: range
) -> None:
    taken = [0, 0]
    for seed in seeds:
        one, two = compare(seed, tmp_path / str(seed), monkeypatch.chdir)
        taken[0] += one
        taken[1] += two
    assert taken[0] and taken[1]  # both ways were taken


def test_ids_given_again_in_one_commit_are_noted_alike_however_the_walk_read_the_file(tmp_path: Path) -> None:
    """A check resumed from the cache reads a file's first change item by item, a walk from the first commit by its
    changed range: the ids a commit gives again are the same, and so is their order (that of the ids)."""
    root = tmp_path / "repo"
    register = root / "licenses" / "assignments" / "a.yaml"
    register.parent.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")

    def write(rows: list[tuple[int, str]], day: int) -> None:
        items = [f"  - {{id: A-{i}, holding: H{i}, person: {who}, since: 2026-01-05}}\n" for i, who in rows]
        register.write_text("kind: assignments\nassignments:\n" + "".join(items))
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", f"Day {day}", date=f"2026-01-{day:02d}T09:00:00+00:00")

    kept = [(i, f"k{i}") for i in range(10, 14)]
    write([(i, f"p{i}") for i in range(1, 8)] + kept, 5)
    write(kept, 6)  # seven assignments removed
    as_of = dt.date(2026, 3, 1)
    timeline_for(register.parents[1], None, as_of, NAMES, FileCache(tmp_path / "cache"))  # a check fills the cache
    write([(i, f"q{i}") for i in range(7, 0, -1)] + kept, 7)  # their ids given again, to others, last first
    shutil.copytree(tmp_path / "cache", tmp_path / "copy")
    expected = reference(register.parents[1], as_of, None)
    assert [r.assignment for r in expected[1].reused] == [f"A-{i}" for i in range(1, 8)]
    assert reference(register.parents[1], as_of, FileCache(tmp_path / "cache")) == expected
    assert one_walk(register.parents[1], as_of, FileCache(tmp_path / "copy")) == expected
