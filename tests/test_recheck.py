"""An edit's estate checked by reading only the changed files gives exactly what reading every file gives.

``engine.recheck`` (what ``assign``, ``unassign`` and ``transfer`` use to judge the estate as the edit would leave
it) splices the changed files' records into the estate already read. Over generated estates and generated edits
(the edit commands' own plans, hand edits of any file, new files, files that break) it must agree with
``engine.check`` of the edited estate in every answer: findings, waived and unfiltered findings, the licensing
analysis, the position and the records themselves.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calcheck.cli.common import check_at
from calcheck.core.errors import CalcheckError
from calcheck.edits import operations
from calcheck.estate.sources import WorkTree
from calcheck.estate.splice import COLLECTIONS, replaced_files
from calcheck.licensing import engine
from calcheck.licensing.diff import compare
from calcheck.licensing.rules.example import write_estate
from calcheck.outputs.diffview import RENDERERS
from tests.test_licensing_property import AS_OF, estate_st, render

ASSIGNMENTS = "assignments/assignments.yaml"


def answers(result: engine.CheckResult) -> dict[str, Any]:
    """Every answer of a check, comparable with ``==``."""
    analysis = result.context.analysis
    return {
        "findings": result.findings,
        "waived": result.waived,
        "unfiltered": result.unfiltered,
        "files": result.files,
        "read": result.read,
        "records": {name: getattr(result.estate, name) for name in COLLECTIONS},
        "config": (result.estate.config, result.estate.configs, result.estate.invalid_ids),
        "charges": analysis.charges,
        "rejections": analysis.rejections,
        "exemptions": analysis.exemptions,
        "coverages": [(c.need, c.covered_by, c.connector, c.rejected, c.partners) for c in analysis.coverages],
        "reclaimable": analysis.reclaimable,
        "position": repr(result.context.position),
    }


def plan(root: Path, base: engine.CheckResult, data: st.DataObject) -> dict[str, str]:
    """Files as one generated edit would leave them (relative path -> text); may raise for an edit refused."""
    estate = base.estate
    holdings, assignments = sorted(estate.index("holdings")), sorted(estate.index("assignments"))
    subjects = [("person", p) for p in estate.index("people")] + [("device", d) for d in estate.index("devices")]
    on = data.draw(st.sampled_from([dt.date(2026, 3, 1), AS_OF, dt.date(2026, 9, 1)]))
    what = data.draw(
        st.sampled_from(["assign", "assign-new-file", "unassign", "remove", "transfer", "cover", "text", "new"])
    )
    changes: list[operations.Change] = []
    if what.startswith("assign") and holdings:
        holding, subject = data.draw(st.sampled_from(holdings)), data.draw(st.sampled_from(subjects))
        file = root / "assignments" / "more.yaml" if what == "assign-new-file" else None
        changes = [operations.plan_assign(root, base, holding, subject, on, file=file)]
    elif what in ("unassign", "remove") and assignments:
        changes = [operations.plan_unassign(base, data.draw(st.sampled_from(assignments)), on, what == "remove")]
    elif what == "transfer" and assignments:
        to, reason = data.draw(st.sampled_from(subjects)), data.draw(st.sampled_from([None, "departure"]))
        changes = operations.plan_transfer(root, base, data.draw(st.sampled_from(assignments)), to, on, reason)
    elif what == "cover" and assignments:  # a temporary cover: the absent holder needs none of the CAL meanwhile
        to, until = data.draw(st.sampled_from(subjects)), on + dt.timedelta(days=data.draw(st.sampled_from([10, 200])))
        aid = data.draw(st.sampled_from(assignments))
        changes = operations.plan_transfer(root, base, aid, to, on, "temporary-cover", temporary=True, until=until)
    if changes:
        return {c.path.resolve().relative_to(root.resolve()).as_posix(): c.after for c in changes}
    if what == "new":  # a new file of another kind, clean or not
        text = data.draw(
            st.sampled_from(
                [
                    "kind: people\npeople:\n  - {id: p9, name: New, kind: employee, status: active, groups: [g1]}\n",
                    "kind: people\npeople:\n  - {id: p9, name: New, kind: employee, status: gone}\n",
                    "kind: devices\ndevices:\n  - {id: D1, kind: kiosk, status: active}\n",
                    "kind: config\norganisation: Second\n",
                    "kind: people\npeople: [\n",
                ]
            )
        )
        return {data.draw(st.sampled_from(["people/new.yaml", "devices/new.yaml", "z.yaml"])): text}
    # a hand edit of any file: a value changed (to a valid one or not), or a record dropped
    relative = data.draw(st.sampled_from(sorted(WorkTree(root).yaml_files())))
    lines = (root / relative).read_text(encoding="utf-8").splitlines(keepends=True)
    index = data.draw(st.integers(0, len(lines) - 1))
    edit = data.draw(
        st.sampled_from(
            [
                ("active", "departed, departed: 2026-01-01"),
                ("2024-03-01", "2026-10-01"),
                ("2024-03-01", "2024-13-45"),
                ("quantity: 1", "quantity: 3"),
                ("employee", "contractor"),
                ("everyone: false", "everyone: true"),
                ("", ""),
            ]
        )
    )
    lines[index] = lines[index].replace(*edit) if edit[0] else ""
    return {relative: "".join(lines)}


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
@given(spec=estate_st, data=st.data())
def test_an_edit_rechecked_gives_what_a_whole_check_gives(
    spec: tuple,  # type: ignore[type-arg]
    data: st.DataObject,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    root = write_estate(render(spec), tmp_path_factory.mktemp("estate") / "licenses")
    base = engine.check(WorkTree(root), AS_OF)
    try:
        edited = plan(root, base, data)
    except CalcheckError:  # an edit the command refuses (a taken id, an assignment already ended, ...)
        return
    overrides = {relative: text.encode("utf-8") for relative, text in edited.items()}
    after = operations.Overlay(root, overrides)
    whole = engine.check(after, AS_OF)
    spliced = engine.recheck(base, WorkTree(root), after, list(overrides), AS_OF)
    assert answers(spliced) == answers(whole)
    assert compare(base, spliced, "now", "after").regressions() == compare(base, whole, "now", "after").regressions()


def test_a_clean_edit_is_spliced_and_a_broken_one_is_not(tmp_path: Path) -> None:
    spec = (
        [("employee", "active", [], ["g1"], "")],
        [("workstation", "active")],
        [(0, True, [], [], [], False, [], False)],
        {"WS22-U": 2},
        [("WS22-U", "p1", True)],
        "2023-01-01",
    )
    root = write_estate(render(spec), tmp_path / "licenses")
    base = engine.check(WorkTree(root), AS_OF)
    assert base.read is not None
    text = (root / ASSIGNMENTS).read_text(encoding="utf-8")
    for after, spliced in ((text.replace("2024-03-01", "2026-01-01"), True), (text.replace("-03-", "-13-"), False)):
        overlay = operations.Overlay(root, {ASSIGNMENTS: after.encode("utf-8")})
        found = replaced_files(base.estate, base.read[1], WorkTree(root), overlay, [ASSIGNMENTS])
        assert (found is not None) == spliced
        assert answers(engine.recheck(base, WorkTree(root), overlay, [ASSIGNMENTS], AS_OF)) == answers(
            engine.check(overlay, AS_OF)
        )


@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
@given(spec=estate_st, data=st.data())
def test_a_diff_between_revisions_gives_what_two_whole_checks_give(
    spec: tuple,  # type: ignore[type-arg]
    data: st.DataObject,
    tmp_path_factory: pytest.TempPathFactory,
    run_cli: Callable[..., tuple[int, str, str]],
) -> None:
    """``diff`` reads the head as the base with the files that differ read again: over generated estates and
    generated edits committed one after another (and one left in the work tree), any two sides give, in every
    format, what two whole checks of them give."""
    from tests.test_git import git

    top = tmp_path_factory.mktemp("repo")
    git(top, "init", "-q", "-b", "main")
    root = write_estate(render(spec), top / "licenses")
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "the estate", date="2026-01-05T09:00:00+00:00")
    commits = data.draw(st.integers(1, 3))
    for index in range(commits + 1):
        try:
            edited = plan(root, engine.check(WorkTree(root), AS_OF), data)
        except CalcheckError:
            edited = {}
        for relative, text in edited.items():
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text(text, encoding="utf-8")
        if index < commits:
            git(top, "add", "-A")
            git(
                top, "commit", "-q", "--allow-empty", "-m", f"edit {index}", date=f"2026-0{index + 2}-01T09:00:00+00:00"
            )
    revisions: list[str | None] = [*(f"HEAD~{n}" for n in range(commits, 0, -1)), "HEAD", None]
    pairs = [(base, head) for base in revisions[:-1] for head in revisions if head != base]
    where = os.getcwd()
    os.chdir(top)
    try:
        for base, head in data.draw(st.lists(st.sampled_from(pairs), min_size=1, max_size=3, unique=True)):
            assert base is not None
            sides = check_at(root, base, AS_OF, True), check_at(root, head, AS_OF, True)
            alone = compare(*sides, base, head or "working tree")
            for form in RENDERERS:
                args = ["diff", base, *([head] if head else []), "--as-of", AS_OF.isoformat(), "--format", form]
                assert run_cli(*args, "--no-cache")[1].rstrip("\n") == RENDERERS[form](alone).rstrip("\n")
    finally:
        os.chdir(where)
