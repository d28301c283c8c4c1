"""Online Services that carry CAL rights, and CAL Suite Bridges (CAL-07, CAL-08, SA-03).

A Microsoft 365, Office 365 or EMS user subscription satisfies the CALs the Product Terms' "CAL and ML
Equivalency Licenses" tables list for it, and a CAL Suite Bridge those its parent suite has beyond its qualifying
subscription - each only while in force, with no perpetual rights, and a Bridge only for a user who also holds a
qualifying subscription. The catalogue marks them with ``offering``; this module answers the questions coverage,
the ELP and explain ask about them, and knows nothing of those modules (they call it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from calcheck.estate.model import Assignment, Cal, Holding

ONLINE_CHANNEL = "online-services"
SUBSCRIPTION, BRIDGE = "subscription", "bridge"
EQUIVALENCY = "Product Terms, CAL and ML Equivalency Licenses"
BRIDGES = "Product Terms, CAL Suites and CAL Suite Bridges"


def offering(cals: Mapping[str, Cal], cal_id: str) -> str | None:
    """'subscription', 'bridge', or None for an ordinary CAL."""
    cal = cals.get(cal_id)
    return cal.offering if cal is not None else None


def bridges(cals: Mapping[str, Cal]) -> frozenset[str]:
    """The ids of the catalogue's CAL Suite Bridges (those whose ``offering`` is 'bridge')."""
    return frozenset(cal_id for cal_id, cal in cals.items() if cal.offering == BRIDGE)


def is_online(holding: Holding, cals: Mapping[str, Cal]) -> bool:
    """Whether ``holding`` is an Online Services subscription or Bridge (by its channel or its catalogue entry)."""
    return holding.channel == ONLINE_CHANNEL or offering(cals, holding.cal) is not None


def entitlement_problem(holding: Holding, as_of: dt.date) -> str | None:
    """Why an Online Services holding grants no rights on ``as_of``, or None: it grants them while in force only."""
    if holding.purchased > as_of:
        return f"bought only on {holding.purchased}"
    if holding.subscription_until is None:
        return "an Online Services subscription without an end date (subscription_until)"
    if holding.subscription_until < as_of:
        return f"its Online Services subscription ended on {holding.subscription_until}"
    if holding.type != "user":
        return "an Online Services subscription, which is a User SL, recorded as a Device licence"
    return None


def _in_force(assignment: Assignment, as_of: dt.date) -> bool:
    return assignment.since <= as_of and (assignment.until is None or assignment.until >= as_of)


def held_offerings(
    assignments: Iterable[Assignment],
    holdings: Mapping[str, Holding],
    entitlement: Mapping[str, str | None],
    as_of: dt.date,
) -> set[str]:
    """The catalogue ids of the holdings a subject holds in force through assignments with rights on ``as_of``."""
    return {
        holdings[a.holding].cal
        for a in assignments
        if a.holding in holdings and entitlement.get(a.holding) is None and _in_force(a, as_of)
    }


def missing_qualification(cal: Cal, held: set[str]) -> str | None:
    """What a Bridge lacks to count for a user holding ``held`` (as catalogue ids in words), or None."""
    if cal.offering != BRIDGE:
        return None
    if cal.qualifying and not held.intersection(cal.qualifying):
        return " or ".join(cal.qualifying)
    absent = [c for c in cal.requires_also if c not in held]
    return " and ".join(absent) if absent else None


def bridge_problem(
    cals: Mapping[str, Cal],
    holding: Holding,
    assignments: Iterable[Assignment],
    holdings: Mapping[str, Holding],
    entitlement: Mapping[str, str | None],
    as_of: dt.date,
) -> str | None:
    """Why a Bridge assigned to a user does not count for them (no qualifying subscription in force), or None."""
    cal = cals.get(holding.cal)
    if cal is None or cal.offering != BRIDGE:
        return None
    lacking = missing_qualification(cal, held_offerings(assignments, holdings, entitlement, as_of))
    if lacking is None:
        return None
    return f"{cal.name} counts only for a user who also holds {describe_ids(cals, lacking)} in force (SA-03)"


def describe_ids(cals: Mapping[str, Cal], phrase: str) -> str:
    """A phrase of catalogue ids joined by ' or ' / ' and ', in words: 'Office 365 E1, Office 365 E3 or ...'."""
    for joiner in (" or ", " and "):
        if joiner in phrase:
            names = [_name(cals, c) for c in phrase.split(joiner)]
            return ", ".join(names[:-1]) + joiner + names[-1]
    return _name(cals, phrase)


def _name(cals: Mapping[str, Cal], cal_id: str) -> str:
    cal = cals.get(cal_id)
    return cal.name if cal is not None else cal_id


def pool_kind(cal: Cal) -> str:
    """The ELP's kind column: 'subscription' or 'bridge' for Online Services, else the CAL's kind."""
    return cal.offering or cal.kind


def equivalency(cals: Mapping[str, Cal], cal_id: str) -> str | None:
    """'CAL equivalency: Windows Server CAL, ...; Product Terms, ...' for an Online Services entry, else None."""
    cal = cals.get(cal_id)
    if cal is None or cal.offering is None:
        return None
    granted = ", ".join(_name(cals, c) for c in cal.contains) or "no CAL"
    source = EQUIVALENCY if cal.offering == SUBSCRIPTION else f"{BRIDGES}; {EQUIVALENCY}"
    return f"CAL equivalency: {granted}; {source}"


def bridges_granting(cals: Mapping[str, Cal], cal_id: str, held: set[str]) -> list[Cal]:
    """The Bridges that would give a user holding ``held`` the CAL ``cal_id`` (their qualifying subscription held)."""
    return [
        c for c in cals.values() if c.offering == BRIDGE and cal_id in c.contains and held.intersection(c.qualifying)
    ]


def covered_by_text(cals: Mapping[str, Cal], cal_id: str) -> str:
    """'Microsoft 365 E3 (CAL equivalency: ...; Product Terms, ...), ' for explain, or '' for an ordinary CAL."""
    text = equivalency(cals, cal_id)
    return "" if text is None else f"{_name(cals, cal_id)} ({text}), "
