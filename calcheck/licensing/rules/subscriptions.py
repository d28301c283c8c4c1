"""Rules about Online Services subscriptions and CAL Suite Bridges: shape, qualification, counts, renewal, end."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping

from calcheck.core.findings import Severity
from calcheck.estate.model import Cal, Estate, Holding
from calcheck.licensing import subscriptions as online
from calcheck.licensing.access import Catalogue, Subject
from calcheck.licensing.coverage import in_force
from calcheck.licensing.rules.base import Context, Problem, Rule
from calcheck.licensing.wording import article

_E, _W = Severity.ERROR, Severity.WARNING
_CHANNELS = (online.ONLINE_CHANNEL, "csp-subscription")


def _online_holdings(estate: Estate, cat: Catalogue) -> Iterator[Holding]:
    for holding in estate.index("holdings").values():
        if holding.cal in cat.cals and online.is_online(holding, cat.cals):
            yield holding


def check_subscription_holding(estate: Estate, ctx: Context) -> Iterator[Problem]:
    cat = Catalogue(estate)
    for holding in _online_holdings(estate, cat):
        cal = cat.cals[holding.cal]
        if cal.offering is None:
            yield Problem.at(
                holding.source,
                "channel",
                f"{holding.id}: {cal.name} is not an Online Services subscription or Bridge",
                "use the channel it was bought through (volume, csp-perpetual, ...), or a subscription's catalogue id",
                (holding.id,),
            )
        elif holding.channel not in _CHANNELS:
            yield Problem.at(
                holding.source,
                "channel",
                f"{holding.id}: {cal.name} is a subscription (User SL), not a {holding.channel} licence",
                "write channel: online-services and the term's last day as subscription_until",
                (holding.id,),
            )
        elif holding.subscription_until is None:
            yield Problem.at(
                holding.source,
                "channel",
                f"{holding.id}: {cal.name} has no end date, so it grants nothing",
                "add subscription_until: the last day of the subscription term",
                (holding.id,),
            )
        elif holding.type != "user":
            yield Problem.at(
                holding.source,
                "type",
                f"{holding.id}: {cal.name} is licensed per user (User SL), not per {holding.type}",
                "write type: user and assign it to people",
                (holding.id,),
            )


def check_bridge_qualification(estate: Estate, ctx: Context) -> Iterator[Problem]:
    cat = Catalogue(estate)
    analysis = ctx.analysis
    holdings = estate.index("holdings")
    bridges = online.bridges(cat.cals)
    if not any(h.cal in bridges for h in holdings.values()):  # no Bridge held: nothing to qualify
        return
    for assignment in estate.index("assignments").values():
        holding = holdings.get(assignment.holding)
        cal = cat.cals.get(holding.cal) if holding is not None else None
        if holding is None or cal is None or cal.offering != online.BRIDGE or assignment.person is None:
            continue
        if not in_force(assignment, ctx.as_of) or analysis.entitlement.get(holding.id) is not None:
            continue
        mine = analysis.by_subject.get(("person", assignment.person), [])
        held = online.held_offerings(mine, holdings, analysis.entitlement, ctx.as_of)
        lacking = online.missing_qualification(cal, held)
        if lacking is not None:
            needed = online.describe_ids(cat.cals, lacking)
            yield Problem.at(
                assignment.source,
                "holding",
                f"{assignment.id}: {cal.name} assigned to {assignment.person}, who holds no {needed} in force",
                f"assign {assignment.person} {needed} as well, or a {_parent(cal)} instead of the Bridge",
                (assignment.id, holding.id, assignment.person),
            )


def _parent(cal: Cal) -> str:
    return "Enterprise CAL Suite" if cal.id.startswith("enterprise") else "Core CAL Suite"


def _families(cat: Catalogue) -> list[tuple[list[Cal], set[str]]]:
    """Bridges grouped by shared qualifying subscriptions, each group with the union of its qualifying ids."""
    families: list[tuple[list[Cal], set[str]]] = []
    for cal in cat.cals.values():
        if cal.offering != online.BRIDGE:
            continue
        joined = [f for f in families if f[1] & set(cal.qualifying)]
        bridges, qualifying = [cal], set(cal.qualifying)
        for family in joined:
            families.remove(family)
            bridges = family[0] + bridges
            qualifying |= family[1]
        families.append((bridges, qualifying))
    return families


def check_bridge_count(estate: Estate, ctx: Context) -> Iterator[Problem]:
    cat = Catalogue(estate)
    valid = [h for h in _online_holdings(estate, cat) if ctx.analysis.entitlement.get(h.id) is None]
    for bridges, qualifying in _families(cat):
        ids = {b.id for b in bridges}
        held = [h for h in valid if h.cal in ids]
        if not held:
            continue
        bought = sum(h.quantity for h in held)
        needed = sum(h.quantity for h in valid if h.cal in qualifying)
        if bought != needed:
            names = ", ".join(sorted({cat.cals[h.cal].name for h in held}))
            subs = ", ".join(sorted(cat.cals[q].name for q in qualifying if q in cat.cals))
            yield Problem.at(
                held[0].source,
                "quantity",
                f"{names}: {bought} Bridge User SLs in force, but {needed} qualifying subscriptions ({subs})",
                "the Product Terms ask for as many CAL Suite Bridge User SLs as User SLs of the qualifying "
                f"Online Service: {'buy' if bought < needed else 'drop'} {abs(needed - bought)} Bridge"
                f"{'s' if abs(needed - bought) != 1 else ''} at the next order or anniversary",
                tuple(h.id for h in held),
            )


def check_renewal_due(estate: Estate, ctx: Context) -> Iterator[Problem]:
    cat = Catalogue(estate)
    window = estate.config.renewal_window_days if estate.config else 90
    for holding in _online_holdings(estate, cat):
        end = holding.subscription_until
        if end is None or ctx.analysis.entitlement.get(holding.id) is not None:
            continue
        days = (end - ctx.as_of).days
        used = len(ctx.analysis.in_force.get(holding.id, []))
        if days <= window and used:
            yield Problem.at(
                holding.source,
                "subscription_until",
                f"{holding.id}: {cat.cals[holding.cal].name} ends on {end} (in {days} days), "
                f"assigned to {used} {'person' if used == 1 else 'people'}",
                f"renew it before {end}, or move its users to CALs: after that day it grants no access rights",
                (holding.id,),
            )


def check_subscription_ended(estate: Estate, ctx: Context) -> Iterator[Problem]:
    cat = Catalogue(estate)
    needing: dict[str, set[str]] | None = None  # worked out for the first ended subscription still assigned
    for holding in _online_holdings(estate, cat):
        problem = ctx.analysis.entitlement.get(holding.id)
        end = holding.subscription_until
        if problem is None or end is None or end >= ctx.as_of:
            continue
        grants = set(cat.expand(holding.cal))
        assigned = {a.person for a in ctx.analysis.in_force.get(holding.id, []) if a.person}
        needing = _people_needing(ctx) if needing is None and assigned else needing
        current = sorted(p for p in assigned if needing is not None and needing.get(p, set()) & grants)
        if current:
            shown = ", ".join(current[:5]) + (f" and {len(current) - 5} more" if len(current) > 5 else "")
            yield Problem.at(
                holding.source,
                "subscription_until",
                f"{holding.id}: {cat.cals[holding.cal].name} ended on {end}, yet {len(current)} assigned "
                f"{'person needs' if len(current) == 1 else 'people need'} its CALs ({shown})",
                "renew the subscription (and correct subscription_until), or license these people with CALs",
                (holding.id, *current),
            )


def _people_needing(ctx: Context) -> dict[str, set[str]]:
    needs: dict[str, set[str]] = defaultdict(set)
    for coverage in ctx.analysis.coverages:
        if coverage.need.subject[0] == "person":
            needs[coverage.need.subject[1]].add(coverage.need.cal)
    return needs


def bridge_hint(cat: Catalogue, ctx: Context, holdings: Mapping[str, Holding], licensee: Subject, cal_id: str) -> str:
    """'; <person> holds <subscription>: a <Bridge> would carry this CAL' when a Bridge would supply the missing
    CAL ``cal_id`` to ``licensee``, else ''."""
    if licensee[0] != "person":
        return ""
    mine = ctx.analysis.by_subject.get(licensee, [])
    held = online.held_offerings(mine, holdings, ctx.analysis.entitlement, ctx.as_of)
    bridges = online.bridges_granting(cat.cals, cal_id, held)
    if not bridges:
        return ""
    subscription = sorted(cat.cals[c].name for c in held if c in cat.cals and cat.cals[c].offering)[0]
    return f"; {licensee[1]} holds {subscription}: {article(bridges[0].name)} would carry this CAL"


RULES = (
    Rule(
        "subscription-holding",
        "Online Services holding that cannot grant CAL rights as written",
        _E,
        "CAL-07, SA-03",
        "A Microsoft 365, Office 365 or EMS subscription or a CAL Suite Bridge is a User SL: it is held with "
        "channel online-services (or csp-subscription), type user and the last day of its term as "
        "subscription_until, and only the catalogue's Online Services entries may use that channel.",
        check_subscription_holding,
    ),
    Rule(
        "bridge-without-subscription",
        "CAL Suite Bridge assigned to a user without its qualifying subscription",
        _E,
        "CAL-07, SA-03",
        "A CAL Suite Bridge carries only the CALs its qualifying Online Service lacks, and counts only for a user "
        "who also holds that service (Product Terms, CAL Suites and CAL Suite Bridges): Office 365 for the Bridges "
        "for Office 365, Microsoft Intune for those for Intune, both for those for Office 365 and Intune, EMS for "
        "those for EMS. Assigned to anyone else it covers nothing.",
        check_bridge_qualification,
    ),
    Rule(
        "bridge-count",
        "CAL Suite Bridges not equal in number to their qualifying subscriptions",
        _W,
        "CAL-07, SA-03",
        '"When a CAL Suite Bridge is required the number of CAL Suite Bridge User SLs should be the same number of '
        'User SLs for the qualifying Online Service" (Product Terms, CAL Suites and CAL Suite Bridges): the '
        "Bridges in force are compared with the qualifying subscriptions in force, organisation-wide.",
        check_bridge_count,
    ),
    Rule(
        "subscription-renewal-due",
        "Online Services subscription ends soon",
        _W,
        "SA-03, GOT-06",
        "An Online Services subscription or Bridge that is assigned ends within the estate's renewal_window_days "
        "(default 90): it grants no perpetual rights, so its users lose their CAL rights on that day unless it is "
        "renewed.",
        check_renewal_due,
    ),
    Rule(
        "subscription-ended",
        "Online Services subscription ended while its users still need its CALs",
        _E,
        "SA-03, SA-05, GOT-06",
        "A Microsoft 365, Office 365 or EMS subscription or a CAL Suite Bridge past its subscription_until grants "
        "nothing, yet it is still assigned to people who reach servers needing the CALs it carried.",
        check_subscription_ended,
    ),
)
