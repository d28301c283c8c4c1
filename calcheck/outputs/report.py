"""Render the Effective License Position: text, Markdown, CSV and JSON (pure functions)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from calcheck import __version__
from calcheck.core.findings import Finding, Severity
from calcheck.core.text import one_line
from calcheck.licensing.elp import COUNTS, Pool, Position
from calcheck.outputs.cells import csv_text

COLUMNS = ("CAL pool", "Kind", "Owned", "Assigned", "Required", "Surplus", "Shortfall", "Reclaimable", "Shortfall cost")


@dataclass(frozen=True, slots=True)
class ReportInput:
    organisation: str | None
    estate: str
    position: Position
    findings: list[Finding]
    waived: int = 0

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.ERROR)

    @property
    def compliant(self) -> bool:
        return self.position.compliant and self.errors == 0


def money(amount: float | None, currency: str | None) -> str:
    if amount is None:
        return "unknown"
    return f"{amount:,.2f}" + (f" {currency}" if currency else "")


def _row(pool: Pool, currency: str | None) -> list[str]:
    return [
        one_line(pool.label),
        pool.kind,
        *map(str, pool.counts()),
        money(pool.shortfall_cost, currency),
    ]


def _totals(position: Position) -> list[str]:
    return ["Total", "", *map(str, position.totals()), money(position.shortfall_cost, position.currency)]


def verdict(data: ReportInput) -> str:
    state = "COMPLIANT" if data.compliant else "NOT COMPLIANT"
    shortfall = data.position.total("shortfall")
    return (
        f"{state} as of {data.position.as_of}: shortfall {shortfall} CAL{'s' if shortfall != 1 else ''} "
        f"({money(data.position.shortfall_cost, data.position.currency)}), {data.errors} error finding"
        f"{'s' if data.errors != 1 else ''}, {data.position.total('reclaimable')} reclaimable"
    )


def render_text(data: ReportInput) -> str:
    rows = [list(COLUMNS), *(_row(p, data.position.currency) for p in data.position.pools), _totals(data.position)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [f"Effective License Position: {one_line(data.organisation or data.estate)}"]
    for index, row in enumerate(rows):
        cells = [cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
        if index == len(rows) - 1:
            lines.append("  ".join("-" * w for w in widths))
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append(verdict(data))
    return "\n".join(lines) + "\n"


def _md(cell: str) -> str:
    return cell.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def render_markdown(data: ReportInput) -> str:
    lines = [f"## Effective License Position: {_md(data.organisation or data.estate)}", "", f"**{verdict(data)}**", ""]
    lines.append("| " + " | ".join(COLUMNS) + " |")
    lines.append("|" + "|".join("---" if i < 2 else "---:" for i in range(len(COLUMNS))) + "|")
    for row in [*(_row(p, data.position.currency) for p in data.position.pools), _totals(data.position)]:
        lines.append("| " + " | ".join(_md(cell) for cell in row) + " |")
    return "\n".join(lines) + "\n"


CSV_COLUMNS = [
    "cal",
    "name",
    "kind",
    "version",
    "type",
    "owned",
    "assigned",
    "required",
    "surplus",
    "shortfall",
    "reclaimable",
    "unit_price",
    "shortfall_cost",
    "currency",
]


def csv_rows(position: Position) -> list[list[object]]:
    """The ELP as rows of CSV_COLUMNS (also used by the auditor export)."""
    return [
        [
            p.cal,
            p.name,
            p.kind,
            p.version,
            p.type,
            *p.counts(),
            "" if p.unit_price is None else f"{p.unit_price:.2f}",
            "" if p.shortfall_cost is None else f"{p.shortfall_cost:.2f}",
            position.currency or "",
        ]
        for p in position.pools
    ]


def render_csv(data: ReportInput) -> str:
    return csv_text(CSV_COLUMNS, csv_rows(data.position))


def render_json(data: ReportInput) -> str:
    position = data.position
    document = {
        "tool": {"name": "calcheck", "version": __version__},
        "format_version": 1,
        "organisation": data.organisation,
        "estate": data.estate,
        "as_of": position.as_of.isoformat(),
        "currency": position.currency,
        "compliant": data.compliant,
        "totals": {
            **dict(zip(COUNTS, position.totals(), strict=True)),
            "shortfall_cost": position.shortfall_cost,
            "errors": data.errors,
            "waived": data.waived,
        },
        "pools": [
            {
                "cal": p.cal,
                "name": p.name,
                "kind": p.kind,
                "version": p.version or None,
                "type": p.type,
                "owned": p.owned,
                "assigned": p.assigned,
                "required": p.required,
                "surplus": p.surplus,
                "shortfall": p.shortfall,
                "over_allocated": p.over_allocated,
                "uncovered": p.uncovered,
                "reclaimable": p.reclaimable,
                "unit_price": p.unit_price,
                "shortfall_cost": p.shortfall_cost,
                "holdings": p.holdings,
            }
            for p in position.pools
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


RENDERERS: dict[str, Callable[[ReportInput], str]] = {
    "text": render_text,
    "markdown": render_markdown,
    "csv": render_csv,
    "json": render_json,
}
