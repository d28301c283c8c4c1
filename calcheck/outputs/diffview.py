"""A change to the licence position as text, Markdown or JSON."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

from calcheck.core.findings import Finding
from calcheck.core.text import one_line
from calcheck.estate.model import Assignment
from calcheck.licensing.diff import Diff


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


def render_position(diff: Diff) -> str:
    """A change's effect on the position in brief (what an import prints): the headline, each pool that changes,
    before and after, and the findings it brings, counted by severity and rule."""
    lines = [headline(diff)]
    if diff.pools:
        lines.append("pools (owned, assigned, required, shortfall):")
        lines += [f"  {one_line(c.label)}: {c.before} -> {c.after}" for c in diff.pools]
    counts = Counter((f.severity, f.rule) for f in diff.introduced)
    for severity in sorted({s for s, _ in counts}, reverse=True):
        rules = sorted((rule, n) for (s, rule), n in counts.items() if s == severity)
        lines.append(f"new {severity.label}s by rule: " + ", ".join(f"{rule} {n}" for rule, n in rules))
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
