"""The licensing analysis' shortcuts give exactly what the plain computation gives.

The analysis, the ELP and the rules skip work that cannot change an answer: a charge keeps the sorted deployment ids
of its one need until another is added, a need's own candidates are worked out without the partners' memo, the
Evaluator gathers assignments in two passes, and rules return early when no record can trigger them. Over generated
estates (with temporary covers, leavers and devices out of service) and every rule example, each is compared here
with the plain computation it stands for, written out in full.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calcheck.estate.model import Assignment, Estate
from calcheck.licensing import engine
from calcheck.licensing import subscriptions as online
from calcheck.licensing.access import Catalogue, Directory, collect_needs
from calcheck.licensing.analysis import _Draft, _reclaimable
from calcheck.licensing.coverage import Evaluator, in_force, temporary_covers
from calcheck.licensing.rules import REGISTRY, Context, integrity
from calcheck.licensing.rules.example import load_examples, write_estate
from tests.test_licensing_property import AS_OF, DEVICES, PEOPLE, estate_st, render

# What the rules with a shortcut answer, without it: every record looked at (the rule ids these stand for).
RULES_WITH_SHORTCUTS = (
    "cal-type-mismatch",
    "reclaimable",
    "bridge-without-subscription",
    "unknown-reference",
    "confusable-id",
)
covers_st = st.lists(
    st.tuples(
        st.integers(0, 9),  # the assignment replaced
        st.sampled_from(PEOPLE + DEVICES),  # the cover
        st.sampled_from(["2026-01-01", "2026-06-01", "2026-08-01"]),  # since
        st.sampled_from(["", ", until: 2026-05-31", ", until: 2026-12-31"]),
    ),
    max_size=3,
)


def with_covers(files: dict[str, str], covers: list[tuple[int, str, str, str]]) -> dict[str, str]:
    """The estate with temporary covers of some of its assignments (an absent holder's CAL lent meanwhile)."""
    path = "assignments/assignments.yaml"
    rows = [line for line in files[path].splitlines() if line.startswith("  - ")]
    extra = []
    for n, (index, who, since, until) in enumerate(covers):
        if index >= len(rows):
            continue
        replaced = rows[index].split("id: ", 1)[1].split(",", 1)[0]
        holding = rows[index].split("holding: ", 1)[1].split(",", 1)[0]
        kind = "person" if who in PEOPLE else "device"
        extra.append(
            f"  - {{id: T-{n}, holding: {holding}, {kind}: {who}, since: {since}{until}, temporary: true, "
            f"replaces: {replaced}, reason: temporary-cover}}"
        )
    if not extra:
        return files
    return {**files, path: "kind: assignments\nassignments:\n" + "\n".join([*rows, *extra]) + "\n"}


def plain_evaluator_state(estate: Estate, ev: Evaluator, as_of: dt.date) -> dict[str, Any]:
    """What the Evaluator gathers from the assignments, worked out one question at a time."""
    assignments = [a for a in estate.index("assignments").values() if a.holding in ev.holdings]
    suspended = temporary_covers(assignments, as_of)
    covers: dict[str, list[Assignment]] = defaultdict(list)
    for a in assignments:
        if a.temporary and a.replaces:
            covers[a.replaces].append(a)

    def resumed(a: Assignment) -> bool:
        if a.until is None or a.since > as_of:
            return False
        return any(
            t.until is not None and t.until < as_of and a.until == t.since - dt.timedelta(1) for t in covers[a.id]
        )

    active = {a.id for a in assignments if (in_force(a, as_of) or resumed(a)) and a.id not in suspended}
    by_subject: dict[tuple[str, str], list[Assignment]] = defaultdict(list)
    for a in assignments:
        by_subject[a.assignee].append(a)
    in_force_by_holding: dict[str, list[Assignment]] = defaultdict(list)
    for a in estate.index("assignments").values():
        if a.id in active:
            in_force_by_holding[a.holding].append(a)
    return {
        "suspended": list(suspended.items()),
        "active": active,
        "by_subject": list(by_subject.items()),
        "in_force": list(in_force_by_holding.items()),
    }


def plain_reclaimable(
    estate: Estate, directory: Directory, active: dict[str, list[Assignment]], as_of: dt.date
) -> list[tuple[str, dt.date]]:
    people, devices = estate.index("people"), estate.index("devices")
    found: dict[str, dt.date] = {}
    for assignments in active.values():
        for a in assignments:
            if a.person is not None:
                if a.person in people and a.person not in directory.people:
                    found[a.id] = as_of
                continue
            device = a.device or ""
            if device in devices and device not in directory.devices:
                waiting = devices[device].status == "retired"
                found[a.id] = max(as_of, a.since + dt.timedelta(days=90)) if waiting else as_of
    return list(found.items())


def plain_rule(rule: str, estate: Estate, ctx: Context) -> Iterator[tuple[str, tuple[str, ...]]]:
    """The records each shortcut rule finds, every record looked at: (record id, records named)."""
    holdings, analysis = estate.index("holdings"), ctx.analysis
    for a in estate.index("assignments").values():
        holding = holdings.get(a.holding)
        if holding is None:
            continue
        expected = ("user",) if a.person is not None else ("device", "server")
        if rule == "cal-type-mismatch" and holding.type not in expected:
            yield a.id, (a.id, holding.id, a.assignee[1])
        if rule == "reclaimable" and a.id in analysis.reclaimable:
            yield a.id, (a.id, holding.id, a.assignee[1])
    if rule == "bridge-without-subscription":
        yield from plain_bridge_qualification(estate, ctx)
    if rule == "confusable-id":
        for collection in integrity.COLLECTIONS:
            ids = list(estate.index(collection))
            if len({i.casefold() for i in ids}) != len(ids):
                yield collection, ()
    if rule == "unknown-reference":
        known = {name: set(estate.index(name)) | estate.invalid_ids.get(name, set()) for name in integrity.COLLECTIONS}
        known["agreements"] = {a.id for a in estate.config.agreements} if estate.config else set()
        known["assignees"] = known["people"] | known["devices"]
        plain: dict[str, AbstractSet[str]] = dict(known)
        for record, _, target, ref in integrity._refs(estate, plain):
            if ref is not None and ref not in known[target]:
                yield record.id, (ref,)
        everything = set().union(*known.values())
        yield from ((w.id, (ref,)) for w in estate.waivers for ref in w.records if ref not in everything)


def plain_bridge_qualification(estate: Estate, ctx: Context) -> Iterator[tuple[str, tuple[str, ...]]]:
    """bridge-without-subscription asked of every assignment (the rule returns at once when no Bridge is held)."""
    cat, analysis, holdings = Catalogue(estate), ctx.analysis, estate.index("holdings")
    for assignment in estate.index("assignments").values():
        holding = holdings.get(assignment.holding)
        cal = cat.cals.get(holding.cal) if holding is not None else None
        if holding is None or cal is None or cal.offering != online.BRIDGE or assignment.person is None:
            continue
        if not in_force(assignment, ctx.as_of) or analysis.entitlement.get(holding.id) is not None:
            continue
        mine = analysis.by_subject.get(("person", assignment.person), [])
        held = online.held_offerings(mine, holdings, analysis.entitlement, ctx.as_of)
        if online.missing_qualification(cal, held) is not None:
            yield assignment.id, (assignment.id, holding.id, assignment.person)


def found_by(rule: str, estate: Estate, ctx: Context) -> list[tuple[str, tuple[str, ...]]]:
    """What the rule finds, in the terms of ``plain_rule``."""
    check = REGISTRY[rule].check
    assert check is not None
    problems = list(check(estate, ctx))
    if rule == "confusable-id":
        collections = {"person": "people", "device": "devices", "cal": "cals"}
        return sorted({(collections.get(w := p.message.split(" ")[0], f"{w}s"), ()) for p in problems})
    if rule == "unknown-reference":
        return [(p.message.split(": ")[0], (p.message.rsplit(" ", 1)[1][1:-1],)) for p in problems]
    return [(p.records[0], p.records) for p in problems]


def assert_shortcuts_agree(root: Path, as_of: dt.date) -> None:
    result = engine.check(root, as_of)
    estate, ctx = result.estate, result.context
    cat, directory = Catalogue(estate), Directory(estate, as_of)
    ev = Evaluator(estate, cat, directory, as_of)
    plain = plain_evaluator_state(estate, ev, as_of)
    assert list(ev.suspended.items()) == plain["suspended"]
    assert ev.active == plain["active"]
    assert list(ev.by_subject.items()) == plain["by_subject"]
    assert list(ev.in_force.items()) == plain["in_force"]
    assert list(_reclaimable(estate, directory, ev.in_force, as_of).items()) == plain_reclaimable(
        estate, directory, ev.in_force, as_of
    )
    for subject in directory.subjects():
        if subject[0] == "person":
            devices = directory.people[subject[1]].devices
            assert directory.partners(subject) == tuple(d for d in devices if d in directory.devices)
    needs, _ = collect_needs(estate, directory, cat, ctx.analysis.absent)
    memo = Evaluator(estate, cat, directory, as_of)
    for need in needs:  # the need's own subject, asked without the memo and through it
        assert ev.candidates(need) == memo.candidates(need, need.subject)
        assert ev.sorted_deployment_ids(need.deployments) == tuple(sorted({d.id for d in need.deployments}))
    charges = ctx.analysis.charges
    assert charges == sorted(charges, key=lambda c: (c.licensee, c.pool, c.cal))
    assert all(list(c.deployments) == sorted(set(c.deployments)) for c in charges)
    for rule in RULES_WITH_SHORTCUTS:
        plain_found = list(plain_rule(rule, estate, ctx))
        assert found_by(rule, estate, ctx) == (sorted(plain_found) if rule == "confusable-id" else plain_found), rule


@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(spec=estate_st, covers=covers_st)
def test_shortcuts_agree_on_generated_estates(
    spec: tuple,  # type: ignore[type-arg]
    covers: list[tuple[int, str, str, str]],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    root = write_estate(with_covers(render(spec), covers), tmp_path_factory.mktemp("estate") / "licenses")
    assert_shortcuts_agree(root, AS_OF)


EXAMPLES = [(rule, i) for rule in sorted(REGISTRY) for i in range(len(load_examples(rule)))]


@pytest.mark.parametrize(("rule", "index"), EXAMPLES)
def test_shortcuts_agree_on_the_rule_examples(rule: str, index: int, tmp_path: Path) -> None:
    example = load_examples(rule)[index]
    for side, files in (("pass", example.passing), ("fail", example.failing)):
        assert_shortcuts_agree(write_estate(files, tmp_path / side / "licenses"), example.as_of)


@given(
    first=st.lists(st.sampled_from(["d1", "d2", "d3", "d4"]), min_size=1, max_size=4),
    more=st.lists(st.lists(st.sampled_from(["d1", "d2", "d3", "d5"]), max_size=3), max_size=3),
)
def test_a_charge_lists_what_a_set_of_its_deployments_would(first: list[str], more: list[list[str]]) -> None:
    """A draft starts with one need's sorted ids (a shared tuple) and becomes a set once more are added."""
    shared = tuple(sorted(set(first)))
    draft = _Draft(("person", "p1"), "cal", ("cal", "", "user"), None, None, None, shared)
    for ids in more:
        draft.add(ids)
    assert draft.done().deployments == tuple(sorted(set(first).union(*more)))
    assert shared == tuple(sorted(set(first)))  # the shared tuple is never changed
