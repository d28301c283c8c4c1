"""One computation for every answer, over generated estates.

For any estate: every pool's required and uncovered counts in the ELP equal what ``explain`` says person by person
and device by device, and its shortfall is required minus owned; every missing licence has its finding (on the
person or device that should hold it, or, when the cause is an expired entitlement, a missing base CAL or a CAL of
the wrong type, the finding of that cause), and every access finding has its missing licence; a pool is short
exactly when a licence in it is missing without one to spare, or a holding in it is over-allocated.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calcheck.licensing import engine
from calcheck.licensing.coverage import BASE, EXPIRED, TYPE
from calcheck.licensing.diff import compare
from calcheck.licensing.explain import explain, render_text
from calcheck.licensing.rules.access import best_rejection, rule_for
from calcheck.licensing.rules.example import write_estate
from calcheck.outputs.export import elp_table, register_table

AS_OF = dt.date(2026, 6, 30)
PEOPLE = ["p1", "p2", "p3", "p4", "p5", "p6"]
DEVICES = ["D1", "D2", "D3", "D4"]
HOLDINGS = {
    "WS22-U": 'cal: windows-server, version: "2022", type: user',
    "WS22-D": 'cal: windows-server, version: "2022", type: device',
    "WS25-U": 'cal: windows-server, version: "2025", type: user',
    "RDS22-U": 'cal: rds, version: "2022", type: user',
    "RDS22-D": 'cal: rds, version: "2022", type: device',
    "EXS19-U": 'cal: exchange-standard, version: "2019", type: user',
    "EXE19-U": 'cal: exchange-enterprise, version: "2019", type: user',
    "SQL22-D": 'cal: sql-server, version: "2022", type: device',
    "CORE-U": "cal: core-cal-suite, type: user, sa_until: 2027-06-30",
    "EXSE-U": "cal: exchange-standard, version: SE, type: user, sa_until: 2026-01-31",
    "EC22": 'cal: external-connector, version: "2022", type: server',
}
DEPLOYMENTS = [
    'product: windows-server, version: "2022"',
    'product: windows-server, version: "2025"',
    'product: windows-server, version: "2022", roles: [rds-session-host], rds_licensing_mode: per-user',
    'product: windows-server, version: "2022", roles: [rds-session-host], rds_licensing_mode: per-device',
    'product: exchange-server, version: "2019", os_version: "2022"',
    'product: exchange-server, version: "2019", os_version: "2022", features: [enterprise]',
    'product: sql-server, version: "2022", edition: Standard, os_version: "2022"',
    'product: sql-server, version: "2022", edition: Standard, licensing_model: per-core, os_version: "2022"',
    'product: windows-server, version: "2022", edition: Essentials',
]
ACCESS_RULES = {
    "uncovered-access",
    "cal-version",
    "cal-type-mismatch",
    "external-users",
    "rds-licensing-server-version",
}
CAUSE_RULES = {EXPIRED: "entitlement-expired", BASE: "additive-without-base", TYPE: "cal-type-mismatch"}

subset = st.lists
people_st = st.lists(
    st.tuples(
        st.sampled_from(["employee", "employee", "contractor", "external", "service-account"]),
        st.sampled_from(["active", "active", "on-leave", "departed"]),
        subset(st.sampled_from(DEVICES), max_size=3, unique=True),
        subset(st.sampled_from(["g1", "g2"]), max_size=2, unique=True),
        st.sampled_from(["", ", onsite: true", ", hours_per_week: 20", ", hours_per_week: 40"]),
    ),
    min_size=1,
    max_size=len(PEOPLE),
)
devices_st = st.lists(
    st.tuples(
        st.sampled_from(["workstation", "kiosk", "server"]), st.sampled_from(["active", "active", "retired", "failed"])
    ),
    min_size=1,
    max_size=len(DEVICES),
)
deployment_st = st.tuples(
    st.integers(0, len(DEPLOYMENTS) - 1),
    st.booleans(),  # everyone
    subset(st.sampled_from(["g1", "g2"]), max_size=2, unique=True),
    subset(st.sampled_from(PEOPLE), max_size=3, unique=True),
    subset(st.sampled_from(DEVICES), max_size=2, unique=True),
    st.booleans(),  # the External Connector named
    subset(st.sampled_from(PEOPLE), max_size=2, unique=True),  # administrators
    st.booleans(),  # reached through the previous deployment
)
estate_st = st.tuples(
    people_st,
    devices_st,
    st.lists(deployment_st, min_size=1, max_size=3),
    st.dictionaries(st.sampled_from(sorted(HOLDINGS)), st.integers(1, 3), max_size=6),
    st.lists(
        st.tuples(st.sampled_from(sorted(HOLDINGS)), st.sampled_from(PEOPLE + DEVICES), st.booleans()), max_size=10
    ),
    st.sampled_from(["2023-01-01", "2025-01-01"]),
)


def render(spec: tuple) -> dict[str, str]:  # type: ignore[type-arg]
    people, devices, deployments, holdings, assignments, signed = spec
    device_ids = [DEVICES[i] for i in range(len(devices))]
    person_ids = [PEOPLE[i] for i in range(len(people))]
    files = {
        "calcheck.yaml": f"kind: config\norganisation: Generated\nagreements:\n"
        f"  - {{id: EA-1, type: enterprise-agreement, signed: {signed}}}\n",
    }
    rows = []
    for pid, (kind, status, used, groups, extra) in zip(person_ids, people, strict=True):
        gone = ", departed: 2026-01-01" if status == "departed" else ""
        mine = [d for d in used if d in device_ids]
        rows.append(
            f"  - {{id: {pid}, name: Name-{pid}, kind: {kind}, status: {status}{gone}, devices: [{', '.join(mine)}], "
            f"groups: [{', '.join(groups)}]{extra if kind == 'contractor' else ''}}}"
        )
    files["people/people.yaml"] = "kind: people\npeople:\n" + "\n".join(rows) + "\n"
    rows = []
    for did, (kind, status) in zip(device_ids, devices, strict=True):
        gone = ", retired: 2026-01-01" if status != "active" else ""
        rows.append(f"  - {{id: {did}, kind: {kind}, status: {status}{gone}}}")
    rows.append("  - {id: HOST, kind: server, status: active}")
    files["devices/devices.yaml"] = "kind: devices\ndevices:\n" + "\n".join(rows) + "\n"
    rows = []
    for i, (which, everyone, groups, listed, devs, ec, admins, via) in enumerate(deployments):
        access = [f"everyone: {str(everyone).lower()}", f"groups: [{', '.join(groups)}]"]
        access.append(f"people: [{', '.join(p for p in listed if p in person_ids)}]")
        access.append(f"devices: [{', '.join(d for d in devs if d in device_ids)}]")
        if via and i:
            access.append(f"via: [dep{i - 1}]")
        extra = ", external_connectors: [EC22]" if ec and "EC22" in holdings else ""
        admins = [a for a in admins if a in person_ids]
        extra += f", exemptions: {{administrators: [{', '.join(admins)}]}}" if admins else ""
        rows.append(
            f"  - {{id: dep{i}, name: dep{i}, {DEPLOYMENTS[which]}, hosts: [HOST]{extra}, access: {{{', '.join(access)}}}}}"
        )
    files["deployments/deployments.yaml"] = "kind: deployments\ndeployments:\n" + "\n".join(rows) + "\n"
    rows = [
        f"  - {{id: {hid}, {HOLDINGS[hid]}, quantity: {qty}, channel: volume, agreement: EA-1, purchased: 2024-02-01, "
        "unit_price: 10, proof: [{type: invoice, ref: INV-1}]}"
        for hid, qty in sorted(holdings.items())
    ]
    files["holdings/holdings.yaml"] = "kind: holdings\nholdings:\n" + "\n".join(rows) + ("\n" if rows else " []\n")
    rows = []
    for n, (hid, who, current) in enumerate(assignments):
        if hid not in holdings or (who not in person_ids and who not in device_ids):
            continue
        if hid == "EC22":
            who = "HOST"
        kind = "person" if who in person_ids else "device"
        since = "2024-03-01" if current else "2026-08-01"
        rows.append(f"  - {{id: A-{n}, holding: {hid}, {kind}: {who}, since: {since}}}")
    files["assignments/assignments.yaml"] = (
        "kind: assignments\nassignments:\n" + "\n".join(rows) + ("\n" if rows else " []\n")
    )
    return files


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=estate_st)
def test_every_answer_comes_from_one_computation(spec: tuple, tmp_path_factory: pytest.TempPathFactory) -> None:  # type: ignore[type-arg]
    root = write_estate(render(spec), tmp_path_factory.mktemp("estate") / "licenses")
    result = engine.check(root, AS_OF)
    assert not [f for f in result.findings if f.rule in ("schema", "yaml-syntax", "unknown-reference")]
    ctx, estate = result.context, result.estate
    analysis, position = ctx.analysis, ctx.position

    # The ELP, pool by pool, is the sum of what explain says, subject by subject.
    counted: dict[tuple[str, str, str], set[tuple[str, str]]] = defaultdict(set)
    missing: dict[tuple[str, str, str], set[tuple[str, str]]] = defaultdict(set)
    subjects = [("person", p) for p in estate.index("people")] + [("device", d) for d in estate.index("devices")]
    for subject in subjects:
        for charge in explain(estate, analysis, subject).charges:
            # A CAL in place is of the holder's type; a missing one may be of the other type where an RDS host's
            # licensing mode asks for it and nobody recorded the devices (or the users) behind the access.
            expected = ("user",) if subject[0] == "person" else ("device", "server")
            assert charge.pool[2] in expected or (charge.missing and charge.cal == "rds"), (subject, charge.pool)
            counted[charge.pool].add(subject)
            if charge.missing:
                missing[charge.pool].add(subject)
    for pool in position.pools:
        key = (pool.cal, pool.version, pool.type)
        covered = counted[key] - missing[key]
        assert pool.required == len(counted[key]), pool.label
        assert pool.uncovered == len(missing[key] - covered), pool.label
        assert pool.shortfall == max(0, pool.required - pool.owned), pool.label

    # Every missing licence has its finding, and every access finding its missing licence.
    findings = {(f.rule, f.records[0]) for f in result.findings if f.records}
    for charge in analysis.charges:
        if not charge.missing:
            continue
        rule = rule_for(charge, ctx)
        if rule is not None:
            assert (rule, charge.licensee[1]) in findings, charge
            continue
        best = best_rejection(analysis.rejections[(charge.licensee, charge.cal)])
        assert best is not None and best.kind in CAUSE_RULES, charge
        named = {r for f in result.findings if f.rule == CAUSE_RULES[best.kind] for r in f.records}
        assert {best.holding.id, best.assignment.id} & named, charge
    short = {c.licensee[1] for c in analysis.charges if c.missing}
    subject_ids = {s[1] for s in subjects}
    for rule, first in findings:
        if rule in ACCESS_RULES and first in subject_ids:
            assert first in short, (rule, first)

    # A pool is short exactly when a licence in it is missing or a holding in it is over-allocated.
    over = {f.records[0] for f in result.findings if f.rule == "over-allocation"}
    for pool in position.pools:
        if pool.shortfall:
            assert pool.uncovered or set(pool.holdings) & over, pool.label
        if pool.uncovered and pool.owned <= pool.required - pool.uncovered:
            assert pool.shortfall, pool.label

    # The exports and the diff are views of the same position.
    header, rows = elp_table(result)
    counts = [header.index(name) for name in ("owned", "assigned", "required", "surplus", "shortfall", "reclaimable")]
    assert [[int(row[i]) for i in counts] for row in rows] == [pool.counts() for pool in position.pools]
    header, register = register_table(result)
    in_force, reclaimable = header.index("in_force"), header.index("reclaimable")
    assert sum(row[in_force] == "yes" for row in register) == sum(len(a) for a in analysis.in_force.values())
    assert sum(row[reclaimable] == "yes" for row in register) == position.total("reclaimable")
    same = compare(result, result, "before", "after")
    assert (same.pools, same.introduced, same.resolved) == ([], [], [])

    # explain never names the same record twice in a line.
    ids = {r for name in ("people", "devices", "holdings", "deployments", "assignments") for r in estate.index(name)}
    for subject in subjects:
        for line in render_text(estate, analysis, explain(estate, analysis, subject)).splitlines():
            named = [w for w in re.findall(r"[A-Za-z0-9_@.-]*[A-Za-z0-9_@-]", line) if w in ids]
            assert len(named) == len(set(named)), line
