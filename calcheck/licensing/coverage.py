"""Which assignment covers each need, and why every other candidate was rejected.

Implements the licence terms a CAL must meet to count: right type (CAL-01, RDS-01), a version at
least that of the server (VER-01..05, with SA's new-version rights SA-01/02 and the suite rule
VER-08), an entitlement in force (SA-04, SA-05), and a base CAL under every additive CAL (ADD-01).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from calcheck.estate.model import Assignment, Deployment, Estate, Holding, Product, fast_init
from calcheck.licensing import subscriptions
from calcheck.licensing.access import Catalogue, Directory, Exemption, Need, Subject, collect_needs

# Problem kinds, from the least to the most telling; an uncovered need is reported under the most telling.
INACTIVE, TYPE, MODE, EXPIRED, BASE, VERSION = "inactive", "type", "mode", "expired", "base", "version"
VIA_ORDER = {"direct": 0, "suite": 1, "device": 2}


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
    need: Need
    covered_by: Candidate | None = None
    connector: Holding | None = None
    rejected: list[Candidate] = field(default_factory=list)

    @property
    def satisfied(self) -> bool:
        return self.covered_by is not None or self.connector is not None


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


def in_force(assignment: Assignment, as_of: dt.date) -> bool:
    return assignment.since <= as_of and (assignment.until is None or assignment.until >= as_of)


def sa_active(holding: Holding, as_of: dt.date) -> bool:
    return holding.sa_until is not None and holding.sa_until >= as_of


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
    cal = cat.cals.get(holding.cal)
    product = cat.products.get(cal.product) if cal is not None and cal.product else None
    entry = product.find(holding.version) if product is not None and holding.version else None
    if entry is not None and entry.subscription and not _subscription_rights(holding, as_of):
        return f"a {product.name if product else ''} Subscription Edition CAL needs active Software Assurance"
    return None


def _subscription_rights(holding: Holding, as_of: dt.date) -> bool:
    return sa_active(holding, as_of) or (
        holding.channel == "csp-subscription"
        and holding.subscription_until is not None
        and holding.subscription_until >= as_of
    )


def effective_rank(holding: Holding, product: Product, as_of: dt.date) -> int | None:
    """Newest version rank the holding grants: its own, or one released while SA was active (SA-01)."""
    own = product.rank(holding.version) if holding.version else None
    if own is None:
        return None
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
            f"{entry.version} was released (VER-08)"
        )
    rank = effective_rank(holding, product, as_of)
    needed = product.rank(need.version)
    if rank is None or needed is None or rank >= needed or holding.version in entry.accepts:
        return None
    lapsed = f"; SA ended {holding.sa_until}, before {entry.released}" if holding.sa_until else ""
    return f"a {holding.version} CAL is older than {product.name} {entry.version}{lapsed}"


class Evaluator:
    """Evaluates candidates for needs against one estate and date."""

    def __init__(self, estate: Estate, cat: Catalogue, directory: Directory, as_of: dt.date) -> None:
        self.cat = cat
        self.as_of = as_of
        self.directory = directory
        self.holdings: dict[str, Holding] = estate.index("holdings")
        self.entitlement = {h.id: entitlement_problem(h, cat, as_of) for h in self.holdings.values()}
        self.by_subject: dict[Subject, list[Assignment]] = defaultdict(list)
        for assignment in estate.index("assignments").values():
            if assignment.holding in self.holdings:
                self.by_subject[assignment.assignee].append(assignment)
        self._granted_cache: dict[Subject, frozenset[str]] = {}
        self._versions: dict[tuple[str, str, str | None], str | None] = {}

    def raw_candidates(self, subject: Subject) -> list[tuple[Assignment, Holding, str]]:
        """Assignments that could grant ``subject`` something: its own, and its devices' Device CALs."""
        found = [(a, self.holdings[a.holding], "direct") for a in self.by_subject.get(subject, [])]
        if subject[0] == "person":
            person = self.directory.people.get(subject[1])
            for device in person.devices if person else ():
                if device in self.directory.devices:
                    found += [
                        (a, self.holdings[a.holding], "device") for a in self.by_subject.get(("device", device), [])
                    ]
        return found

    def basic_problem(
        self, subject: Subject, assignment: Assignment, holding: Holding, via: str
    ) -> tuple[str, str] | None:
        """Problems that do not depend on the need: not in force, wrong type, expired."""
        if not in_force(assignment, self.as_of):
            when = f"starts {assignment.since}" if assignment.since > self.as_of else f"ended {assignment.until}"
            return INACTIVE, f"assignment {assignment.id} is not in force ({when})"
        expected = "user" if subject[0] == "person" and via != "device" else "device"
        if holding.type != expected:
            return (
                TYPE,
                f"{holding.id} holds {holding.type} CALs, assigned to a {'device' if via == 'device' else subject[0]}",
            )
        problem = self.entitlement.get(holding.id)
        if problem is not None:
            return EXPIRED, f"{holding.id} is {problem}" if problem.startswith("a ") else f"{holding.id}: {problem}"
        # Online Services (issue 18): a CAL Suite Bridge counts only beside its qualifying subscription
        bridge = subscriptions.bridge_problem(
            self.cat.cals, holding, self.by_subject.get(subject, ()), self.holdings, self.entitlement, self.as_of
        )
        return None if bridge is None else (BASE, f"{holding.id}: {bridge}")

    def granted(self, subject: Subject) -> frozenset[str]:
        """The CALs ``subject`` holds in force (only asked for when an additive CAL needs its base)."""
        found = self._granted_cache.get(subject)
        if found is None:
            found = self._granted_cache[subject] = self._granted(subject)
        return found

    def _granted(self, subject: Subject) -> frozenset[str]:
        granted: set[str] = set()
        for assignment, holding, via in self.raw_candidates(subject):
            if self.basic_problem(subject, assignment, holding, via) is None:
                granted.update(self.cat.expand(holding.cal))
        return frozenset(granted)

    def candidates(self, need: Need) -> list[Candidate]:
        """Every candidate for ``need``, the accepted ones first, in a stable order."""
        found: list[Candidate] = []
        for assignment, holding, via in self.raw_candidates(need.subject):
            grants = self.cat.expand(holding.cal)
            if need.cal not in grants:
                continue
            how = "suite" if holding.cal != need.cal and via == "direct" else via
            kind, problem = self._problem(need, assignment, holding, via) or (None, None)
            found.append(Candidate(assignment, holding, how, problem, kind))
        found.sort(key=lambda c: (c.problem is not None, VIA_ORDER[c.via], c.holding.id, c.assignment.id))
        return found

    def _problem(self, need: Need, assignment: Assignment, holding: Holding, via: str) -> tuple[str, str] | None:
        basic = self.basic_problem(need.subject, assignment, holding, via)
        if basic is not None:
            return basic
        if need.type is not None and holding.type != need.type:
            mode = "per-user" if need.type == "user" else "per-device"
            return MODE, f"{need.deployment.id} licenses RDS {mode}: it needs a {need.type.capitalize()} CAL (RDS-01)"
        cal = self.cat.cals[need.cal]
        if cal.kind == "additive" and cal.base and cal.base not in self.granted(need.subject):
            return BASE, f"an additive {cal.name} without the base {self.cat.cals[cal.base].name} (ADD-01)"
        key = (holding.id, need.product, need.version)
        if key not in self._versions:  # the answer depends on the holding and the version only
            self._versions[key] = version_problem(holding, need, self.cat, self.as_of)
        problem = self._versions[key]
        return (VERSION, problem) if problem else None


def connector_for(
    dep: Deployment, cal_id: str, ev: Evaluator, in_force_by_holding: dict[str, list[Assignment]]
) -> Holding | None:
    """A valid External Connector of ``dep`` that covers ``cal_id`` (EXM-04), or None."""
    for holding_id in dep.external_connectors:
        holding = ev.holdings.get(holding_id)
        cal = ev.cat.cals.get(holding.cal) if holding else None
        if holding is None or cal is None or cal.kind != "connector" or cal_id not in cal.covers:
            continue
        if ev.entitlement.get(holding.id) is not None:
            continue
        servers = {a.device for a in in_force_by_holding.get(holding.id, []) if a.device}
        if (set(dep.hosts) <= servers if dep.hosts else bool(servers)) and _connector_version_ok(holding, dep, ev):
            return holding
    return None


def _connector_version_ok(holding: Holding, dep: Deployment, ev: Evaluator) -> bool:
    product = ev.cat.products.get(dep.product)
    if product is None or product.id != "windows-server":
        return True
    need = Need(("device", ""), holding.cal, product.id, dep.version, None, (dep,), ("",))
    return version_problem(holding, need, ev.cat, ev.as_of) is None


def analyse(estate: Estate, as_of: dt.date) -> Analysis:
    """Compute needs, coverage and entitlements for ``estate`` on ``as_of``."""
    cat = Catalogue(estate)
    directory = Directory(estate, as_of)
    needs, exemptions = collect_needs(estate, directory, cat)
    ev = Evaluator(estate, cat, directory, as_of)
    active_by_holding: dict[str, list[Assignment]] = defaultdict(list)
    for assignment in estate.index("assignments").values():
        if assignment.holding in ev.holdings and in_force(assignment, as_of):
            active_by_holding[assignment.holding].append(assignment)
    externals = directory.externals
    coverages: list[Coverage] = []
    for need in needs:
        candidates = ev.candidates(need)
        coverage = Coverage(need, rejected=[c for c in candidates if c.problem is not None])
        accepted = [c for c in candidates if c.problem is None]
        if accepted:
            coverage.covered_by = accepted[0]
        elif need.subject[0] == "person" and need.subject[1] in externals:
            coverage.connector = connector_for(need.deployment, need.cal, ev, active_by_holding)
        coverages.append(coverage)
    return Analysis(
        as_of, coverages, exemptions, dict(active_by_holding), dict(ev.by_subject), ev.entitlement, externals
    )
