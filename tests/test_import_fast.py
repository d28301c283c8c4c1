"""An import checks the estate as it would leave it by splicing the files it changes into the baseline's records,
through a memo of loaded files that keeps only the files of the kind imported. Differential: on generated estates
and exports with odd cases (rows matching nobody, duplicates, ids that are not text, broken files in the estate),
its plan, findings, position and output are those of the plain path: no memo, and every file of the edited
estate read again."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
import shutil
import subprocess
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from calcheck.edits import importing, operations
from calcheck.edits.importing import (
    _LETTERS,
    ImportPlan,
    checked_many,
    checked_reader,
    import_baseline,
    person_id,
    plan_import,
)
from calcheck.edits.yamledit import read_back
from calcheck.estate import parallel
from calcheck.estate.cache import Checked, FileMemo
from calcheck.estate.yamlload import LoadedFile
from calcheck.licensing import engine
from calcheck.licensing.diff import compare
from calcheck.outputs.diffview import render_position

Run = Callable[..., tuple[int, str, str]]
ON = dt.date(2026, 11, 30)
GENERATE = Path(__file__).resolve().parent / "benchmarks" / "generate.py"
BROKEN = "kind: people\npeople:\n  - {id: zz1, name: [unclosed\n"
ODD = """\
kind: people
people:
  - {id: 12345, name: Number, kind: employee, status: active}
  - {id: odd1, name: Odd One, kind: employee, status: active, email: odd1@example.com}
  - {id: odd1, name: Odd Twice, kind: employee, status: active}
  - {id: odd2, name: Odd Two, kind: employee, status: active, shoe_size: 44}
  - {id: odd3, name: "Odd: Three", kind: contractor, status: active, department: IT 7}
"""


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small estate in the shapes admins and imports write (the benchmark's generator, real style)."""
    out = tmp_path_factory.mktemp("generated")
    sizes = ["--assignments", "300", "--people", "180", "--devices", "120", "--holdings", "8", "--deployments", "3"]
    subprocess.run([sys.executable, str(GENERATE), str(out), *sizes], check=True, capture_output=True)
    return out / "licenses"


def _people(estate: Path) -> list[dict[str, str]]:
    """The estate's people as the export would list them (id, name, e-mail, department), in file order."""
    found = []
    for path in sorted((estate / "people").glob("*.yaml")):
        loaded = read_back(path, path.read_text(encoding="utf-8-sig"))
        for record in (loaded or {}).get("people", []):
            if isinstance(record, dict) and isinstance(record.get("id"), str):
                found.append({k: str(record.get(k, "")) for k in ("id", "name", "email", "department")})
    return found


def _export(rng: random.Random, people: list[dict[str, str]], odd: bool, twice: bool) -> str:
    """An AD export: most people (some renamed, moved, disabled), starters, and with ``odd`` rows matching nobody,
    ids that are not text, and with ``twice`` a row for a record left out and a duplicate row (refused)."""
    rows = []
    listed = [p for p in people if not p["id"].startswith(("odd", "zz"))]  # the odd rows name these
    for person in rng.sample(listed, len(listed) * 4 // 5):
        name = person["name"] if rng.random() < 0.7 else f"{person['name']} Jr"
        department = rng.choice([person["department"], person["department"], "IT 7", "Ops: North", ""])
        email = rng.choice([person["email"], person["email"], ""])
        rows.append([person["id"], rng.choice(["True"] * 9 + ["False"]), name, email, department])
    rows += [[f"new{i:03d}", rng.choice(["True", "False"]), f"New Starter {i}", "", "Sales"] for i in range(12)]
    if odd:
        rows += [
            ["12345", "True", "Number", "", ""],  # an id the estate holds as a number
            ["odd1", "True", "Odd One", "", "Finance"],  # an id held twice in one file
            ["ODD3", "True", "Odd Three", "", ""],  # another case
            ["true", "True", "Yes Man", "", ""],
            ["nobody", "False", "Nobody", "", ""],  # disabled and unknown: skipped
            ["zz1", "True", "In A Broken File", "", ""],
        ]
    if twice:  # refused: a row for a record left out for a schema error, and a duplicate row
        rows.append(["odd2", "True", "Odd Two", "", ""])
        rows.append(list(rows[0]) if rng.random() < 0.5 else [rows[1][0].upper(), "True", "Copy", "", ""])
    rng.shuffle(rows)
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(["SamAccountName", "Enabled", "Name", "EmailAddress", "Department"])
    writer.writerows(rows)
    return "#TYPE Microsoft.ActiveDirectory.Management.ADUser\n" + out.getvalue()


def _case(tmp_path: Path, generated: Path, seed: int) -> tuple[Path, Path]:
    rng = random.Random(seed)
    estate = tmp_path / "licenses"
    shutil.copytree(generated, estate)
    odd = seed % 2 == 1
    if odd:
        (estate / "people" / "odd.yaml").write_text(ODD, encoding="utf-8")
        if seed % 4 == 3:
            (estate / "people" / "zz-broken.yaml").write_text(BROKEN, encoding="utf-8")
    export = tmp_path / "ad.csv"
    export.write_text(_export(rng, _people(estate), odd, seed % 4 == 1), encoding="utf-8-sig")
    return estate, export


def _answer(base: operations.Baseline, plan: ImportPlan, after: engine.CheckResult) -> dict[str, Any]:
    diff = compare(base.result, after, "now", "after the import")
    return {
        "changes": [(str(c.path), c.before, c.after) for c in plan.changes],
        "plan": (plan.problems, plan.added, plan.updated, plan.leavers, plan.skipped),
        "position": render_position(diff),
        "worse": [*diff.regressions(), *operations.duplicates(base.result, after)],
        "findings": (after.findings, after.waived, after.unfiltered, after.files),
        "estate": [[(r.source.path, r) for r in getattr(after.estate, kind)] for kind in ("people", "assignments")],
    }


def _optimised(estate: Path, export: Path, partial: bool) -> dict[str, Any]:
    base = import_baseline(estate, "people", ON)
    plan = plan_import(
        base.result,
        estate,
        "people",
        export,
        "auto",
        None,
        ON,
        None,
        partial,
        True,
        (),
        checked_reader(base),
        checked_many(base),
    )
    return _answer(base, plan, operations.review(base, plan.changes, "after the import").after)


def _plain(estate: Path, export: Path, partial: bool) -> dict[str, Any]:
    base = operations.baseline(estate, ON, history=False)
    plan = plan_import(base.result, estate, "people", export, "auto", None, ON, None, partial, True, ())
    root = estate.resolve()
    overrides = {c.path.resolve().relative_to(root).as_posix(): c.after.encode() for c in plan.changes}
    return _answer(base, plan, engine.check(operations.Overlay(estate, overrides), ON))


@pytest.mark.parametrize("seed", range(8))
def test_an_import_answers_as_the_plain_check_of_the_edited_estate(
    tmp_path: Path, generated: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    estate, export = _case(tmp_path, generated, seed)
    monkeypatch.chdir(tmp_path)
    if seed % 2 == 0:  # the edited files read back a file at a time, by forked workers
        monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
        monkeypatch.setenv("CALCHECK_JOBS", "3")
        monkeypatch.setattr(importing, "_READ_BACK_BYTES", 1)
    partial = seed % 3 == 2
    fast, plain = _optimised(estate, export, partial), _plain(estate, export, partial)
    assert fast == plain
    assert bool(fast["plan"][0]) == (seed % 4 == 1)  # a duplicate row: the import is refused
    assert seed % 4 == 1 or (fast["changes"] and fast["position"])


@pytest.mark.parametrize("seed", [0, 1, 2, 4])
def test_the_command_prints_and_writes_what_the_plain_path_gives(
    tmp_path: Path, generated: Path, seed: int, monkeypatch: pytest.MonkeyPatch, run_cli: Run
) -> None:
    estate, export = _case(tmp_path, generated, seed)
    monkeypatch.chdir(tmp_path)
    plain = _plain(estate, export, False)
    before = {p: p.read_bytes() for p in estate.rglob("*.yaml")}
    arguments = ("import", "people", str(export), "--path", "licenses", "--on", ON.isoformat(), "--force")
    code, out, err = run_cli(*arguments, "--dry-run", "--no-cache")
    assert {p: p.read_bytes() for p in estate.rglob("*.yaml")} == before
    if plain["plan"][0]:
        assert code == 1 and "import refused: nothing was changed" in out
        return
    assert (code, err) == (0, "")
    assert out.endswith(plain["position"] + "dry run: nothing written\n")
    plan = plain["plan"]
    assert f"{len(plan[1])} added, {len(plan[2])} updated, {len(plan[3])} departed" in out
    assert run_cli(*arguments)[0] == 0
    written = {Path(path).resolve(): after for path, _, after in plain["changes"]}
    for path in estate.rglob("*.yaml"):
        expected = written.get(path.resolve())
        assert path.read_bytes() == (expected.encode() if expected is not None else before[path])


@dataclass(frozen=True, slots=True)
class _CountingMemo(FileMemo):
    """A memo that lists the files parsed in this process (each is stored with ``put``)."""

    parsed: list[str] = field(default_factory=list)

    def put(self, key: str, loaded: LoadedFile, checked: Checked) -> None:
        self.parsed.append(self.files.get(key, ""))
        FileMemo.put(self, key, loaded, checked)  # a slotted dataclass: no argument-less super()


def test_the_check_after_an_import_reads_no_file_again_and_shares_the_unchanged_records(
    tmp_path: Path, generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    estate, export = _case(tmp_path, generated, 0)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CALCHECK_JOBS", "1")
    memo = _CountingMemo.over(None)
    base = operations.baseline(estate, ON, history=False, cache=memo)
    memo.forget(lambda _, result: any(kind == "people" for kind, _ in result[1]))
    assert {memo.files[key].split("/")[0] for key in memo.entries} == {"people"}
    assert all(memo.clean(key) is not None for key in memo.files)
    plan = plan_import(
        base.result, estate, "people", export, "auto", None, ON, None, False, True, (), checked_reader(base)
    )
    assert plan.changes and not plan.problems
    memo.parsed.clear()
    after = operations.review(base, plan.changes, "after the import").after
    assert memo.parsed == []  # each changed file was read when the plan confirmed it; its earlier version not at all
    assert memo.entries == {}  # let go once the edited files were spliced in, before the estate was judged
    changed = {str(c.path) for c in plan.changes}
    kept = [r for r in base.result.estate.assignments if r.source.path not in changed]
    assert kept and all(a is b for a, b in zip(kept, after.estate.assignments, strict=True))


def test_an_ascii_id_is_made_as_any_other() -> None:
    """``person_id`` skips folding and decomposing an ASCII value: the answer is that of the full walk."""

    def walked(source: str, raw: str) -> str:
        value = raw.split("@", 1)[0] if source == "entra" else raw
        folded = unicodedata.normalize("NFKD", value.strip().lower().translate(_LETTERS))
        plain = "".join(char for char in folded if not unicodedata.combining(char))
        return re.sub(r"[^a-z0-9._@-]+", "-", plain).strip("-._")

    rng = random.Random(16)
    letters = [chr(code) for code in range(128)] + ["é", "ø", "ß", "\u0131", "\u212a", "\ufb01"]
    for _ in range(3000):
        raw = "".join(rng.choice(letters) for _ in range(rng.randint(0, 14)))
        for source in ("ad", "entra"):
            assert person_id(source, raw) == walked(source, raw), (source, raw)
