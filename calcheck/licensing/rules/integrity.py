"""Referential integrity: ids are unique, every reference resolves, records agree with the catalogue."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
from typing import Any

from calcheck.core.findings import Severity
from calcheck.estate.model import BUILTIN, Estate
from calcheck.licensing.rules.base import Context, Problem, Rule

COLLECTIONS = (
    "products",
    "cals",
    "holdings",
    "people",
    "devices",
    "deployments",
    "assignments",
    "audits",
    "waivers",
)


def check_duplicate_ids(estate: Estate, ctx: Context) -> Iterator[Problem]:
    for collection in COLLECTIONS:
        records = getattr(estate, collection)
        if len(estate.index(collection)) == len(records):  # the index keeps one record per id: all are unique
            continue
        first: dict[str, Any] = {}
        for record in records:
            seen = first.setdefault(record.id, record)
            if seen is record:
                continue
            where = "the built-in catalogue" if seen.source is BUILTIN else f"{seen.source.path}:{seen.source.line}"
            yield Problem.at(
                record.source,
                "id",
                f"{collection[:-1] if collection != 'people' else 'person'} id "
                f"{record.id!r} is already used at {where}",
                "give every record its own id; ids are never reused",
            )
    if estate.config is not None:
        seen_agreements: set[str] = set()
        for agreement in estate.config.agreements:
            if agreement.id in seen_agreements:
                yield Problem.at(
                    agreement.source, "id", f"agreement id {agreement.id!r} is listed twice", "list each agreement once"
                )
            seen_agreements.add(agreement.id)


Field = str | tuple[str | int, ...]


def _each(record: Any, path: Field, target: str, refs: tuple[str, ...]) -> Iterator[tuple[Any, Field, str, str]]:
    prefix = (path,) if isinstance(path, str) else path
    for index, ref in enumerate(refs):
        yield record, (*prefix, index), target, ref


def check_confusable_ids(estate: Estate, ctx: Context) -> Iterator[Problem]:
    for collection in COLLECTIONS:
        index = estate.index(collection)
        if len(set(map(str.casefold, index))) == len(index):  # no two ids fold alike
            continue
        seen: dict[str, Any] = {}
        for record in index.values():
            folded = record.id.casefold()
            first = seen.setdefault(folded, record)
            if first is not record:
                yield Problem.at(
                    record.source,
                    "id",
                    f"{collection[:-1] if collection != 'people' else 'person'} id {record.id!r} differs from "
                    f"{first.id!r} ({first.source.path}:{first.source.line}) only in letter case",
                    "use one spelling: ids that differ only in case are easy to confuse in reviews and exports",
                    (record.id, first.id),
                )


def _refs(estate: Estate, known: dict[str, AbstractSet[str]]) -> Iterator[tuple[Any, Field, str, str | None]]:
    """(record, field path, target collection, referenced id) for every reference in the estate; the people's and
    assignments' (most of the estate) only for records with a reference not in ``known``."""
    for product in estate.products:
        yield product, "runs_on", "products", product.runs_on
    for cal in estate.cals:
        yield cal, "product", "products", cal.product
        yield cal, "base", "cals", cal.base
        yield from _each(cal, "contains", "cals", cal.contains)
        yield from _each(cal, "covers", "cals", cal.covers)
        yield from _each(cal, "qualifying", "cals", cal.qualifying)  # Online Services Bridges (issue 18)
        yield from _each(cal, "requires_also", "cals", cal.requires_also)
    for holding in estate.holdings:
        yield holding, "cal", "cals", holding.cal
        yield holding, "agreement", "agreements", holding.agreement
    devices = known["devices"]
    for person in estate.people:
        if person.devices and any(device not in devices for device in person.devices):
            yield from _each(person, "devices", "devices", person.devices)
    for dep in estate.deployments:
        yield dep, "product", "products", dep.product
        yield from _each(dep, "hosts", "devices", dep.hosts)
        yield from _each(dep, ("access", "people"), "people", dep.access.people)
        yield from _each(dep, ("access", "devices"), "devices", dep.access.devices)
        yield from _each(dep, ("access", "via"), "deployments", dep.access.via)
        yield from _each(dep, ("exemptions", "administrators"), "assignees", dep.administrators)
        yield from _each(dep, "external_connectors", "holdings", dep.external_connectors)
        yield dep, "rds_licensing_server", "deployments", dep.rds_licensing_server
    holdings, people, assignments, cals = known["holdings"], known["people"], known["assignments"], known["cals"]
    for asg in estate.assignments:
        if (
            asg.holding in holdings
            and (asg.person is None or asg.person in people)
            and (asg.device is None or asg.device in devices)
            and (asg.replaces is None or asg.replaces in assignments)
            and (asg.component is None or asg.component in cals)
        ):
            continue
        yield asg, "holding", "holdings", asg.holding
        yield asg, "person", "people", asg.person
        yield asg, "device", "devices", asg.device
        yield asg, "replaces", "assignments", asg.replaces
        yield asg, "component", "cals", asg.component


def _known(estate: Estate) -> dict[str, AbstractSet[str]]:
    """The ids of each collection (those of records that failed validation too), and of every person and device."""
    known: dict[str, AbstractSet[str]] = {}
    for name in COLLECTIONS:
        invalid = estate.invalid_ids.get(name)
        known[name] = estate.index(name).keys() | invalid if invalid else estate.index(name).keys()
    known["agreements"] = {a.id for a in estate.config.agreements} if estate.config else set()
    known["assignees"] = known["people"] | known["devices"]
    return known


def check_unknown_references(estate: Estate, ctx: Context) -> Iterator[Problem]:
    known = _known(estate)
    for record, field, target, ref in _refs(estate, known):
        if ref is not None and ref not in known[target]:
            noun = {"assignees": "person or device", "people": "person"}.get(target, target[:-1])
            yield Problem.at(
                record.source,
                field,
                f"{record.id}: unknown {noun} {ref!r}",
                f"add {'an' if noun[0] in 'aeiou' else 'a'} {noun} with id {ref!r}, or correct the reference",
            )
    everything = set().union(*known.values()) if estate.waivers else set()
    for waiver in estate.waivers:
        for index, ref in enumerate(waiver.records):
            if ref not in everything:
                yield Problem.at(
                    waiver.source,
                    ("records", index),
                    f"{waiver.id}: unknown record {ref!r}",
                    "name existing record ids, or remove the entry",
                )


def _version_problems(estate: Estate) -> Iterator[tuple[Any, str, str, str]]:
    products = estate.index("products")
    cals = estate.index("cals")
    for holding in estate.holdings:
        cal = cals.get(holding.cal)
        product = products.get(cal.product) if cal is not None and cal.product else None
        if product is not None and holding.version is not None and product.rank(holding.version) is None:
            yield holding, "version", holding.version, product.id
    for dep in estate.deployments:
        product = products.get(dep.product)
        if product is not None and product.rank(dep.version) is None:
            yield dep, "version", dep.version, product.id
        host = products.get(product.runs_on) if product is not None and product.runs_on else None
        if host is not None and dep.os_version is not None and host.rank(dep.os_version) is None:
            yield dep, "os_version", dep.os_version, host.id


def check_unknown_versions(estate: Estate, ctx: Context) -> Iterator[Problem]:
    products = estate.index("products")
    for record, field, version, product_id in _version_problems(estate):
        versions = ", ".join(v.version for v in products[product_id].versions)
        yield Problem.at(
            record.source,
            field,
            f"{record.id}: {products[product_id].name} has no version {version!r}",
            f"use one of: {versions} (or add the version with a catalogue file)",
        )


def _holding_shape(estate: Estate) -> Iterator[tuple[Any, str, str, str]]:
    cals = estate.index("cals")
    for holding in estate.holdings:
        cal = cals.get(holding.cal)
        if cal is None:
            continue
        if holding.kind is not None and holding.kind != cal.kind:
            yield holding, "kind", f"{cal.name} is a {cal.kind} CAL, not {holding.kind}", f"write kind: {cal.kind}"
        if cal.kind == "suite" and holding.version is not None:
            yield holding, "version", "a CAL suite has no version of its own", "remove the version"
        if cal.kind in ("base", "additive") and holding.version is None:
            yield holding, "cal", f"{cal.name} holding without a version", "add the CAL version from the invoice"
        if (cal.kind == "connector") != (holding.type == "server"):
            expected = "server" if cal.kind == "connector" else "user or device"
            yield holding, "type", f"{cal.name} holdings have type {expected}", f"write type: {expected}"


def check_holding_shape(estate: Estate, ctx: Context) -> Iterator[Problem]:
    for holding, field, message, hint in _holding_shape(estate):
        yield Problem.at(holding.source, field, f"{holding.id}: {message}", hint)


def _date_problems(estate: Estate) -> Iterable[tuple[Any, str, str, str]]:
    for asg in estate.assignments:
        if asg.until is not None and asg.until < asg.since:
            yield asg, "until", f"{asg.id}: ends ({asg.until}) before it starts ({asg.since})", "correct the dates"
    for person in estate.people:
        if (person.status == "departed") != (person.departed is not None):
            yield (
                person,
                "status",
                f"{person.id}: status {person.status!r} and departure date disagree",
                "a departed person has a 'departed:' date; others have none",
            )
    for device in estate.devices:
        if (device.status in ("retired", "failed", "lost")) != (device.retired is not None):
            yield (
                device,
                "status",
                f"{device.id}: status {device.status!r} and 'retired:' date disagree",
                "a retired, failed or lost device has a 'retired:' date; active devices have none",
            )


def check_dates(estate: Estate, ctx: Context) -> Iterator[Problem]:
    for record, field, message, hint in _date_problems(estate):
        yield Problem.at(record.source, field, message, hint)


def check_config(estate: Estate, ctx: Context) -> Iterator[Problem]:
    if not estate.configs and "config" not in estate.invalid_ids:
        yield Problem(
            f"{estate.root}/calcheck.yaml",
            1,
            1,
            "the estate has no configuration file",
            "create calcheck.yaml with 'kind: config' and 'organisation:'",
        )
    for extra in estate.configs[1:]:
        yield Problem.at(
            extra.source,
            None,
            "a second configuration document; only the first is used",
            "keep one 'kind: config' file per estate",
        )


_E, _W = Severity.ERROR, Severity.WARNING
RULES = (
    Rule(
        "duplicate-id",
        "Duplicate record id",
        _E,
        "-",
        "Two records of the same kind share an id, so references to it are ambiguous.",
        check_duplicate_ids,
    ),
    Rule(
        "confusable-id",
        "Ids that differ only in case",
        _W,
        "-",
        "Two records of one kind have ids that differ only in letter case (ids are case-sensitive, people are "
        "not). Ids are ASCII only, so look-alike letters from other alphabets are refused by the schema.",
        check_confusable_ids,
    ),
    Rule(
        "unknown-reference",
        "Dangling reference",
        _E,
        "-",
        "A record refers to a holding, person, device, deployment, product, CAL or agreement that does not exist.",
        check_unknown_references,
    ),
    Rule(
        "unknown-version",
        "Version not in the catalogue",
        _E,
        "-",
        "A holding or deployment names a version its product does not have.",
        check_unknown_versions,
    ),
    Rule(
        "holding-shape",
        "Holding inconsistent with its CAL",
        _E,
        "CAL-02, VER-08",
        "A holding's kind, version or type contradicts the catalogue entry of its CAL.",
        check_holding_shape,
    ),
    Rule(
        "inconsistent-dates",
        "Inconsistent dates or status",
        _E,
        "-",
        "Dates contradict each other or the record's status.",
        check_dates,
    ),
    Rule(
        "config",
        "Estate configuration missing or repeated",
        _E,
        "-",
        "Every estate has exactly one 'kind: config' document.",
        check_config,
    ),
)
