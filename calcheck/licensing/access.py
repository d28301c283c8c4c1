"""Who reaches which deployment, through which devices, and which CALs each access requires.

Terms applied here (ids from the CAL rule catalogue): CAL-02 (Server+CAL products), ADD-02 (license the whole stack),
EXM-01 and RDS-06 (two administrators need neither a Windows Server nor an RDS CAL), EXM-10 (server-to-server access
needs no CAL), EXT-01 (external users per product), EXT-02/EXM-05 (the external-user definition of each agreement),
SQL-01 and EXM-11 (editions and licensing models that need no CALs), MUX-01 (service accounts and front ends).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from calcheck.estate.model import Cal, Deployment, Device, Edition, Estate, Person, Product, fast_init

Subject = tuple[str, str]  # ('person', id) or ('device', id)

# Roles whose servers need no Windows Server CAL at all (EXM-01 c, d, e).
EXEMPT_ROLES = frozenset({"vm-host", "web", "hpc"})
MAX_EXEMPT_ADMINS = 2
# Agreements signed on or after this date use the narrower definition of an external user (EXT-02).
NEW_EXTERNAL_DEFINITION = dt.date(2024, 10, 1)
EXTERNAL_HOURS = 30


@fast_init
@dataclass(frozen=True, slots=True)
class Need:
    """One CAL (at a version, of a type) that one subject needs for the deployments it reaches.

    ``partners`` are the other ends of the access: for a person, the devices through which they reach the
    deployments (a Device CAL on every one of them covers the person); for a device, the people who use it (User
    CALs held by all of them cover the device).
    """

    subject: Subject
    cal: str
    product: str
    version: str | None
    type: str | None
    deployments: tuple[Deployment, ...]
    vias: tuple[str, ...]
    partners: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[Subject, str]:
        return (self.subject, self.cal)

    @property
    def requirement(self) -> Requirement:
        return (self.cal, self.product, self.version, self.type)

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


Requirement = tuple[str, str, str | None, str | None]  # (cal, product, version, type)


def is_active_person(person: Person, as_of: dt.date) -> bool:
    if person.status == "departed":
        return person.departed is not None and person.departed > as_of
    return True


def is_active_device(device: Device, as_of: dt.date) -> bool:
    return device.status == "active" or (device.retired is not None and device.retired > as_of)


def external_under(person: Person, signed: dt.date | None) -> bool | None:
    """Whether ``person`` is an external user under an agreement signed on ``signed`` (None: cannot tell).

    Agreements signed from 2024-10-01: not an employee, nor a contractor working more than 30 hours a week on
    average, nor one onsite every working day. Earlier agreements: not an employee, onsite contractor or agent.
    """
    if person.kind == "external":
        return True
    if person.kind != "contractor":
        return False
    if signed is not None and signed >= NEW_EXTERNAL_DEFINITION:
        if person.onsite:
            return False
        if person.hours_per_week is None:
            return None
        return person.hours_per_week <= EXTERNAL_HOURS
    return not person.onsite


Signature = tuple[str, tuple[str, ...], str, bool, str]
_MAYBE_EXTERNAL = frozenset({"external", "contractor"})  # every other kind is internal whatever the agreement


class Directory:
    """Active people and devices, who uses which device, and which deployments each reaches and how.

    People and devices with the same groups, department and kind reach the same deployments for the
    same reasons, so access is worked out once per such signature, not once per person.
    """

    def __init__(self, estate: Estate, as_of: dt.date) -> None:
        self.people = {p.id: p for p in estate.index("people").values() if is_active_person(p, as_of)}
        self.devices = {d.id: d for d in estate.index("devices").values() if is_active_device(d, as_of)}
        config = estate.config
        self.agreements = {a.id: a.signed for a in config.agreements} if config else {}
        self._signed: list[dt.date | None] = list(self.agreements.values()) or [None]
        # Only contractors and externals can be external users (``external_under``): the rest are not asked.
        maybe = [p for p, person in self.people.items() if person.kind in _MAYBE_EXTERNAL]
        self.externals = frozenset(p for p in maybe if self._external_somewhere(p))
        self.undetermined = frozenset(p for p in maybe if self._undetermined(p))
        self.deployments: list[Deployment] = list(estate.index("deployments").values())
        self.listed = {
            subject
            for dep in self.deployments
            for subject in (
                *(("person", p) for p in dep.access.people),
                *(("device", d) for d in dep.access.devices),
            )
        }
        self.users: dict[str, list[str]] = defaultdict(list)
        for person in self.people.values():
            if person.kind != "service-account":
                for device in person.devices:
                    if device in self.devices:
                        self.users[device].append(person.id)
        self._reach: dict[Signature, list[tuple[Deployment, str]]] = {}

    def _signed_dates(self) -> list[dt.date | None]:
        return self._signed

    def _external_somewhere(self, person_id: str) -> bool:
        return any(external_under(self.people[person_id], s) for s in self._signed_dates())

    def _undetermined(self, person_id: str) -> bool:
        return any(external_under(self.people[person_id], s) is None for s in self._signed_dates())

    def external_for(self, person_id: str, agreement: str | None) -> bool:
        """External under ``agreement`` (its signing date decides the definition); with no agreement named,
        external only if every agreement of the estate says so (the reading an auditor enforces)."""
        person = self.people.get(person_id)
        if person is None:
            return False
        if agreement is not None and agreement in self.agreements:
            return bool(external_under(person, self.agreements[agreement]))
        return all(external_under(person, s) for s in self._signed_dates())

    def subjects(self) -> list[Subject]:
        return [("person", p) for p in self.people] + [("device", d) for d in self.devices]

    def partners(self, subject: Subject) -> tuple[str, ...]:
        """The devices a person uses, or the people who use a device."""
        if subject[0] == "person":
            devices = self.people[subject[1]].devices
            for device in devices:
                if device not in self.devices:  # one out of service: keep the others
                    return tuple([d for d in devices if d in self.devices])
            return devices if type(devices) is tuple else tuple(devices)
        return tuple(self.users.get(subject[1], ()))

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
            found = _through_front_ends(self.deployments, found)
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


def _through_front_ends(
    deployments: list[Deployment], found: list[tuple[Deployment, str]]
) -> list[tuple[Deployment, str]]:
    """Add the deployments reached through a front end (``access.via``), however deep (MUX-01)."""
    reached = {dep.id for dep, _ in found}
    fronted = [dep for dep in deployments if dep.access.via]
    grew = bool(fronted) and bool(reached)
    while grew:
        grew = False
        for dep in fronted:
            front = next((f for f in dep.access.via if f in reached), None)
            if dep.id not in reached and front is not None:
                found.append((dep, f"through {front}"))
                reached.add(dep.id)
                grew = True
    return found


class Catalogue:
    """Catalogue lookups used to derive needs."""

    def __init__(self, estate: Estate) -> None:
        self.products: dict[str, Product] = estate.index("products")
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

    def connectors_for(self, cal_id: str) -> list[Cal]:
        """External Connectors that stand in for ``cal_id`` for external users."""
        return [c for c in self.cals.values() if c.kind == "connector" and cal_id in c.covers]


def edition_of(dep: Deployment, product: Product) -> Edition | None:
    """The catalogue edition ``dep`` names (case does not matter), or None."""
    wanted = (dep.edition or "").casefold()
    return next((e for e in product.editions if e.name.casefold() == wanted), None)


def licensing_model(dep: Deployment, product: Product) -> str | None:
    """How the server is licensed: as the deployment says, else its edition's first model, else unknown."""
    if dep.licensing_model is not None:
        return dep.licensing_model
    edition = edition_of(dep, product)
    return edition.models[0] if edition is not None else None


def needs_product_cals(dep: Deployment, product: Product) -> bool:
    """Whether accessing ``dep`` needs the product's CALs (an unknown model: yes, as an auditor would read it)."""
    model = licensing_model(dep, product)
    return model is None or model.endswith("-cal")


def _rds_type(dep: Deployment) -> str | None:
    return {"per-user": "user", "per-device": "device"}.get(dep.rds_licensing_mode or "")


def deployment_needs(dep: Deployment, cat: Catalogue) -> Iterator[Requirement]:
    """(cal, product, version, required type) that every accessor of ``dep`` needs."""
    product = cat.products.get(dep.product)
    if product is None:
        return
    base = cat.base_of.get(product.id)
    if base is not None and needs_product_cals(dep, product):
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
    """Why ``subject`` needs no Windows Server or RDS CAL for ``dep``, or None (EXM-01, RDS-06)."""
    if cal is None or cal.product != "windows-server":
        return None
    admin = subject[1] in dep.administrators[:MAX_EXEMPT_ADMINS]
    if cal.role == "rds-session-host" and admin:
        return f"one of the two administrators of {dep.id}: Remote Desktop for Administration needs no RDS CAL (RDS-06)"
    if cal.kind != "base":
        return None
    exempt_roles = EXEMPT_ROLES.intersection(dep.roles)
    if dep.vm_host_only or "vm-host" in exempt_roles:
        return f"{dep.id} only hosts virtual machines (EXM-01)"
    if exempt_roles:
        return f"{dep.id} runs a {sorted(exempt_roles)[0]} workload (EXM-01)"
    if admin:
        return f"one of the two administrators of {dep.id} (EXM-01)"
    return None


def _may_exempt(dep: Deployment) -> bool:
    return bool(dep.vm_host_only or EXEMPT_ROLES.intersection(dep.roles) or dep.administrators)


def _with_server(dep: Deployment, requirement: Requirement, cat: Catalogue) -> str | None:
    """Why an external user needs no CAL of this product: it is licensed with the server (EXT-01), or None."""
    product = cat.products.get(dep.product)
    if product is None or product.external_users != "with-server" or requirement[1] != product.id:
        return None
    if dep.features and any(cat.by_feature.get((product.id, f)) for f in dep.features):
        return None  # additional functionality needs the base and additive CALs, external or not
    return f"external users of {product.name} are licensed with the server (EXT-01)"


Grouped = tuple[
    list[tuple[Requirement, tuple[Deployment, ...], tuple[str, ...]]],
    list[tuple[Requirement, Deployment, str, str]],
]


def subject_exemption(subject: Subject, directory: Directory) -> str | None:
    """Why ``subject`` needs no CAL at all, or None."""
    if subject[0] == "person" and directory.people[subject[1]].kind == "service-account":
        return "a service account needs no CAL of its own; the people who use it do (MUX-01)"
    return None


def hosted_products(directory: Directory, cat: Catalogue) -> dict[str, frozenset[str]]:
    """The products each server is shown to be licensed to run: those of the deployments it hosts, and the
    Windows Server they run on (EXM-10)."""
    hosted: dict[str, set[str]] = defaultdict(set)
    for dep in directory.deployments:
        product = cat.products.get(dep.product)
        runs = {dep.product, *((product.runs_on,) if product is not None and product.runs_on else ())}
        for host in dep.hosts:
            hosted[host] |= runs
    return {host: frozenset(products) for host, products in hosted.items()}


def server_exemption(
    subject: Subject, product: str, directory: Directory, hosted: dict[str, frozenset[str]]
) -> str | None:
    """Why a server needs no CAL of ``product``: it is licensed to run that server software (EXM-10), or None.

    The terms exempt "servers licensed to run instances of the server software" (each product's own CAL clause):
    a server that runs no deployment of the product is not shown to be licensed for it, so, as an auditor would
    read it, it needs the CAL (an application server reaching SQL Server Server+CAL needs a SQL Server CAL)."""
    if subject[0] != "device" or directory.devices[subject[1]].kind != "server":
        return None
    if product not in hosted.get(subject[1], frozenset()):
        return None
    return "a server licensed to run the server software needs no CAL to reach another (EXM-10)"


def collect_needs(
    estate: Estate, directory: Directory, cat: Catalogue, absent: dict[str, tuple[frozenset[str], str]] | None = None
) -> tuple[list[Need], list[Exemption]]:
    """Every need of every active subject, and the needs the licence terms exempt.

    A subject's needs for the same CAL, version and type are merged across deployments (one CAL covers
    them all); an external user's are kept per deployment, since an External Connector covers one.
    Subjects that reach the same deployments the same way share one computation. ``absent`` maps a person on
    leave to the CALs temporarily reassigned to their cover, and why.
    """
    absent = absent or {}
    hosted = hosted_products(directory, cat)
    required = {dep.id: list(deployment_needs(dep, cat)) for dep in directory.deployments}
    admins = {a for dep in directory.deployments for a in dep.administrators}
    shared: dict[Signature, Grouped] = {}
    needs: list[Need] = []
    exempt: list[Exemption] = []
    externals, signature = directory.externals, directory.signature
    for subject in directory.subjects():
        person = subject[0] == "person"
        external = person and subject[1] in externals
        personal = external or subject[1] in admins
        key = signature(subject)
        grouped = None if personal else shared.get(key)
        if grouped is None:
            access = [(dep, why) for dep, why in directory.reach(subject) if required[dep.id]]
            grouped = _group(subject, access, required, cat, directory, per_deployment=external)
            if not personal:
                shared[key] = grouped
        groups, exemptions = grouped
        if groups:
            _add_needs(subject, groups, directory, absent, hosted, needs, exempt)
        for requirement, dep, why, reason in exemptions:
            exempt.append(Exemption(Need(subject, *requirement, (dep,), (why,)), reason))
    return needs, exempt


def _add_needs(
    subject: Subject,
    groups: list[tuple[Requirement, tuple[Deployment, ...], tuple[str, ...]]],
    directory: Directory,
    absent: dict[str, tuple[frozenset[str], str]],
    hosted: dict[str, frozenset[str]],
    needs: list[Need],
    exempt: list[Exemption],
) -> None:
    """Add ``subject``'s needs for ``groups`` to ``needs``, or to ``exempt`` those the licence terms waive."""
    whole = subject_exemption(subject, directory)
    person = subject[0] == "person"
    away = absent.get(subject[1]) if person else None
    partners = directory.partners(subject) if whole is None else ()
    on_leave = () if person else [p for p in partners if p in absent]
    server = not person and directory.devices[subject[1]].kind == "server"
    for requirement, deps, vias in groups:
        reason = whole or (server_exemption(subject, requirement[1], directory, hosted) if server else None)
        reason = reason or (away[1] if away is not None and requirement[0] in away[0] else None)
        if reason is not None:
            exempt.extend(
                Exemption(Need(subject, *requirement, (d,), (v,)), reason) for d, v in zip(deps, vias, strict=True)
            )
            continue
        # a user on leave whose CAL is with their cover needs none meanwhile, so cannot hold one for a device
        users = partners
        if on_leave:
            users = tuple(p for p in partners if requirement[0] not in absent.get(p, ((),))[0])
        needs.append(Need(subject, *requirement, deps, vias, users))


def _group(
    subject: Subject,
    access: list[tuple[Deployment, str]],
    required: dict[str, list[Requirement]],
    cat: Catalogue,
    directory: Directory,
    *,
    per_deployment: bool,
) -> Grouped:
    """The requirements of one access pattern, each with the deployments behind it, and the exemptions."""
    grouped: dict[tuple[Requirement, str], list[tuple[Deployment, str]]] = {}
    exemptions: list[tuple[Requirement, Deployment, str, str]] = []
    strictly_external = per_deployment and directory.external_for(subject[1], None)
    for dep, why in access:
        check_exemptions = _may_exempt(dep)
        for requirement in required[dep.id]:
            reason = windows_exemption(dep, subject, cat.cals.get(requirement[0])) if check_exemptions else None
            if reason is None and strictly_external:
                reason = _with_server(dep, requirement, cat)
            if reason is not None:
                exemptions.append((requirement, dep, why, reason))
                continue
            grouped.setdefault((requirement, dep.id if per_deployment else ""), []).append((dep, why))
    groups = [
        (requirement, tuple(d for d, _ in found), tuple(w for _, w in found))
        for (requirement, _), found in grouped.items()
    ]
    return groups, exemptions
