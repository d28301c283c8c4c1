"""The site's rendering and writing fast paths give exactly what the straightforward code gives.

Each reference below is the code the fast path replaced, kept here as the specification: CSV cells made safe one by
one, the by-group breakdown with a Python call per subject and a full sort of every pool, and the build folder walked
with ``os.walk``, ``lstat`` and ``Path`` objects.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import random
import shutil
import stat
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

from calcheck.estate.model import Device, Estate, Person
from calcheck.estate.sources import WorkTree
from calcheck.licensing import engine
from calcheck.licensing.access import Subject
from calcheck.licensing.coverage import Analysis
from calcheck.licensing.elp import Pool, Position
from calcheck.outputs import bygroup
from calcheck.outputs.cells import csv_text, safe_cell
from calcheck.site import output
from calcheck.site.markup import slug
from calcheck.site.output import sync, tree_digest
from calcheck.site.pages import SiteInput, TrendPoint, _trend_charts, pool_name, render_site
from tests.conftest import AS_OF, ROOT


def reference_csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    quoted = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for row in [header, *rows]:
        cells = [safe_cell(v) for v in row]
        (quoted if any(isinstance(c, str) and "\r" in c for c in cells) else writer).writerow(cells)
    return out.getvalue()


PIECES = ["", "a", "b c", "-", "=", "+", "@", "\t", "\r", "\n", "=1+2", "-5", "+1.5", " -5", "1e3", '"', ",", "x\ny",
          "é", "\u202e", "SUM(A1)", "'"]  # fmt: skip


def random_cell(rng: random.Random) -> object:
    roll = rng.random()
    if roll < 0.1:
        return rng.choice([None, -3, 0, 7, -2.5, 1.25, dt.date(2026, 1, 2), True])
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 3)))


@pytest.mark.parametrize("seed", range(40))
def test_csv_text_is_the_cell_by_cell_writer_on_random_tables(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(50):
        width = rng.randint(1, 5)
        header = [f"h{i}" for i in range(width)]
        rows = [[random_cell(rng) for _ in range(width)] for _ in range(rng.randint(0, 6))]
        assert csv_text(header, rows) == reference_csv_text(header, rows), rows


@pytest.mark.parametrize(
    "cell",
    ["=cmd|' /C calc'!A0", "=a,b", '=say "hi"', "\n=x", "\t=x", "+1+1", "@SUM(1)", "-x", "-5", "a\rb", "", "plain"],
)
def test_csv_text_makes_each_kind_of_cell_safe_wherever_it_stands(cell: str) -> None:
    for row in ([cell], [cell, ""], ["", cell], ["x", cell, "y"], ["", cell, ""]):
        header = [f"h{i}" for i in range(len(row))]
        rows = [["first", *[""] * (len(row) - 1)], row, [""] * len(row)]
        assert csv_text(header, rows) == reference_csv_text(header, rows)
    assert csv_text(["h"], ((cell,) for _ in range(2))) == reference_csv_text(["h"], [[cell], [cell]])  # rows once


def reference_breakdown(estate: Estate, analysis: Analysis, position: Position, by: str) -> bygroup.Breakdown:
    people, devices = estate.index("people"), estate.index("devices")

    def group_of(record: Person | Device | None) -> str:
        if record is None:
            return bygroup.NO_GROUP
        value = record.department if by == "department" else record.cost_centre
        return value or bygroup.NO_GROUP

    def group(subject: Subject) -> str:
        return group_of((people if subject[0] == "person" else devices).get(subject[1]))

    covering: dict[Subject, tuple[str, str]] = {}
    for charge in analysis.charges:
        if charge.candidate is not None:
            a = charge.candidate.assignment
            key = (a.since.isoformat(), a.id)
            covering[charge.licensee] = max(covering.get(charge.licensee, key), key)
    shares: dict[tuple[str, int], bygroup.Share] = {}
    for index, pool in enumerate(position.pools):
        assigned = [
            a.assignee
            for holding_id in pool.holdings
            if analysis.entitlement.get(holding_id) is None
            for a in analysis.in_force.get(holding_id, [])
        ]
        short = sorted(pool.uncovered_subjects) + sorted(
            pool.required_subjects, key=lambda s: covering.get(s, ("", "")), reverse=True
        )

        def share(name: str, pool: Pool = pool, index: int = index) -> bygroup.Share:
            return shares.setdefault((name, index), bygroup.Share(pool))

        for name, count in Counter(map(group, pool.required_subjects | pool.uncovered_subjects)).items():
            share(name).required += count
        for name, count in Counter(map(group, assigned)).items():
            share(name).assigned += count
        for name, count in Counter(map(group, short[: pool.shortfall])).items():
            share(name).shortfall += count
    groups: dict[str, bygroup.Group] = {}
    for (name, _), found in sorted(shares.items()):
        groups.setdefault(name, bygroup.Group(name)).shares.append(found)
    ordered = sorted(groups.values(), key=lambda g: (g.name == bygroup.NO_GROUP, g.name.casefold(), g.name))
    return bygroup.Breakdown(by, position, ordered)


def shown(data: bygroup.Breakdown) -> list[tuple[str, list[tuple[int, int, int, int]]]]:
    return [(g.name, [(id(s.pool), s.required, s.assigned, s.shortfall) for s in g.shares]) for g in data.groups]


def bundled_copy(tmp_path: Path, owned: int | None, departments: bool) -> Path:
    """The bundled estate, its holdings cut to ``owned`` CALs each (a shortfall beyond the uncovered people) and,
    unless ``departments``, some people and devices without a department or cost centre."""
    estate = tmp_path / "licenses"
    shutil.copytree(ROOT / "licenses", estate)
    if owned is not None:
        for path in (estate / "holdings").glob("*.yaml"):
            lines = path.read_text().splitlines(keepends=True)
            path.write_text("".join(
                line.split(":")[0] + f": {owned}\n" if line.strip().startswith("quantity:") else line for line in lines
            ))  # fmt: skip
    if not departments:
        for folder in ("people", "devices"):
            for path in (estate / folder).glob("*.yaml"):
                lines = path.read_text().splitlines(keepends=True)
                kept = [line for n, line in enumerate(lines) if not (
                    line.strip().startswith(("department:", "cost_centre:")) and n % 3 == 0)]  # fmt: skip
                path.write_text("".join(kept))
    return estate


@pytest.mark.parametrize(("owned", "departments"), [(None, True), (1, True), (1, False), (3, False), (2, True)])
def test_breakdown_is_the_subject_by_subject_sharing(tmp_path: Path, owned: int | None, departments: bool) -> None:
    estate = bundled_copy(tmp_path, owned, departments)
    result = engine.check(WorkTree(estate), dt.date.fromisoformat(AS_OF))
    context = result.context
    shortfalls = [p.shortfall - p.uncovered for p in context.position.pools]
    if owned is not None:
        assert max(shortfalls) > 0  # the newest covered are charged the shortfall too
    together = bygroup.breakdowns(result.estate, context.analysis, context.position, list(bygroup.GROUPINGS))
    for by, both in zip(bygroup.GROUPINGS, together, strict=True):
        fast = bygroup.breakdown(result.estate, context.analysis, context.position, by)
        slow = reference_breakdown(result.estate, context.analysis, context.position, by)
        assert shown(fast) == shown(slow) == shown(both)
        assert both.by == by
        if not departments:
            assert bygroup.NO_GROUP in [g.name for g in fast.groups]


def reference_real_tree(folder: Path) -> list[str] | None:
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return None
    except OSError:
        return None
    files: list[str] = []
    for root, folders, names in os.walk(folder, followlinks=False):
        for name in [*folders, *names]:
            path = Path(root) / name
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                return None
            if stat.S_ISREG(mode):
                files.append(path.relative_to(folder).as_posix())
            elif not stat.S_ISDIR(mode):
                return None
    return sorted(files)


def make_tree(top: Path) -> None:
    for relative in ("a.md", "b/c.md", "b/d/e.js", "b/d/f g.svg", "b-x/z.md", "b.md", "é/ü.md", "x/y/z/w/v.md"):
        (top / relative).parent.mkdir(parents=True, exist_ok=True)
        (top / relative).write_text(relative)
    (top / "empty" / "deeper").mkdir(parents=True)
    os.mkdir(os.fsencode(top) + b"/raw-\xff")
    (Path(os.fsdecode(os.fsencode(top) + b"/raw-\xff")) / "file").write_text("bytes beyond UTF-8 in a name")


@pytest.mark.parametrize(
    "odd", [None, "link-to-file", "link-to-folder", "link-deep", "fifo", "dangling", "top-is-link", "top-is-file"]
)
def test_the_real_tree_and_its_digest_are_the_walk_the_build_made_before(tmp_path: Path, odd: str | None) -> None:
    top = tmp_path / "tree"
    top.mkdir()
    make_tree(top)
    if odd == "link-to-file":
        (top / "b" / "l.md").symlink_to(top / "a.md")
    elif odd == "link-to-folder":
        (top / "l").symlink_to(top / "b")
    elif odd == "link-deep":
        (top / "x" / "y" / "z" / "l").symlink_to(tmp_path)
    elif odd == "fifo":
        os.mkfifo(top / "b" / "d" / "pipe")
    elif odd == "dangling":
        (top / "b" / "gone.md").symlink_to(tmp_path / "nothing")
    elif odd == "top-is-link":
        top.rename(tmp_path / "real")
        top.symlink_to(tmp_path / "real")
    elif odd == "top-is-file":
        shutil.rmtree(top)
        top.write_text("a file")
    found = output._real_tree(top)
    assert found == reference_real_tree(top)
    assert (found is None) == (odd is not None)
    assert (tree_digest(top) is None) == (odd is not None)


def test_the_digest_names_every_file_and_its_content(tmp_path: Path) -> None:
    top = tmp_path / "tree"
    top.mkdir()
    make_tree(top)
    before = tree_digest(top)
    assert before is not None and before == tree_digest(top)
    (top / "b" / "d" / "e.js").write_text("changed")
    changed = tree_digest(top)
    (top / "b" / "d" / "e.js").write_text("b/d/e.js")
    assert before != changed and tree_digest(top) == before
    (top / "b" / "d" / "e.js").rename(top / "b" / "d" / "e2.js")
    assert tree_digest(top) != before


def test_sync_writes_exactly_the_files_and_keeps_the_unchanged(tmp_path: Path) -> None:
    top = tmp_path / "docs"
    top.mkdir()
    make_tree(top)
    (top / "b" / "l.md").symlink_to(top / "a.md")
    (top / "linked").symlink_to(top / "b")
    (top / "a.md").write_text("same")
    os.utime(top / "a.md", ns=(10**9, 10**9))
    files: dict[str, str | bytes] = {"a.md": "same", "b/c.md": b"new", "n/e/w.md": "deep", "b/l.md": "real now"}
    sync(top, files)
    assert reference_real_tree(top) == sorted(files)
    assert os.stat(top / "a.md").st_mtime_ns == 10**9  # unchanged: not written again
    assert {name: (top / name).read_bytes() for name in files} == {
        name: content.encode() if isinstance(content, str) else content for name, content in files.items()
    }
    assert not (top / "empty").exists() and not (top / "linked").exists()


def test_each_pools_trend_is_drawn_once_for_all_its_holdings_pages(tmp_path: Path) -> None:
    estate = bundled_copy(tmp_path, None, True)
    extra = estate / "holdings" / "more.yaml"  # two more holdings in the pool of EA-EXS19-USER
    extra.write_text(
        "kind: holdings\nholdings:\n"
        + "".join(
            f"  - id: MORE-{n}\n    cal: exchange-standard\n    kind: base\n    version: '2019'\n    type: user\n"
            f"    quantity: {n}\n    channel: retail\n    purchased: 2024-0{n}-01\n"
            for n in (1, 2)
        )
    )
    result = engine.check(WorkTree(estate), dt.date.fromisoformat(AS_OF))
    position = result.context.position
    points = [TrendPoint.of("2026-01-01", position), TrendPoint.of(AS_OF, position)]
    files = render_site(SiteInput(result, [], points))
    assert any(len(p.holdings) > 1 for p in position.pools)  # pools of several holdings share one drawing
    drawn = {name: text for name, text in files.items() if name.startswith("charts/pool-")}
    expected: dict[str, str] = {}
    for pool in position.pools:
        if pool.holdings:
            key = pool_name(pool.cal, pool.version, pool.type)
            expected.update(_trend_charts(f"pool-{slug(key)}", f"{pool.label} over time", points, key))
            for holding in pool.holdings:
                assert f"../charts/pool-{slug(key)}.svg" in files[f"holdings/{slug(holding)}.md"]
    assert drawn == expected
