"""Reconcile the estate with observed usage: RD Licensing per-user reports, User Access Logging, group membership.

Observed users without a covering CAL and per-user RDS over-allocation (which the licence server does not
enforce, RDS-03) are findings; CALs whose holders were not seen for a number of days are harvest candidates.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from calcheck.core.findings import Finding, Severity
from calcheck.core.progress import progress
from calcheck.edits.csvinput import read_export
from calcheck.licensing.access import Directory
from calcheck.licensing.coverage import in_force
from calcheck.licensing.engine import CheckResult

_E, _W, _I = Severity.ERROR, Severity.WARNING, Severity.INFO


@dataclass(frozen=True, slots=True)
class Observation:
    kind: str  # rds, ual, group
    user: str
    when: dt.date | None
    group: str | None
    path: str
    line: int


def _norm(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def _pick(columns: dict[str, int], *names: str) -> int | None:
    return next((columns[n] for n in names if n in columns), None)


def _date(text: str) -> dt.date | None:
    """A day from the date formats usage exports use (ISO 8601, US, and dotted European)."""
    text = text.strip()
    try:
        return dt.datetime.fromisoformat(text).date()  # also with a time, fractions, Z or an offset
    except ValueError:
        pass
    text = re.sub(r"(?<=:\d\d)\.\d+", "", text)  # fractional seconds after a time
    for pattern in (
        "%m/%d/%Y %I:%M:%S %p",
        "%m/%d/%Y %I:%M %p",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %H:%M",
        "%m/%d/%Y",
        "%d.%m.%Y %H:%M:%S",
        "%d.%m.%Y %H:%M",
        "%d.%m.%Y",
    ):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def read_usage(path: Path) -> tuple[list[Observation], list[Finding]]:
    """Observations from one usage export, its type told by its columns."""
    shown = str(path)
    export = read_export(path, "reconcile")
    if isinstance(export, Finding):
        return [], [export]
    header, skipped = export.header or [], export.header_line - 1
    columns = {_norm(h): i for i, h in enumerate(header)}
    user = _pick(
        columns, "issuedtouser", "issuedto", "username", "user", "samaccountname", "userprincipalname", "member"
    )
    group = _pick(columns, "groupname", "group")
    when = _pick(columns, "lastseen", "issuedon", "issueddate", "issuedate")
    if "issuedtouser" in columns or "issuedto" in columns:
        kind = "rds"
    elif group is not None:
        kind = "group"
    elif "lastseen" in columns or "rolename" in columns:
        kind = "ual"
    else:
        kind = ""
    if user is None or not kind:
        hint = "give an RD Licensing per-user report, a User Access Logging export or a group membership export"
        return [], [Finding("reconcile", _E, shown, 1 + skipped, 1, "unrecognised usage export", hint)]
    found: list[Observation] = []
    problems: list[Finding] = []
    for number, row in export.rows:
        name = row[user].strip() if user < len(row) else ""
        day = _date(row[when]) if when is not None and when < len(row) and row[when].strip() else None
        if not name:
            problems.append(Finding("reconcile", _E, shown, number, 1, "row without a user", "fill in the user column"))
            continue
        if when is not None and when < len(row) and row[when].strip() and day is None:
            problems.append(
                Finding(
                    "reconcile", _E, shown, number, 1, f"not a date: {row[when]!r}", "use the export's own date format"
                )
            )
            continue
        found.append(Observation(kind, name, day, row[group].strip() if group is not None else None, shown, number))
    return found, problems


def _matcher(result: CheckResult) -> dict[str, str]:
    """Observed user names (account, UPN, e-mail, its local part) -> person id."""
    names: dict[str, str] = {}
    for person in result.estate.index("people").values():
        names.setdefault(person.id.lower(), person.id)
        if person.email:
            names.setdefault(person.email.lower(), person.id)
            names.setdefault(person.email.split("@")[0].lower(), person.id)
    return names


def _who(raw: str, names: dict[str, str]) -> str | None:
    text = raw.strip().lower().split("\\")[-1]
    return names.get(text) or names.get(text.split("@")[0])


def reconcile(result: CheckResult, observations: list[Observation], unused_days: int) -> list[Finding]:
    """Findings from comparing observed usage with the estate."""
    names = _matcher(result)
    as_of = result.context.as_of
    directory = Directory(result.estate, as_of)
    granted: dict[str, set[str]] = defaultdict(set)
    holdings = result.estate.index("holdings")
    for assignment in result.estate.index("assignments").values():
        holding = holdings.get(assignment.holding)
        if holding is not None and assignment.person and in_force(assignment, as_of):
            granted[assignment.person].add(holding.cal)
    findings: list[Finding] = []
    rds_users: dict[str, Observation] = {}
    seen: dict[str, dt.date] = {}
    reached_by_group = {g for d in directory.deployments for g in d.access.groups}
    for obs in progress(observations, "observations"):
        person = _who(obs.user, names)
        if person is None:
            findings.append(
                Finding(
                    "observed-unknown",
                    _W,
                    obs.path,
                    obs.line,
                    1,
                    f"{obs.user} was observed ({obs.kind}) but is not in the estate",
                    "add the person to people/ (calcheck import people) and assign the CALs they need",
                )
            )
            continue
        if obs.when is not None:
            seen[person] = max(seen.get(person, obs.when), obs.when)
        if obs.kind == "rds":
            rds_users.setdefault(person, obs)
            needed = ("rds", "an RDS CAL")
        elif (obs.kind == "group" and obs.group in reached_by_group) or obs.kind == "ual":
            needed = ("windows-server", "a Windows Server CAL")
        else:
            continue
        cals = granted.get(person, set())
        suites = {c for c in cals if needed[0] in _components(result, c)}
        if needed[0] not in cals and not suites:
            status = "" if person in directory.people else " (not active in the estate)"
            findings.append(
                Finding(
                    "observed-uncovered",
                    _E,
                    obs.path,
                    obs.line,
                    1,
                    f"{person}{status} was observed ({obs.kind}) without {needed[1]}",
                    f"assign {needed[1]} to {person}, or remove their access",
                )
            )
    findings += _rds_overallocation(result, rds_users)
    findings += _harvest(result, seen, unused_days, bool(observations))
    return findings


def _components(result: CheckResult, cal_id: str) -> tuple[str, ...]:
    cal = result.estate.index("cals").get(cal_id)
    return cal.contains if cal is not None and cal.kind == "suite" else (cal_id,)


def _rds_overallocation(result: CheckResult, users: dict[str, Observation]) -> list[Finding]:
    as_of = result.context.as_of
    owned = sum(
        h.quantity
        for h in result.estate.index("holdings").values()
        if h.cal == "rds"
        and h.type == "user"
        and result.context.analysis.entitlement.get(h.id) is None
        and h.purchased <= as_of
    )
    if not users or len(users) <= owned:
        return []
    first = min(users.values(), key=lambda o: (o.path, o.line))
    return [
        Finding(
            "rds-per-user-overallocation",
            _E,
            first.path,
            first.line,
            1,
            f"{len(users)} distinct users hold per-user RDS CALs on the licence server, but {owned} are owned",
            f"buy {len(users) - owned} more per-user RDS CALs or remove users; the licence server does not "
            "enforce per-user CALs (RDS-03)",
        )
    ]


def _harvest(result: CheckResult, seen: dict[str, dt.date], days: int, observed: bool) -> list[Finding]:
    if not observed:
        return []
    as_of = result.context.as_of
    limit = as_of - dt.timedelta(days=days)
    findings = []
    for assignment in sorted(result.estate.index("assignments").values(), key=lambda a: a.id):
        person = assignment.person
        if person is None or not in_force(assignment, as_of) or assignment.since > limit:
            continue  # a CAL assigned within the period cannot have gone unused for all of it
        last = seen.get(person)
        if last is None or last < limit:
            since = f"last seen {last}" if last else "never seen in the usage data"
            findings.append(
                Finding(
                    "harvest-candidate",
                    _I,
                    assignment.source.path,
                    assignment.source.line,
                    assignment.source.column,
                    f"{assignment.id}: {person} holds a {assignment.holding} CAL but was {since} (over {days} days)",
                    "confirm the CAL is still needed; if not, end the assignment and reuse the CAL",
                )
            )
    return findings


def read_all(paths: list[Path]) -> tuple[list[Observation], list[Finding]]:
    observations: list[Observation] = []
    problems: list[Finding] = []
    for path in paths:
        found, bad = read_usage(path)
        observations += found
        problems += bad
    return observations, problems
