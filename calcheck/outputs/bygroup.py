"""The position by department or by cost centre: what each group needs, holds and lacks, and what it costs.

A view of the ELP, never a second computation: each pool's required people and devices, its assignments in force
and its shortfall are shared out to the groups of the people and devices concerned, so the groups' totals are the
ELP's totals. Chargeback is each group's need priced at the pool's unit price.
"""

from __future__ import annotations

import csv
import heapq
import io
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter

from calcheck import __version__
from calcheck.core.text import one_line
from calcheck.estate.model import Device, Estate, Person
from calcheck.licensing.access import Subject
from calcheck.licensing.coverage import Analysis
from calcheck.licensing.elp import Pool, Position
from calcheck.outputs.report import money

GROUPINGS = {"department": "Department", "cost-centre": "Cost centre"}
NO_GROUP = "(none)"
COLUMNS = ("Required", "Assigned", "Shortfall", "Chargeback", "Shortfall cost")


@dataclass(slots=True)
class Share:
    """One group's part of one pool."""

    pool: Pool
    required: int = 0
    assigned: int = 0
    shortfall: int = 0

    def cost(self, count: int) -> float | None:
        if count == 0:
            return 0.0
        return None if self.pool.unit_price is None else round(count * self.pool.unit_price, 2)


@dataclass(slots=True)
class Group:
    name: str
    shares: list[Share] = field(default_factory=list)

    def total(self, attribute: str) -> int:
        return sum(int(getattr(share, attribute)) for share in self.shares)

    def _money(self, attribute: str) -> float | None:
        costs = [share.cost(getattr(share, attribute)) for share in self.shares]
        return None if any(c is None for c in costs) else round(sum(c for c in costs if c is not None), 2)

    @property
    def chargeback(self) -> float | None:
        """What this group's need costs at the holdings' unit prices."""
        return self._money("required")

    @property
    def shortfall_cost(self) -> float | None:
        return self._money("shortfall")


@dataclass(frozen=True, slots=True)
class Breakdown:
    by: str
    position: Position
    groups: list[Group]


def _group_of(record: Person | Device | None, by: str) -> str:
    if record is None:
        return NO_GROUP
    value = record.department if by == "department" else record.cost_centre
    return value or NO_GROUP


def breakdown(estate: Estate, analysis: Analysis, position: Position, by: str) -> Breakdown:
    """Share every pool of ``position`` out to the groups (``by`` department or cost-centre)."""
    return breakdowns(estate, analysis, position, (by,))[0]


def breakdowns(estate: Estate, analysis: Analysis, position: Position, bys: Sequence[str]) -> list[Breakdown]:
    """``breakdown`` by each of ``bys`` at once: each pool's subjects are gathered and looked up once, whatever the
    groupings (a pool of 100,000 subjects)."""
    people, devices = estate.index("people"), estate.index("devices")

    def record(subject: Subject) -> Person | Device | None:
        return (people if subject[0] == "person" else devices).get(subject[1])

    covering: dict[Subject, tuple[str, str]] | None = None  # worked out only for a pool that needs it
    shares: list[dict[tuple[str, int], Share]] = [{} for _ in bys]
    for index, pool in enumerate(position.pools):
        assigned = [
            assignment.assignee
            for holding_id in pool.holdings
            if analysis.entitlement.get(holding_id) is None
            for assignment in analysis.in_force.get(holding_id, [])
        ]
        if covering is None and pool.shortfall > pool.uncovered:
            covering = _covering_order(analysis)
        short = _short(pool, covering or {})
        # counted by group first: a pool of 100,000 subjects has a few hundred groups
        for column, subjects in (
            ("required", pool.required_subjects | pool.uncovered_subjects),
            ("assigned", assigned),
            ("shortfall", short),
        ):
            records = list(map(record, subjects))
            for mine, by in zip(shares, bys, strict=True):
                for name, count in _count_groups(records, by).items():
                    share = mine.setdefault((name, index), Share(pool))
                    setattr(share, column, getattr(share, column) + count)
    return [_grouped(by, position, mine) for mine, by in zip(shares, bys, strict=True)]


def _count_groups(records: list[Person | Device | None], by: str) -> Counter[str]:
    """How many of ``records`` are in each group (``_group_of``), counted in C."""
    found: Counter[str] = Counter()
    missing = records.count(None)
    if missing:
        found[NO_GROUP] += missing
        records = [r for r in records if r is not None]
    recorded = attrgetter("department" if by == "department" else "cost_centre")
    for name, count in Counter(map(recorded, records)).items():
        found[name or NO_GROUP] += count
    return found


def _grouped(by: str, position: Position, shares: dict[tuple[str, int], Share]) -> Breakdown:
    groups: dict[str, Group] = {}
    for (name, _), found in sorted(shares.items()):
        groups.setdefault(name, Group(name)).shares.append(found)
    ordered = sorted(groups.values(), key=lambda g: (g.name == NO_GROUP, g.name.casefold(), g.name))
    return Breakdown(by, position, ordered)


def _short(pool: Pool, covering: dict[Subject, tuple[str, str]]) -> list[Subject]:
    """The pool's ``shortfall`` subjects its shortfall is charged to: the uncovered first (sorted), then the newest
    covered (``_covering_order``, newest first); ``covering`` is needed only when the uncovered are too few."""
    count = pool.shortfall
    if count == 0:
        return []
    uncovered = sorted(pool.uncovered_subjects)
    if count <= len(uncovered):
        return uncovered[:count]
    # nlargest is sorted(..., reverse=True)[:n], ties in the set's order, without sorting a pool of 100,000
    newest = heapq.nlargest(count - len(uncovered), pool.required_subjects, key=lambda s: covering.get(s, ("", "")))
    return uncovered + newest


def _covering_order(analysis: Analysis) -> dict[Subject, tuple[str, str]]:
    """Each covered subject's newest covering assignment (since, id): the last assigned are the over-allocated."""
    found: dict[Subject, tuple[str, str]] = {}
    for charge in analysis.charges:  # the charges every output reads: who holds the licence that counts
        if charge.candidate is not None:
            a = charge.candidate.assignment
            key = (a.since.isoformat(), a.id)
            found[charge.licensee] = max(found.get(charge.licensee, key), key)
    return found


def _row(group: Group, currency: str | None) -> list[str]:
    counts = [str(group.total(name)) for name in ("required", "assigned", "shortfall")]
    return [one_line(group.name), *counts, money(group.chargeback, currency), money(group.shortfall_cost, currency)]


def total_group(data: Breakdown) -> Group:
    """All groups' shares together: its counts and costs are the totals (equal to the ELP's)."""
    return Group("Total", [share for group in data.groups for share in group.shares])


def _rows(data: Breakdown) -> list[list[str]]:
    currency = data.position.currency
    return [*(_row(g, currency) for g in data.groups), _row(total_group(data), currency)]


def totals_of(data: Breakdown) -> dict[str, int | float | None]:
    """The groups' totals (equal to the ELP's required, assigned, shortfall and shortfall cost)."""
    total = total_group(data)
    return {
        "required": total.total("required"),
        "assigned": total.total("assigned"),
        "shortfall": total.total("shortfall"),
        "chargeback": total.chargeback,
        "shortfall_cost": total.shortfall_cost,
    }


def _title(data: Breakdown, organisation: str) -> str:
    return f"Position by {GROUPINGS[data.by].lower()}: {one_line(organisation)} as of {data.position.as_of}"


def render_text(data: Breakdown, organisation: str) -> str:
    header = [GROUPINGS[data.by], *COLUMNS]
    rows = [header, *_rows(data)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [_title(data, organisation)]
    rule = "  ".join("-" * w for w in widths)
    for index, row in enumerate(rows):
        if index == len(rows) - 1:
            lines.append(rule)
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
        if index == 0:
            lines.append(rule)
    return "\n".join(lines) + "\n"


def _md(value: str) -> str:
    return value.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def render_markdown(data: Breakdown, organisation: str) -> str:
    header = [GROUPINGS[data.by], *COLUMNS]
    lines = [f"## {_md(_title(data, organisation))}", "", "| " + " | ".join(header) + " |"]
    lines.append("|---|" + "---:|" * len(COLUMNS))
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in _rows(data)]
    return "\n".join(lines) + "\n"


CSV_COLUMNS = [
    "group",
    "cal",
    "name",
    "version",
    "type",
    "required",
    "assigned",
    "shortfall",
    "unit_price",
    "chargeback",
    "shortfall_cost",
    "currency",
]


def csv_rows(data: Breakdown) -> list[list[object]]:
    """One row per group and pool (also the XLSX export's sheet)."""

    def price(value: float | None) -> str:
        return "" if value is None else f"{value:.2f}"

    return [
        [
            g.name,
            s.pool.cal,
            s.pool.name,
            s.pool.version,
            s.pool.type,
            s.required,
            s.assigned,
            s.shortfall,
            price(s.pool.unit_price),
            price(s.cost(s.required)),
            price(s.cost(s.shortfall)),
            data.position.currency or "",
        ]
        for g in data.groups
        for s in g.shares
    ]


def render_csv(data: Breakdown, organisation: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_rows(data))
    return out.getvalue()


def render_json(data: Breakdown, organisation: str) -> str:
    document = {
        "tool": {"name": "calcheck", "version": __version__},
        "format_version": 1,
        "organisation": organisation,
        "as_of": data.position.as_of.isoformat(),
        "by": data.by,
        "currency": data.position.currency,
        "totals": totals_of(data),
        "groups": [
            {
                "name": g.name,
                "required": g.total("required"),
                "assigned": g.total("assigned"),
                "shortfall": g.total("shortfall"),
                "chargeback": g.chargeback,
                "shortfall_cost": g.shortfall_cost,
                "pools": [
                    {
                        "cal": s.pool.cal,
                        "version": s.pool.version or None,
                        "type": s.pool.type,
                        "required": s.required,
                        "assigned": s.assigned,
                        "shortfall": s.shortfall,
                        "unit_price": s.pool.unit_price,
                    }
                    for s in g.shares
                ],
            }
            for g in data.groups
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


RENDERERS: dict[str, Callable[[Breakdown, str], str]] = {
    "text": render_text,
    "markdown": render_markdown,
    "csv": render_csv,
    "json": render_json,
}
