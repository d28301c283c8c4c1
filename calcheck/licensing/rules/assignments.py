"""Rules about single assignments: type, base CAL, suites, leavers, temporary reassignments."""

from __future__ import annotations

from collections.abc import Iterator

from calcheck.core.findings import Severity
from calcheck.estate.model import Assignment, Estate, Holding
from calcheck.estate.transfers import ALLOWED_REASONS, UNCOMMITTED, Transfer
from calcheck.licensing.access import Catalogue, Directory
from calcheck.licensing.coverage import in_force
from calcheck.licensing.rules.base import Context, Problem, Rule

_E, _W = Severity.ERROR, Severity.WARNING
REASSIGNMENT_DAYS = 90


def _assigned(estate: Estate) -> Iterator[tuple[Assignment, Holding]]:
    holdings = estate.index("holdings")
    for assignment in estate.index("assignments").values():
        holding = holdings.get(assignment.holding)
        if holding is not None:
            yield assignment, holding


def check_type_mismatch(estate: Estate, ctx: Context) -> Iterator[Problem]:
    for assignment, holding in _assigned(estate):
        kind, subject = assignment.assignee
        expected = {"person": ("user",), "device": ("device", "server")}[kind]
        if holding.type not in expected:
            field = "person" if kind == "person" else "device"
            yield Problem.at(
                assignment.source,
                field,
                f"{assignment.id}: a {holding.type.capitalize()} CAL from {holding.id} is assigned to {kind} {subject}",
                f"assign {'User' if kind == 'person' else 'Device'} CALs to a {kind}, or use a matching holding",
                (assignment.id, holding.id, subject),
            )


def check_additive_without_base(estate: Estate, ctx: Context) -> Iterator[Problem]:
    cat = Catalogue(estate)
    additive = {c.id for c in cat.cals.values() if c.kind == "additive" and c.base}
    if not any(h.cal in additive for h in estate.index("holdings").values()):
        return
    granted: dict[tuple[str, str], set[str]] = {}
    for assignment, holding in _assigned(estate):
        if in_force(assignment, ctx.as_of) and ctx.analysis.entitlement.get(holding.id) is None:
            granted.setdefault(assignment.assignee, set()).update(cat.expand(holding.cal))
    people = estate.index("people")
    for assignment, holding in _assigned(estate):
        cal = cat.cals.get(holding.cal)
        if cal is None or cal.kind != "additive" or not cal.base or not in_force(assignment, ctx.as_of):
            continue
        have = set(granted.get(assignment.assignee, set()))
        person = people.get(assignment.person or "")
        for device in person.devices if person else ():
            have |= granted.get(("device", device), set())
        if cal.base not in have:
            kind, subject = assignment.assignee
            base = cat.cals[cal.base].name if cal.base in cat.cals else cal.base
            yield Problem.at(
                assignment.source,
                "holding",
                f"{assignment.id}: {cal.name} assigned to {kind} {subject}, who has no {base}",
                f"assign a {base} to {subject} as well: an additive CAL only counts on top of its base CAL",
                (assignment.id, holding.id, subject),
            )


def check_suite_split(estate: Estate, ctx: Context) -> Iterator[Problem]:
    cat = Catalogue(estate)
    for assignment, holding in _assigned(estate):
        if assignment.component is None:
            continue
        cal = cat.cals.get(holding.cal)
        what = f"{cal.name} is a suite" if cal and cal.kind == "suite" else f"{holding.cal} is not a suite"
        yield Problem.at(
            assignment.source,
            "component",
            f"{assignment.id}: assigns only component {assignment.component!r} of {holding.id}; {what}",
            "assign the whole suite to one user or device; its components cannot be split across assignees",
            (assignment.id, holding.id),
        )


def check_reclaimable(estate: Estate, ctx: Context) -> Iterator[Problem]:
    directory = Directory(estate, ctx.as_of)
    cat = Catalogue(estate)
    people = estate.index("people")
    devices = estate.index("devices")
    for assignment, holding in _assigned(estate):
        kind, subject = assignment.assignee
        if not in_force(assignment, ctx.as_of):
            continue
        if kind == "person" and subject in people and subject not in directory.people:
            why = f"left on {people[subject].departed}" if people[subject].departed else "has left"
        elif kind == "device" and subject in devices and subject not in directory.devices:
            device = devices[subject]
            why = f"was {device.status} on {device.retired}" if device.retired else f"is {device.status}"
        else:
            continue
        yield Problem.at(
            assignment.source,
            "id",
            f"{assignment.id}: the {cat.name(holding.cal)} from {holding.id} is reclaimable: {kind} {subject} {why}",
            "end the assignment (until: the leaving date) and reassign the CAL; the old holder must lose access",
            (assignment.id, holding.id, subject),
        )


def check_temporary_without_end(estate: Estate, ctx: Context) -> Iterator[Problem]:
    for assignment, _ in _assigned(estate):
        if assignment.temporary and assignment.until is None:
            yield Problem.at(
                assignment.source,
                "temporary",
                f"{assignment.id}: a temporary reassignment without an end date",
                "add until: the date the original user or device returns",
                (assignment.id,),
            )


def check_temporary_expired(estate: Estate, ctx: Context) -> Iterator[Problem]:
    for assignment, _ in _assigned(estate):
        if assignment.temporary and assignment.until is not None and assignment.until < ctx.as_of:
            yield Problem.at(
                assignment.source,
                "until",
                f"{assignment.id}: a temporary reassignment that ended on {assignment.until}",
                "remove the record, or make it permanent with a new assignment and a reason",
                (assignment.id,),
            )


RULES: tuple[Rule, ...] = (
    Rule(
        "additive-without-base",
        "Additive CAL without its base CAL",
        _E,
        "ADD-01, GOT-08",
        "An additive CAL (Exchange, SharePoint or Skype Enterprise, RDS, AD RMS) is valid only together with the "
        "matching base CAL for the same user or device.",
        check_additive_without_base,
    ),
    Rule(
        "suite-split",
        "CAL suite split across assignees",
        _E,
        "CAL-06",
        "A CAL Suite is one licence for one user or one device; its components cannot be handed to different "
        "users or devices.",
        check_suite_split,
    ),
    Rule(
        "reclaimable",
        "CAL held by a leaver or a retired device",
        _W,
        "GOT-01, GOT-02, ASG-02",
        "A CAL is still assigned to a departed person or a retired or lost device. It is not a violation: it "
        "can be reassigned at once (termination and hardware-loss exceptions), once the old holder lost access.",
        check_reclaimable,
    ),
    Rule(
        "temporary-without-end",
        "Temporary reassignment without an end date",
        _E,
        "ASG-02, ASG-03",
        "A temporary reassignment (cover for an absent user, a loaner device) must say when it ends.",
        check_temporary_without_end,
    ),
    Rule(
        "temporary-expired",
        "Temporary reassignment past its end date",
        _W,
        "ASG-02, ASG-03",
        "A temporary reassignment has ended; the record should go, or become a permanent reassignment.",
        check_temporary_expired,
    ),
)


def _transfers(estate: Estate, ctx: Context) -> dict[str, Transfer]:
    """Transfers from git history, plus those the records state with 'replaces:', by new assignment id."""
    found = {t.assignment: t for t in ctx.transfers}
    assignments = estate.index("assignments")
    for assignment in assignments.values():
        previous = assignments.get(assignment.replaces or "")
        if previous is not None and assignment.id not in found:
            found[assignment.id] = Transfer(
                assignment.holding,
                assignment.id,
                previous.assignee[1],
                previous.since,
                assignment.since,
                assignment.reason,
                assignment.temporary,
                "",
            )
    return found


def check_ninety_days(estate: Estate, ctx: Context) -> Iterator[Problem]:
    assignments = estate.index("assignments")
    for aid, transfer in sorted(_transfers(estate, ctx).items()):
        record = assignments.get(aid)
        days = (transfer.date - transfer.previous_since).days
        recorded = {transfer.reason, record.reason if record is not None else None}
        allowed = bool(recorded & ALLOWED_REASONS) or transfer.temporary
        if record is None or days >= REASSIGNMENT_DAYS or allowed or transfer.date > ctx.as_of:
            continue
        commit = _where(transfer.commit)
        yield Problem.at(
            record.source,
            "since",
            f"{aid}: the {transfer.holding} CAL was reassigned from {transfer.previous} on {transfer.date}, "
            f"{days} days after its previous assignment on {transfer.previous_since}{commit}",
            "a CAL may move again only after 90 days, unless for departure, hardware-failure, hardware-loss or "
            "temporary-cover: record the reason, or keep the CAL with its holder",
            (aid, transfer.holding),
        )


def _where(commit: str) -> str:
    """Where the history saw a transfer: in a commit, or in the work tree's uncommitted changes (or nowhere)."""
    if commit == UNCOMMITTED:
        return " (uncommitted)"
    return f" (commit {commit[:7]})" if len(commit) >= 7 else ""


def check_history_unavailable(estate: Estate, ctx: Context) -> Iterator[Problem]:
    if ctx.history_note and estate.config is not None:
        yield Problem.at(
            estate.config.source,
            "organisation",
            "the git history could not be read, so the 90-day reassignment rule used the records only",
            ctx.history_note,
            ("config",),
        )


RULES += (
    Rule(
        "reassignment-90-days",
        "CAL reassigned within 90 days",
        _E,
        "ASG-02, ASG-05",
        "A licence may be reassigned only 90 days after its last assignment, except on the permanent failure or "
        "loss of a device, the end of a user's employment or contract, or to cover an absent user or a device "
        "out of service. Reassignments are found in the records ('replaces:') and in the git history (an "
        "assignment moved to another person or device, or removed, or ended before the new one begins, and added for "
        "the same holding in one change); "
        "dates come from the records and, where they are missing, from the commit.",
        check_ninety_days,
    ),
    Rule(
        "history-unavailable",
        "Git history unavailable",
        _W,
        "ASG-02",
        "The estate is in a shallow clone, so the reassignment history could not be read.",
        check_history_unavailable,
    ),
)
