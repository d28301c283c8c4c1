"""Rules about holdings: counts, entitlement in force, proof of purchase, shelfware, headroom."""

from __future__ import annotations

from collections.abc import Iterator

from calcheck.core.findings import Severity
from calcheck.estate.model import Assignment, Estate, Holding
from calcheck.estate.sources import FileState
from calcheck.licensing import subscriptions as online
from calcheck.licensing.access import Catalogue
from calcheck.licensing.rules.access import check_uncovered
from calcheck.licensing.rules.base import Context, Problem, Rule
from calcheck.licensing.wording import cal_label, listing

_E, _W, _I = Severity.ERROR, Severity.WARNING, Severity.INFO


def _held_by(assignments: list[Assignment]) -> list[str]:
    return [f"{a.assignee[1]} ({a.id})" for a in sorted(assignments, key=lambda a: a.id)]


def check_over_allocation(estate: Estate, ctx: Context) -> Iterator[Problem]:
    cat = Catalogue(estate)
    for holding in estate.index("holdings").values():
        active = ctx.analysis.in_force.get(holding.id, [])
        if len(active) > holding.quantity and ctx.analysis.entitlement.get(holding.id) is None:
            extra = len(active) - holding.quantity
            label = cal_label(cat, holding.cal, holding.version, holding.type, extra)
            free = [a for a in active if a.id in ctx.analysis.reclaimable]
            first = f" (reclaim from {listing(_held_by(free))} first)" if free else ""
            yield Problem.at(
                holding.source,
                "quantity",
                f"{holding.id}: {len(active)} CALs assigned but only {holding.quantity} owned",
                f"buy {extra} more {label}, or unassign {extra}{first}",
                (holding.id, *(a.id for a in free)),
            )


def check_entitlement_expired(estate: Estate, ctx: Context) -> Iterator[Problem]:
    cat = Catalogue(estate)
    for holding in estate.index("holdings").values():
        problem = ctx.analysis.entitlement.get(holding.id)
        active = ctx.analysis.in_force.get(holding.id, [])
        if online.is_online(holding, cat.cals):
            continue  # reported by subscription-ended / subscription-holding (issue 18)
        if problem is not None and active and not problem.startswith("bought only"):
            yield Problem.at(
                holding.source,
                _expiry_field(holding),
                f"{holding.id} grants no rights ({problem}) but is still assigned to {listing(_held_by(active))}",
                "renew the subscription or Software Assurance, or move them to CALs in force",
                (holding.id, *(a.id for a in active), *(a.assignee[1] for a in active)),
            )


def _expiry_field(holding: Holding) -> str:
    if holding.channel == "csp-subscription" and holding.subscription_until is not None:
        return "subscription_until"
    return "sa_until" if holding.sa_until is not None else "channel"


def check_rds_licensing_server(estate: Estate, ctx: Context) -> Iterator[Problem]:
    """Each session host's RDS CALs against the licensing server it names; estates naming none are checked
    against their newest licensing server."""
    yield from check_uncovered(estate, ctx, "rds-licensing-server-version")
    deployments = estate.index("deployments").values()
    if any(d.rds_licensing_server for d in deployments if "rds-session-host" in d.roles):
        return
    cat = Catalogue(estate)
    product = cat.products.get("windows-server")
    servers = [d for d in deployments if "rd-licensing" in d.roles]
    ranks = [product.rank(d.version) for d in servers] if product else []
    newest = max((r for r in ranks if r is not None), default=None)
    if product is None or newest is None:
        return
    for holding in estate.index("holdings").values():
        rank = product.rank(holding.version) if holding.cal == "rds" and holding.version else None
        if rank is not None and rank > newest:
            yield Problem.at(
                holding.source,
                "version",
                f"{holding.id}: RDS {holding.version} CALs cannot be installed on an RD Licensing server running "
                f"Windows Server {product.versions[newest].version}",
                f"upgrade the RD Licensing server ({', '.join(d.id for d in servers)}) to {holding.version} or newer",
                (holding.id,),
            )


def check_proof_of_purchase(estate: Estate, ctx: Context) -> Iterator[Problem]:
    for holding in estate.index("holdings").values():
        if not holding.proofs:
            yield Problem.at(
                holding.source,
                "id",
                f"{holding.id} has no proof of purchase",
                "add a proof entry: the invoice, order, licensing statement or agreement reference",
                (holding.id,),
            )
        elif holding.channel in ("oem", "retail") and all(p.type == "coa" for p in holding.proofs):
            yield Problem.at(
                holding.source,
                "proof",
                f"{holding.id}: a Certificate of Authenticity alone is not proof of a licence (POE-03)",
                "add the invoice or receipt of the purchase",
                (holding.id,),
            )


_FILE_MESSAGES = {
    FileState.MISSING: "does not exist",
    FileState.OUTSIDE: "points outside the estate folder",
    FileState.NOT_A_FILE: "is not a regular file",
    FileState.UNREADABLE: "cannot be read",
    FileState.LINK: "is a symbolic link, or inside one (links are never followed)",
}


def check_proof_files(estate: Estate, ctx: Context) -> Iterator[Problem]:
    for holding in estate.index("holdings").values():
        for proof in holding.proofs:
            if proof.file_state is not None and proof.file_state is not FileState.OK:
                yield Problem.at(
                    proof.source,
                    "file",
                    f"{holding.id}: proof file {proof.file!r} {_FILE_MESSAGES[proof.file_state]}",
                    "commit the document under the estate folder and give its path relative to it",
                    (holding.id,),
                )
            elif proof.sha256 and proof.actual_sha256 and proof.sha256 != proof.actual_sha256:
                yield Problem.at(
                    proof.source,
                    "sha256",
                    f"{holding.id}: proof file {proof.file!r} has changed (its SHA-256 is {proof.actual_sha256})",
                    "restore the original document, or record the new hash if the change is legitimate",
                    (holding.id,),
                )


def check_proof_unhashed(estate: Estate, ctx: Context) -> Iterator[Problem]:
    for holding in estate.index("holdings").values():
        for proof in holding.proofs:
            if proof.file is not None and proof.sha256 is None and proof.file_state is FileState.OK:
                yield Problem.at(
                    proof.source,
                    "file",
                    f"{holding.id}: proof file {proof.file!r} has no recorded SHA-256",
                    f"add sha256: {proof.actual_sha256}",
                    (holding.id,),
                )


def _used_products(estate: Estate, cat: Catalogue) -> set[str]:
    used: set[str] = set()
    for dep in estate.index("deployments").values():
        product = cat.products.get(dep.product)
        used.add(dep.product)
        if product is not None and product.runs_on:
            used.add(product.runs_on)
    return used


def _products_of(holding: Holding, cat: Catalogue) -> set[str]:
    return {cat.cals[c].product or "" for c in cat.expand(holding.cal) if c in cat.cals}


def check_shelfware(estate: Estate, ctx: Context) -> Iterator[Problem]:
    cat = Catalogue(estate)
    used = _used_products(estate, cat)
    for holding in estate.index("holdings").values():
        if online.offering(cat.cals, holding.cal):
            continue  # bought for the cloud: CAL rights are a by-product (issue 18)
        if holding.cal in cat.cals and not _products_of(holding, cat) & used:
            yield Problem.at(
                holding.source,
                "cal",
                f"{holding.id}: no deployment uses the products of {cat.cals[holding.cal].name}",
                "record the deployment that needs these CALs, or plan to retire the holding at renewal",
                (holding.id,),
            )


def check_headroom(estate: Estate, ctx: Context) -> Iterator[Problem]:
    threshold = estate.config.headroom_threshold if estate.config else 0.95
    holdings = estate.index("holdings")
    for pool in ctx.position.pools:
        use = pool.utilisation
        if pool.type == "server" or use is None or not threshold < use <= 1.0 or not pool.holdings:
            continue
        first = holdings[pool.holdings[0]]
        yield Problem.at(
            first.source,
            "quantity",
            f"{pool.label} is {use:.0%} used ({pool.assigned} of {pool.owned}), above the {threshold:.0%} threshold",
            f"plan a purchase before the pool runs out; {pool.reclaimable} reclaimable",
            tuple(pool.holdings),
        )


RULES = (
    Rule(
        "over-allocation",
        "More CALs assigned than owned",
        _E,
        "POE-04, ASG-01",
        "A holding's CALs in force are assigned to more people or devices than its quantity. Every "
        "assignment beyond the quantity is an unlicensed user or device.",
        check_over_allocation,
    ),
    Rule(
        "entitlement-expired",
        "Assigned CALs whose entitlement has ended",
        _E,
        "SA-04, SA-05, GOT-06",
        "A CSP subscription past its end date, or a Subscription Edition CAL without active Software Assurance, "
        "grants no rights, yet its CALs are still assigned.",
        check_entitlement_expired,
    ),
    Rule(
        "rds-licensing-server-version",
        "RDS CALs newer than the RD Licensing server",
        _E,
        "VER-04",
        "An RD Licensing server must run the same or a newer Windows Server version than the RDS CALs "
        "installed on it (a 2022 licence server cannot hold 2025 CALs). A session host can use only the RDS CALs of "
        "the licensing server it names (rds_licensing_server), so each person's or device's RDS CAL is checked "
        "against that server's version; an estate whose session hosts name none is checked against its newest "
        "licensing server.\n"
        "Source: 'You can install RDS CALs on a license server running the same version of Windows Server as the "
        "RDS CALs or earlier' (https://learn.microsoft.com/windows-server/remote/remote-desktop-services/"
        "rds-client-access-license).",
        check_rds_licensing_server,
    ),
    Rule(
        "proof-of-purchase",
        "Holding without proof of purchase",
        _E,
        "POE-01, POE-03",
        "Each holding must point to evidence of the purchase (invoice, order, Microsoft Licensing Statement, "
        "agreement). For OEM and retail licences a Certificate of Authenticity alone is not enough.",
        check_proof_of_purchase,
    ),
    Rule(
        "proof-file",
        "Proof document missing or changed",
        _E,
        "POE-01",
        "A proof document named in a holding is missing, lies outside the estate, is not a regular file, "
        "or no longer matches its recorded SHA-256.",
        check_proof_files,
    ),
    Rule(
        "proof-unhashed",
        "Proof document without a hash",
        _W,
        "POE-01",
        "A proof document has no recorded SHA-256, so a later change to it would go unnoticed.",
        check_proof_unhashed,
    ),
    Rule(
        "shelfware",
        "CALs for products no deployment uses",
        _I,
        "POE-04",
        "The holding grants access to products that no recorded deployment runs: money spent on nothing, "
        "or a deployment missing from the estate.",
        check_shelfware,
    ),
    Rule(
        "headroom",
        "Pool nearly exhausted",
        _W,
        "POE-04",
        "A pool's utilisation (assigned / owned) is above the estate's headroom_threshold.",
        check_headroom,
    ),
)
