"""Who reaches which deployment, and which CALs each access requires (CAL-02, ADD-02, EXM-01, EXM-05)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from calcheck.estate.model import Cal, Deployment, Device, Estate, Person, fast_init

Subject = tuple[str, str]  # ('person', id) or ('device', id)

# Roles whose servers need no Windows Server CAL at all (EXM-01 c, d, e).
EXEMPT_ROLES = frozenset({"vm-host", "web", "hpc"})
MAX_EXEMPT_ADMINS = 2
# Agreements signed on or after this date use the narrower definition of an external user (EXM-05).
NEW_EXTERNAL_DEFINITION = dt.date(2024, 10, 1)


@fast_init
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


@fast_init
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


Signature = tuple[str, tuple[str, ...], str, bool, str]


class Directory:
    """Active people and devices, and which deployments each reaches and how.

    People and devices with the same groups, department and kind reach the same deployments for the
    same reasons, so access is worked out once per such signature, not once per person.
    """

    def __init__(self, estate: Estate, as_of: dt.date) -> None:
        self.people = {p.id: p for p in estate.index("people").values() if is_active_person(p, as_of)}
        self.devices = {d.id: d for d in estate.index("devices").values() if is_active_device(d, as_of)}
        self.externals = frozenset(p.id for p in self.people.values() if is_external(p, estate))
        self.deployments: list[Deployment] = list(estate.index("deployments").values())
        self.listed = {
            subject
            for dep in self.deployments
            for subject in (
                *(("person", p) for p in dep.access.people),
                *(("device", d) for d in dep.access.devices),
            )
        }
        self._reach: dict[Signature, list[tuple[Deployment, str]]] = {}

    def subjects(self) -> list[Subject]:
        return [("person", p) for p in self.people] + [("device", d) for d in self.devices]

    def signature(self, subject: Subject) -> Signature:
        listed = subject[1] if subject in self.listed else ""
        if subject[0] == "person":
            person = self.people[subject[1]]
            everyone = person.kind in ("employee", "contractor")
            return ("person", person.groups, person.department or "", everyone, listed)
        return ("device", self.devices[subject[1]].groups, "", False, listed)

    def reach(self, subject: Subject) -> list[tuple[Deployment, str]]:
        """The deployments ``subject`` reaches, each with how (the first matching reason)."""
        signature = self.signature(subject)
        found = self._reach.get(signature)
        if found is None:
            found = [(dep, why) for dep in self.deployments if (why := _why(dep, subject, signature))]
            self._reach[signature] = found
        return found


def _why(dep: Deployment, subject: Subject, signature: Signature) -> str:
    kind, groups, department, everyone, listed = signature
    if listed and listed in (dep.access.people if kind == "person" else dep.access.devices):
        return f"listed in {dep.id}"
    for group in dep.access.groups:
        if group in groups:
            return f"group {group}"
    if department and department in dep.access.departments:
        return f"department {department}"
    return "everyone" if everyone and dep.access.everyone else ""


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
        self._grants = {c.id: c.contains if c.kind == "suite" else (c.id,) for c in self.cals.values()}

    def name(self, cal_id: str) -> str:
        cal = self.cals.get(cal_id)
        return cal.name if cal is not None else cal_id

    def expand(self, cal_id: str) -> tuple[str, ...]:
        """The CALs a CAL grants: itself, or a suite's components."""
        grants = self._grants.get(cal_id)
        return grants if grants is not None else (cal_id,)


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


Requirement = tuple[str, str, str | None, str | None]  # (cal, product, version, type)
Grouped = tuple[
    list[tuple[Requirement, tuple[Deployment, ...], tuple[str, ...]]],
    list[tuple[Requirement, Deployment, str, str]],
]


def collect_needs(estate: Estate, directory: Directory, cat: Catalogue) -> tuple[list[Need], list[Exemption]]:
    """Every need of every active subject, and the needs the licence terms exempt.

    A subject's needs for the same CAL, version and type are merged across deployments (one CAL covers
    them all); an external user's are kept per deployment, since an External Connector covers one.
    Subjects that reach the same deployments the same way share one computation.
    """
    required = {dep.id: list(deployment_needs(dep, cat)) for dep in directory.deployments}
    admins = {a for dep in directory.deployments for a in dep.administrators}
    shared: dict[Signature, Grouped] = {}
    needs: list[Need] = []
    exempt: list[Exemption] = []
    for subject in directory.subjects():
        external = subject[0] == "person" and subject[1] in directory.externals
        personal = external or subject[1] in admins
        key = directory.signature(subject)
        grouped = None if personal else shared.get(key)
        if grouped is None:
            access = [(dep, why) for dep, why in directory.reach(subject) if required[dep.id]]
            grouped = _group(subject, access, required, cat, per_deployment=external)
            if not personal:
                shared[key] = grouped
        groups, exemptions = grouped
        for (cal_id, product, version, cal_type), deps, vias in groups:
            needs.append(Need(subject, cal_id, product, version, cal_type, deps, vias))
        for requirement, dep, why, reason in exemptions:
            exempt.append(Exemption(Need(subject, *requirement, (dep,), (why,)), reason))
    return needs, exempt


def _group(
    subject: Subject,
    access: list[tuple[Deployment, str]],
    required: dict[str, list[Requirement]],
    cat: Catalogue,
    *,
    per_deployment: bool,
) -> Grouped:
    """The requirements of one access pattern, each with the deployments behind it, and the exemptions."""
    grouped: dict[tuple[Requirement, str], list[tuple[Deployment, str]]] = {}
    exemptions: list[tuple[Requirement, Deployment, str, str]] = []
    for dep, why in access:
        check_exemptions = _may_exempt(dep)
        for requirement in required[dep.id]:
            reason = windows_exemption(dep, subject, cat.cals.get(requirement[0])) if check_exemptions else None
            if reason is not None:
                exemptions.append((requirement, dep, why, reason))
                continue
            grouped.setdefault((requirement, dep.id if per_deployment else ""), []).append((dep, why))
    groups = [
        (requirement, tuple(d for d, _ in found), tuple(w for _, w in found))
        for (requirement, _), found in grouped.items()
    ]
    return groups, exemptions
