"""What a change does to the licence position: pools before and after, assignments, findings (pure)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from calcheck.core.findings import Finding, Severity
from calcheck.estate.model import Assignment
from calcheck.licensing.elp import Pool
from calcheck.licensing.engine import CheckResult, judged_by

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
    # New errors that the change's own rule settings or waivers silence (its data judged by the base's policy).
    silenced: list[Finding] = field(default_factory=list)

    def regressions(self) -> list[str]:
        """Ways the change makes the position worse: a pool's shortfall grows, or a new error appears (also one
        that the change hides by disabling or downgrading its rule, or by a waiver of its own)."""
        worse = [f"{c.label}: shortfall {c.before[3]} -> {c.after[3]}" for c in self.pools if c.after[3] > c.before[3]]
        worse += [f"new error [{f.rule}] {f.message}" for f in self.introduced if f.severity is Severity.ERROR]
        worse += [
            f"new error [{f.rule}] {f.message} (silenced by this change's rule settings or waivers)"
            for f in self.silenced
        ]
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
    for aid in sorted(k for k, record in before.items() if k in after and after[k] is not record):  # one record: same
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
    introduced = Counter(_finding_key(f) for f in diff.introduced if f.severity is Severity.ERROR)
    for finding in _new(judged_by(head, base.estate), base.findings):  # as the base's policy would report it
        if finding.severity is not Severity.ERROR:
            continue
        if introduced[_finding_key(finding)]:
            introduced[_finding_key(finding)] -= 1  # reported as an error by the change itself already
        else:
            diff.silenced.append(finding)
    diff.shortfall = (position_before.total("shortfall"), position_after.total("shortfall"))
    diff.cost = (position_before.shortfall_cost, position_after.shortfall_cost)
    return diff
