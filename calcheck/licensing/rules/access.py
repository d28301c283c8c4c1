"""Rules about access: every person and device that reaches a server is covered by a valid CAL."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from calcheck.core.findings import Severity
from calcheck.estate.model import Estate, Holding, Source
from calcheck.licensing.access import MAX_EXEMPT_ADMINS, Catalogue, Need, Subject
from calcheck.licensing.coverage import (
    BASE,
    EXPIRED,
    INACTIVE,
    LICSERVER,
    MODE,
    TYPE,
    VERSION,
    Candidate,
    Charge,
    version_problem,
)
from calcheck.licensing.rules.assignments import check_type_mismatch
from calcheck.licensing.rules.base import Context, Problem, Rule
from calcheck.licensing.rules.subscriptions import bridge_hint
from calcheck.licensing.wording import article, cal_label, listing, supply

_E = Severity.ERROR
# Which rejection explains an uncovered need best; causes reported by other rules map to None.
_TELLING = (VERSION, LICSERVER, MODE, BASE, EXPIRED, TYPE, INACTIVE)
_RULE_FOR = {
    VERSION: "cal-version",
    LICSERVER: "rds-licensing-server-version",
    MODE: "cal-type-mismatch",
    BASE: None,
    EXPIRED: None,
    TYPE: None,
}


def missing(ctx: Context) -> list[Charge]:
    """The licences the estate lacks, one per licensee and pool, in a stable order."""
    return ctx.analysis.missing_charges()


def best_rejection(rejected: list[Candidate]) -> Candidate | None:
    ordered = sorted(rejected, key=lambda c: (_TELLING.index(c.kind or INACTIVE), c.holding.id, c.assignment.id))
    return ordered[0] if ordered else None


def rule_for(charge: Charge, ctx: Context) -> str | None:
    """The rule that reports this missing licence (None: another rule reports its cause)."""
    best = best_rejection(ctx.analysis.rejections.get((charge.licensee, charge.cal), []))
    if best is not None and best.kind in _RULE_FOR:
        return _RULE_FOR[best.kind]
    kind, sid = charge.licensee
    return "external-users" if kind == "person" and sid in ctx.analysis.externals else "uncovered-access"


def _cal_type(charge: Charge) -> str:
    return charge.pool[2]


def _need_text(charge: Charge, cat: Catalogue) -> str:
    newer = " or newer" if charge.version else ""
    return f"{cal_label(cat, charge.cal, charge.version, _cal_type(charge))}{newer}"


class Supply:
    """What the estate could assign instead of buying: holdings with CALs unassigned, and how many licences of each
    CAL, version and type are missing (worked out once per check, not once per finding)."""

    def __init__(self, estate: Estate, ctx: Context, cat: Catalogue) -> None:
        self.ctx, self.cat = ctx, cat
        self.holdings: dict[str, Holding] = estate.index("holdings")
        self.wanted: dict[tuple[str, str | None, str], int] = defaultdict(int)
        for charge in missing(ctx):
            self.wanted[_what(charge)] += 1
        self._spare: dict[tuple[str, str | None, str], list[tuple[Holding, int]]] = {}
        used = {h: len(a) for h, a in ctx.analysis.in_force.items()}
        self.unassigned = [
            (h, h.quantity - used.get(h.id, 0))
            for h in estate.index("holdings").values()
            if ctx.analysis.entitlement.get(h.id) is None and h.quantity > used.get(h.id, 0)
        ]

    def spare(self, charge: Charge) -> list[tuple[Holding, int]]:
        """Holdings in force with CALs unassigned that would cover ``charge``, the least valuable first."""
        what = _what(charge)
        found = self._spare.get(what)
        if found is None:
            cal = self.cat.cals.get(charge.cal)
            product = cal.product if cal is not None and cal.product else ""
            need = Need(charge.licensee, charge.cal, product, charge.version, None, (), ())
            found = [
                (holding, free)
                for holding, free in self.unassigned
                if holding.type == what[2]
                and charge.cal in self.cat.expand(holding.cal)
                and version_problem(holding, need, self.cat, self.ctx.as_of) is None
            ]
            found.sort(key=lambda item: (item[0].cal != charge.cal, item[0].version or "", item[0].id))
            self._spare[what] = found
        return found

    def suggestion(self, charge: Charge) -> str:
        """What to do about a missing licence: assign from holdings with CALs unassigned, buy the rest, or the
        cheaper alternative when the licence could sit with the partners instead."""
        hint = supply(self.cat, _what(charge), self.wanted[_what(charge)], self.spare(charge), charge.licensee[1])
        # Online Services (issue 18): name the CAL Suite Bridge that would carry the CAL beside a subscription
        hint += bridge_hint(self.cat, self.ctx, self.holdings, charge.licensee, charge.cal)
        if charge.alternative:
            other = "Device" if charge.licensee[0] == "person" else "User"
            if len(charge.alternative) > 1:
                hint += f" (cheaper than {other} CALs for {listing(charge.alternative)})"
            else:
                hint += f" (or {article(other + ' CAL')} for {charge.alternative[0]})"
        return hint


def _what(charge: Charge) -> tuple[str, str | None, str]:
    return (charge.cal, charge.version, _cal_type(charge))


def _subject_source(estate: Estate, subject: Subject) -> Source:
    record = estate.index("people" if subject[0] == "person" else "devices")[subject[1]]
    assert isinstance(record.source, Source)
    return record.source


def _context(charge: Charge) -> str:
    """Who else the licence is for: the devices a person works through, or the people who use a device."""
    kind, cal_type = charge.licensee[0], _cal_type(charge)
    if kind == "person" and cal_type == "device":
        return " (the host is licensed per device and no device of theirs is recorded: record the devices they use)"
    if kind == "device" and cal_type == "user":
        return " (the host is licensed per user and nobody is recorded as using it: record its users)"
    if not charge.behalf:
        return ""
    if not charge.alternative:  # the host's licensing mode fixes the type: a CAL on the partners would not do
        return f" (used by {listing(charge.behalf)})" if kind == "device" else f" (through {listing(charge.behalf)})"
    if charge.licensee[0] == "device":
        who = "who holds" if len(charge.behalf) == 1 else "who hold"
        return f" (used by {listing(charge.behalf)}, {who} no User CAL for it)"
    which = "which holds no Device CAL" if len(charge.behalf) == 1 else "which hold no Device CALs"
    return f" (through {listing(charge.behalf)}, {which} for it)"


def check_uncovered(estate: Estate, ctx: Context, rule: str) -> Iterator[Problem]:
    cat = Catalogue(estate)
    supplies: list[Supply] = []
    for charge in missing(ctx):
        if rule_for(charge, ctx) != rule:
            continue
        kind, sid = charge.licensee
        what = _need_text(charge, cat)
        deployments = ", ".join(charge.deployments)
        records = (sid, *charge.deployments)
        best = best_rejection(ctx.analysis.rejections.get((charge.licensee, charge.cal), []))
        supplies = supplies or [Supply(estate, ctx, cat)]
        hint = supplies[0].suggestion(charge)
        if rule in ("cal-version", "cal-type-mismatch", "rds-licensing-server-version") and best is not None:
            yield Problem.at(
                best.assignment.source,
                "holding",
                f"{sid} reaches {deployments} and needs {article(what)}, but {best.problem}",
                hint,
                (*records, best.assignment.id),
            )
            continue
        if rule == "external-users":
            hint = _connector_hint(estate, cat, charge, hint)
        reason = f" ({best.problem})" if best is not None else _context(charge)
        yield Problem.at(
            _subject_source(estate, charge.licensee),
            "id",
            f"{kind} {sid} reaches {deployments} without {article(what)}{reason}",
            hint,
            records,
        )


def _connector_hint(estate: Estate, cat: Catalogue, charge: Charge, hint: str) -> str:
    """An External Connector is an alternative only where one covers this CAL (never Exchange or SharePoint)."""
    connectors = cat.connectors_for(charge.cal)
    if not connectors:
        return f"{hint}; no External Connector covers {cat.name(charge.cal)}"
    deployments = estate.index("deployments")
    named = sorted(
        {
            h
            for d in charge.deployments
            for h in getattr(deployments.get(d), "external_connectors", ())
            if estate.index("holdings").get(h) is not None
            and estate.index("holdings")[h].cal in {c.id for c in connectors}
        }
    )
    what = f"External Connector {', '.join(named)}" if named else article(connectors[0].name)
    hosts = sorted({h for d in charge.deployments for h in getattr(deployments.get(d), "hosts", ())})
    where = f" ({', '.join(hosts)})" if hosts else ""
    return f"assign {what} to every host of {', '.join(charge.deployments)}{where}, or {hint}"


def check_uncovered_access(estate: Estate, ctx: Context) -> Iterator[Problem]:
    return check_uncovered(estate, ctx, "uncovered-access")


def check_cal_version(estate: Estate, ctx: Context) -> Iterator[Problem]:
    return check_uncovered(estate, ctx, "cal-version")


def check_external_users(estate: Estate, ctx: Context) -> Iterator[Problem]:
    return check_uncovered(estate, ctx, "external-users")


def check_type(estate: Estate, ctx: Context) -> Iterator[Problem]:
    yield from check_type_mismatch(estate, ctx)
    yield from check_uncovered(estate, ctx, "cal-type-mismatch")


def check_admin_exemptions(estate: Estate, ctx: Context) -> Iterator[Problem]:
    for dep in estate.index("deployments").values():
        if len(dep.administrators) > MAX_EXEMPT_ADMINS:
            extra = ", ".join(dep.administrators[MAX_EXEMPT_ADMINS:])
            yield Problem.at(
                dep.source,
                ("exemptions", "administrators", MAX_EXEMPT_ADMINS),
                f"{dep.id}: {len(dep.administrators)} administrators are exempted; the licence terms allow two",
                f"remove {extra} from the exemption; they need Windows Server (and RDS) CALs",
                (dep.id,),
            )


_PT_WS = "https://www.microsoft.com/licensing/terms/productoffering/WindowsServerStandardDatacenterEssentials/MCA"
_PT_ULT = "https://www.microsoft.com/licensing/terms/product/ForallSoftware"
_RDS = "https://learn.microsoft.com/windows-server/remote/remote-desktop-services/rds-client-access-license"
_VL = "https://techcommunity.microsoft.com/blog/volumelicensing/new-version-rights-with-software-assurance-explained"

RULES = (
    Rule(
        "uncovered-access",
        "Access without a required CAL",
        _E,
        "ASG-01, ADD-02, CAL-01, GOT-03, EXM-07, EXM-10, MUX-01",
        "A person or device reaches a deployment but no CAL covers the access: the product's base CAL, the "
        "Windows Server CAL under every Windows-hosted product (license the whole stack), an RDS CAL for RDS session "
        "hosts, an additive CAL where an Enterprise feature is used.\n"
        "How coverage is worked out: access is a set of person-device pairs (a person from each device in their "
        "devices, or from no known device; a device with each of its users, or unattended). A pair is covered by "
        "the person's User CAL or the device's Device CAL. So a person is covered by a User CAL, or when every "
        "device they use holds a Device CAL; a person with a User CAL needs nothing from the devices they use; a "
        "shared device whose users all hold User CALs needs no Device CAL, and a device nobody is recorded as using "
        "needs its own (a device not operated by a person, EXM-07). For uncovered pairs calcheck charges the fewest "
        "CALs that would cover them all (a Device CAL for a kiosk used by three people without User CALs, a User "
        "CAL for a person using three unlicensed devices) and reports one finding per CAL missing, on the person or "
        "device that should hold it. A server needs no CAL of a product it is licensed to run (EXM-10): the "
        "products of the deployments it hosts and the Windows Server under them. For any other product (an "
        "application server reaching SQL Server Server+CAL, a server hosting no deployment) it needs the CAL: the "
        "terms exempt only servers licensed to run the server software, and calcheck reads nothing else as proof "
        "of that, as an auditor would. Service accounts need no CAL; the "
        "people reaching a deployment through a front end named in access.via need CALs as if direct (MUX-01).\n"
        f"Sources: Product Terms, Universal License Terms ({_PT_ULT}): 'Before Customer uses software under a "
        "License, it must assign that License to a device or user'; Multiplexing. Windows Server licence terms: "
        f"'You do not need CALs for any of your servers licensed to run instances of the server software' ({_PT_WS}).",
        check_uncovered_access,
    ),
    Rule(
        "cal-version",
        "CAL older than the server it is used for",
        _E,
        "VER-01, VER-02, VER-03, VER-05, VER-08, SA-01, SA-05, SA-06, GOT-04",
        "A CAL permits access to servers of the same or an earlier version only (a 2012 CAL also covers 2012 R2). "
        "Software Assurance active on a version's Date Available grants that version; a CAL Suite covers a "
        "version only if bought after its Date Available or with SA active on that date. A Subscription Edition "
        "CAL whose SA lapsed keeps a perpetual right to the 2019 version where the terms grant one (SharePoint "
        "Server SE, Project Server SE); Exchange Server SE's terms state no such right (unconfirmed), so an Exchange "
        "SE CAL without SA grants nothing.\n"
        "Dates: the Product Terms' Date Available of each version, read as the first day of its month unless an "
        "earlier download date is known (the 2013 servers: 2012-10-28); each date's source is in the catalogue "
        f"(calcheck/data/catalogue.yaml). Sources: 'New Version Rights with Software Assurance Explained' ({_VL}); "
        "Project Server Product Terms: 'Project Server Subscription Edition licenses include a perpetual "
        "entitlement to run Project Server 2019 software only'.",
        check_cal_version,
    ),
    Rule(
        "cal-type-mismatch",
        "CAL type does not fit the assignee or the RDS licensing mode",
        _E,
        "CAL-01, MIX-01, RDS-01",
        "User CALs are assigned to people and Device CALs to devices; an RDS session host licensed per user "
        f"needs User CALs and one licensed per device needs Device CALs. Source: {_RDS}.",
        check_type,
    ),
    Rule(
        "external-users",
        "External users without an External Connector or CALs",
        _E,
        "EXM-04, EXM-05, EXT-01, EXT-02, GOT-07",
        "External users are licensed per product: Windows Server with CALs or the Windows Server External "
        "Connector; Remote Desktop Services with RDS CALs or the RDS External Connector; Exchange Server and "
        "SharePoint Server are 'Licensed with Server' (no CAL for external users, but additional functionality "
        "still needs the base and additive CALs); Project Server and SQL Server (Server+CAL) with CALs only. A "
        "Windows Server External Connector never covers Exchange or SharePoint. A connector assigned to every host "
        "of a deployment covers its external users whether or not the deployment lists it in "
        "external_connectors (the connector is licensed to the server). Who is external depends on the "
        "agreement: for one signed from 2024-10-01, anyone not an employee, nor a contractor working more than 30 "
        "hours a week on average or onsite every working day; for earlier ones, anyone not an employee or onsite "
        "contractor. An External Connector counts under the definition of its own agreement; 'Licensed with "
        "Server' applies only to people external under every agreement.\n"
        "Sources: each product's 'External User Access Requirements' in the Product Terms (Exchange Server: "
        "'Licensed with Server (access to Additional Functionality requires both Base and Additive CALs)'; "
        "SharePoint Server: 'Licensed with Server'; Project Server: 'CAL'); Microsoft, 'Update to external users' "
        "(2024).",
        check_external_users,
    ),
    Rule(
        "admin-exemptions",
        "More than two exempted administrators",
        _E,
        "EXM-01, RDS-06",
        "Up to two users or devices that only administer a server need no Windows Server CAL for it, and no RDS "
        "CAL for Remote Desktop for Administration (two concurrent administrative sessions); any further "
        "administrator needs both.\n"
        "Sources: Windows Server licence terms: 'You do not need CALs for up to two devices or users to access your "
        f"instances of the server software only to administer those instances' ({_PT_WS}). That Remote Desktop for "
        "Administration needs no RDS CAL is Microsoft's documented practice; the Product Terms text read does not "
        "state it (unconfirmed there).",
        check_admin_exemptions,
    ),
)
