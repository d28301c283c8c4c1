"""Import who holds which Online Services subscription, from the exports tenant admins have.

Two sources: the Microsoft 365 admin center's user export (Users > Active users > Export users: a CSV with
"User principal name" and "Licenses", the product names joined with "+"), and an Entra ID / Microsoft Graph export
of users with ``assignedLicenses`` (``Get-MgUser -Property userPrincipalName,assignedLicenses | ConvertTo-Json``, or
the REST response ``{"value": [...]}``), whose SKU ids (GUIDs) or part numbers (``SPE_E3``) are mapped to the
catalogue by the entries' ``skus``. Products the catalogue does not know are listed, never guessed.

People are matched by e-mail or id; each subscription a person holds becomes an assignment of the estate's
Online Services holding of that catalogue id (added when missing, kept when present), and assignments of
subscriptions the export no longer lists are ended the day before the export (not with --partial).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from calcheck.core.findings import Finding, Severity
from calcheck.edits.csvinput import decode_export, read_export
from calcheck.edits.importing import Files, person_id
from calcheck.edits.operations import Change
from calcheck.edits.yamledit import next_id, read_back
from calcheck.estate.model import Cal, Holding, Person
from calcheck.licensing import subscriptions as online
from calcheck.licensing.coverage import in_force
from calcheck.licensing.engine import CheckResult

RULE = "import"
SOURCES = ("m365", "graph")
# The admin center joins product names with "+"; a name itself may contain " + " ("Enterprise Mobility + Security").
_JOINED = re.compile(r"(?<! )\+(?! )")
_TENANT_SKU = re.compile(r"^[A-Za-z0-9.-]+:([A-Za-z0-9_]+)$")  # older exports: "contoso:ENTERPRISEPACK"


@dataclass(slots=True)
class LicenceRow:
    """One user of the export: where it is, who, and the products assigned (as the export names them)."""

    line: int
    user: str
    products: list[str]


@dataclass
class SubscriptionPlan:
    changes: list[Change] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)
    added: list[str] = field(default_factory=list)  # assignment ids
    kept: int = 0
    ended: list[str] = field(default_factory=list)  # assignment ids
    unmatched: list[str] = field(default_factory=list)  # users of the export not in the estate
    unknown: dict[str, int] = field(default_factory=dict)  # product as exported -> users
    users: int = 0


def _problem(path: str, line: int, column: int, message: str, hint: str) -> Finding:
    return Finding(RULE, Severity.ERROR, path, line, column, message, hint)


def detect(path: Path) -> str:
    """'graph' for a JSON export, else 'm365'."""
    head = path.read_bytes()[:64].lstrip(b"\xef\xbb\xbf\xff\xfe \t\r\n\x00")
    return "graph" if path.suffix.lower() == ".json" or head[:1] in (b"{", b"[") else "m365"


def read_m365(path: Path) -> tuple[list[LicenceRow], list[Finding]]:
    """The admin center's user export: one row per user, products in the Licenses column."""
    export = read_export(path, RULE)
    if isinstance(export, Finding):
        return [], [export]
    if export.header is None:
        return [], [_problem(str(path), 1, 1, "the file is empty", "export the users again")]
    columns = {re.sub(r"[^a-z0-9]", "", h.lower()): i for i, h in enumerate(export.header)}
    user, licences = columns.get("userprincipalname"), columns.get("licenses")
    if user is None or licences is None:
        return [], [
            _problem(
                str(path),
                export.header_line,
                1,
                "missing column(s) 'User principal name' and 'Licenses'",
                "export from the Microsoft 365 admin center: Users > Active users > Export users",
            )
        ]
    rows = []
    for line, cells in export.rows:
        upn = cells[user].strip() if user < len(cells) else ""
        text = cells[licences].strip() if licences < len(cells) else ""
        products = [p.strip() for p in _JOINED.split(text) if p.strip() and p.strip().casefold() != "unlicensed"]
        rows.append(LicenceRow(line, upn, products))
    return rows, []


def _value(record: dict[str, Any], *names: str) -> Any:
    folded = {str(k).lower(): v for k, v in record.items()}
    return next((folded[n] for n in names if n in folded), None)


def _elements(text: str, start: int) -> list[tuple[int, Any]]:
    """(offset, value) of each element of the JSON array that opens at ``start``."""
    decoder = json.JSONDecoder()
    found: list[tuple[int, Any]] = []
    index = start + 1
    while True:
        while index < len(text) and text[index] in " \t\r\n,":
            index += 1
        if index >= len(text) or text[index] == "]":
            return found
        value, end = decoder.raw_decode(text, index)
        found.append((index, value))
        index = end


def read_graph(path: Path) -> tuple[list[LicenceRow], list[Finding]]:
    """Users with assignedLicenses, as a JSON array or a Graph response ({"value": [...]})."""
    shown = str(path)
    text, bad = decode_export(path.read_bytes())
    if bad is not None:
        return [], [_problem(shown, bad[0], bad[1], "not UTF-8 text", "save the export as UTF-8 and give it again")]
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        return [], [_problem(shown, error.lineno, error.colno, f"not JSON: {error.msg}", "export it again")]
    except RecursionError:
        return [], [_problem(shown, 1, 1, "not JSON this tool reads: nested too deeply", "export it again")]
    if isinstance(document, dict) and isinstance(document.get("value"), list):
        records, match = document["value"], re.search(r'"value"\s*:\s*\[', text)
        start = match.end() - 1 if match else -1
    elif isinstance(document, list):
        records, start = document, text.index("[")
    else:
        return [], [_problem(shown, 1, 1, "expected a list of users", "export the users with ConvertTo-Json")]
    return _graph_rows(shown, text, records, _offsets(text, start, records))


def _offsets(text: str, start: int, records: list[Any]) -> list[int]:
    """Where each record starts in the text, or nothing when that cannot be told for certain."""
    try:
        found = _elements(text, start) if start >= 0 else []
    except (json.JSONDecodeError, RecursionError):
        found = []
    return [o for o, _ in found] if [v for _, v in found] == records else [0] * len(records)


def _graph_rows(
    shown: str, text: str, records: list[Any], offsets: list[int]
) -> tuple[list[LicenceRow], list[Finding]]:
    rows: list[LicenceRow] = []
    problems: list[Finding] = []
    for offset, record in zip(offsets, records, strict=True):
        line = text.count("\n", 0, offset) + 1
        column = offset - text.rfind("\n", 0, offset)
        if not isinstance(record, dict):
            problems.append(_problem(shown, line, column, "a user entry that is not an object", "export it again"))
            continue
        user = _value(record, "userprincipalname", "mail")
        licences = _value(record, "assignedlicenses", "licensedetails")
        if not isinstance(user, str) or not isinstance(licences, list):
            problems.append(
                _problem(
                    shown,
                    line,
                    column,
                    "a user without userPrincipalName or assignedLicenses",
                    "export with -Property userPrincipalName,assignedLicenses",
                )
            )
            continue
        products = []
        for licence in licences:
            sku = _value(licence, "skupartnumber", "skuid") if isinstance(licence, dict) else None
            if isinstance(sku, str) and sku.strip():
                products.append(sku.strip())
        rows.append(LicenceRow(line, user.strip(), products))
    return rows, problems


class SkuIndex:
    """Catalogue subscriptions by product name, alias, SKU part number and SKU id (case-insensitive)."""

    def __init__(self, cals: dict[str, Cal]) -> None:
        self.by_key: dict[str, str] = {}
        for cal in cals.values():
            if cal.offering == online.SUBSCRIPTION:
                for key in (cal.name, *cal.aliases, *cal.skus):
                    self.by_key.setdefault(key.casefold(), cal.id)

    def find(self, product: str) -> str | None:
        tenant = _TENANT_SKU.match(product)
        key = tenant.group(1) if tenant else product
        return self.by_key.get(key.casefold())


def _people_by_login(people: dict[str, Person]) -> dict[str, Person]:
    found = {p.email.casefold(): p for p in people.values() if p.email}
    for person in people.values():
        found.setdefault(person.id.casefold(), person)
    return found


def _holding_for(cal_id: str, holdings: list[Holding], on: dt.date) -> Holding | None:
    """The holding new assignments of ``cal_id`` go to: the one in force longest, then by id."""
    mine = [h for h in holdings if h.cal == cal_id and online.entitlement_problem(h, on) is None]
    mine.sort(key=lambda h: (h.subscription_until or dt.date.min, h.id), reverse=True)
    return mine[0] if mine else None


def _wanted(
    rows: list[LicenceRow], people: dict[str, Person], index: SkuIndex, plan: SubscriptionPlan
) -> dict[tuple[str, str], int]:
    """(person id, catalogue id) -> export line, for every subscription the export assigns to a known person."""
    logins = _people_by_login(people)
    unknown: dict[str, int] = defaultdict(int)
    wanted: dict[tuple[str, str], int] = {}
    for row in rows:
        person = logins.get(row.user.casefold()) or people.get(person_id("entra", row.user))
        found = [(product, index.find(product)) for product in row.products]
        for product, cal_id in found:
            if cal_id is None:
                unknown[product] += 1
        if person is None:
            if any(cal_id for _, cal_id in found):
                plan.unmatched.append(row.user)  # holds CAL rights, but the estate does not know them
            continue
        plan.users += 1
        for _, cal_id in found:
            if cal_id is not None:
                wanted.setdefault((person.id, cal_id), row.line)
    plan.unknown = dict(sorted(unknown.items(), key=lambda item: (-item[1], item[0])))
    return wanted


def plan_subscriptions(
    result: CheckResult,
    estate: Path,
    path: Path,
    source: str,
    on: dt.date,
    target: Path | None,
    partial: bool = False,
) -> SubscriptionPlan:
    """Plan the assignments an export of subscription assignments calls for (nothing is written here)."""
    source = detect(path) if source == "auto" else source
    rows, problems = read_graph(path) if source == "graph" else read_m365(path)
    plan = SubscriptionPlan(problems=problems)
    if problems:
        return plan
    model = result.estate
    cals: dict[str, Cal] = model.index("cals")
    holdings = [h for h in model.index("holdings").values() if h.cal in cals and online.is_online(h, cals)]
    wanted = _wanted(rows, model.index("people"), SkuIndex(cals), plan)
    current: dict[tuple[str, str], list[str]] = defaultdict(list)
    by_holding = {h.id: h for h in holdings}
    assignments = model.index("assignments")
    for assignment in assignments.values():
        holding = by_holding.get(assignment.holding)
        if holding is not None and assignment.person and in_force(assignment, on):
            current[(assignment.person, holding.cal)].append(assignment.id)
    missing = _missing_holdings(wanted, holdings, on, cals, str(path))
    if missing:
        plan.problems = missing
        return plan
    new: list[dict[str, Any]] = []
    ids = list(assignments)
    for (person, cal_id), _line in sorted(wanted.items()):
        if current.get((person, cal_id)):
            plan.kept += 1
            continue
        holding = _holding_for(cal_id, holdings, on)
        assert holding is not None  # _missing_holdings checked
        identifier = next_id(ids)
        ids.append(identifier)
        new.append({"id": identifier, "holding": holding.id, "person": person, "since": on})
        plan.added.append(identifier)
    ending = [] if partial else _to_end(current, wanted, cals)
    plan.ended = ending
    plan.changes = _changes(result, ending, new, on, target or estate / "assignments" / "online-services.yaml")
    return plan


def _missing_holdings(
    wanted: dict[tuple[str, str], int], holdings: list[Holding], on: dt.date, cals: dict[str, Cal], shown: str
) -> list[Finding]:
    problems: list[Finding] = []
    lines: dict[str, list[int]] = defaultdict(list)
    for (_, cal_id), line in wanted.items():
        lines[cal_id].append(line)
    for cal_id, found in sorted(lines.items()):
        if _holding_for(cal_id, holdings, on) is None:
            problems.append(
                _problem(
                    shown,
                    min(found),
                    1,
                    f"{len(found)} user(s) hold {cals[cal_id].name}, but the estate has no holding of it in force "
                    f"on {on}",
                    f"add a holding (cal: {cal_id}, channel: online-services, subscription_until: ...) first",
                )
            )
    return problems


def _to_end(
    current: dict[tuple[str, str], list[str]], wanted: dict[tuple[str, str], int], cals: dict[str, Cal]
) -> list[str]:
    """Assignments of subscriptions the export no longer lists (Bridges never appear in a tenant export)."""
    return sorted(
        a
        for key, found in current.items()
        if key not in wanted and cals[key[1]].offering == online.SUBSCRIPTION
        for a in found
    )


def _changes(
    result: CheckResult, ending: list[str], new: list[dict[str, Any]], on: dt.date, target: Path
) -> list[Change]:
    files = Files("assignments", read_back)  # edited as text where that reads back exactly, as people imports are
    assignments = result.estate.index("assignments")
    for assignment_id in ending:
        held, record = files.record(assignments[assignment_id].source.path, assignment_id)
        held.set(record, "until", on - dt.timedelta(days=1), "since")
    changes: list[Change] = []
    if new and target.exists():
        files.new[target] = new  # in the style of the file's records
    elif new:
        body = "".join(
            f"  - {{id: {v['id']}, holding: {v['holding']}, person: {v['person']}, since: {v['since']}}}\n" for v in new
        )
        changes.append(Change(target, "", "kind: assignments\nassignments:\n" + body, "", None))
    changes += files.changes()
    return sorted(changes, key=lambda c: str(c.path))
