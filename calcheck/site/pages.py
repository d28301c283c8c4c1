"""Render the compliance site's pages: pure, from a checked estate (and its history) to files by path.

Every string from the estate passes through ``markup`` before it reaches Markdown, HTML, SVG or the
JavaScript data files; tables of people, devices, assignments and findings are data files that the page's own
script renders with ``textContent`` (a finding's severity as a badge, its rule as a link), so they stay fast for tens
of thousands of rows and MkDocs has no large page to render.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any
from urllib.parse import quote

from calcheck.core.findings import Finding, Severity
from calcheck.estate.kinds import KINDS
from calcheck.estate.model import Estate, Holding
from calcheck.estate.schema import load_schemas, schema_dir, schema_uri
from calcheck.git.history import Entry, Event, summarise
from calcheck.licensing.elp import Pool, Position
from calcheck.licensing.engine import CheckResult
from calcheck.licensing.rules import REGISTRY
from calcheck.licensing.rules.example import load_examples
from calcheck.outputs.export import to_csv
from calcheck.outputs.report import money
from calcheck.site import bygroup, charts, records
from calcheck.site.markup import WIDE, Layout, attr, cell, csv_text, link, script_data, slug, table, text, value
from calcheck.site.pseudonyms import Pseudonyms

Files = dict[str, str]


@dataclass(frozen=True, slots=True)
class TrendPoint:
    label: str  # the day, YYYY-MM-DD
    owned: int
    assigned: int
    required: int
    shortfall: int
    pools: tuple[tuple[str, int, int, int, int], ...] = ()  # (pool key, owned, assigned, required, shortfall)

    @classmethod
    def of(cls, label: str, position: Position) -> TrendPoint:
        """The point for a computed position: its totals and each pool's numbers."""
        pools = tuple((pool_name(p.cal, p.version, p.type), p.owned, p.assigned, p.required, p.shortfall)
                      for p in position.pools)  # fmt: skip
        owned, assigned, required, shortfall = (
            position.total(a) for a in ("owned", "assigned", "required", "shortfall")
        )
        return cls(label, owned, assigned, required, shortfall, pools)

    def to_json(self) -> dict[str, Any]:
        return {"totals": [self.owned, self.assigned, self.required, self.shortfall], "pools": list(self.pools)}

    @classmethod
    def from_json(cls, label: str, stored: object) -> TrendPoint | None:
        """A cached point, or None when what is stored is not exactly what ``to_json`` writes."""
        if not isinstance(stored, dict) or set(stored) != {"totals", "pools"}:
            return None
        totals, pools = stored["totals"], stored["pools"]
        if not _ints(totals, 4) or not isinstance(pools, list):
            return None
        if not all(isinstance(p, list) and len(p) == 5 and isinstance(p[0], str) and _ints(p[1:], 4) for p in pools):
            return None
        return cls(
            label, totals[0], totals[1], totals[2], totals[3], tuple((p[0], p[1], p[2], p[3], p[4]) for p in pools)
        )


def _ints(values: object, count: int) -> bool:
    return (
        isinstance(values, list)
        and len(values) == count
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values)
    )


def pool_name(cal: str, version: str, cal_type: str) -> str:
    """A pool's stable key in the trend: CAL id, version and type."""
    return f"{cal}|{version}|{cal_type}"


@dataclass(slots=True)
class SiteInput:
    result: CheckResult
    history: list[Entry] = field(default_factory=list)
    trend: list[TrendPoint] = field(default_factory=list)
    repo_url: str | None = None
    published_proofs: dict[str, str] = field(default_factory=dict)  # estate-relative file -> site path


class Names:
    """How people appear on the site: by id, or under stable pseudonyms when the estate asks for it."""

    def __init__(self, estate: Estate) -> None:
        self.enabled = bool(estate.config and estate.config.pseudonymise_people)
        self._pseudonyms = Pseudonyms(estate.index("people").values() if self.enabled else [])
        self.map = self._pseudonyms.by_id

    def id(self, person_id: str) -> str:
        return self.map.get(person_id, person_id)

    def scrub(self, sentence: Any) -> Any:
        """Any text from the estate or its history with every person's id, name and e-mail replaced by their
        pseudonym (when the estate asks for pseudonyms); other values as they are."""
        if not self.enabled or not isinstance(sentence, str):
            return sentence
        return self._pseudonyms.replace(sentence)


def render_site(data: SiteInput) -> Files:
    """Every generated file of the site, by path relative to the docs folder."""
    names = Names(data.result.estate)
    files: Files = {}
    files.update(_dashboard(data))
    files.update(_holdings(data, names))
    files.update(bygroup.render(data.result))  # the position by department and cost centre (issue 18)
    files.update(_directory(data, names))
    files.update(_findings(data, names))
    files.update(records.render(data.result, names))
    files.update(_history(data, names))
    files.update(_rules_reference())
    files.update(_data_model())
    files.update(_not_found())
    return files


def _severity_counts(findings: list[Finding]) -> dict[Severity, int]:
    counts: dict[Severity, int] = defaultdict(int)
    for finding in findings:
        counts[finding.severity] += 1
    return counts


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _dashboard(data: SiteInput) -> Files:
    result = data.result
    position = result.context.position
    counts = _severity_counts(result.findings)
    compliant = position.compliant and counts[Severity.ERROR] == 0
    organisation = result.estate.config.organisation if result.estate.config else result.estate.root
    numbers = [
        ("Owned", position.total("owned")),
        ("Assigned", position.total("assigned")),
        ("Required", position.total("required")),
        ("Shortfall", position.total("shortfall")),
        ("Cost of shortfall", money(position.shortfall_cost, position.currency)),
        ("Reclaimable", position.total("reclaimable")),
        ("Errors", counts[Severity.ERROR]),
        ("Warnings", counts[Severity.WARNING]),
    ]
    verdict = "COMPLIANT" if compliant else "NOT COMPLIANT"
    reasons = _reasons(result)
    lines = [
        WIDE + f"# {text(organisation)}",
        "",
        f'<p class="cc-verdict cc-{"ok" if compliant else "fail"}" id="verdict">{verdict}</p>',
        "",
        '<ul class="cc-reasons" id="reasons">' + "".join(f"<li>{r}</li>" for r in reasons) + "</ul>" if reasons else "",
        "",
        f"Effective License Position as of **{position.as_of}**.",
        "",
        '<dl class="cc-numbers" id="key-numbers">'
        + "".join(f'<div><dt>{cell(k)}</dt><dd data-key="{cell(k)}">{cell(v)}</dd></div>' for k, v in numbers)
        + "</dl>",
        "",
        "## Position by CAL pool",
        "",
        "Each bar shows a pool's use: the fill is what is assigned, the black mark what is required and the dashed"
        " line what is owned. Rows short of CALs are highlighted.",
        _elp_table(result),
        "## Position over time",
        "",
    ]
    files: Files = {}
    if data.trend:
        files.update(_trend_charts("position", "Owned, assigned and required over time", data.trend, None))
        lines.append(_picture("charts/position", "Owned, assigned, required and shortfall over time"))
    else:
        lines.append("No git history is available for this estate.")
    lines += ["", f"See the [findings](findings.md) ({len(result.findings)}) and the [holdings](holdings.md)."]
    files["index.md"] = "\n".join(lines) + "\n"
    return files


def _reasons(result: CheckResult) -> list[str]:
    """Why the estate is not compliant, in one or two lines with links: pools short, error findings by rule."""
    position = result.context.position
    reasons = []
    short = [p for p in position.pools if p.shortfall]
    if short:
        pools = ", ".join(f'<a href="#{_pool_anchor(p)}">{value(p.label)}</a> by {p.shortfall}' for p in short)
        cost = money(position.shortfall_cost, position.currency)
        reasons.append(
            f"{_plural(position.total('shortfall'), 'CAL')} short (cost {cell(cost)}) in "
            f"{_plural(len(short), 'pool')}: {pools}."
        )
    errors = Counter(f.rule for f in result.findings if f.severity is Severity.ERROR)
    if errors:
        rules = ", ".join(
            f'<a href="findings.html?rule={attr(quote(rule))}&amp;severity=error">{cell(rule)}</a> {n}'
            for rule, n in sorted(errors.items(), key=lambda item: (-item[1], item[0]))
        )
        reasons.append(f"{_plural(sum(errors.values()), 'error finding')}: {rules}.")
    return reasons


def _pool_anchor(pool: Pool) -> str:
    return "pool-" + slug(pool_name(pool.cal, pool.version, pool.type))


def _bar(owned: int, assigned: int, required: int) -> str:
    """A pool's use as a small bar in its row: assigned as the fill, required as a mark, owned as a dashed line."""
    scale = max(owned, assigned, required, 1)
    over = " cc-over" if assigned > owned or required > owned else ""
    summary = f"{assigned} assigned, {required} required, {owned} owned"
    return (
        f'<span class="cc-bar{over}" role="img" aria-label="{summary}" title="{summary}">'
        f'<span class="cc-fill" style="width:{100 * assigned / scale:.1f}%"></span>'
        f'<span class="cc-owned" style="width:{100 * owned / scale:.1f}%"></span>'
        f'<span class="cc-need" style="left:{100 * required / scale:.1f}%"></span></span>'
    )


def _elp_table(result: CheckResult) -> str:
    position = result.context.position
    rows = [
        [
            cell(p.label),
            cell(p.kind),
            _bar(p.owned, p.assigned, p.required),
            *p.counts(),
            cell(money(p.shortfall_cost, position.currency)),
        ]
        for p in position.pools
    ]
    total = ["Total", "", "", *position.totals(), money(position.shortfall_cost, position.currency)]
    headers = [
        "CAL pool",
        "Kind",
        "Use",
        "Owned",
        "Assigned",
        "Required",
        "Surplus",
        "Shortfall",
        "Reclaimable",
        "Cost",
    ]
    layout = Layout(
        id="elp",
        numeric=frozenset(range(3, 10)),
        keep=frozenset({1}),
        row_classes=["cc-short" if p.shortfall else "" for p in position.pools],
        row_ids=[_pool_anchor(p) for p in position.pools],
    )
    return table(headers, rows, raw_columns=frozenset(range(3)), layout=layout, footer=[total])


def _trend_charts(name: str, title: str, points: Sequence[TrendPoint], pool: str | None) -> Files:
    """A wide and a narrow drawing of one trend (the page shows the narrow one on a phone)."""
    dates = [dt.date.fromisoformat(p.label) for p in points]
    if pool is None:
        numbers = [(p.owned, p.assigned, p.required, p.shortfall) for p in points]
    else:
        found = [{key: rest for key, *rest in p.pools}.get(pool, [0, 0, 0, 0]) for p in points]
        numbers = [(n[0], n[1], n[2], n[3]) for n in found]
    series = {label: [n[i] for n in numbers] for i, label in enumerate(("owned", "assigned", "required"))}
    shortfall = [n[3] for n in numbers]
    return {
        f"charts/{name}.svg": charts.trend_chart(title, dates, series, shortfall, width=900),
        f"charts/{name}-narrow.svg": charts.trend_chart(title, dates, series, shortfall, width=420),
    }


def _picture(base: str, alt: str) -> str:
    return (
        f'<div class="cc-chart"><picture><source media="(max-width: 44.9375em)" srcset="{attr(base)}-narrow.svg">'
        f'<img src="{attr(base)}.svg" alt="{attr(alt)}"></picture></div>'
    )


def _holding_rows(data: SiteInput) -> list[list[Any]]:
    analysis = data.result.context.analysis
    rows = []
    for holding in data.result.estate.index("holdings").values():
        assigned = len(analysis.in_force.get(holding.id, []))
        rows.append(
            [
                link(f"holdings/{slug(holding.id)}.html", holding.id),
                cell(holding.cal),
                cell(holding.version or ""),
                cell(holding.type),
                holding.quantity,
                assigned,
                cell(holding.channel),
                cell(holding.purchased),
                cell(holding.sa_until or holding.subscription_until or ""),
                cell(", ".join(f"{p.type} {p.ref}" for p in holding.proofs) or "none"),
            ]
        )
    return rows


def _holdings(data: SiteInput, names: Names) -> Files:
    headers = ["Holding", "CAL", "Version", "Type", "Quantity", "Assigned", "Channel", "Purchased", "SA or term end",
               "Proof of purchase"]  # fmt: skip
    holdings = list(data.result.estate.index("holdings").values())
    analysis = data.result.context.analysis
    layout = Layout(
        id="holdings",
        numeric=frozenset({4, 5, 7, 8}),
        keep=frozenset({2, 3, 6}),
        filters=frozenset({1, 3, 6}),
        page=100,
        row_classes=["cc-short" if len(analysis.in_force.get(h.id, [])) > h.quantity else "" for h in holdings],
    )
    files: Files = {
        "holdings.md": WIDE
        + "# Holdings\n\nEvery CAL purchase, with its proof of purchase. Holdings with more assignments than CALs"
        " are highlighted.\n" + table(headers, _holding_rows(data), raw_columns=frozenset(range(10)), layout=layout)
    }
    histories = record_histories(data.history, data.result.estate.index("holdings"))
    pool_charts: dict[tuple[str, str], Files] = {}  # a pool's trend, drawn once for all its holdings' pages
    for holding in holdings:
        files.update(_holding_page(data, holding, names, histories.get(holding.id, []), pool_charts))
    return files


def record_histories(history: Sequence[Entry], ids: Collection[str]) -> dict[str, list[Entry]]:
    """Each record's own change history, as ``Entry.only`` gives it (entries without its events left out),
    for every record in ``ids`` at once: one pass over the history, not one per record."""
    found: dict[str, list[Entry]] = {}
    for entry in history:
        events: dict[str, list[Event]] = {}
        for event in entry.events:
            for part in event.detail or (event,):
                for record_id in part.ids:
                    if record_id in ids:
                        mine = events.setdefault(record_id, [])
                        if not mine or mine[-1] is not part:  # an id named twice in one event: the event once
                            mine.append(part)
        for record_id, mine in events.items():
            found.setdefault(record_id, []).append(Entry(entry.sha, entry.date, entry.author, entry.title, tuple(mine)))
    return found


def _holding_page(
    data: SiteInput, holding: Holding, names: Names, history: list[Entry], pool_charts: dict[tuple[str, str], Files]
) -> Files:
    name = slug(holding.id)
    analysis = data.result.context.analysis
    assigned = analysis.in_force.get(holding.id, [])
    pool = next((p for p in data.result.context.position.pools if holding.id in p.holdings), None)
    agreement = link(f"../agreements.html#{slug(holding.agreement)}", holding.agreement) if holding.agreement else ""
    facts = [
        ("CAL", cell(holding.cal)),
        ("Kind", cell(holding.kind or "")),
        ("Version", cell(holding.version or "")),
        ("Type", cell(holding.type)),
        ("Quantity", cell(holding.quantity)),
        ("Channel", cell(holding.channel)),
        ("Agreement", agreement),
        ("Purchased", cell(holding.purchased)),
        ("Software Assurance until", cell(holding.sa_until or "")),
        ("Subscription until", cell(holding.subscription_until or "")),
        ("Unit price", cell(holding.unit_price or "")),
        ("Currency", cell(holding.currency or "")),
        ("Owner", cell(names.scrub(holding.owner or ""))),  # an owner or a tag may name a person
        ("Tags", cell(names.scrub(", ".join(holding.tags)))),
        ("Entitlement", cell(analysis.entitlement.get(holding.id) or "in force")),
        ("Pool", link(f"../index.html#{_pool_anchor(pool)}", pool.label) if pool else ""),
    ]
    facts = [(key, names.scrub(value)) for key, value in facts]  # an owner or a tag may name a person
    proofs = []
    for proof in holding.proofs:
        published = data.published_proofs.get(proof.file or "")
        document = link(f"../{published}", proof.file) if published else cell(proof.file or "")
        state = proof.file_state.value if proof.file_state else ""
        proofs.append([cell(proof.type), cell(names.scrub(proof.ref)), cell(proof.date or ""), document, cell(state)])
    people = data.result.estate.index("people")
    devices = data.result.estate.index("devices")

    shown_id = names.map.get  # (``names.id``, looked up in place: a holding may have thousands of assignments)
    rows = []
    for a in sorted(assigned, key=attrgetter("id")):
        if a.person is not None:
            person = people.get(a.person)
            shown = shown_id(a.person, a.person)
            row = [a.id, shown, shown if names.enabled or person is None else person.name, "person"]
        else:
            device = devices.get(a.device or "")
            row = [a.id, a.device or "", (device.name or "") if device is not None else "", "device"]
        rows.append([*row, str(a.since), str(a.until or ""), a.reason or ""])
    columns = ["Assignment", "Assignee", "Name", "Kind", "Since", "Until", "Reason"]
    files: Files = {
        f"data/holding-{name}.js": script_data(
            f"holding-{name}",
            {"columns": columns, "rows": rows, "numeric": [4, 5], "keep": [3], "filters": [3], "page": 50},
        ),
        f"charts/holding-{name}.svg": charts.usage_bar(holding.quantity, len(assigned), pool.required if pool else 0),
    }
    trend = ""
    if pool is not None and len(data.trend) > 1:
        key = pool_name(pool.cal, pool.version, pool.type)
        drawn = (key, pool.label)
        if drawn not in pool_charts:
            pool_charts[drawn] = _trend_charts(f"pool-{slug(key)}", f"{pool.label} over time", data.trend, key)
        files.update(pool_charts[drawn])
        trend = _picture(f"../charts/pool-{slug(key)}", f"{pool.label} over time")
    history_rows = [
        [
            cell(e.date.date()),
            cell(e.short),
            cell(names.scrub(e.author)),
            "<br>".join(cell(names.scrub(ev.text)) for ev in summarise(list(e.events))),
        ]
        for e in reversed(history)
    ]
    lines = [
        WIDE + f"# Holding {text(holding.id)}",
        "",
        table(["Field", "Value"], facts, raw_columns=frozenset({1}), layout=Layout(sortable=False)),
        "## Proof of purchase",
        table(["Type", "Reference", "Date", "Document", "File check"], proofs, raw_columns=frozenset(range(5)))
        if proofs
        else "\nNo proof of purchase is recorded.\n",
        "## Utilisation",
        "",
        f'<div class="cc-chart"><img src="../charts/holding-{name}.svg" alt="Utilisation of {attr(holding.id)}"></div>',
        "",
        *(["## Its pool over time", "", trend, ""] if trend else []),
        "## Assignments in force",
        "",
        _data_holder(f"holding-{name}", f"../data/holding-{name}.js", len(rows), "assignments in force", None),
        "",
        "## Change history",
        table(
            ["Date", "Commit", "Author", "What changed"],
            history_rows,
            raw_columns=frozenset(range(4)),
            layout=Layout(page=25, keep=frozenset({0, 1})),
        )
        if history_rows
        else "\nNo recorded changes.\n",
    ]
    files[f"holdings/{name}.md"] = "\n".join(lines) + "\n"
    return files


def _data_holder(source: str, script: str, count: int, what: str, csv: str | None) -> str:
    """Where the site's script draws a data table, and what a reader without JavaScript sees instead."""
    download = f' Its data is in <a href="{attr(csv)}">{attr(csv.rsplit("/", 1)[-1])}</a>.' if csv else ""
    return (
        f'<div class="cc-table" data-source="{attr(source)}"></div>\n'
        f'<noscript><p class="cc-noscript">This table lists {count} {cell(what)}, with a search box, filters and'
        f" pages; it needs JavaScript.{download}</p></noscript>\n"
        f'<script src="{attr(script)}"></script>'
    )


def _directory(data: SiteInput, names: Names) -> Files:
    estate = data.result.estate
    as_of = data.result.context.as_of
    held: dict[tuple[str, str], str] = {}  # what each person and device holds, as its cell shows it
    for subject, assignments in data.result.context.analysis.by_subject.items():
        held[subject] = ", ".join(sorted({a.holding for a in assignments if a.until is None or a.until >= as_of}))
    shown_id = names.map.get  # (``names.id``, looked up in place for tens of thousands of people)
    people = [
        [
            shown_id(p.id, p.id),
            shown_id(p.id, p.id) if names.enabled else p.name,
            p.kind,
            p.status,
            names.scrub(p.department or ""),
            held.get(("person", p.id), ""),
        ]
        for p in estate.index("people").values()
    ]
    devices = [
        [
            d.id,
            names.scrub(d.name or ""),  # "Ann Lee's laptop"
            d.kind,
            d.status,
            names.scrub(d.department or ""),
            held.get(("device", d.id), ""),
        ]
        for d in estate.index("devices").values()
    ]
    files: Files = {}
    for page, title, columns, rows in (
        ("people", "People", ["Person", "Name", "Kind", "Status", "Department", "CALs held"], people),
        ("devices", "Devices", ["Device", "Name", "Kind", "Status", "Department", "CALs held"], devices),
    ):
        files[f"data/{page}.js"] = script_data(
            page, {"columns": columns, "rows": rows, "keep": [2, 3], "filters": [2, 3], "page": 50}
        )
        files[f"data/{page}.csv"] = csv_text(to_csv((columns, rows)).decode("utf-8"))
        files[f"{page}.md"] = (
            WIDE + f"# {title}\n\n{len(rows)} records. Search by name, id or any text; filter by kind and status; "
            "select a column heading (or press Enter on it) to sort.\n\n"
            + _data_holder(page, f"data/{page}.js", len(rows), page, f"data/{page}.csv")
            + "\n"
        )
    return files


_SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def _findings(data: SiteInput, names: Names) -> Files:
    """The findings page; the findings and waived findings themselves are data files the site's script draws (a
    badge for the severity, a link to the rule), with their CSV for a reader without JavaScript."""
    result = data.result
    headers = ["Severity", "Rule", "File", "Line", "Finding", "What to do", "Source"]
    files: Files = {}
    sections = {}
    for name, findings in (("findings", result.findings), ("waived", result.waived)):
        rows = [
            [
                f.severity.label,
                f.rule,
                names.scrub(f.path),
                f"{f.line}:{f.column}",
                names.scrub(f.message),
                names.scrub(f.hint),
                REGISTRY[f.rule].source if f.rule in REGISTRY else "",
            ]
            for f in findings
        ]
        shown = {
            "id": name,
            "columns": headers,
            "rows": rows,
            "classes": [f"cc-sev-{f.severity.label}" for f in findings],
            "numeric": [3],
            "filters": [0, 1, 2],
            "badges": [0],
            "links": {"1": "reference/rules.html#"},
            "page": 50,
        }
        files[f"data/{name}.js"] = script_data(name, shown)
        files[f"data/{name}.csv"] = csv_text(to_csv((headers, rows)).decode("utf-8"))
        what = "findings" if name == "findings" else "waived findings"
        sections[name] = (
            "\n" + _data_holder(name, f"data/{name}.js", len(rows), what, f"data/{name}.csv") + "\n"
            if findings
            else "\nNone.\n"
        )
    lines = [
        WIDE + "# Findings",
        "",
        f"As of {result.context.as_of}: {len(result.findings)} findings, {len(result.waived)} waived. "
        "Filter by severity, rule or file, search the text, sort by any column.",
        "",
        "## By rule",
        _by_rule(result.findings) if result.findings else "\nNone.\n",
        "## Findings",
        sections["findings"],
        "## Waived findings",
        "",
        "Findings a [waiver](waivers.md) covers.",
        sections["waived"],
    ]
    files["findings.md"] = "\n".join(lines) + "\n"
    return files


def _by_rule(findings: list[Finding]) -> str:
    """The findings grouped by rule, with a count of each severity and a link that filters the list."""
    counts: dict[str, Counter[Severity]] = defaultdict(Counter)
    for finding in findings:
        counts[finding.rule][finding.severity] += 1
    ordered = sorted(
        counts.items(), key=lambda item: (min(_SEVERITY_ORDER[s] for s in item[1]), -item[1].total(), item[0])
    )
    rows = [
        [
            f'<a href="?rule={attr(quote(rule))}#findings">{cell(rule)}</a>',
            cell(REGISTRY[rule].title if rule in REGISTRY else ""),
            tally[Severity.ERROR],
            tally[Severity.WARNING],
            tally[Severity.INFO],
            tally.total(),
        ]
        for rule, tally in ordered
    ]
    headers = ["Rule", "Title", "Errors", "Warnings", "Info", "Total"]
    return table(
        headers, rows, raw_columns=frozenset({0, 1}), layout=Layout(id="by-rule", numeric=frozenset({2, 3, 4, 5}))
    )


_REPOSITORY_URL = re.compile(r"https://[A-Za-z0-9.-]+(/[A-Za-z0-9._~-]+)+")


def _commits_at(repo_url: str | None) -> str | None:
    """Where the repository shows a commit (its id appended), when its address is a plain https one."""
    return f"{repo_url}/commit/" if repo_url and _REPOSITORY_URL.fullmatch(repo_url) else None


def _history(data: SiteInput, names: Names) -> Files:
    """The change history: its commits are a data file the site's script draws (a commit's abbreviated id, linked to
    the repository when the configuration names one; each event on a line of its own), with its CSV."""
    headers = ["Date", "Commit", "Author", "Change", "What it did"]
    rows = [
        [
            str(e.date.date()),
            e.sha,
            names.scrub(e.author),
            names.scrub(e.title),
            [names.scrub(ev.text) for ev in e.events],
        ]
        for e in reversed(data.history)
        if e.events
    ]
    intro = "The estate's change log, newest first, in licensing terms."
    if not rows:
        return {"history.md": WIDE + f"# Change history\n\n{intro}\n\nNo git history is available.\n"}
    commits = _commits_at(data.repo_url)
    shown = {
        "id": "history",
        "columns": headers,
        "rows": rows,
        "keep": [0, 1],
        "filters": [2],
        "short": {"1": 7},
        "links": {"1": commits} if commits else {},
        "page": 50,
    }
    flat = [[*row[:4], "\n".join(row[4])] for row in rows]
    holder = _data_holder("history", "data/history.js", len(rows), "commits", "data/history.csv")
    return {
        "data/history.js": script_data("history", shown),
        "data/history.csv": csv_text(to_csv((headers, flat)).decode("utf-8")),
        "history.md": WIDE + f"# Change history\n\n{intro} Search any text, sort by any column.\n\n{holder}\n",
    }


def _rules_reference() -> Files:
    lines = ["# Rules", "", "Every rule calcheck applies, with its licensing source and examples.", ""]
    for rule in REGISTRY.values():
        lines += [
            f"## {text(rule.id)}: {text(rule.title)} {{ #{rule.id} }}",
            "",
            f"Severity **{rule.severity.label}**, source {text(rule.source)}.",
            "",
            text(rule.docs),
            "",
        ]
        for example in load_examples(rule.id):
            lines += [f"Example (as of {example.as_of}): {text(example.description)}", ""]
            for label, changed in (("Fails with", example.changes_failing), ("Passes with", example.changes_passing)):
                for path, content in changed.items():
                    lines += [
                        f"{label} `{path}`:",
                        "",
                        "```yaml",
                        content.rstrip("\n").replace("```", "` ` `"),
                        "```",
                        "",
                    ]
    return {"reference/rules.md": "\n".join(lines)}


def _schema_rows(schema: dict[str, Any], definition: dict[str, Any]) -> list[list[str]]:
    required = set(definition.get("required", []))
    rows = []
    for name, spec in definition.get("properties", {}).items():
        kind = spec.get("type") or ("one of: " + ", ".join(map(str, spec["enum"])) if "enum" in spec else "")
        if "$ref" in spec:
            kind = kind or spec["$ref"].rsplit("/", 1)[-1]
        rows.append(
            [
                name,
                json.dumps(kind) if isinstance(kind, list) else str(kind),
                "yes" if name in required else "",
                spec.get("description", ""),
            ]
        )
    return rows


def _data_model() -> Files:
    schemas = load_schemas()
    published = sorted(path.name for path in schema_dir().glob("*.schema.json"))
    lines = [
        "# Data model",
        "",
        "Each file of the estate holds one document of one kind. The JSON Schemas are published beside this page:",
        "",
        *(f"- [{text(name)}](../schemas/{name})" for name in published),
        "",
    ]
    for kind in KINDS:
        schema = schemas[schema_uri(kind)]
        file_name = schema["$id"].rsplit("/", 1)[-1]
        lines += [
            f"## {text(kind)}",
            "",
            text(schema.get("description", "")),
            "",
            f"Schema: [{text(file_name)}](../schemas/{file_name}) (`{schema['$id']}`)",
            table(["Key", "Type", "Required", "Meaning"], _schema_rows(schema, schema)),
        ]
        for name, definition in schema.get("$defs", {}).items():
            if "properties" in definition:
                lines += [
                    f"### {text(kind)}: {text(name)}",
                    table(["Key", "Type", "Required", "Meaning"], _schema_rows(schema, definition)),
                ]
    return {"reference/data-model.md": "\n".join(lines) + "\n"}


# A host serves the 404 page for a missing address at any depth (GitHub Pages: anywhere below /<repository>/),
# where its relative links would point below the site. The page finds the site's root (the nearest folder above
# it that holds the site's own script) and points its links and stylesheets there. It uses no data.
_FIND_ROOT = """<script>
(function () {
  "use strict";
  var here = window.location.pathname.replace(/[^/]*$/, ""), folders = [];
  for (var folder = here; folder; folder = folder.replace(/[^/]*\\/$/, "")) { folders.push(folder); }
  function repoint(root) {
    Array.prototype.forEach.call(document.querySelectorAll("link[href], a[href]"), function (node) {
      var href = node.getAttribute("href");
      if (!/^([a-z][a-z0-9+.-]*:|\\/|#)/i.test(href)) {
        node.setAttribute("href", new URL(href, window.location.origin + root).href);
      }
    });
  }
  (function probe(index) {
    if (index >= folders.length || window.location.protocol === "file:") { return; }
    fetch(folders[index] + "assets/calcheck.js", {method: "HEAD"}).then(function (response) {
      if (!response.ok) { probe(index + 1); } else if (folders[index] !== here) { repoint(folders[index]); }
    }, function () { probe(index + 1); });
  }(0));
}());
</script>"""


def _not_found() -> Files:
    """The page a host shows for a missing address: an ordinary page of the site (relative links), which points
    its links at the site's root when it is shown below it (see ``_FIND_ROOT``)."""
    return {
        "404.md": "---\nsearch:\n  exclude: true\n---\n\n# Page not found\n\n"
        "There is no page at this address. It may belong to a record that was removed or renamed.\n\n"
        "Go to the [dashboard](index.md), the [holdings](holdings.md) or the [findings](findings.md), "
        "or use the search.\n\n" + _FIND_ROOT + "\n"
    }


Renderer = Callable[[SiteInput], Files]
