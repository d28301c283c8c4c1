"""Turn schema-valid documents into model records (one builder per kind)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cache
from typing import Any

from calcheck.estate import model as m
from calcheck.estate.sources import FileState
from calcheck.estate.yamlload import Document, Pos, peek


@cache
def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)  # a few hundred distinct dates across a whole estate: parse each once


def date(value: Any) -> dt.date | None:
    return None if value is None else _day(value)


def version(value: Any) -> str | None:
    return None if value is None else str(value)


def _source(path: str, pos: Pos) -> m.Source:
    return m.Source(path, pos[0], pos[1], pos)


def _items(doc: Document, key: str) -> list[tuple[dict[str, Any], Pos]]:
    records = doc.data.get(key) or []
    child = doc.pos[2].get(key)
    positions = child[2][2] if child is not None and len(child[2]) == 3 else []
    return list(zip(records, positions, strict=False))


def _product(rec: dict[str, Any], src: m.Source) -> m.Product:
    versions = tuple(
        m.ProductVersion(
            str(v["version"]),
            dt.date.fromisoformat(v["released"]),
            tuple(str(a) for a in v.get("accepts", ())),
            bool(v.get("subscription", False)),
            version(v.get("fallback")),
        )
        for v in rec["versions"]
    )
    editions = tuple(
        m.Edition(e["name"], tuple(e["models"]), e.get("max_users"), e.get("max_devices"))
        for e in rec.get("editions", ())
    )
    return m.Product(
        rec["id"], rec["name"], versions, src, rec.get("runs_on"), rec.get("external_users", "cal"), editions
    )


def _cal(rec: dict[str, Any], src: m.Source) -> m.Cal:
    return m.Cal(
        rec["id"],
        rec["name"],
        rec["kind"],
        src,
        rec.get("product"),
        rec.get("base"),
        rec.get("role"),
        rec.get("feature"),
        tuple(rec.get("contains", ())),
        tuple(rec.get("covers", ())),
        offering=rec.get("offering"),
        qualifying=tuple(rec.get("qualifying", ())),
        requires_also=tuple(rec.get("requires_also", ())),
        skus=tuple(rec.get("skus", ())),
        aliases=tuple(rec.get("aliases", ())),
        management=tuple(rec.get("management", ())),
        terms=rec.get("terms"),
    )


Inspect = Callable[[str], tuple[FileState, str | None]]


def _holding(rec: dict[str, Any], src: m.Source, inspect: Inspect) -> m.Holding:
    proofs = tuple(
        _proof(p, _source(src.path, ppos), inspect)
        for p, ppos in zip(rec.get("proof", ()), _child_list(src.pos, "proof"), strict=False)
    )
    return m.Holding(
        rec["id"],
        rec["cal"],
        rec["type"],
        rec["quantity"],
        rec["channel"],
        _day(rec["purchased"]),
        src,
        proofs,
        rec.get("kind"),
        version(rec.get("version")),
        rec.get("agreement"),
        date(rec.get("sa_until")),
        date(rec.get("subscription_until")),
        rec.get("unit_price"),
        rec.get("currency"),
        rec.get("owner"),
        tuple(rec.get("tags", ())),
    )


def _proof(rec: dict[str, Any], src: m.Source, inspect: Inspect) -> m.Proof:
    file = rec.get("file")
    state, digest = inspect(file) if file is not None else (None, None)
    return m.Proof(rec["type"], rec["ref"], src, date(rec.get("date")), file, rec.get("sha256"), state, digest)


def _person(rec: dict[str, Any], src: m.Source) -> m.Person:
    return m.Person(
        rec["id"],
        rec["name"],
        rec["kind"],
        rec["status"],
        src,
        rec.get("email"),
        date(rec.get("departed")),
        rec.get("department"),
        rec.get("cost_centre"),
        tuple(rec.get("groups", ())),
        tuple(rec.get("devices", ())),
        rec.get("onsite"),
        rec.get("hours_per_week"),
        tuple(rec.get("tags", ())),
    )


def _device(rec: dict[str, Any], src: m.Source) -> m.Device:
    return m.Device(
        rec["id"],
        rec["kind"],
        rec["status"],
        src,
        rec.get("name"),
        date(rec.get("retired")),
        rec.get("department"),
        rec.get("cost_centre"),
        tuple(rec.get("groups", ())),
        tuple(rec.get("tags", ())),
    )


def _deployment(rec: dict[str, Any], src: m.Source) -> m.Deployment:
    access = rec.get("access", {})
    exemptions = rec.get("exemptions", {})
    return m.Deployment(
        rec["id"],
        rec["name"],
        rec["product"],
        str(rec["version"]),
        m.Access(
            bool(access.get("everyone", False)),
            tuple(access.get("groups", ())),
            tuple(access.get("departments", ())),
            tuple(access.get("people", ())),
            tuple(access.get("devices", ())),
            tuple(access.get("via", ())),
        ),
        src,
        rec.get("edition"),
        version(rec.get("os_version")),
        tuple(rec.get("roles", ())),
        rec.get("rds_licensing_mode"),
        rec.get("rds_licensing_server"),
        tuple(rec.get("features", ())),
        tuple(rec.get("hosts", ())),
        tuple(exemptions.get("administrators", ())),
        bool(exemptions.get("vm_host_only", False)),
        tuple(rec.get("external_connectors", ())),
        tuple(rec.get("tags", ())),
        rec.get("licensing_model"),
    )


def _assignment(rec: dict[str, Any], src: m.Source) -> m.Assignment:
    return m.Assignment(
        rec["id"],
        rec["holding"],
        _day(rec["since"]),
        src,
        rec.get("person"),
        rec.get("device"),
        date(rec.get("until")),
        bool(rec.get("temporary", False)),
        rec.get("replaces"),
        rec.get("reason"),
        rec.get("note"),
        rec.get("component"),
    )


def _audit(rec: dict[str, Any], src: m.Source) -> m.Audit:
    return m.Audit(
        rec["id"],
        _day(rec["date"]),
        rec["auditor"],
        rec["type"],
        rec["result"],
        src,
        rec.get("scope"),
        rec.get("revision"),
        dict(rec.get("position", {})),
        rec.get("notes"),
    )


def _waiver(rec: dict[str, Any], src: m.Source) -> m.Waiver:
    return m.Waiver(
        rec["id"],
        rec["rule"],
        rec["owner"],
        rec["reason"],
        _day(rec["expires"]),
        src,
        tuple(rec.get("records", ())),
    )


def _config(data: dict[str, Any], src: m.Source) -> m.Config:
    rules = data.get("rules", {})
    site = data.get("site", {})
    agreements = tuple(
        m.Agreement(
            a["id"], a["type"], dt.date.fromisoformat(a["signed"]), _source(src.path, apos), date(a.get("ends"))
        )
        for a, apos in zip(data.get("agreements", []), _child_list(src.pos, "agreements"), strict=False)
    )
    return m.Config(
        data["organisation"],
        src,
        data.get("audit_interval_days", 365),
        data.get("headroom_threshold", 0.95),
        data.get("currency"),
        agreements,
        dict(rules.get("severity", {})),
        tuple(rules.get("disabled", ())),
        bool(site.get("publish_proofs", False)),
        bool(site.get("pseudonymise_people", False)),
        site.get("repository_url"),
        renewal_window_days=data.get("renewal_window_days", 90),
    )


def _child_list(pos: Pos, key: str) -> list[Pos]:
    entry = peek(pos[2]).get(key)  # the record's positions stay packed
    return list(entry[2][2]) if entry is not None and len(entry[2]) == 3 else []


_SIMPLE: dict[str, tuple[str, Callable[[dict[str, Any], m.Source], Any]]] = {
    "people": ("people", _person),
    "devices": ("devices", _device),
    "deployments": ("deployments", _deployment),
    "assignments": ("assignments", _assignment),
    "audits": ("audits", _audit),
    "waivers": ("waivers", _waiver),
}


def add_document(estate: m.Estate, path: str, kind: str, doc: Document, inspect: Inspect) -> None:
    """Add the records of one schema-valid document to ``estate``."""
    if kind == "config":
        config = _config(doc.data, _source(path, doc.pos))
        estate.configs.append(config)
        estate.config = estate.config or config
    elif kind == "catalogue":
        estate.products.extend(_product(r, _source(path, p)) for r, p in _items(doc, "products"))
        estate.cals.extend(_cal(r, _source(path, p)) for r, p in _items(doc, "cals"))
    elif kind == "holdings":
        estate.holdings.extend(_holding(r, _source(path, p), inspect) for r, p in _items(doc, "holdings"))
    else:
        key, builder = _SIMPLE[kind]
        getattr(estate, key).extend(builder(r, _source(path, p)) for r, p in _items(doc, key))
