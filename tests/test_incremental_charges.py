"""An edit's licensing analysis, worked out from the baseline's, is the analysis worked out from nothing.

When an edit changes assignments only (``assign``, ``unassign``, ``transfer``), the analysis of the edited estate
takes from the baseline's what the edit cannot change: the needs, the coverages of untouched subjects and the
charges of every licensee no changed coverage reaches (``Charger.rerun`` in ``calcheck/licensing/analysis.py``).
Over generated estates (people using devices, RDS hosts per user and per device, External Connectors, suites,
additive CALs and their base, versions old and new, holdings short and sufficient) and generated assigns (one to
four at once, to people and devices, of every holding, starting before or after the day checked, some ending),
the incremental analysis, the check and what the edit command shows must equal a whole check's, byte for byte.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calcheck.cli.common import new_findings_text
from calcheck.edits import operations
from calcheck.estate.sources import WorkTree
from calcheck.licensing import engine
from calcheck.licensing.analysis import analyse
from calcheck.licensing.diff import compare
from calcheck.licensing.rules.example import write_estate
from calcheck.outputs.diffview import render_position
from tests.test_licensing_property import (
    AS_OF,
    DEVICES,
    HOLDINGS,
    PEOPLE,
    deployment_st,
    devices_st,
    people_st,
    render,
)
from tests.test_recheck import ASSIGNMENTS, answers

STARTS = ["2024-03-01", "2026-06-30", "2026-08-01"]  # in force long since, from the day checked, later
ENDS = [None, "2026-06-29", "2027-01-31"]  # open, ended the day before, ending later
MORE = "assignments/more.yaml"
# estate_st's estates with many CALs in place: most needs are covered, and an edit touches few of them
COMMON = ["WS22-U", "WS22-D", "CORE-U", "RDS22-U", "RDS22-D", "EXS19-U", "SQL22-D"]
estate_st = st.tuples(
    people_st,
    devices_st,
    st.lists(deployment_st, min_size=1, max_size=3),
    st.fixed_dictionaries(
        {name: st.integers(1, 6) for name in COMMON},
        optional={name: st.integers(1, 3) for name in sorted(set(HOLDINGS) - set(COMMON))},
    ),
    st.lists(
        st.tuples(st.sampled_from(COMMON + sorted(HOLDINGS)), st.sampled_from(PEOPLE + DEVICES), st.booleans()),
        min_size=6,
        max_size=30,
    ),
    st.sampled_from(["2023-01-01", "2025-01-01"]),
)


def assigns_st(root: Path) -> st.SearchStrategy[list[tuple[str, str, str, str | None]]]:
    """One to four assigns of the estate's holdings to its people and devices (those of a holding not in the
    catalogue's kinds included: a server's External Connector, a Device CAL given to a person)."""
    estate = engine.check(WorkTree(root), AS_OF).estate
    holdings = sorted(estate.index("holdings"))
    holders = sorted([*estate.index("people"), *estate.index("devices")])
    assign = st.tuples(
        st.sampled_from(holdings), st.sampled_from(holders), st.sampled_from(STARTS), st.sampled_from(ENDS)
    )
    return st.lists(assign, min_size=1, max_size=4) if holdings else st.just([])


def assigned(
    root: Path, assigns: list[tuple[str, str, str, str | None]], beside: bool = True
) -> tuple[str, str] | None:
    """The file the assigns go to and its text: a file of their own beside the estate's (``beside``: then no other
    record is read again, and only what the assigns touch is worked out again), or the estate's assignments file
    with them appended. None: no assign."""
    people = engine.check(WorkTree(root), AS_OF).estate.index("people")
    rows = []
    for n, (holding, who, since, until) in enumerate(assigns):
        kind = "person" if who in people else "device"
        end = f", until: {until}" if until is not None else ""
        rows.append(f"  - {{id: N-{n}, holding: {holding}, {kind}: {who}, since: {since}{end}}}\n")
    if not rows:
        return None
    if beside:
        return MORE, "kind: assignments\nassignments:\n" + "".join(rows)
    text = (root / ASSIGNMENTS).read_text(encoding="utf-8").replace("assignments: []\n", "assignments:\n")
    return ASSIGNMENTS, text + "".join(rows)


def edited(root: Path, change: tuple[str, str]) -> operations.Overlay:
    return operations.Overlay(root, {change[0]: change[1].encode("utf-8")})


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
@given(spec=estate_st, data=st.data(), beside=st.booleans())
def test_the_analysis_of_assigns_worked_out_from_the_baseline_is_the_whole_analysis(
    spec: tuple,  # type: ignore[type-arg]
    data: st.DataObject,
    beside: bool,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    root = write_estate(render(spec), tmp_path_factory.mktemp("estate") / "licenses")
    base = engine.check(WorkTree(root), AS_OF)
    change = assigned(root, data.draw(assigns_st(root)), beside)
    if change is None:
        return
    after = edited(root, change)
    whole = engine.check(after, AS_OF)
    # the check of the edited estate as an edit makes it (the changed file spliced in), in every answer
    spliced = engine.recheck(base, WorkTree(root), after, [change[0]], AS_OF)
    assert answers(spliced) == answers(whole)
    # its analysis, worked out from the baseline's, and the same estate's worked out from nothing
    alone = analyse(spliced.estate, AS_OF)
    assert spliced.context.analysis.charges == alone.charges
    assert spliced.context.analysis.rejections == alone.rejections
    # and what the edit command shows and decides from it
    ours, theirs = compare(base, spliced, "now", "after"), compare(base, whole, "now", "after")
    assert render_position(ours) == render_position(theirs)
    assert new_findings_text(ours.introduced) == new_findings_text(theirs.introduced)
    assert ours.regressions() == theirs.regressions()
    assert operations.duplicates(base, spliced) == operations.duplicates(base, whole)


def test_an_assign_to_a_user_of_a_shared_device_charges_as_a_whole_check_does(tmp_path: Path) -> None:
    """A kiosk licensed by its Device CAL; its users get User CALs one by one: the device's charge moves to them
    only once every user holds one (asked of each user, whose assignments the edit touches)."""
    spec = (
        [("employee", "active", ["D1"], ["g1"], ""), ("employee", "active", ["D1"], ["g1"], "")],
        [("kiosk", "active")],
        [(0, True, [], [], [], False, [], False)],
        {"WS22-U": 2, "WS22-D": 1},
        [("WS22-D", "D1", True), ("WS22-U", "p1", True)],
        "2023-01-01",
    )
    root = write_estate(render(spec), tmp_path / "licenses")
    base = engine.check(WorkTree(root), AS_OF)
    change = assigned(root, [("WS22-U", "p2", "2024-03-01", None)])
    assert change is not None
    after = edited(root, change)
    whole = engine.check(after, AS_OF)
    spliced = engine.recheck(base, WorkTree(root), after, [MORE], AS_OF)
    assert answers(spliced) == answers(whole)
    licensees = {charge.licensee for charge in whole.context.analysis.charges}
    assert ("person", "p2") in licensees and ("device", "D1") not in licensees


def test_the_baseline_is_taken_as_it_is_when_no_coverage_changes(tmp_path: Path) -> None:
    """An assign that starts after the day checked changes no coverage: the charges are the baseline's."""
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
    change = assigned(root, [("WS22-U", "D1", "2026-08-01", None)])
    assert change is not None
    after = edited(root, change)
    spliced = engine.recheck(base, WorkTree(root), after, [MORE], AS_OF)
    assert answers(spliced) == answers(engine.check(after, AS_OF))
    assert spliced.context.analysis.charges == base.context.analysis.charges


# An estate where most needs are covered by CALs in place (User CALs, Device CALs on shared devices, a suite, an
# additive CAL on its base, RDS per device, an External Connector's host): an assign touches a few coverages.
COVERED = (
    [
        ("employee", "active", [], ["g1"], ""),
        ("employee", "active", ["D1"], ["g1"], ""),
        ("employee", "active", ["D3"], ["g2"], ""),
        ("employee", "on-leave", [], ["g1"], ""),
        ("external", "active", ["D2"], ["g2"], ""),
        ("contractor", "active", ["D2"], ["g1"], ", hours_per_week: 20"),
    ],
    [("workstation", "active"), ("kiosk", "active"), ("kiosk", "active"), ("workstation", "retired")],
    [
        (0, True, [], [], ["D1"], True, [], False),
        (3, False, [], ["p5"], ["D2"], False, [], False),
        (5, False, ["g2"], ["p3"], [], False, [], False),
    ],
    {"WS22-U": 5, "WS22-D": 2, "RDS22-D": 2, "RDS22-U": 1, "EXS19-U": 2, "EXE19-U": 1, "CORE-U": 2, "EC22": 1},
    [
        *(("WS22-U", p, True) for p in ("p1", "p2", "p3", "p4")),
        ("WS22-D", "D1", True),
        ("WS22-D", "D2", True),
        ("RDS22-D", "D2", True),
        ("EXS19-U", "p3", True),
        ("EXE19-U", "p3", True),
        ("CORE-U", "p5", True),
        ("EC22", "HOST", True),
    ],
    "2025-01-01",
)


# The same, with p2 an administrator of dep0 (no need of its own there) without a CAL, the one user of the kiosk D1:
# D1's charge moves to p2 once p2 holds a User CAL, which only asking p2 about D1's need tells.
EXEMPT = (
    COVERED[0],
    COVERED[1],
    [(0, True, [], [], ["D1"], True, ["p2"], False), *COVERED[2][1:]],
    COVERED[3],
    [assignment for assignment in COVERED[4] if assignment[:2] != ("WS22-U", "p2")],
    COVERED[5],
)


@pytest.mark.parametrize("spec", [COVERED, EXEMPT], ids=["covered", "exempt"])
def test_every_assign_to_an_estate_mostly_covered_gives_what_a_whole_check_gives(
    spec: tuple,  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    """Every holding assigned to every holder, from long since and from later (each on its own)."""
    root = write_estate(render(spec), tmp_path / "licenses")
    base = engine.check(WorkTree(root), AS_OF)
    estate = base.estate
    holders = sorted([*estate.index("people"), *estate.index("devices")])
    for holding in sorted(estate.index("holdings")):
        for holder in holders:
            for since in ("2024-03-01", "2026-08-01"):
                change = assigned(root, [(holding, holder, since, None)])
                assert change is not None
                after = edited(root, change)
                spliced = engine.recheck(base, WorkTree(root), after, [change[0]], AS_OF)
                assert answers(spliced) == answers(engine.check(after, AS_OF)), (holding, holder, since)
