"""Render the compliance site's pages: pure, from a checked estate (and its history) to files by path.

Every string from the estate passes through ``markup`` before it reaches Markdown, HTML, SVG or the
JavaScript data files; tables of people, devices and assignments are data files that the page's own
script renders with ``textContent``, so they stay fast for tens of thousands of rows.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from calcheck.core.findings import Finding, Severity
from calcheck.estate.kinds import KINDS
from calcheck.estate.model import Estate, Holding
from calcheck.estate.schema import load_schemas, schema_uri
from calcheck.git.history import Entry
from calcheck.licensing.engine import CheckResult
from calcheck.licensing.rules import REGISTRY
from calcheck.licensing.rules.example import load_example
from calcheck.outputs.report import money
from calcheck.site import bygroup, charts
from calcheck.site.markup import cell, link, script_data, slug, table, text

Files = dict[str, str]
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]*")


@dataclass(frozen=True, slots=True)
class TrendPoint:
    label: str
    owned: int
    assigned: int
    required: int
    shortfall: int


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
        self.map = (
            {p.id: f"person-{hashlib.sha256(p.id.encode()).hexdigest()[:8]}" for p in estate.index("people").values()}
            if self.enabled
            else {}
        )

    def id(self, person_id: str) -> str:
        return self.map.get(person_id, person_id)

    def scrub(self, sentence: str) -> str:
        """Replace person ids inside generated sentences (messages, history) by pseudonyms."""
        if not self.enabled:
            return sentence
        return _TOKEN.sub(lambda m: self.map.get(m.group(0), m.group(0)), sentence)


def render_site(data: SiteInput) -> Files:
    """Every generated file of the site, by path relative to the docs folder."""
    names = Names(data.result.estate)
    files: Files = {}
    files.update(_dashboard(data))
    files.update(_holdings(data, names))
    files.update(bygroup.render(data.result))  # the position by department and cost centre (issue 18)
    files.update(_directory(data, names))
    files.update(_findings(data, names))
    files.update(_history(data, names))
    files.update(_rules_reference())
    files.update(_data_model())
    return files


def _severity_counts(findings: list[Finding]) -> dict[Severity, int]:
    counts: dict[Severity, int] = defaultdict(int)
    for finding in findings:
        counts[finding.severity] += 1
    return counts


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
    lines = [
        f"# {text(organisation)}",
        "",
        f'<p class="cc-verdict cc-{"ok" if compliant else "fail"}" id="verdict">{verdict}</p>',
        "",
        f"Effective License Position as of **{position.as_of}**.",
        "",
        '<dl class="cc-numbers" id="key-numbers">'
        + "".join(f'<div><dt>{cell(k)}</dt><dd data-key="{cell(k)}">{cell(v)}</dd></div>' for k, v in numbers)
        + "</dl>",
        "",
        "## Position by CAL pool",
        _elp_table(result),
        "## Position over time",
        "",
    ]
    files: Files = {}
    if data.trend:
        files["charts/position.svg"] = charts.line_chart(
            "Owned, assigned, required and shortfall over time",
            [p.label for p in data.trend],
            {
                "owned": [p.owned for p in data.trend],
                "assigned": [p.assigned for p in data.trend],
                "required": [p.required for p in data.trend],
                "shortfall": [p.shortfall for p in data.trend],
            },
        )
        lines.append("![Position over time](charts/position.svg)")
    else:
        lines.append("No git history is available for this estate.")
    lines += ["", f"See the [findings](findings.md) ({len(result.findings)}) and the [holdings](holdings.md)."]
    files["index.md"] = "\n".join(lines) + "\n"
    return files


def _elp_table(result: CheckResult) -> str:
    position = result.context.position
    rows = [
        [
            p.label,
            p.kind,
            *p.counts(),
            money(p.shortfall_cost, position.currency),
        ]
        for p in position.pools
    ]
    rows.append(
        [
            "Total",
            "",
            *position.totals(),
            money(position.shortfall_cost, position.currency),
        ]
    )
    headers = ["CAL pool", "Kind", "Owned", "Assigned", "Required", "Surplus", "Shortfall", "Reclaimable", "Cost"]
    return table(headers, rows).replace("<table>", '<table id="elp">', 1)


def _holding_rows(data: SiteInput) -> list[list[Any]]:
    analysis = data.result.context.analysis
    rows = []
    for holding in data.result.estate.index("holdings").values():
        assigned = len(analysis.in_force.get(holding.id, []))
        rows.append(
            [
                link(f"holdings/{slug(holding.id)}.md".replace(".md", ".html"), holding.id),
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
    headers = [
        "Holding",
        "CAL",
        "Version",
        "Type",
        "Quantity",
        "Assigned",
        "Channel",
        "Purchased",
        "SA or term end",
        "Proof of purchase",
    ]
    files: Files = {
        "holdings.md": "# Holdings\n\nEvery CAL purchase, with its proof of purchase.\n"
        + table(headers, _holding_rows(data), raw_columns=frozenset(range(10)))
    }
    for holding in data.result.estate.index("holdings").values():
        files.update(_holding_page(data, holding, names))
    return files


def _holding_page(data: SiteInput, holding: Holding, names: Names) -> Files:
    name = slug(holding.id)
    analysis = data.result.context.analysis
    assigned = analysis.in_force.get(holding.id, [])
    pool = next((p for p in data.result.context.position.pools if holding.id in p.holdings), None)
    facts = [
        ("CAL", holding.cal),
        ("Kind", holding.kind or ""),
        ("Version", holding.version or ""),
        ("Type", holding.type),
        ("Quantity", holding.quantity),
        ("Channel", holding.channel),
        ("Agreement", holding.agreement or ""),
        ("Purchased", holding.purchased),
        ("Software Assurance until", holding.sa_until or ""),
        ("Subscription until", holding.subscription_until or ""),
        ("Unit price", holding.unit_price or ""),
        ("Currency", holding.currency or ""),
        ("Owner", holding.owner or ""),
        ("Tags", ", ".join(holding.tags)),
        ("Entitlement", analysis.entitlement.get(holding.id) or "in force"),
    ]
    proofs = []
    for proof in holding.proofs:
        published = data.published_proofs.get(proof.file or "")
        document = link(f"../{published}", proof.file) if published else cell(proof.file or "")
        state = proof.file_state.value if proof.file_state else ""
        proofs.append([cell(proof.type), cell(proof.ref), cell(proof.date or ""), document, cell(state)])
    rows = [
        [
            a.id,
            names.id(a.assignee[1]) if a.person else a.assignee[1],
            a.assignee[0],
            str(a.since),
            str(a.until or ""),
            a.reason or "",
        ]
        for a in sorted(assigned, key=lambda a: a.id)
    ]
    files: Files = {
        f"data/holding-{name}.js": script_data(
            f"holding-{name}", {"columns": ["Assignment", "Assignee", "Kind", "Since", "Until", "Reason"], "rows": rows}
        ),
        f"charts/holding-{name}.svg": charts.usage_bar(holding.quantity, len(assigned), pool.required if pool else 0),
    }
    history = [e.only(holding.id) for e in data.history]
    history_rows = [
        [str(e.date.date()), e.short, names.scrub(e.author), names.scrub("; ".join(ev.text for ev in e.events))]
        for e in history
        if e.events
    ]
    lines = [
        f"# Holding {text(holding.id)}",
        "",
        table(["Field", "Value"], facts),
        "## Proof of purchase",
        table(["Type", "Reference", "Date", "Document", "File check"], proofs, raw_columns=frozenset(range(5)))
        if proofs
        else "\nNo proof of purchase is recorded.\n",
        "## Utilisation",
        "",
        f"![Utilisation of {text(holding.id)}](../charts/holding-{name}.svg)",
        "",
        "## Assignments in force",
        "",
        f'<div class="cc-table" data-source="holding-{name}"></div>',
        f'<script src="../data/holding-{name}.js"></script>',
        "",
        "## Change history",
        table(["Date", "Commit", "Author", "What changed"], history_rows)
        if history_rows
        else "\nNo recorded changes.\n",
    ]
    files[f"holdings/{name}.md"] = "\n".join(lines) + "\n"
    return files


def _directory(data: SiteInput, names: Names) -> Files:
    estate = data.result.estate
    held: dict[tuple[str, str], list[str]] = defaultdict(list)
    for subject, assignments in data.result.context.analysis.by_subject.items():
        held[subject] = sorted(
            {a.holding for a in assignments if a.until is None or a.until >= data.result.context.as_of}
        )
    people = [
        [
            names.id(p.id),
            names.id(p.id) if names.enabled else p.name,
            p.kind,
            p.status,
            p.department or "",
            ", ".join(held.get(("person", p.id), [])),
        ]
        for p in estate.index("people").values()
    ]
    devices = [
        [d.id, d.name or "", d.kind, d.status, d.department or "", ", ".join(held.get(("device", d.id), []))]
        for d in estate.index("devices").values()
    ]
    files: Files = {}
    for page, title, columns, rows in (
        ("people", "People", ["Person", "Name", "Kind", "Status", "Department", "CALs held"], people),
        ("devices", "Devices", ["Device", "Name", "Kind", "Status", "Department", "CALs held"], devices),
    ):
        files[f"data/{page}.js"] = script_data(page, {"columns": columns, "rows": rows})
        files[f"{page}.md"] = (
            f"# {title}\n\n{len(rows)} records. Type in the box to filter; click a column heading to sort.\n\n"
            f'<div class="cc-table" data-source="{page}"></div>\n<script src="data/{page}.js"></script>\n'
        )
    return files


def _findings(data: SiteInput, names: Names) -> Files:
    result = data.result

    def rows(findings: list[Finding]) -> list[list[str]]:
        return [
            [
                cell(f.severity.label),
                link(f"reference/rules.html#{f.rule}", f.rule),
                cell(f"{f.path}:{f.line}:{f.column}"),
                cell(names.scrub(f.message)),
                cell(names.scrub(f.hint)),
                cell(REGISTRY[f.rule].source if f.rule in REGISTRY else ""),
            ]
            for f in findings
        ]

    headers = ["Severity", "Rule", "Where", "Finding", "What to do", "Source"]
    waivers = [
        [
            w.id,
            w.rule,
            ", ".join(w.records) or "all records",
            w.owner,
            w.reason,
            str(w.expires),
            "expired" if w.expires < result.context.as_of else "in force",
        ]
        for w in result.estate.index("waivers").values()
    ]
    audits = [
        [a.id, str(a.date), a.auditor, a.type, a.scope or "", a.result]
        for a in sorted(result.estate.index("audits").values(), key=lambda a: a.date, reverse=True)
    ]
    lines = [
        "# Findings, waivers and audits",
        "",
        f"As of {result.context.as_of}: {len(result.findings)} findings, {len(result.waived)} waived.",
        "",
        "## Findings",
        table(headers, rows(result.findings), raw_columns=frozenset(range(6))) if result.findings else "\nNone.\n",
        "## Waived findings",
        table(headers, rows(result.waived), raw_columns=frozenset(range(6))) if result.waived else "\nNone.\n",
        "## Waivers",
        table(["Waiver", "Rule", "Records", "Owner", "Reason", "Expires", "State"], waivers)
        if waivers
        else "\nNone.\n",
        "## Audits",
        table(["Audit", "Date", "Auditor", "Type", "Scope", "Result"], audits) if audits else "\nNone.\n",
    ]
    return {"findings.md": "\n".join(lines) + "\n"}


def _commit_link(repo_url: str | None, sha: str) -> str:
    if repo_url and re.fullmatch(r"https://[A-Za-z0-9.-]+(/[A-Za-z0-9._~-]+)+", repo_url):
        return f'<a href="{cell(repo_url)}/commit/{sha}">{sha[:7]}</a>'
    return f"<code>{sha[:7]}</code>"


def _history(data: SiteInput, names: Names) -> Files:
    rows = [
        [
            cell(e.date.date()),
            _commit_link(data.repo_url, e.sha),
            cell(names.scrub(e.author)),
            cell(e.title),
            "<br>".join(cell(names.scrub(ev.text)) for ev in e.events),
        ]
        for e in reversed(data.history)
        if e.events
    ]
    body = table(["Date", "Commit", "Author", "Change", "What it did"], rows, raw_columns=frozenset(range(5)))
    intro = "The estate's change log, newest first, in licensing terms."
    return {"history.md": f"# Change history\n\n{intro}\n" + (body if rows else "\nNo git history is available.\n")}


def _rules_reference() -> Files:
    lines = ["# Rules", "", "Every rule calcheck applies, with its licensing source and examples.", ""]
    for rule in REGISTRY.values():
        lines += [
            f'<h2 id="{rule.id}">{cell(rule.id)}: {cell(rule.title)}</h2>',
            "",
            f"Severity **{rule.severity.label}**, source {text(rule.source)}.",
            "",
            text(rule.docs),
            "",
        ]
        example = load_example(rule.id)
        if example is not None:
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
    lines = [
        "# Data model",
        "",
        "Each file of the estate holds one document of one kind. The JSON Schemas are "
        "published beside this page ([schemas/](../schemas/config.schema.json)).",
        "",
    ]
    for kind in KINDS:
        schema = schemas[schema_uri(kind)]
        lines += [
            f"## {text(kind)}",
            "",
            text(schema.get("description", "")),
            "",
            f"Schema: `{schema['$id']}`",
            table(["Key", "Type", "Required", "Meaning"], _schema_rows(schema, schema)),
        ]
        for name, definition in schema.get("$defs", {}).items():
            if "properties" in definition:
                lines += [
                    f"### {text(kind)}: {text(name)}",
                    table(["Key", "Type", "Required", "Meaning"], _schema_rows(schema, definition)),
                ]
    return {"reference/data-model.md": "\n".join(lines) + "\n"}


Renderer = Callable[[SiteInput], Files]
