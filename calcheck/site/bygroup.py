"""The site's page of the position by department and by cost centre (the view ``report --by`` prints)."""

from __future__ import annotations

from calcheck.licensing.engine import CheckResult
from calcheck.outputs.bygroup import COLUMNS, GROUPINGS, Group, breakdowns, total_group
from calcheck.outputs.report import money
from calcheck.site.markup import WIDE, Layout, table

PAGE = "by-group.md"


def _row(group: Group, currency: str | None) -> list[object]:
    counts = [group.total(name) for name in ("required", "assigned", "shortfall")]
    return [group.name, *counts, money(group.chargeback, currency), money(group.shortfall_cost, currency)]


def render(result: CheckResult) -> dict[str, str]:
    """{PAGE: markdown}: one table per grouping, each adding up to the ELP's totals."""
    context = result.context
    currency = context.position.currency
    lines = [
        WIDE + "# By department and cost centre",
        "",
        f"The position as of {context.as_of}, shared out to the departments and cost centres of the people and "
        "devices concerned. *Chargeback* is what each group's need costs at the holdings' unit prices; the totals "
        "are those of the dashboard.",
    ]
    splits = breakdowns(result.estate, context.analysis, context.position, list(GROUPINGS))
    for (by, label), split in zip(GROUPINGS.items(), splits, strict=True):
        rows = [_row(g, currency) for g in split.groups]
        layout = Layout(id=f"by-{by}", numeric=frozenset(range(1, len(COLUMNS) + 1)))
        lines += [
            "",
            f"## By {label.lower()}",
            table([label, *COLUMNS], rows, layout=layout, footer=[_row(total_group(split), currency)]),
        ]
    return {PAGE: "\n".join(lines) + "\n"}
