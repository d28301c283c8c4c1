"""Rules about the estate's own governance: audits and waivers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from calcheck.core.findings import Severity
from calcheck.estate.model import Estate
from calcheck.licensing.rules.base import Context, Problem, Rule

_W = Severity.WARNING


def check_audit_overdue(estate: Estate, ctx: Context) -> Iterator[Problem]:
    if estate.config is None:
        return
    interval = estate.config.audit_interval_days
    audits = [a for a in estate.index("audits").values() if a.date <= ctx.as_of]
    hint = "reconcile the estate with usage data and record the audit under audits/"
    if not audits:
        yield Problem.at(
            estate.config.source,
            "organisation",
            "the estate has no audit or reconciliation on record",
            hint,
            ("config",),
        )
        return
    latest = max(audits, key=lambda a: (a.date, a.id))
    if (ctx.as_of - latest.date).days > interval:  # no date arithmetic that a date near 9999 could overflow
        due = latest.date + dt.timedelta(days=interval)
        yield Problem.at(
            latest.source,
            "date",
            f"the last audit ({latest.id}, {latest.date}) is {(ctx.as_of - latest.date).days} days old; "
            f"the estate asks for one every {interval} days (due {due})",
            hint,
            (latest.id,),
        )


def check_waiver_expired(estate: Estate, ctx: Context) -> Iterator[Problem]:
    for waiver in estate.index("waivers").values():
        if waiver.expires < ctx.as_of:
            yield Problem.at(
                waiver.source,
                "expires",
                f"waiver {waiver.id} for {waiver.rule} expired on {waiver.expires} and no longer silences anything",
                f"fix what it covered, or renew it with {waiver.owner}'s approval and a new expiry date",
                (waiver.id,),
            )


RULES = (
    Rule(
        "audit-overdue",
        "Audit overdue",
        _W,
        "POE-04",
        "The last recorded audit or reconciliation is older than the estate's audit_interval_days "
        "(quarterly reconciliation is the recommended cadence).",
        check_audit_overdue,
    ),
    Rule(
        "waiver-expired",
        "Expired waiver",
        _W,
        "-",
        "A waiver past its expiry date no longer silences findings; renew it or fix what it covered.",
        check_waiver_expired,
    ),
)
