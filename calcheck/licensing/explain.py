"""Explain one person's or device's licensing: what they reach, what they need, what covers it, and why not.

It reads the same analysis as the ELP: the "counted" lines are the charges whose licensee this subject is, so the
ELP's required and shortfall of every pool are the sum of what ``explain`` says, subject by subject.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

from calcheck.core.text import one_line
from calcheck.estate.model import Device, Estate, Person
from calcheck.licensing import subscriptions
from calcheck.licensing.access import Catalogue, Exemption, Subject
from calcheck.licensing.coverage import Analysis, Candidate, Charge, Coverage
from calcheck.licensing.wording import cal_label, listing


@dataclass(frozen=True, slots=True)
class Explanation:
    subject: Subject
    record: Person | Device
    coverages: list[Coverage]
    exemptions: list[Exemption]
    external: bool
    charges: list[Charge]


def subjects_named(estate: Estate, record_id: str) -> list[Subject]:
    found: list[Subject] = []
    if record_id in estate.index("people"):
        found.append(("person", record_id))
    if record_id in estate.index("devices"):
        found.append(("device", record_id))
    return found


def explain(estate: Estate, analysis: Analysis, subject: Subject) -> Explanation:
    record = estate.index("people" if subject[0] == "person" else "devices")[subject[1]]
    return Explanation(
        subject,
        record,
        [c for c in analysis.coverages if c.need.subject == subject],
        [e for e in analysis.exemptions if e.need.subject == subject],
        subject[0] == "person" and subject[1] in analysis.externals,
        [c for c in analysis.charges if c.licensee == subject],
    )


def _describe(record: Person | Device) -> str:
    if isinstance(record, Person):
        parts = [record.name, record.kind, record.status, record.department or ""]
    else:
        parts = [record.name or "", record.kind, record.status, record.department or ""]
    return ", ".join(one_line(p) for p in parts if p)


def _candidate(c: Candidate) -> str:
    suite = " (suite)" if c.via == "suite" else ""
    return f"{c.assignment.id} from {c.holding.id}{suite}"


def render_text(estate: Estate, analysis: Analysis, ex: Explanation) -> str:
    cat = Catalogue(estate)
    kind, rid = ex.subject
    lines = [f"{kind} {rid} ({_describe(ex.record)}) as of {analysis.as_of}"]
    if ex.external:
        lines.append("  counts as an external user (EXT-02)")
    if rid in analysis.undetermined and kind == "person":
        lines.append("  cannot tell whether external: no hours_per_week (treated as internal)")
    reached = {
        dep.id: (dep, via)
        for need in [*(c.need for c in ex.coverages), *(e.need for e in ex.exemptions)]
        for dep, via in zip(need.deployments, need.vias, strict=True)
    }
    lines.append("reaches:" if reached else "reaches no deployment")
    for dep_id in sorted(reached):
        dep, via = reached[dep_id]
        product = cat.products.get(dep.product)
        on = f" on Windows Server {dep.os_version}" if dep.os_version else ""
        how = "listed" if via == f"listed in {dep_id}" else via
        lines.append(f"  {dep_id}: {product.name if product else dep.product} {dep.version}{on} ({how})")
    by_cal: dict[str, list[Coverage]] = defaultdict(list)
    for coverage in ex.coverages:
        by_cal[coverage.need.cal].append(coverage)
    if by_cal or ex.exemptions:
        lines.append("needs:")
    for coverages in by_cal.values():
        lines.extend(_need_lines(cat, coverages))
    for exemption in ex.exemptions:
        dep_id = exemption.need.deployment.id
        named = dep_id in exemption.reason.replace(":", " ").split()
        where = "" if named else f" for {dep_id}"
        lines.append(f"  EXEMPT   {cat.name(exemption.need.cal)}{where}: {exemption.reason}")
    lines.append("counted in the licence position:" if ex.charges else "counted in the licence position: nothing")
    lines.extend(_charge_line(cat, charge) for charge in ex.charges)
    mine = analysis.by_subject.get(ex.subject, [])
    active = {a.id for assignments in analysis.in_force.values() for a in assignments}
    lines.append("assignments:" if mine else "assignments: none")
    for a in sorted(mine, key=lambda a: a.id):
        state = "in force" if a.id in active else "not in force"
        end = f" until {a.until}" if a.until else ""
        lines.append(f"  {a.id}: {a.holding} since {a.since}{end} ({state})")
    return "\n".join(lines) + "\n"


def _need_lines(cat: Catalogue, coverages: list[Coverage]) -> list[str]:
    lines: list[str] = []
    for coverage in coverages:
        need = coverage.need
        cal_type = need.type or ("user" if need.subject[0] == "person" else "device")
        newer = " or newer" if need.version else ""
        deployments = ", ".join(sorted(d.id for d in need.deployments))
        what = f"{cal_label(cat, need.cal, need.version, cal_type)}{newer} for {deployments}"
        if coverage.covered_by is not None:
            online = subscriptions.covered_by_text(cat.cals, coverage.covered_by.holding.cal)  # issue 18
            lines.append(f"  OK       {what}: covered by {online}{_candidate(coverage.covered_by)}")
        elif coverage.connector is not None:
            lines.append(f"  OK       {what}: covered by External Connector {coverage.connector.id}")
        elif coverage.satisfied:
            other = "Device" if need.subject[0] == "person" else "User"
            given = listing([f"{p} ({c.assignment.id})" for p, c in coverage.partners if c is not None])
            lines.append(f"  OK       {what}: covered by the {other} CALs of {given}")
        else:
            lacking = coverage.unlicensed_partners
            other = "Device" if need.subject[0] == "person" else "User"
            alternative = f" (or {other} CALs for {listing(lacking)})" if lacking else ""
            lines.append(f"  MISSING  {what}{alternative}")
        for rejected in coverage.rejected:
            lines.append(f"           rejected {_candidate(rejected)}: {rejected.problem}")
    return lines


def _charge_line(cat: Catalogue, charge: Charge) -> str:
    pool = cal_label(cat, charge.pool[0], charge.pool[1] or None, charge.pool[2])
    if charge.candidate is not None:
        state = f"{charge.candidate.assignment.id} from {charge.candidate.holding.id}"
    elif charge.connector is not None:
        state = f"External Connector {charge.connector.id}"
    else:
        state = "MISSING"
    also = f", also for {listing(charge.behalf)}" if charge.behalf else ""
    return f"  {pool}: {state} (for {', '.join(charge.deployments)}{also})"


def render_json(estate: Estate, analysis: Analysis, ex: Explanation) -> str:
    cat = Catalogue(estate)

    def candidate(c: Candidate | None) -> dict[str, str | None] | None:
        if c is None:
            return None
        return {"assignment": c.assignment.id, "holding": c.holding.id, "via": c.via, "problem": c.problem}

    document = {
        "subject": {"kind": ex.subject[0], "id": ex.subject[1]},
        "as_of": analysis.as_of.isoformat(),
        "external": ex.external,
        "needs": [
            {
                "cal": c.need.cal,
                "deployments": [d.id for d in c.need.deployments],
                "version": c.need.version,
                "type": c.need.type,
                "via": list(c.need.vias),
                "satisfied": c.satisfied,
                "covered_by": candidate(c.covered_by),
                "equivalency": subscriptions.equivalency(cat.cals, c.covered_by.holding.cal) if c.covered_by else None,
                "connector": c.connector.id if c.connector else None,
                "partners": [{"id": p, "covered_by": candidate(pc)} for p, pc in c.partners],
                "rejected": [candidate(r) for r in c.rejected],
            }
            for c in ex.coverages
        ],
        "exemptions": [
            {"cal": e.need.cal, "deployment": e.need.deployment.id, "reason": e.reason} for e in ex.exemptions
        ],
        "counted": [
            {
                "pool": {"cal": ch.pool[0], "version": ch.pool[1], "type": ch.pool[2]},
                "missing": ch.missing,
                "assignment": ch.candidate.assignment.id if ch.candidate else None,
                "holding": ch.holding.id if ch.holding else None,
                "deployments": list(ch.deployments),
                "also_for": list(ch.behalf),
            }
            for ch in ex.charges
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
