"""What a change does to the licence position: pools before and after, assignments, findings (pure)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from calcheck.elp import Pool
from calcheck.engine import CheckResult
from calcheck.findings import Finding, Severity
from calcheck.model import Assignment
from calcheck.reporters import one_line

Numbers = tuple[int, int, int, int]  # owned, assigned, required, shortfall


@dataclass(frozen=True, slots=True)
class PoolChange:
    label: str
    before: Numbers
    after: Numbers


@dataclass(slots=True)
class Diff:
    base: str
    head: str
    as_of: str
    pools: list[PoolChange] = field(default_factory=list)
    added: list[Assignment] = field(default_factory=list)
    removed: list[Assignment] = field(default_factory=list)
    transferred: list[tuple[Assignment, Assignment]] = field(default_factory=list)
    introduced: list[Finding] = field(default_factory=list)
    resolved: list[Finding] = field(default_factory=list)
    shortfall: tuple[int, int] = (0, 0)
    cost: tuple[float | None, float | None] = (0.0, 0.0)
    currency: str | None = None

    def regressions(self) -> list[str]:
        """Ways the change makes the position worse: a pool's shortfall grows, or a new error appears."""
        worse = [f"{c.label}: shortfall {c.before[3]} -> {c.after[3]}" for c in self.pools if c.after[3] > c.before[3]]
        worse += [f"new error [{f.rule}] {f.message}" for f in self.introduced if f.severity is Severity.ERROR]
        return worse


def _numbers(pool: Pool | None) -> Numbers:
    return (0, 0, 0, 0) if pool is None else (pool.owned, pool.assigned, pool.required, pool.shortfall)


def _finding_key(finding: Finding) -> tuple[str, str]:
    return (finding.rule, finding.message)  # lines move between revisions; rule and message do not


def _new(findings: list[Finding], other: list[Finding]) -> list[Finding]:
    remaining = Counter(_finding_key(f) for f in other)
    found = []
    for finding in findings:
        key = _finding_key(finding)
        if remaining[key]:
            remaining[key] -= 1
        else:
            found.append(finding)
    return found


def _assignments(diff: Diff, before: dict[str, Assignment], after: dict[str, Assignment]) -> None:
    removed = {k: v for k, v in before.items() if k not in after}
    added = {k: v for k, v in after.items() if k not in before}
    for aid, new in sorted(added.items()):
        old = removed.pop(new.replaces, None) if new.replaces else None
        if old is None:
            old = next((r for _, r in sorted(removed.items()) if r.holding == new.holding), None)
            if old is not None:
                removed.pop(old.id)
        if old is not None:
            diff.transferred.append((old, new))
            del added[aid]
    for aid in sorted(set(before) & set(after)):
        if before[aid].assignee != after[aid].assignee:
            diff.transferred.append((before[aid], after[aid]))
    diff.added = [added[k] for k in sorted(added)]
    diff.removed = [removed[k] for k in sorted(removed)]


def compare(base: CheckResult, head: CheckResult, base_label: str, head_label: str) -> Diff:
    position_before, position_after = base.context.position, head.context.position
    diff = Diff(base_label, head_label, head.context.as_of.isoformat(), currency=position_after.currency)
    pools_before = {p.label: p for p in position_before.pools}
    pools_after = {p.label: p for p in position_after.pools}
    for label in [*pools_before, *(k for k in pools_after if k not in pools_before)]:
        change = PoolChange(label, _numbers(pools_before.get(label)), _numbers(pools_after.get(label)))
        if change.before != change.after:
            diff.pools.append(change)
    _assignments(diff, base.estate.index("assignments"), head.estate.index("assignments"))
    diff.introduced = _new(head.findings, base.findings)
    diff.resolved = _new(base.findings, head.findings)
    diff.shortfall = (position_before.total("shortfall"), position_after.total("shortfall"))
    diff.cost = (position_before.shortfall_cost, position_after.shortfall_cost)
    return diff


def _who(assignment: Assignment) -> str:
    return assignment.assignee[1]


def _arrow(before: int, after: int) -> str:
    return str(after) if before == after else f"{before} -> {after}"


def _money(amount: float | None, currency: str | None) -> str:
    return "unknown" if amount is None else f"{amount:,.2f}" + (f" {currency}" if currency else "")


def _lines(diff: Diff) -> tuple[list[str], list[str], list[str]]:
    """Assignment lines, introduced finding lines and resolved finding lines, plain text."""
    moves = [f"{a.holding}: {a.id} assigned to {_who(a)}" for a in diff.added]
    moves += [f"{a.holding}: {a.id} unassigned from {_who(a)}" for a in diff.removed]
    moves += [f"{new.holding}: reassigned from {_who(old)} to {_who(new)} ({new.id})" for old, new in diff.transferred]
    introduced = [f"{f.severity.label} [{f.rule}] {f.path}:{f.line}: {f.message}" for f in diff.introduced]
    resolved = [f"{f.severity.label} [{f.rule}] {f.message}" for f in diff.resolved]
    return moves, introduced, resolved


def headline(diff: Diff) -> str:
    before, after = diff.shortfall
    cost = f"{_money(diff.cost[0], diff.currency)} -> {_money(diff.cost[1], diff.currency)}"
    return (
        f"{diff.base} -> {diff.head} (as of {diff.as_of}): shortfall {_arrow(before, after)} CALs ({cost}), "
        f"{len(diff.introduced)} finding(s) introduced, {len(diff.resolved)} resolved"
    )


def render_text(diff: Diff) -> str:
    lines = [headline(diff)]
    if diff.pools:
        lines.append("pools (owned, assigned, required, shortfall):")
        lines += [f"  {one_line(c.label)}: {c.before} -> {c.after}" for c in diff.pools]
    moves, introduced, resolved = _lines(diff)
    for title, items in (("assignments:", moves), ("introduced:", introduced), ("resolved:", resolved)):
        if items:
            lines.append(title)
            lines += [f"  {one_line(item)}" for item in items]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    escaped = one_line(text).replace("\\", "\\\\")
    for char in "`*_[]<>|#":
        escaped = escaped.replace(char, "\\" + char)
    return escaped


def render_markdown(diff: Diff) -> str:
    lines = ["### What this change does to the licence position", "", _md(headline(diff)), ""]
    if diff.pools:
        lines += ["| CAL pool | Owned | Assigned | Required | Shortfall |", "|---|---:|---:|---:|---:|"]
        for c in diff.pools:
            cells = [_arrow(b, a) for b, a in zip(c.before, c.after, strict=True)]
            lines.append(f"| {_md(c.label)} | " + " | ".join(cells) + " |")
        lines.append("")
    moves, introduced, resolved = _lines(diff)
    for title, items in (("Assignments", moves), ("Findings introduced", introduced), ("Findings resolved", resolved)):
        if items:
            lines += [f"**{title}**", "", *(f"- {_md(item)}" for item in items), ""]
    if not (diff.pools or moves or introduced or resolved):
        lines += ["No change to the licence position.", ""]
    return "\n".join(lines)


def render_json(diff: Diff) -> str:
    def assignment(a: Assignment) -> dict[str, str]:
        return {"id": a.id, "holding": a.holding, "assignee": _who(a)}

    def finding(f: Finding) -> dict[str, object]:
        return {"rule": f.rule, "severity": f.severity.label, "path": f.path, "line": f.line, "message": f.message}

    document = {
        "base": diff.base,
        "head": diff.head,
        "as_of": diff.as_of,
        "shortfall": {"before": diff.shortfall[0], "after": diff.shortfall[1]},
        "shortfall_cost": {"before": diff.cost[0], "after": diff.cost[1], "currency": diff.currency},
        "pools": [
            {
                "pool": c.label,
                "before": dict(zip(("owned", "assigned", "required", "shortfall"), c.before, strict=True)),
                "after": dict(zip(("owned", "assigned", "required", "shortfall"), c.after, strict=True)),
            }
            for c in diff.pools
        ],
        "assignments": {
            "added": [assignment(a) for a in diff.added],
            "removed": [assignment(a) for a in diff.removed],
            "transferred": [{"from": assignment(o), "to": assignment(n)} for o, n in diff.transferred],
        },
        "introduced": [finding(f) for f in diff.introduced],
        "resolved": [finding(f) for f in diff.resolved],
        "regressions": diff.regressions(),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


RENDERERS: dict[str, Callable[[Diff], str]] = {"text": render_text, "markdown": render_markdown, "json": render_json}
