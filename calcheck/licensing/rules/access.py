"""Rules about access: every person and device that reaches a server is covered by a valid CAL."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from calcheck.core.findings import Severity
from calcheck.estate.model import Estate, Source
from calcheck.licensing.access import MAX_EXEMPT_ADMINS, Catalogue, Need, Subject
from calcheck.licensing.coverage import (
    BASE,
    EXPIRED,
    INACTIVE,
    MODE,
    TYPE,
    VERSION,
    Candidate,
    Coverage,
    version_problem,
)
from calcheck.licensing.rules.assignments import check_type_mismatch
from calcheck.licensing.rules.base import Context, Problem, Rule
from calcheck.licensing.rules.subscriptions import bridge_hint

_E = Severity.ERROR
# Which rejection explains an uncovered need best; causes reported by other rules map to None.
_TELLING = (VERSION, MODE, BASE, EXPIRED, TYPE, INACTIVE)
_RULE_FOR = {VERSION: "cal-version", MODE: "cal-type-mismatch", BASE: None, EXPIRED: None, TYPE: None}


def uncovered(ctx: Context) -> dict[tuple[Subject, str], list[Coverage]]:
    """Unsatisfied needs grouped by (subject, CAL), in a stable order."""
    groups: dict[tuple[Subject, str], list[Coverage]] = defaultdict(list)
    for coverage in ctx.analysis.coverages:
        if not coverage.satisfied:
            groups[coverage.need.key].append(coverage)
    return dict(sorted(groups.items()))


def best_rejection(coverages: list[Coverage]) -> Candidate | None:
    rejected = [c for coverage in coverages for c in coverage.rejected]
    rejected.sort(key=lambda c: (_TELLING.index(c.kind or INACTIVE), c.holding.id, c.assignment.id))
    return rejected[0] if rejected else None


def rule_for(coverages: list[Coverage], externals: frozenset[str]) -> str | None:
    """The rule that reports this uncovered group (None: another rule reports its cause)."""
    best = best_rejection(coverages)
    if best is not None and best.kind in _RULE_FOR:
        return _RULE_FOR[best.kind]
    subject = coverages[0].need.subject
    return "external-users" if subject[0] == "person" and subject[1] in externals else "uncovered-access"


def _worst_need(coverages: list[Coverage], cat: Catalogue) -> Need:
    return max(coverages, key=lambda c: _rank(cat, c.need.product, c.need.version)).need


def _need_text(coverages: list[Coverage], cat: Catalogue) -> tuple[str, str]:
    need = _worst_need(coverages, cat)
    cal = cat.cals[need.cal]
    version = f" {need.version} or newer" if need.version else ""
    kind = f" {need.type.capitalize()}" if need.type else ""
    return f"{cal.name}{kind}{version}", ", ".join(_deployment_ids(coverages))


def _deployment_ids(coverages: list[Coverage]) -> list[str]:
    return sorted({d.id for c in coverages for d in c.need.deployments})


def _rank(cat: Catalogue, product_id: str, version: str | None) -> int:
    product = cat.products.get(product_id)
    rank = product.rank(version) if product and version else None
    return -1 if rank is None else rank


def article(phrase: str) -> str:
    return f"{'an' if phrase[:1].lower() in 'aeiou' else 'a'} {phrase}"


def suggestion(estate: Estate, ctx: Context, cat: Catalogue, need: Need, what: str) -> str:
    """What to do about a missing CAL: pools with a CAL to spare that fits, or what to buy."""
    wanted = need.type or ("user" if need.subject[0] == "person" else "device")
    holdings = estate.index("holdings")
    free = [
        p
        for p in ctx.position.pools
        if p.surplus > 0
        and p.type == wanted
        and need.cal in cat.expand(p.cal)
        and any(version_problem(holdings[h], need, cat, ctx.as_of) is None for h in p.holdings if h in holdings)
    ]
    if free:
        pools = ", ".join(f"{p.holdings[0]} has {p.surplus} to spare" for p in free[:3])
        return f"assign {article(what)} to {need.subject[1]} ({pools})"
    return f"assign {article(what)} to {need.subject[1]}; no pool has one to spare, so buy one"


def _subject_source(estate: Estate, subject: Subject) -> Source:
    record = estate.index("people" if subject[0] == "person" else "devices")[subject[1]]
    assert isinstance(record.source, Source)
    return record.source


def check_uncovered(estate: Estate, ctx: Context, rule: str) -> Iterator[Problem]:
    cat = Catalogue(estate)
    for (subject, _), coverages in uncovered(ctx).items():
        if rule_for(coverages, ctx.analysis.externals) != rule:
            continue
        what, deployments = _need_text(coverages, cat)
        records = (subject[1], *_deployment_ids(coverages))
        best = best_rejection(coverages)
        if rule in ("cal-version", "cal-type-mismatch") and best is not None:
            yield Problem.at(
                best.assignment.source,
                "holding",
                f"{subject[1]} reaches {deployments} and needs {article(what)}, but {best.problem}",
                suggestion(estate, ctx, cat, _worst_need(coverages, cat), what),
                (*records, best.assignment.id),
            )
            continue
        source = _subject_source(estate, subject)
        hint = suggestion(estate, ctx, cat, _worst_need(coverages, cat), what)
        hint += bridge_hint(estate, ctx, _worst_need(coverages, cat))  # Online Services (issue 18)
        if rule == "external-users":
            connectors = sorted({h for c in coverages for d in c.need.deployments for h in d.external_connectors})
            named = f"External Connector {', '.join(connectors)}" if connectors else "an External Connector"
            hint = f"assign {named} to every host of {deployments}, or {hint}"
        reason = f" ({best.problem})" if best is not None else ""
        yield Problem.at(
            source,
            "id",
            f"{subject[0]} {subject[1]} reaches {deployments} without {article(what)}{reason}",
            hint,
            records,
        )


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
                f"remove {extra} from the exemption; they need Windows Server CALs",
                (dep.id,),
            )


RULES = (
    Rule(
        "uncovered-access",
        "Access without a required CAL",
        _E,
        "ASG-01, ADD-02, CAL-01, GOT-03",
        "A person or device reaches a deployment but holds no CAL of the kind the deployment requires: the "
        "product's base CAL, the Windows Server CAL under every Windows-hosted product (license the whole stack), "
        "an RDS CAL for RDS session hosts, an additive CAL where an Enterprise feature is used.",
        check_uncovered_access,
    ),
    Rule(
        "cal-version",
        "CAL older than the server it is used for",
        _E,
        "VER-01, VER-02, VER-03, VER-05, VER-08, SA-01, GOT-04",
        "A CAL permits access to servers of the same or an earlier version only (a 2012 CAL also covers 2012 R2). "
        "Software Assurance active when a newer version is released grants that version; a CAL Suite covers a "
        "version only if bought after its release or with SA active on that date.",
        check_cal_version,
    ),
    Rule(
        "cal-type-mismatch",
        "CAL type does not fit the assignee or the RDS licensing mode",
        _E,
        "CAL-01, MIX-01, RDS-01",
        "User CALs are assigned to people and Device CALs to devices; an RDS session host licensed per user "
        "needs User CALs and one licensed per device needs Device CALs.",
        check_type,
    ),
    Rule(
        "external-users",
        "External users without an External Connector or CALs",
        _E,
        "EXM-04, EXM-05, GOT-07",
        "External users (not employees; for agreements signed from 2024-10-01, contractors neither onsite every "
        "working day nor working more than 30 hours a week) need CALs, or an External Connector assigned to "
        "every server they reach.",
        check_external_users,
    ),
    Rule(
        "admin-exemptions",
        "More than two exempted administrators",
        _E,
        "EXM-01",
        "Up to two users or devices that only administer a server need no Windows Server CAL for it; any "
        "further administrator needs one.",
        check_admin_exemptions,
    ),
)
