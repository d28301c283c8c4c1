"""The one licensing computation: which assignment covers each need, who is counted for which CAL, and why.

A need is met by the subject's own CAL of the right type (CAL-01, RDS-01), at a version at least that of the
server (VER-01..05, with SA's new-version rights SA-01/02, Subscription Edition fall-backs SA-05 and the suite rule
VER-08), from an entitlement in force (SA-04), on top of its base CAL (ADD-01); or, for a person, by Device CALs on
every device through which they reach the server, and for a device by User CALs held by everyone who uses it; or,
for an external user, by an External Connector on the servers (EXM-04).

Every output (check, explain, report, diff, export, the site, the edit commands) reads the ``Charge`` list that
``analysis.py`` makes from these coverages: one line per licence the estate needs, naming its licensee (the
person or device that holds, or must hold, the CAL), the pool it is counted in, and the assignment that provides
it (None: missing). Where access is not
covered, the fewest licences that would cover it are charged: a User CAL for a person, or a Device CAL for a shared
device, whichever closes more gaps (a minimum vertex cover of the uncovered person-device pairs).

A new kind of entitlement (say, a user subscription granting CAL-equivalent rights) plugs in as another source of
``Candidate``s in ``Evaluator.raw_candidates``: the rest of the computation only asks whether a subject holds an
accepted candidate for a requirement.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from calcheck.estate.model import Assignment, Deployment, Estate, Holding, Product, fast_init
from calcheck.licensing import subscriptions
from calcheck.licensing.access import (
    Catalogue,
    Directory,
    Exemption,
    Need,
    Subject,
)

# Problem kinds, from the least to the most telling; an uncovered need is reported under the most telling.
INACTIVE, TYPE, MODE, EXPIRED, BASE, LICSERVER, VERSION = (
    "inactive",
    "type",
    "mode",
    "expired",
    "base",
    "licensing-server",
    "version",
)
VIA_ORDER = {"direct": 0, "suite": 1}
REASSIGNMENT_DAYS = 90
PoolKey = tuple[str, str, str]  # (cal id, version or "", type)


@fast_init
@dataclass(frozen=True, slots=True)
class Candidate:
    """An assignment that might satisfy a need; ``problem`` says why not (None: it does)."""

    assignment: Assignment
    holding: Holding
    via: str
    problem: str | None = None
    kind: str | None = None


@dataclass(slots=True)
class Coverage:
    """One need and how it is met: by the subject's own CAL, by its partners' CALs, or by an External Connector."""

    need: Need
    covered_by: Candidate | None = None
    connector: Holding | None = None
    rejected: list[Candidate] = field(default_factory=list)
    partners: list[tuple[str, Candidate | None]] = field(default_factory=list)  # only when not covered by its own

    @property
    def satisfied(self) -> bool:
        if self.covered_by is not None or self.connector is not None:
            return True
        return bool(self.partners) and all(c is not None for _, c in self.partners)

    @property
    def unlicensed_partners(self) -> list[str]:
        return [p for p, c in self.partners if c is None]


@fast_init
@dataclass(frozen=True, slots=True)
class Charge:
    """One licence the estate needs: its licensee, the pool it counts in, and what provides it (None: missing)."""

    licensee: Subject
    cal: str
    pool: PoolKey
    version: str | None
    candidate: Candidate | None
    connector: Holding | None
    deployments: tuple[str, ...]
    behalf: tuple[str, ...]  # the people or devices whose access it licenses besides the licensee's own
    alternative: tuple[str, ...] = ()  # for a missing charge: the partners who could hold CALs instead

    @property
    def missing(self) -> bool:
        return self.candidate is None and self.connector is None

    @property
    def holding(self) -> Holding | None:
        return self.candidate.holding if self.candidate is not None else self.connector


@dataclass(slots=True)
class Analysis:
    """Everything the licensing rules, the ELP and ``explain`` read, computed once per estate and date."""

    as_of: dt.date
    coverages: list[Coverage]
    exemptions: list[Exemption]
    in_force: dict[str, list[Assignment]]
    by_subject: dict[Subject, list[Assignment]]
    entitlement: dict[str, str | None]
    externals: frozenset[str]
    charges: list[Charge] = field(default_factory=list)
    owned: dict[PoolKey, int] = field(default_factory=dict)
    suspended: dict[str, Assignment] = field(default_factory=dict)  # assignment id -> the temporary cover
    reclaimable: dict[str, dt.date] = field(default_factory=dict)  # assignment id -> reclaimable from
    rejections: dict[tuple[Subject, str], list[Candidate]] = field(default_factory=dict)
    undetermined: frozenset[str] = frozenset()
    pools: dict[str, PoolKey] = field(default_factory=dict)  # holding id -> the ELP row it counts in
    _missing: tuple[list[Charge], list[Charge]] | None = field(default=None, repr=False, compare=False)
    # people on leave whose CAL is with a cover: the CALs they need none of meanwhile, and why (ASG-02 iii)
    absent: dict[str, tuple[frozenset[str], str]] = field(default_factory=dict, repr=False, compare=False)
    # who is active, uses which device and reaches what: the same for an estate whose people, devices, deployments
    # and configuration are the same records on the same day (an edit of assignments: ``analyse``'s ``earlier``)
    directory: Directory | None = field(default=None, repr=False, compare=False)

    def missing_charges(self) -> list[Charge]:
        """The charges that are missing, in order (worked out once for the ``charges`` list it is asked about)."""
        found = self._missing
        if found is None or found[0] is not self.charges:
            found = self._missing = (
                self.charges,
                [c for c in self.charges if c.candidate is None and c.connector is None],
            )
        return found[1]


def in_force(assignment: Assignment, as_of: dt.date) -> bool:
    return assignment.since <= as_of and (assignment.until is None or assignment.until >= as_of)


def sa_active(holding: Holding, as_of: dt.date) -> bool:
    return holding.sa_until is not None and holding.sa_until >= as_of


def pool_key(holding: Holding, cat: Catalogue | None = None, as_of: dt.date | None = None) -> PoolKey:
    """The ELP row a holding counts in: its CAL, version and type; a Subscription Edition holding whose SA
    lapsed counts as the version it falls back to (SA-05), since that is all it still grants."""
    version = holding.version or ""
    product = _product_of(holding, cat) if cat is not None and as_of is not None else None
    entry = product.find(version) if product is not None else None
    if entry is not None and entry.fallback and as_of is not None and not _subscription_rights(holding, as_of):
        version = entry.fallback
    return (holding.cal, version, holding.type)


def _product_of(holding: Holding, cat: Catalogue) -> Product | None:
    cal = cat.cals.get(holding.cal)
    return cat.products.get(cal.product) if cal is not None and cal.product else None


def entitlement_problem(holding: Holding, cat: Catalogue, as_of: dt.date) -> str | None:
    """Why ``holding`` grants no rights on ``as_of`` (SA-04, SA-05), or None."""
    if subscriptions.is_online(holding, cat.cals):  # Online Services: rights only while in force (issue 18)
        return subscriptions.entitlement_problem(holding, as_of)
    if holding.purchased > as_of:
        return f"bought only on {holding.purchased}"
    if holding.channel == "csp-subscription":
        if holding.subscription_until is None:
            return "a CSP subscription without an end date (subscription_until)"
        if holding.subscription_until < as_of:
            return f"its CSP subscription ended on {holding.subscription_until}"
    product = _product_of(holding, cat)
    entry = product.find(holding.version) if product is not None and holding.version else None
    if entry is not None and entry.subscription and entry.fallback is None and not _subscription_rights(holding, as_of):
        return f"{product.name if product else ''} Subscription Edition CALs need active Software Assurance (SA-04)"
    return None


def _subscription_rights(holding: Holding, as_of: dt.date) -> bool:
    return sa_active(holding, as_of) or (
        holding.channel == "csp-subscription"
        and holding.subscription_until is not None
        and holding.subscription_until >= as_of
    )


def effective_rank(holding: Holding, product: Product, as_of: dt.date) -> int | None:
    """Newest version rank the holding grants: its own, or one released while SA was active (SA-01); a
    Subscription Edition licence whose SA lapsed keeps only its perpetual fall-back version (SA-05)."""
    own = product.rank(holding.version) if holding.version else None
    if own is None:
        return None
    entry = product.versions[own]
    if entry.subscription and not _subscription_rights(holding, as_of):
        fallback = product.rank(entry.fallback) if entry.fallback else None
        return -1 if fallback is None else fallback  # no (known) fall-back: no version at all
    if holding.sa_until is None:
        return own
    window_end = min(holding.sa_until, as_of)
    newer = [i for i, v in enumerate(product.versions) if holding.purchased <= v.released <= window_end]
    return max([own, *newer])


def version_problem(holding: Holding, need: Need, cat: Catalogue, as_of: dt.date) -> str | None:
    """Why ``holding`` is too old for the version ``need`` requires, or None."""
    if subscriptions.offering(cat.cals, holding.cal):  # in force, a subscription grants the current version (issue 18)
        return None
    product = cat.products.get(need.product)
    if need.version is None or product is None:
        return None
    entry = product.find(need.version)
    if entry is None:
        return None
    if entry.subscription and not _subscription_rights(holding, as_of):
        return f"{product.name} {entry.version} needs a CAL with active Software Assurance (SA-04)"
    if cat.cals[holding.cal].kind == "suite":
        if entry.released <= holding.purchased or (holding.sa_until and entry.released <= holding.sa_until):
            return None
        return (
            f"suite bought {holding.purchased} without SA on {entry.released}, when {product.name} "
            f"{entry.version} was made available (VER-08)"
        )
    rank = effective_rank(holding, product, as_of)
    needed = product.rank(need.version)
    if rank is None or needed is None or rank >= needed or holding.version in entry.accepts:
        return None
    own = product.find(holding.version or "")
    if own is not None and own.subscription and own.fallback:
        return (
            f"a {holding.version} CAL whose SA lapsed keeps only the {own.fallback} version (SA-05), older than "
            f"{product.name} {entry.version}"
        )
    lapsed = f"; SA ended {holding.sa_until}, before {entry.released}" if holding.sa_until else ""
    return f"a {holding.version} CAL is older than {product.name} {entry.version}{lapsed}"


def temporary_covers(assignments: Iterable[Assignment], as_of: dt.date) -> dict[str, Assignment]:
    """Assignments whose CAL is with a temporary cover on ``as_of``: replaced id -> the temporary assignment."""
    return {a.replaces: a for a in assignments if a.temporary and a.replaces and in_force(a, as_of)}


def _resumed(assignment: Assignment, covers: dict[str, list[Assignment]], as_of: dt.date) -> bool:
    """An assignment ended the day before a temporary cover began is back in force once the cover is over."""
    if assignment.until is None or assignment.since > as_of:
        return False
    return any(
        t.until is not None and t.until < as_of and assignment.until == t.since - dt.timedelta(days=1)
        for t in covers.get(assignment.id, [])
    )


class Evaluator:
    """Evaluates candidates for needs against one estate and date."""

    def __init__(self, estate: Estate, cat: Catalogue, directory: Directory, as_of: dt.date) -> None:
        self.cat = cat
        self.as_of = as_of
        self.directory = directory
        self.holdings: dict[str, Holding] = estate.index("holdings")
        self.deployments: dict[str, Deployment] = estate.index("deployments")
        self.entitlement = {h.id: entitlement_problem(h, cat, as_of) for h in self.holdings.values()}
        self.pools = {h.id: pool_key(h, cat, as_of) for h in self.holdings.values()}
        assignments: list[Assignment] = []  # those of known holdings
        temporaries: list[Assignment] = []
        covers: dict[str, list[Assignment]] = defaultdict(list)  # replaced id -> its temporary covers
        self.by_subject: dict[Subject, list[Assignment]] = defaultdict(list)
        holdings, by_subject = self.holdings, self.by_subject
        for a in estate.index("assignments").values():
            if a.holding in holdings:
                assignments.append(a)
                by_subject[a.assignee].append(a)
                if a.temporary and a.replaces:
                    temporaries.append(a)
                    covers[a.replaces].append(a)
        self.suspended = temporary_covers(temporaries, as_of)
        self.active: set[str] = set()
        in_force_by_holding: dict[str, list[Assignment]] = defaultdict(list)
        active, suspended = self.active, self.suspended
        for a in assignments:
            if (in_force(a, as_of) or (a.id in covers and _resumed(a, covers, as_of))) and a.id not in suspended:
                active.add(a.id)
                in_force_by_holding[a.holding].append(a)
        self.in_force = dict(in_force_by_holding)  # holding id -> its assignments in force, in file order
        self._bridges = subscriptions.bridges(cat.cals)
        self._granted_cache: dict[Subject, frozenset[str]] = {}
        self._versions: dict[tuple[str, str, str | None], str | None] = {}
        # (subject, the need's requirement, the ids of its deployments) -> the subject's candidates for it
        self._accepted: dict[tuple[Subject, str, str, str | None, str | None, tuple[str, ...]], list[Candidate]] = {}
        # Needs of subjects alike share one tuple of deployments: their ids are worked out once per tuple.
        self._deployment_ids: dict[int, tuple[tuple[Deployment, ...], tuple[str, ...], tuple[str, ...]]] = {}

    def raw_candidates(self, subject: Subject) -> list[tuple[Assignment, Holding, str]]:
        """The subject's own assignments: every entitlement that could grant it something."""
        return [(a, self.holdings[a.holding], "direct") for a in self.by_subject.get(subject, [])]

    def basic_problem(self, subject: Subject, assignment: Assignment, holding: Holding) -> tuple[str, str] | None:
        """Problems that do not depend on the need: not in force, wrong type, expired."""
        if assignment.id not in self.active:
            if assignment.id in self.suspended:
                cover = self.suspended[assignment.id]
                return INACTIVE, f"its CAL is with {cover.assignee[1]} until {cover.until} (temporary cover)"
            when = f"starts {assignment.since}" if assignment.since > self.as_of else f"ended {assignment.until}"
            return INACTIVE, f"the assignment is not in force ({when})"
        expected = "user" if subject[0] == "person" else "device"
        if holding.type != expected:
            return TYPE, f"its holding has {holding.type.capitalize()} CALs, but it is assigned to a {subject[0]}"
        problem = self.entitlement.get(holding.id)
        if problem is not None:
            return EXPIRED, f"its holding grants no rights: {problem}"
        # Online Services (issue 18): a CAL Suite Bridge counts only beside its qualifying subscription
        if holding.cal not in self._bridges:
            return None
        mine = [a for a in self.by_subject.get(subject, ()) if a.id in self.active]
        bridge = subscriptions.bridge_problem(self.cat.cals, holding, mine, self.holdings, self.entitlement, self.as_of)
        return None if bridge is None else (BASE, bridge)

    def granted(self, subject: Subject) -> frozenset[str]:
        """The CALs ``subject`` holds in force (only asked for when an additive CAL needs its base)."""
        found = self._granted_cache.get(subject)
        if found is None:
            found = self._granted_cache[subject] = frozenset(
                cal
                for assignment, holding, _ in self.raw_candidates(subject)
                if self.basic_problem(subject, assignment, holding) is None
                for cal in self.cat.expand(holding.cal)
            )
        return found

    def deployment_ids(self, deployments: tuple[Deployment, ...]) -> tuple[str, ...]:
        """The ids of ``deployments``, kept per tuple (the tuple is kept too, so its identity stays its own)."""
        found = self._deployment_ids.get(id(deployments))
        if found is None or found[0] is not deployments:
            found = self._ids_of(deployments)
        return found[1]

    def sorted_deployment_ids(self, deployments: tuple[Deployment, ...]) -> tuple[str, ...]:
        """The ids of ``deployments``, sorted and each once (as a charge lists them), kept per tuple."""
        found = self._deployment_ids.get(id(deployments))
        if found is None or found[0] is not deployments:
            found = self._ids_of(deployments)
        return found[2]

    def _ids_of(
        self, deployments: tuple[Deployment, ...]
    ) -> tuple[tuple[Deployment, ...], tuple[str, ...], tuple[str, ...]]:
        ids = tuple(d.id for d in deployments)
        found = self._deployment_ids[id(deployments)] = (deployments, ids, tuple(sorted(set(ids))))
        return found

    def candidates(self, need: Need, subject: Subject | None = None) -> list[Candidate]:
        """Every candidate of ``subject`` (default: the need's) for ``need``, the accepted ones first.

        A subject is asked about as the partner of every subject alike (a user of many devices): that answer is
        kept. A need's own subject is asked once, so its answer is not (keeping it would cost more than it saves).
        """
        if subject is None:
            subject = need.subject
            return self._candidates(need, subject) if subject in self.by_subject else []
        if subject not in self.by_subject:  # nothing assigned: no candidate (the common case for a partner)
            return []
        deployments = need.deployments
        ids = self._deployment_ids.get(id(deployments))
        if ids is None or ids[0] is not deployments:
            ids = self._ids_of(deployments)
        key = (subject, need.cal, need.product, need.version, need.type, ids[1])
        found = self._accepted.get(key)
        if found is None:
            found = self._accepted[key] = self._candidates(need, subject)
        return found

    def _candidates(self, need: Need, subject: Subject) -> list[Candidate]:
        """``candidates``, worked out."""
        found: list[Candidate] = []
        cal_id = need.cal
        expand = self.cat.expand
        for assignment, holding, via in self.raw_candidates(subject):
            if cal_id not in expand(holding.cal):
                continue
            how = "suite" if holding.cal != cal_id else via
            problem = self.basic_problem(subject, assignment, holding) or self._need_problem(need, subject, holding)
            if problem is None:
                found.append(Candidate(assignment, holding, how))
            else:
                found.append(Candidate(assignment, holding, how, problem[1], problem[0]))
        if len(found) > 1:
            found.sort(key=lambda c: (c.problem is not None, VIA_ORDER[c.via], c.holding.id, c.assignment.id))
        return found

    def accepted(self, need: Need, subject: Subject | None = None) -> Candidate | None:
        found = self.candidates(need, subject)
        return found[0] if found and found[0].problem is None else None

    def _need_problem(self, need: Need, subject: Subject, holding: Holding) -> tuple[str, str] | None:
        """The problems that depend on the need, for an assignment without a basic one."""
        if need.type is not None and holding.type != need.type:
            mode = "per-user" if need.type == "user" else "per-device"
            return MODE, f"{need.deployment.id} licenses RDS {mode}: it needs a {need.type.capitalize()} CAL (RDS-01)"
        cal = self.cat.cals[need.cal]
        if cal.kind == "additive" and cal.base and cal.base not in self.granted(subject):
            return BASE, f"an additive {cal.name} without the base {self.cat.cals[cal.base].name} (ADD-01)"
        key = (holding.id, need.product, need.version)
        try:
            problem = self._versions[key]
        except KeyError:  # the answer depends on the holding and the version only
            problem = self._versions[key] = version_problem(holding, need, self.cat, self.as_of)
        if problem:
            return VERSION, problem
        if cal.role != "rds-session-host":  # the licensing server only issues RDS CALs
            return None
        return self.licensing_server_problem(need, holding)

    def licensing_server_problem(self, need: Need, holding: Holding) -> tuple[str, str] | None:
        """An RDS CAL newer than the RD Licensing server a session host names cannot be issued by it (VER-04)."""
        cal = self.cat.cals[need.cal]
        if cal.role != "rds-session-host" or holding.cal != need.cal or holding.version is None:
            return None
        product = self.cat.products.get(cal.product or "")
        for dep in need.deployments:
            server = self.deployments.get(dep.rds_licensing_server or "")
            if product is None or server is None:
                continue
            mine, theirs = product.rank(holding.version), product.rank(server.version)
            if mine is not None and theirs is not None and mine > theirs:
                return LICSERVER, (
                    f"RDS {holding.version} CALs cannot be issued by {server.id}, the RD Licensing server of "
                    f"{dep.id}, which runs Windows Server {server.version} (VER-04)"
                )
        return None


def connector_for(need: Need, ev: Evaluator, in_force_by_holding: dict[str, list[Assignment]]) -> Holding | None:
    """A valid External Connector of the need's deployment that covers its CAL for this person (EXM-04).

    Besides those the deployment lists, any connector assigned to every one of its hosts counts: the terms license
    a connector to a server, for external access to any instance of the server software on it (EXM-04)."""
    dep = need.deployment
    hosts = set(dep.hosts)
    on_hosts = [
        holding_id
        for holding_id, assignments in sorted(in_force_by_holding.items())
        if hosts and holding_id not in dep.external_connectors and hosts <= {a.device for a in assignments if a.device}
    ]
    for holding_id in (*dep.external_connectors, *on_hosts):
        holding = ev.holdings.get(holding_id)
        cal = ev.cat.cals.get(holding.cal) if holding else None
        if holding is None or cal is None or cal.kind != "connector" or need.cal not in cal.covers:
            continue
        if ev.entitlement.get(holding.id) is not None:
            continue
        if not ev.directory.external_for(need.subject[1], holding.agreement):
            continue
        servers = {a.device for a in in_force_by_holding.get(holding.id, []) if a.device}
        if (set(dep.hosts) <= servers if dep.hosts else bool(servers)) and connector_version_ok(
            holding, dep, ev.cat, ev.as_of
        ):
            return holding
    return None


def connector_version_ok(holding: Holding, dep: Deployment, cat: Catalogue, as_of: dt.date) -> bool:
    """An External Connector is a Windows Server licence: it must be as new as the Windows Server the deployment
    runs on, whatever product runs on top (VER-01)."""
    product = cat.products.get(dep.product)
    if product is None:
        return True
    if product.id == "windows-server":
        version = dep.version
    elif product.runs_on == "windows-server" and dep.os_version is not None:
        version = dep.os_version
    else:
        return True
    need = Need(("device", ""), holding.cal, "windows-server", version, None, (dep,), ("",))
    return version_problem(holding, need, cat, as_of) is None
