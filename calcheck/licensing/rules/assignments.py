"""Rules about single assignments: type, base CAL, suites, leavers, temporary reassignments."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from calcheck.core.findings import Severity
from calcheck.estate.model import Assignment, Estate, Holding
from calcheck.estate.transfers import ALLOWED_REASONS, UNCOMMITTED, Transfer
from calcheck.licensing.access import Catalogue
from calcheck.licensing.coverage import REASSIGNMENT_DAYS
from calcheck.licensing.rules.base import Context, Problem, Rule

_E, _W = Severity.ERROR, Severity.WARNING


def _assigned(
    estate: Estate, only: Callable[[Assignment], object] | None = None
) -> Iterator[tuple[Assignment, Holding]]:
    """Each assignment of a known holding (``only``: those it is true for), with the holding, in file order."""
    holdings = estate.index("holdings")
    assignments: Iterable[Assignment] = estate.index("assignments").values()
    for assignment in assignments if only is None else filter(only, assignments):
        holding = holdings.get(assignment.holding)
        if holding is not None:
            yield assignment, holding


_EXPECTED_TYPES = {"person": ("user",), "device": ("device", "server")}


def check_type_mismatch(estate: Estate, ctx: Context) -> Iterator[Problem]:
    holdings = estate.index("holdings")
    unfit = {kind: {h.id for h in holdings.values() if h.type not in types} for kind, types in _EXPECTED_TYPES.items()}
    if not unfit["person"] and not unfit["device"]:
        return
    for assignment in estate.index("assignments").values():
        if assignment.holding not in unfit["person" if assignment.person is not None else "device"]:
            continue
        holding = holdings[assignment.holding]
        kind, subject = assignment.assignee
        yield Problem.at(
            assignment.source,
            kind,
            f"{assignment.id}: a {holding.type.capitalize()} CAL from {holding.id} is assigned to {kind} {subject}",
            f"assign {'User' if kind == 'person' else 'Device'} CALs to a {kind}, or use a matching holding",
            (assignment.id, holding.id, subject),
        )


def check_additive_without_base(estate: Estate, ctx: Context) -> Iterator[Problem]:
    cat = Catalogue(estate)
    additive = {c.id for c in cat.cals.values() if c.kind == "additive" and c.base}
    if not any(h.cal in additive for h in estate.index("holdings").values()):
        return
    active = {a.id for assignments in ctx.analysis.in_force.values() for a in assignments}
    granted: dict[tuple[str, str], set[str]] = {}
    for assignment, holding in _assigned(estate):
        if assignment.id in active and ctx.analysis.entitlement.get(holding.id) is None:
            granted.setdefault(assignment.assignee, set()).update(cat.expand(holding.cal))
    for assignment, holding in _assigned(estate):
        cal = cat.cals.get(holding.cal)
        if cal is None or cal.kind != "additive" or not cal.base or assignment.id not in active:
            continue
        if cal.base not in granted.get(assignment.assignee, set()):
            kind, subject = assignment.assignee
            base = cat.cals[cal.base].name if cal.base in cat.cals else cal.base
            yield Problem.at(
                assignment.source,
                "holding",
                f"{assignment.id}: {cal.name} assigned to {kind} {subject}, who has no {base}",
                f"assign {'an' if base[:1].lower() in 'aeiou' else 'a'} {base} to {subject} as well: an additive CAL "
                "only counts on top of its base CAL, held by the same user or device",
                (assignment.id, holding.id, subject),
            )


def check_suite_split(estate: Estate, ctx: Context) -> Iterator[Problem]:
    cat = Catalogue(estate)
    for assignment, holding in _assigned(estate, lambda a: a.component is not None):
        cal = cat.cals.get(holding.cal)
        what = f"{cal.name} is a suite" if cal and cal.kind == "suite" else f"{holding.cal} is not a suite"
        yield Problem.at(
            assignment.source,
            "component",
            f"{assignment.id}: assigns only component {assignment.component!r} of {holding.id} to "
            f"{assignment.assignee[1]}; {what}",
            "assign the whole suite to one user or device; its components cannot be split across assignees",
            (assignment.id, holding.id),
        )


def check_reclaimable(estate: Estate, ctx: Context) -> Iterator[Problem]:
    cat = Catalogue(estate)
    people = estate.index("people")
    devices = estate.index("devices")
    reclaimable = ctx.analysis.reclaimable
    if not reclaimable:
        return
    for assignment, holding in _assigned(estate, lambda a: a.id in reclaimable):
        free = reclaimable[assignment.id]
        kind, subject = assignment.assignee
        if kind == "person":
            person = people.get(subject)
            why = f"left on {person.departed}" if person is not None and person.departed else "has left"
        else:
            device = devices.get(subject)
            status = device.status if device is not None else "gone"
            why = f"was {status} on {device.retired}" if device is not None and device.retired else f"is {status}"
        what = f"{assignment.id}: the {cat.name(holding.cal)} from {holding.id}"
        if free > ctx.as_of:
            yield Problem.at(
                assignment.source,
                "id",
                f"{what} is not reclaimable before {free}: {kind} {subject} {why} in working order, and was "
                f"assigned on {assignment.since}",
                "retiring a working device is no exception to the 90-day rule: reassign the CAL from that date, or "
                "record the device as failed or lost if it is",
                (assignment.id, holding.id, subject),
            )
            continue
        yield Problem.at(
            assignment.source,
            "id",
            f"{what} is reclaimable: {kind} {subject} {why}",
            "end the assignment (until: the leaving date) and reassign the CAL; the old holder must lose access",
            (assignment.id, holding.id, subject),
        )


def check_temporary_without_end(estate: Estate, ctx: Context) -> Iterator[Problem]:
    for assignment, _ in _assigned(estate, lambda a: a.temporary):
        if assignment.until is None:
            yield Problem.at(
                assignment.source,
                "temporary",
                f"{assignment.id}: a temporary reassignment to {assignment.assignee[1]} without an end date",
                "add until: the date the original user or device returns",
                (assignment.id, assignment.assignee[1]),
            )


def check_temporary_expired(estate: Estate, ctx: Context) -> Iterator[Problem]:
    for assignment, _ in _assigned(estate, lambda a: a.temporary):
        if assignment.until is not None and assignment.until < ctx.as_of:
            yield Problem.at(
                assignment.source,
                "until",
                f"{assignment.id}: a temporary reassignment to {assignment.assignee[1]} that ended on "
                f"{assignment.until}",
                "remove the record, or make it permanent with a new assignment and a reason",
                (assignment.id, assignment.assignee[1]),
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
        "A CAL is still assigned to a departed person or a device out of service. It is not a violation: it can "
        "be reassigned at once for a departure, a permanent hardware failure (status failed) or a loss (status "
        "lost), once the old holder lost access. A device retired in working order is no exception to the 90-day "
        "rule: its CAL is reclaimable only 90 days after it was assigned, and the finding says from when.\n"
        "Source: Product Terms, Universal License Terms, 'License Assignment and Reassignment' "
        "(https://www.microsoft.com/licensing/terms/product/ForallSoftware).",
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


# What each exception to the 90-day rule needs the previous holder's record to say (ASG-05).
_BACKED_BY = {
    "departure": ("person", ("departed",), "has not left"),
    "hardware-failure": ("device", ("failed",), "has not failed"),
    "hardware-loss": ("device", ("lost",), "is not lost"),
}


def _unbacked(estate: Estate, reason: str | None, previous: str) -> str | None:
    """Why a recorded exception does not hold for the previous holder, or None."""
    backing = _BACKED_BY.get(reason or "")
    if backing is None:
        return None
    kind, statuses, missing = backing
    record = estate.index("people" if kind == "person" else "devices").get(previous)
    if record is None or record.status in statuses:
        return None
    state = f" ({record.status}{' in working order' if record.status == 'retired' else ''})"
    return f"the reason is {reason}, but {kind} {previous} {missing}{state}"


def check_ninety_days(estate: Estate, ctx: Context) -> Iterator[Problem]:
    assignments = estate.index("assignments")
    for aid, transfer in sorted(_transfers(estate, ctx).items()):
        record = assignments.get(aid)
        days = (transfer.date - transfer.previous_since).days
        reasons = [r for r in (transfer.reason, record.reason if record is not None else None) if r]
        allowed = [r for r in reasons if r in ALLOWED_REASONS and _unbacked(estate, r, transfer.previous) is None]
        if record is None or days >= REASSIGNMENT_DAYS or allowed or transfer.temporary or transfer.date > ctx.as_of:
            continue
        commit = _where(transfer.commit)
        unbacked = next((u for r in reasons if (u := _unbacked(estate, r, transfer.previous))), None)
        why = f"; {unbacked}" if unbacked else ""
        yield Problem.at(
            record.source,
            "since",
            f"{aid}: the {transfer.holding} CAL was reassigned from {transfer.previous} on {transfer.date}, "
            f"{days} days after its previous assignment on {transfer.previous_since}{commit}{why}",
            "a CAL may move again only after 90 days, unless for departure, hardware-failure, hardware-loss or "
            "temporary-cover: record the reason, or keep the CAL with its holder",
            (aid, transfer.holding),
        )


def _where(commit: str) -> str:
    """Where the history saw a transfer: in a commit, or in the work tree's uncommitted changes (or nowhere)."""
    if commit == UNCOMMITTED:
        return " (uncommitted)"
    return f" (commit {commit[:7]})" if len(commit) >= 7 else ""


def check_id_reused(estate: Estate, ctx: Context) -> Iterator[Problem]:
    assignments = estate.index("assignments")
    for reuse in ctx.reused:
        record = assignments.get(reuse.assignment)
        if record is None:
            continue
        yield Problem.at(
            record.source,
            "id",
            f"{reuse.assignment} was {reuse.before} until it was removed; commit {reuse.commit[:7]} "
            f"({reuse.date}) gave the id to {reuse.after}",
            "give this assignment a new id (calcheck assign picks one history has never seen); an id names one "
            "record forever, so history, waivers and audits keep meaning it",
            (reuse.assignment,),
        )


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
        "out of service. A recorded reason must match the previous holder's record: hardware-failure a device with "
        "status failed, hardware-loss one with status lost, departure a person who left; a device retired in "
        "working order is no exception. Temporary cover (temporary: true, with an end date) is always allowed; "
        "while it lasts the absent person (status on-leave) needs no CAL, and afterwards the CAL is theirs again. "
        "Reassignments are found in the records ('replaces:') and in the git history (an "
        "assignment moved to another person or device, or removed, or ended before the new one begins, and added "
        "for the same holding in one change); "
        "dates come from the records and, where they are missing, from the commit.\n"
        "Source: Product Terms, Universal License Terms, 'License Assignment and Reassignment': 'not less than 90 "
        "days since the last reassignment of that same License, unless the reassignment is due to: Permanent "
        "hardware failure or loss. Termination of the user's employment or contract. Temporary reallocation of "
        "CALs ... to cover a user's absence or the unavailability of a device that is out of service.' "
        "(https://www.microsoft.com/licensing/terms/product/ForallSoftware).",
        check_ninety_days,
    ),
    Rule(
        "id-reused",
        "Assignment id that named another record",
        _E,
        "POE-01, ASG-02",
        "Record ids are never reused: an assignment id that the git history shows was removed and later given to a "
        "different holding or assignee mixes two records in the history, the 90-day rule, waivers and audits. The "
        "edit commands pick ids the history has never seen.",
        check_id_reused,
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
