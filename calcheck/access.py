"""Who reaches which deployment, and which CALs each access requires (CAL-02, ADD-02, EXM-01, EXM-05)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from calcheck.model import Cal, Deployment, Device, Estate, Person

Subject = tuple[str, str]  # ('person', id) or ('device', id)

# Roles whose servers need no Windows Server CAL at all (EXM-01 c, d, e).
EXEMPT_ROLES = frozenset({"vm-host", "web", "hpc"})
MAX_EXEMPT_ADMINS = 2
# Agreements signed on or after this date use the narrower definition of an external user (EXM-05).
NEW_EXTERNAL_DEFINITION = dt.date(2024, 10, 1)


@dataclass(frozen=True, slots=True)
class Need:
    """One CAL (at a version, of a type) that one subject needs for the deployments it reaches."""

    subject: Subject
    cal: str
    product: str
    version: str | None
    type: str | None
    deployments: tuple[Deployment, ...]
    vias: tuple[str, ...]

    @property
    def key(self) -> tuple[Subject, str]:
        return (self.subject, self.cal)

    @property
    def deployment(self) -> Deployment:
        """The first deployment (an external user's needs are kept one deployment each)."""
        return self.deployments[0]


@dataclass(frozen=True, slots=True)
class Exemption:
    """A need that was waived by the licence terms themselves, with the reason."""

    need: Need
    reason: str


def is_active_person(person: Person, as_of: dt.date) -> bool:
    if person.status == "departed":
        return person.departed is not None and person.departed > as_of
    return True


def is_active_device(device: Device, as_of: dt.date) -> bool:
    return device.status == "active" or (device.retired is not None and device.retired > as_of)


def is_external(person: Person, estate: Estate) -> bool:
    """External user per EXM-05, using the definition of the most recently signed agreement."""
    if person.kind == "external":
        return True
    if person.kind != "contractor":
        return False
    agreements = estate.config.agreements if estate.config else ()
    newest = max((a.signed for a in agreements), default=None)
    if newest is not None and newest >= NEW_EXTERNAL_DEFINITION:
        return not (bool(person.onsite) or (person.hours_per_week or 0) > 30)
    return not person.onsite


class Directory:
    """Active people and devices indexed by group and department, built once."""

    def __init__(self, estate: Estate, as_of: dt.date) -> None:
        self.people = {p.id: p for p in estate.index("people").values() if is_active_person(p, as_of)}
        self.devices = {d.id: d for d in estate.index("devices").values() if is_active_device(d, as_of)}
        self.by_group: dict[str, list[Subject]] = defaultdict(list)
        self.by_department: dict[str, list[Subject]] = defaultdict(list)
        for person in self.people.values():
            for group in person.groups:
                self.by_group[group].append(("person", person.id))
            if person.department:
                self.by_department[person.department].append(("person", person.id))
        for device in self.devices.values():
            for group in device.groups:
                self.by_group[group].append(("device", device.id))
        self.everyone = [("person", p.id) for p in self.people.values() if p.kind in ("employee", "contractor")]
        self.externals = frozenset(p.id for p in self.people.values() if is_external(p, estate))

    def accessors(self, dep: Deployment) -> dict[Subject, str]:
        """Active people and devices that reach ``dep``, each with how (first reason wins)."""
        found: dict[Subject, str] = {}
        sources: list[tuple[str, list[Subject]]] = []
        sources += [(f"listed in {dep.id}", [("person", p) for p in dep.access.people if p in self.people])]
        sources += [(f"listed in {dep.id}", [("device", d) for d in dep.access.devices if d in self.devices])]
        sources += [(f"group {g}", self.by_group.get(g, [])) for g in dep.access.groups]
        sources += [(f"department {d}", self.by_department.get(d, [])) for d in dep.access.departments]
        if dep.access.everyone:
            sources.append(("everyone", self.everyone))
        for why, subjects in sources:
            for subject in subjects:
                found.setdefault(subject, why)
        return found


class Catalogue:
    """Catalogue lookups used to derive needs."""

    def __init__(self, estate: Estate) -> None:
        self.products = estate.index("products")
        self.cals: dict[str, Cal] = estate.index("cals")
        self.base_of: dict[str, str] = {}
        self.by_role: dict[tuple[str, str], list[Cal]] = defaultdict(list)
        self.by_feature: dict[tuple[str, str], list[Cal]] = defaultdict(list)
        for cal in self.cals.values():
            if cal.kind == "base" and cal.product:
                self.base_of.setdefault(cal.product, cal.id)
            if cal.role and cal.product:
                self.by_role[(cal.product, cal.role)].append(cal)
            if cal.feature and cal.product:
                self.by_feature[(cal.product, cal.feature)].append(cal)

    def name(self, cal_id: str) -> str:
        cal = self.cals.get(cal_id)
        return cal.name if cal is not None else cal_id

    def expand(self, cal_id: str) -> tuple[str, ...]:
        """The CALs a CAL grants: itself, or a suite's components."""
        cal = self.cals.get(cal_id)
        if cal is not None and cal.kind == "suite":
            return cal.contains
        return (cal_id,)


def _rds_type(dep: Deployment) -> str | None:
    return {"per-user": "user", "per-device": "device"}.get(dep.rds_licensing_mode or "")


def deployment_needs(dep: Deployment, cat: Catalogue) -> Iterator[tuple[str, str, str | None, str | None]]:
    """(cal, product, version, required type) that every accessor of ``dep`` needs."""
    product = cat.products.get(dep.product)
    if product is None:
        return
    base = cat.base_of.get(product.id)
    if base is not None:
        yield base, product.id, dep.version, None
    host = cat.products.get(product.runs_on) if product.runs_on else None
    if host is not None and host.id in cat.base_of:
        yield cat.base_of[host.id], host.id, dep.os_version, None
    for role in dep.roles:
        for cal in cat.by_role.get((product.id, role), []):
            yield cal.id, product.id, dep.version, _rds_type(dep) if role == "rds-session-host" else None
    for feature in dep.features:
        for cal in cat.by_feature.get((product.id, feature), []):
            yield cal.id, product.id, dep.version, None


def windows_exemption(dep: Deployment, subject: Subject, cal: Cal | None) -> str | None:
    """Why ``subject`` needs no Windows Server CAL for ``dep``, or None (EXM-01)."""
    if cal is None or cal.product != "windows-server" or cal.kind != "base":
        return None
    exempt_roles = EXEMPT_ROLES.intersection(dep.roles)
    if dep.vm_host_only or "vm-host" in exempt_roles:
        return f"{dep.id} only hosts virtual machines (EXM-01)"
    if exempt_roles:
        return f"{dep.id} runs a {sorted(exempt_roles)[0]} workload (EXM-01)"
    if subject[1] in dep.administrators[:MAX_EXEMPT_ADMINS]:
        return f"one of the two administrators of {dep.id} (EXM-01)"
    return None


def _may_exempt(dep: Deployment) -> bool:
    return bool(dep.vm_host_only or EXEMPT_ROLES.intersection(dep.roles) or dep.administrators)


def collect_needs(estate: Estate, directory: Directory, cat: Catalogue) -> tuple[list[Need], list[Exemption]]:
    """Every need of every active subject, and the needs the licence terms exempt.

    A subject's needs for the same CAL, version and type are merged across deployments (one CAL covers
    them all); an external user's are kept per deployment, since an External Connector covers one.
    """
    grouped: dict[tuple[Subject, str, str, str | None, str | None, str], list[tuple[Deployment, str]]] = {}
    exempt: list[Exemption] = []
    for dep in estate.index("deployments").values():
        required = list(deployment_needs(dep, cat))
        if not required:
            continue
        check_exemptions = _may_exempt(dep)
        for subject, why in directory.accessors(dep).items():
            external = dep.id if subject[0] == "person" and subject[1] in directory.externals else ""
            for cal_id, product, version, cal_type in required:
                reason = windows_exemption(dep, subject, cat.cals.get(cal_id)) if check_exemptions else None
                if reason is not None:
                    need = Need(subject, cal_id, product, version, cal_type, (dep,), (why,))
                    exempt.append(Exemption(need, reason))
                    continue
                grouped.setdefault((subject, cal_id, product, version, cal_type, external), []).append((dep, why))
    needs = [
        Need(subject, cal_id, product, version, cal_type, tuple(d for d, _ in found), tuple(w for _, w in found))
        for (subject, cal_id, product, version, cal_type, _), found in grouped.items()
    ]
    return needs, exempt
