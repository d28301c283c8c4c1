"""Rules about how servers are licensed and who stands behind their access: editions and licensing models,
Windows Server Essentials' limits, service accounts and front ends, and undetermined external users."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from calcheck.core.findings import Severity
from calcheck.estate.model import Deployment, Estate, Product
from calcheck.licensing.access import Catalogue, Directory, Subject, edition_of
from calcheck.licensing.rules.base import Context, Problem, Rule
from calcheck.licensing.wording import listing, plural

_E, _W = Severity.ERROR, Severity.WARNING

PT_SQL = "https://www.microsoft.com/licensing/terms/productoffering/SQLServer/EAEAS"
PT_WS = "https://www.microsoft.com/licensing/terms/productoffering/WindowsServerStandardDatacenterEssentials/MCA"
PT_ULT = "https://www.microsoft.com/licensing/terms/product/ForallSoftware"
EXTERNAL_NEWS = "https://www.microsoft.com/en-us/licensing/news/Update-to-external-users-2024"


def _edition_problem(dep: Deployment, product: Product) -> tuple[str, str, str] | None:
    """(field, message, hint) when the deployment's edition or licensing model is unknown for its product."""
    names = [e.name for e in product.editions]
    edition = edition_of(dep, product)
    if dep.edition is not None and edition is None:
        known = f"use one of: {', '.join(names)}" if names else f"{product.name} has no editions: remove it"
        return "edition", f"{dep.id}: {product.name} has no edition {dep.edition!r}", known
    if dep.licensing_model is None:
        return None
    models = edition.models if edition is not None else tuple(m for e in product.editions for m in e.models)
    if dep.licensing_model in models:
        return None
    sold = f"{product.name} {edition.name}" if edition is not None else product.name
    allowed = ", ".join(dict.fromkeys(models)) or "no model the catalogue knows"
    return (
        "licensing_model",
        f"{dep.id}: {sold} is not licensed {dep.licensing_model} (it is sold {allowed})",
        f"write licensing_model: {models[0]}" if models else "remove licensing_model",
    )


def check_edition(estate: Estate, ctx: Context) -> Iterator[Problem]:
    cat = Catalogue(estate)
    for dep in estate.index("deployments").values():
        product = cat.products.get(dep.product)
        problem = _edition_problem(dep, product) if product is not None else None
        if problem is not None:
            field, message, hint = problem
            yield Problem.at(dep.source, field, message, f"{hint}; until then CALs are required", (dep.id,))


def _reached_by(directory: Directory, dep: Deployment) -> tuple[set[str], set[str]]:
    """The people and the devices that reach ``dep``: directly, or as users and devices of those who do."""
    people: set[str] = set()
    devices: set[str] = set()
    for subject in directory.subjects():
        if any(d.id == dep.id for d, _ in directory.reach(subject)):
            (people if subject[0] == "person" else devices).add(subject[1])
    for person in list(people):
        devices.update(directory.partners(("person", person)))
    for device in list(devices):
        people.update(directory.users.get(device, ()))
    return people, devices


def check_essentials_limits(estate: Estate, ctx: Context) -> Iterator[Problem]:
    cat = Catalogue(estate)
    capped = []
    for dep in estate.index("deployments").values():
        product = cat.products.get(dep.product)
        edition = edition_of(dep, product) if product is not None else None
        if edition is not None and (edition.max_users or edition.max_devices):
            capped.append((dep, edition))
    if not capped:
        return
    directory = Directory(estate, ctx.as_of)
    for dep, edition in capped:
        people, devices = _reached_by(directory, dep)
        over = []
        if edition.max_users is not None and len(people) > edition.max_users:
            over.append(f"{plural(len(people), 'user')} (at most {edition.max_users})")
        if edition.max_devices is not None and len(devices) > edition.max_devices:
            over.append(f"{plural(len(devices), 'device')} (at most {edition.max_devices})")
        if over:
            yield Problem.at(
                dep.source,
                "edition",
                f"{dep.id}: {cat.products[dep.product].name} {edition.name} is reached by {' and '.join(over)}",
                "move to Standard edition with CALs for every user or device, or reduce who reaches it",
                (dep.id,),
            )


def check_external_undetermined(estate: Estate, ctx: Context) -> Iterator[Problem]:
    people = estate.index("people")
    for person_id in sorted(ctx.analysis.undetermined):
        person = people[person_id]
        yield Problem.at(
            person.source,
            "kind",
            f"person {person_id}: cannot tell whether this contractor is an external user: no hours_per_week, "
            "which agreements signed from 2024-10-01 need",
            "add hours_per_week (and onsite: true if they work onsite every working day); until then they are "
            "treated as internal and need CALs",
            (person_id,),
        )


def check_multiplexing(estate: Estate, ctx: Context) -> Iterator[Problem]:
    behind: dict[str, set[Subject]] = defaultdict(set)
    others: set[str] = set()  # deployments reached by anyone but a service account
    for exemption in ctx.analysis.exemptions:
        if "service account" in exemption.reason:
            behind[exemption.need.deployment.id].add(exemption.need.subject)
        else:
            others.add(exemption.need.deployment.id)
    if not behind:
        return
    seen: set[int] = set()  # needs of subjects alike share their tuple of deployments: each is read once
    for coverage in ctx.analysis.coverages:
        deps = coverage.need.deployments
        if id(deps) not in seen:
            seen.add(id(deps))
            others.update(dep.id for dep in deps)
    deployments = estate.index("deployments")
    fronted = {f for dep in deployments.values() for f in dep.access.via}
    for dep_id in sorted(behind):
        if dep_id in others or dep_id in fronted:
            continue
        accounts = sorted(s[1] for s in behind[dep_id])
        dep = deployments[dep_id]
        yield Problem.at(
            dep.source,
            "access",
            f"{dep_id} is reached only by service account{'s' if len(accounts) > 1 else ''} {listing(accounts)}: "
            "the people behind them are missing",
            "list the people or groups who use it through the account (or name this deployment in the front "
            "end's access.via); each needs CALs as if direct (multiplexing)",
            (dep_id, *accounts),
        )


RULES = (
    Rule(
        "edition",
        "Unknown edition or licensing model",
        _E,
        "SQL-01, EXM-11, CAL-02",
        "A deployment's edition must be one of the catalogue's editions of its product, and its licensing_model one "
        "the edition is sold under. The edition decides whether CALs are needed: SQL Server Enterprise is licensed "
        "per core only, and SQL Server Standard licensed per core needs no SQL Server CALs (only Server+CAL does); "
        "Windows Server Essentials needs no CALs. Until an unknown edition or model is corrected, calcheck requires "
        "the CALs, as an auditor would.\n"
        f"Sources: SQL Server Product Terms ({PT_SQL}), License Model per edition; Windows Server Product Terms "
        f"({PT_WS}).",
        check_edition,
    ),
    Rule(
        "essentials-limits",
        "Windows Server Essentials over its limits",
        _E,
        "EXM-09, EXM-11",
        "Windows Server Essentials needs no CALs, but serves at most 25 users and 50 devices. Counted: the people who "
        "reach the deployment (directly, or through a device that does) and the devices that reach it (directly, or "
        "used by those people).\n"
        "Source: Windows Server Essentials licensing (Microsoft OEM 'Server CALs' page; Windows Server licensing "
        f"guides). The 25/50 limits were not found in the Product Terms text ({PT_WS}); they are enforced as the "
        "edition's documented limits.",
        check_essentials_limits,
    ),
    Rule(
        "external-undetermined",
        "Contractor who may or may not be an external user",
        _W,
        "EXT-02, EXM-05, GOT-07",
        "Under agreements signed on or after 2024-10-01 a contractor is an external user unless they typically work "
        "more than 30 hours a week on average, or onsite every working day. Without hours_per_week (and not onsite) "
        "calcheck cannot tell, so the contractor is treated as internal (CALs, never an External Connector).\n"
        f"Source: Microsoft, 'Update to external users' (2024-06-25, {EXTERNAL_NEWS}): the changed definition "
        "applies only to customers who sign an enrollment or agreement on or after October 1, 2024.",
        check_external_undetermined,
    ),
    Rule(
        "multiplexing",
        "Deployment reached only by service accounts",
        _W,
        "MUX-01, EXM-06, GOT-09",
        "A service account needs no CAL of its own, but multiplexing (a portal, middleware or shared account that "
        "pools connections) does not reduce the CALs required: every person behind it needs CALs as if they "
        "connected directly. A deployment reached only by service accounts has its people missing from the estate. "
        "Record them in access, or name the deployment in the front end's access.via.\n"
        f"Source: Product Terms, Universal License Terms, 'Multiplexing' ({PT_ULT}).",
        check_multiplexing,
    ),
)
