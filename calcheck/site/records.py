"""Pages for the rest of the estate: agreements, deployments (one page each), audits and waivers."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING

from calcheck.estate.model import Deployment
from calcheck.licensing.access import Catalogue, Exemption, Subject
from calcheck.licensing.coverage import Coverage
from calcheck.licensing.engine import CheckResult
from calcheck.site.markup import WIDE, Layout, cell, link, script_data, slug, table, text

if TYPE_CHECKING:
    from calcheck.site.pages import Names

Files = dict[str, str]
LISTED = 2_000  # a deployment's reach is listed in full up to this many needs; beyond, only what needs action


def render(result: CheckResult, names: Names) -> Files:
    """The agreements, deployments, audits and waivers pages."""
    files: Files = {}
    files.update(_agreements(result))
    files.update(_deployments(result, names))
    files.update(_audits(result, names))
    files.update(_waivers(result, names))
    return files


def _agreements(result: CheckResult) -> Files:
    estate, as_of = result.estate, result.context.as_of
    agreements = estate.config.agreements if estate.config else ()
    by_agreement: dict[str, list[str]] = defaultdict(list)
    owned: dict[str, int] = defaultdict(int)
    for holding in estate.index("holdings").values():
        if holding.agreement:
            by_agreement[holding.agreement].append(link(f"holdings/{slug(holding.id)}.html", holding.id))
            owned[holding.agreement] += holding.quantity
    rows = [
        [
            cell(a.id),
            cell(a.type),
            cell(a.signed),
            cell(a.ends or ""),
            cell("ended" if a.ends is not None and a.ends < as_of else "in force"),
            owned[a.id],
            ", ".join(by_agreement[a.id]) or "none",
        ]
        for a in agreements
    ]
    headers = ["Agreement", "Type", "Signed", "Ends", "State", "CALs bought", "Holdings"]
    layout = Layout(
        id="agreements",
        numeric=frozenset({2, 3, 5}),
        keep=frozenset({1, 4}),
        row_ids=[slug(a.id) for a in agreements],
        page=100,
    )
    body = table(headers, rows, raw_columns=frozenset(range(7)), layout=layout) if rows else "\nNone recorded.\n"
    intro = "The licensing agreements CALs were bought under (from `calcheck.yaml`), with their holdings."
    return {"agreements.md": WIDE + f"# Agreements\n\n{intro}\n" + body}


Needs = list[Coverage] | list[Exemption]


@dataclass(slots=True)
class _Reach:
    """Who reaches one deployment, per CAL it requires: covered, not covered, exempt (and each need, for the list)."""

    subjects: set[Subject] = field(default_factory=set)
    counts: dict[str, list[int]] = field(default_factory=dict)  # CAL -> [covered, not covered, exempt]
    count: int = 0
    needs: list[tuple[Needs, int]] = field(default_factory=list)  # (needs, index of this deployment in each)
    open: list[tuple[Needs, int]] = field(default_factory=list)  # those not covered, and the exempt

    def cals(self) -> list[str]:
        return sorted(self.counts)

    def tally(self, cal: str, column: int) -> int:
        return self.counts.get(cal, [0, 0, 0])[column]

    def add(
        self, needs: Needs, index: int, counts: dict[str, list[int]], open_: Needs, subjects: Collection[Subject]
    ) -> None:
        self.subjects.update(subjects)
        for cal, numbers in counts.items():
            mine = self.counts.get(cal)
            if mine is None:
                self.counts[cal] = list(numbers)
            else:
                mine[0] += numbers[0]
                mine[1] += numbers[1]
                mine[2] += numbers[2]
        self.count += len(needs)
        self.needs.append((needs, index))
        if open_:
            self.open.append((open_, index))


def _reach(result: CheckResult) -> dict[str, _Reach]:
    """Each deployment's reach. Needs that share their deployments (people who reach them the same way share
    one computed tuple) are counted together, so most of the work is per group, not per person and deployment."""
    analysis = result.context.analysis
    reach: dict[str, _Reach] = defaultdict(_Reach)
    # by the identity of the deployments' tuple: its deployments, its needs, their counts by CAL and those not covered
    groups: dict[int, tuple[tuple[Deployment, ...], list[Coverage], dict[str, list[int]], list[Coverage]]] = {}
    for coverage in analysis.coverages:
        need = coverage.need
        group = groups.get(id(need.deployments))
        if group is None:
            group = groups[id(need.deployments)] = (need.deployments, [], {}, [])
        group[1].append(coverage)
        numbers = group[2].get(need.cal)
        if numbers is None:
            numbers = group[2][need.cal] = [0, 0, 0]
        if coverage.satisfied:
            numbers[0] += 1
        else:
            numbers[1] += 1
            group[3].append(coverage)
    for deployments, coverages, counts, short in groups.values():
        subjects = {c.need.subject for c in coverages}  # a set once: each deployment's set takes its hashes as they are
        for index, deployment in enumerate(deployments):
            reach[deployment.id].add(coverages, index, counts, short, subjects)
    for exemption in analysis.exemptions:
        need = exemption.need
        reach[need.deployment.id].add([exemption], 0, {need.cal: [0, 0, 1]}, [exemption], [need.subject])
    return reach


def _reach_rows(result: CheckResult, entry: _Reach, names: Names) -> tuple[list[list[str]], bool]:
    """The rows of a deployment's reach table, and whether they are all of them (else only those not covered)."""
    people = result.estate.index("people")
    complete = entry.count <= LISTED
    rows = []
    for items, index in entry.needs if complete else entry.open:
        for item in items:
            need = item.need
            if isinstance(item, Exemption):
                by, via = f"exempt: {item.reason}", ""
            else:
                by = item.covered_by.holding.id if item.covered_by is not None else ""
                if item.covered_by is None and item.connector is not None:
                    by = f"External Connector {item.connector.id}"
                via = need.vias[index] if index < len(need.vias) else ""
            kind, subject = need.subject
            person = people.get(subject) if kind == "person" else None
            shown = names.id(subject) if kind == "person" else subject
            name = person.name if person is not None and not names.enabled else shown if kind == "person" else ""
            rows.append([shown, name, kind, need.cal, need.version or "", by or "not covered", via])
    rows.sort()
    return rows, complete


def _deployments(result: CheckResult, names: Names) -> Files:
    estate = result.estate
    deployments = list(estate.index("deployments").values())
    reach = _reach(result)
    cat = Catalogue(estate)
    files: Files = {}
    rows = []
    for dep in deployments:
        entry = reach.get(dep.id, _Reach())
        short = sum(numbers[1] for numbers in entry.counts.values())
        people = Counter(map(itemgetter(0), entry.subjects))["person"]  # (counted in C: a reach of 100,000)
        rows.append(
            [
                link(f"deployments/{slug(dep.id)}.html", dep.id),
                cell(dep.name),
                cell(dep.product),
                cell(dep.version),
                cell(dep.edition or ""),
                cell(dep.rds_licensing_mode or ""),
                people,
                len(entry.subjects) - people,
                cell(", ".join(cat.name(c) for c in entry.cals())),
                short,
            ]
        )
        files.update(_deployment_page(dep, entry, cat, names, _reach_rows(result, entry, names)))
    headers = ["Deployment", "Name", "Product", "Version", "Edition", "RDS licensing", "People", "Devices",
               "CALs required", "Not covered"]  # fmt: skip
    layout = Layout(
        id="deployments",
        numeric=frozenset({3, 6, 7, 9}),
        keep=frozenset({5}),
        filters=frozenset({2}),
        page=100,
        row_classes=["cc-short" if row[-1] else "" for row in rows],
    )
    body = table(headers, rows, raw_columns=frozenset(range(10)), layout=layout) if rows else "\nNone recorded.\n"
    intro = (
        "Every server and service, who reaches it and which CALs that requires. Deployments with people or devices "
        "whose CALs are not covered are highlighted."
    )
    files["deployments.md"] = WIDE + f"# Deployments\n\n{intro}\n" + body
    return files


def _access(dep: Deployment, names: Names) -> str:
    access = dep.access
    parts = ["everyone (employees and contractors)"] if access.everyone else []
    parts += [f"group {g}" for g in access.groups] + [f"department {d}" for d in access.departments]
    parts += [f"person {names.id(p)}" for p in access.people] + [f"device {d}" for d in access.devices]
    return ", ".join(parts) or "nobody listed"


def _deployment_page(
    dep: Deployment, entry: _Reach, cat: Catalogue, names: Names, listed: tuple[list[list[str]], bool]
) -> Files:
    name = slug(dep.id)
    facts = [
        ("Name", dep.name),
        ("Product", dep.product),
        ("Version", dep.version),
        ("Edition", dep.edition or ""),
        ("Operating system version", dep.os_version or ""),
        ("Roles", ", ".join(dep.roles)),
        ("Features", ", ".join(dep.features)),
        ("RDS licensing mode", dep.rds_licensing_mode or ""),
        ("RDS licensing server", dep.rds_licensing_server or ""),
        ("Hosts", ", ".join(dep.hosts)),
        ("Administrators", ", ".join(names.id(a) for a in dep.administrators)),
        ("Only hosts virtual machines", "yes" if dep.vm_host_only else ""),
        ("External Connectors", ", ".join(dep.external_connectors)),
        ("Tags", ", ".join(dep.tags)),
        ("Who may reach it", _access(dep, names)),
    ]
    needs = [
        [
            cat.name(cal),
            entry.tally(cal, 0) + entry.tally(cal, 1),
            entry.tally(cal, 0),
            entry.tally(cal, 1),
            entry.tally(cal, 2),
        ]
        for cal in entry.cals()
    ]
    rows, complete = listed
    columns = ["Id", "Name", "Kind", "CAL", "Version", "Covered by", "How it reaches"]
    data = {"columns": columns, "rows": rows, "keep": [2], "filters": [2, 3], "page": 50}
    what = (
        "Every CAL need of the people and devices that reach it, and what covers it."
        if complete
        else f"Its {entry.count} CAL needs are too many to list here: these are the {len(rows)} that are not "
        "covered. The counts above cover every need."
    )
    lines = [
        WIDE + f"# Deployment {text(dep.id)}",
        "",
        table(["Field", "Value"], facts, layout=Layout(sortable=False)),
        "## CALs it requires",
        "",
        f"{len(entry.subjects)} people and devices reach it.",
        table(
            ["CAL", "Needed by", "Covered", "Not covered", "Exempt"],
            needs,
            layout=Layout(numeric=frozenset({1, 2, 3, 4}), row_classes=["cc-short" if n[3] else "" for n in needs]),
        )
        if needs
        else "\nNobody needs a CAL for it.\n",
        "## Who reaches it",
        "",
        what,
        "",
        f'<div class="cc-table" data-source="deployment-{name}"></div>',
        f'<noscript><p class="cc-noscript">This table lists {len(rows)} CAL needs of the people and '
        "devices that reach this deployment; it needs JavaScript.</p></noscript>",
        f'<script src="../data/deployment-{name}.js"></script>',
    ]
    return {
        f"deployments/{name}.md": "\n".join(lines) + "\n",
        f"data/deployment-{name}.js": script_data(f"deployment-{name}", data),
    }


def _audits(result: CheckResult, names: Names) -> Files:
    audits = sorted(result.estate.index("audits").values(), key=lambda a: (a.date, a.id), reverse=True)
    rows = [
        [
            a.id,
            str(a.date),
            names.scrub(a.auditor),
            a.type,
            a.result,
            names.scrub(a.scope or ""),
            names.scrub(a.notes or ""),
            a.revision or "",
            ", ".join(f"{pool}: {count}" for pool, count in sorted(a.position.items())),
        ]
        for a in audits
    ]
    headers = ["Audit", "Date", "Auditor", "Type", "Result", "Scope", "Notes", "Revision", "Shortfall recorded"]
    layout = Layout(
        id="audits",
        numeric=frozenset({1}),
        keep=frozenset({3, 4}),
        filters=frozenset({3, 4}),
        page=50,
        row_classes=["cc-short" if a.result == "non-compliant" else "" for a in audits],
    )
    body = table(headers, rows, layout=layout) if rows else "\nNo audit is recorded.\n"
    intro = "Audits and reconciliations of the estate, newest first, with their scope and notes."
    return {"audits.md": WIDE + f"# Audits\n\n{intro}\n" + body}


def _waivers(result: CheckResult, names: Names) -> Files:
    as_of = result.context.as_of
    waivers = list(result.estate.index("waivers").values())
    rows = [
        [
            w.id,
            w.rule,
            ", ".join(names.id(r) for r in w.records) or "all records",
            names.scrub(w.owner),
            names.scrub(w.reason),
            str(w.expires),
            "expired" if w.expires < as_of else "in force",
        ]
        for w in waivers
    ]
    headers = ["Waiver", "Rule", "Records", "Owner", "Reason", "Expires", "State"]
    layout = Layout(
        id="waivers",
        numeric=frozenset({5}),
        keep=frozenset({6}),
        filters=frozenset({1, 6}),
        page=50,
        row_classes=["cc-short" if w.expires < as_of else "" for w in waivers],
    )
    body = table(headers, rows, layout=layout) if rows else "\nNo waiver is recorded.\n"
    intro = (
        f"Recorded, expiring exceptions to a rule; {len(result.waived)} findings are waived "
        "(listed with the [findings](findings.md#waived-findings)). Expired waivers are highlighted."
    )
    return {"waivers.md": WIDE + f"# Waivers\n\n{intro}\n" + body}
