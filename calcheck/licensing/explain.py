"""Explain one person's or device's licensing: what they reach, what they need, what covers it, and why not."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

from calcheck.core.text import one_line
from calcheck.estate.model import Device, Estate, Person
from calcheck.licensing import subscriptions
from calcheck.licensing.access import Catalogue, Exemption, Subject
from calcheck.licensing.coverage import Analysis, Candidate, Coverage, in_force


@dataclass(frozen=True, slots=True)
class Explanation:
    subject: Subject
    record: Person | Device
    coverages: list[Coverage]
    exemptions: list[Exemption]
    external: bool


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
    )


def _describe(record: Person | Device) -> str:
    if isinstance(record, Person):
        parts = [record.name, record.kind, record.status, record.department or ""]
    else:
        parts = [record.name or "", record.kind, record.status, record.department or ""]
    return ", ".join(one_line(p) for p in parts if p)


def _candidate(c: Candidate) -> str:
    via = {"direct": "", "suite": " (suite)", "device": f" (Device CAL of {c.assignment.device})"}[c.via]
    return f"{c.assignment.id}: {c.holding.id}{via}"


def render_text(estate: Estate, analysis: Analysis, ex: Explanation) -> str:
    cat = Catalogue(estate)
    kind, rid = ex.subject
    lines = [f"{kind} {rid} ({_describe(ex.record)}) as of {analysis.as_of}"]
    if ex.external:
        lines.append("  counts as an external user (EXM-05)")
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
        lines.append(f"  {dep_id}: {product.name if product else dep.product} {dep.version}{on} ({via})")
    by_cal: dict[str, list[Coverage]] = defaultdict(list)
    for coverage in ex.coverages:
        by_cal[coverage.need.cal].append(coverage)
    if by_cal or ex.exemptions:
        lines.append("needs:")
    for cal_id, coverages in by_cal.items():
        lines.extend(_need_lines(cat, cal_id, coverages))
    for exemption in ex.exemptions:
        lines.append(
            f"  EXEMPT   {cat.name(exemption.need.cal)} for {exemption.need.deployment.id}: {exemption.reason}"
        )
    mine = analysis.by_subject.get(ex.subject, [])
    lines.append("assignments:" if mine else "assignments: none")
    for a in sorted(mine, key=lambda a: a.id):
        state = "in force" if in_force(a, analysis.as_of) else "not in force"
        end = f" until {a.until}" if a.until else ""
        lines.append(f"  {a.id}: {a.holding} since {a.since}{end} ({state})")
    return "\n".join(lines) + "\n"


def _need_lines(cat: Catalogue, cal_id: str, coverages: list[Coverage]) -> list[str]:
    lines: list[str] = []
    for coverage in coverages:
        need = coverage.need
        version = f" {need.version}+" if need.version else ""
        kind = f" {need.type.capitalize()}" if need.type else ""
        what = f"{cat.name(cal_id)}{kind}{version} for {', '.join(sorted(d.id for d in need.deployments))}"
        if coverage.covered_by is not None:
            online = subscriptions.covered_by_text(cat.cals, coverage.covered_by.holding.cal)  # issue 18
            lines.append(f"  OK       {what}: covered by {online}{_candidate(coverage.covered_by)}")
        elif coverage.connector is not None:
            lines.append(f"  OK       {what}: covered by External Connector {coverage.connector.id}")
        else:
            lines.append(f"  MISSING  {what}")
        for rejected in coverage.rejected:
            lines.append(f"           rejected {_candidate(rejected)}: {rejected.problem}")
    return lines


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
                "rejected": [candidate(r) for r in c.rejected],
            }
            for c in ex.coverages
        ],
        "exemptions": [
            {"cal": e.need.cal, "deployment": e.need.deployment.id, "reason": e.reason} for e in ex.exemptions
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
