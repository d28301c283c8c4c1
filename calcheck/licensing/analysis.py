"""The licensing analysis of an estate on a date, and the charges every output is a view of.

A charge is one licence the estate needs: its licensee, the CAL pool it counts in and what provides it. Access is
a set of person-device pairs: a person reaching a deployment from each device they use (or from no known device),
a device reaching it with each of its users (or unattended). A pair is covered when the person holds a User CAL
or the device a Device CAL. Covered pairs charge the CAL that covers them (the person's User CAL first); the
uncovered pairs charge the fewest missing CALs that would cover them all, found as a minimum vertex cover of the
bipartite graph of uncovered pairs (Konig's theorem), so a kiosk used by three people without User CALs needs one
Device CAL, and a person using three unlicensed devices one User CAL.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from calcheck.estate.model import Assignment, Estate, Holding
from calcheck.licensing import subscriptions
from calcheck.licensing.access import Catalogue, Directory, Need, Requirement, Subject, collect_needs
from calcheck.licensing.coverage import (
    REASSIGNMENT_DAYS,
    Analysis,
    Candidate,
    Charge,
    Coverage,
    Evaluator,
    PoolKey,
    connector_for,
    version_problem,
)

Edge = tuple[str | None, str | None]  # (person id or None, device id or None)


# The records the needs are worked out from (with the configuration and the absences): see ``_earlier``.
_NEEDS_READ = ("products", "cals", "holdings", "people", "devices", "deployments")


def analyse(estate: Estate, as_of: dt.date, earlier: tuple[Estate, Analysis] | None = None) -> Analysis:
    """Compute needs, coverage, entitlements and charges for ``estate`` on ``as_of``.

    ``earlier``: the analysis of an estate that differs from this one in its assignments at most (an edit's
    baseline); what the change cannot touch is taken from it (the same answer: ``tests/test_recheck.py``).
    """
    cat = Catalogue(estate)
    directory = _directory(earlier, estate, as_of)
    ev = Evaluator(estate, cat, directory, as_of)
    absent = _absences(estate, directory, ev, cat)
    before = _earlier(earlier, estate, as_of, absent)
    if before is None:
        needs, exemptions = collect_needs(estate, directory, cat, absent)
    else:
        needs, exemptions = [c.need for c in before.coverages], list(before.exemptions)
    active_by_holding = ev.in_force
    touched: set[Subject] | None = None
    if earlier is None or before is None:
        coverages = [_cover(need, ev, active_by_holding) for need in needs]
    else:
        touched = _touched(earlier[0], estate, before, ev)
        coverages = [
            old
            if old.covered_by is not None and old.need.subject not in touched
            else _cover(old.need, ev, active_by_holding)
            for old in before.coverages
        ]
    analysis = Analysis(
        as_of,
        coverages,
        exemptions,
        dict(active_by_holding),
        dict(ev.by_subject),
        ev.entitlement,
        directory.externals,
        suspended=ev.suspended,
        undetermined=directory.undetermined,
    )
    analysis.owned = _owned(ev)
    analysis.pools = ev.pools
    analysis.absent = absent
    analysis.directory = directory
    analysis.reclaimable = _reclaimable(estate, directory, active_by_holding, as_of)
    charger = Charger(ev, analysis.owned)
    if before is None or touched is None:
        analysis.charges, analysis.rejections = charger.run(coverages)
    else:
        analysis.charges, analysis.rejections = charger.rerun(coverages, before, touched)
    return analysis


# The records a directory is worked out from (with the configuration and the day).
_DIRECTORY_READ = ("people", "devices", "deployments")


def _directory(earlier: tuple[Estate, Analysis] | None, estate: Estate, as_of: dt.date) -> Directory:
    """The earlier analysis' directory when it was worked out from the same records on the same day, else a new one."""
    if earlier is not None:
        old, analysis = earlier
        if (
            analysis.directory is not None
            and analysis.as_of == as_of
            and old.config is estate.config
            and all(_same(getattr(estate, name), getattr(old, name)) for name in _DIRECTORY_READ)
        ):
            return analysis.directory
    return Directory(estate, as_of)


def _same(mine: list[object], theirs: list[object]) -> bool:
    """Whether two lists hold the same records (the objects themselves), in the same order."""
    return len(mine) == len(theirs) and all(a is b for a, b in zip(mine, theirs, strict=True))


def _earlier(
    earlier: tuple[Estate, Analysis] | None,
    estate: Estate,
    as_of: dt.date,
    absent: dict[str, tuple[frozenset[str], str]],
) -> Analysis | None:
    """The earlier analysis when its needs are this estate's: the same date, records (but assignments),
    configuration and absences. Needs are worked out from nothing else."""
    if earlier is None:
        return None
    old, analysis = earlier
    if analysis.as_of != as_of or old.config is not estate.config or analysis.absent != absent:
        return None
    if not all(_same(getattr(estate, name), getattr(old, name)) for name in _NEEDS_READ):
        return None
    return analysis


def _touched(old: Estate, new: Estate, before: Analysis, ev: Evaluator) -> set[Subject]:
    """Subjects whose own assignments may judge differently: an assignment of theirs added, removed or read again
    (its position may have moved), or in force, or with a temporary cover, in one estate and not the other."""
    was, now = old.index("assignments"), new.index("assignments")
    changed = {aid for aid, record in now.items() if was.get(aid) is not record}
    changed.update(was.keys() - now.keys())
    active = {a.id for assignments in before.in_force.values() for a in assignments}
    changed |= active ^ ev.active
    changed |= {
        aid
        for aid in before.suspended.keys() | ev.suspended.keys()
        if before.suspended.get(aid) is not ev.suspended.get(aid)
    }
    return {record.assignee for aid in changed for record in (was.get(aid), now.get(aid)) if record is not None}


def _cover(need: Need, ev: Evaluator, active_by_holding: dict[str, list[Assignment]]) -> Coverage:
    candidates = ev.candidates(need)
    if candidates and candidates[0].problem is None:  # accepted ones come first
        rejected = [c for c in candidates if c.problem is not None] if len(candidates) > 1 else []
        return Coverage(need, candidates[0], None, rejected, [])
    coverage = Coverage(need, None, None, list(candidates), [])
    other = "device" if need.subject[0] == "person" else "person"
    coverage.partners = [(p, ev.accepted(need, (other, p))) for p in need.partners]
    if not coverage.satisfied and need.subject[0] == "person" and need.subject[1] in ev.directory.externals:
        coverage.connector = connector_for(need, ev, active_by_holding)
    return coverage


def _absences(
    estate: Estate, directory: Directory, ev: Evaluator, cat: Catalogue
) -> dict[str, tuple[frozenset[str], str]]:
    """People on leave whose CAL is temporarily with a cover: the CALs they need none of meanwhile (ASG-02 iii)."""
    absent: dict[str, tuple[frozenset[str], str]] = {}
    assignments = estate.index("assignments")
    for replaced, cover in sorted(ev.suspended.items()):
        original = assignments.get(replaced)
        person = directory.people.get(original.person or "") if original is not None else None
        if person is None or person.status != "on-leave":
            continue
        cals, _ = absent.get(person.id, (frozenset(), ""))
        reason = f"on leave: the CAL of {replaced} is with {cover.assignee[1]} until {cover.until} (temporary cover)"
        absent[person.id] = (cals | frozenset(cat.expand(ev.holdings[cover.holding].cal)), reason)
    return absent


def _owned(ev: Evaluator) -> dict[PoolKey, int]:
    owned: dict[PoolKey, int] = defaultdict(int)
    for holding in ev.holdings.values():
        if holding.cal in ev.cat.cals and ev.entitlement.get(holding.id) is None:
            owned[ev.pools[holding.id]] += holding.quantity
    return dict(owned)


def _reclaimable(
    estate: Estate, directory: Directory, active: dict[str, list[Assignment]], as_of: dt.date
) -> dict[str, dt.date]:
    """Assignments in force held by a leaver or a device out of service, with the date the CAL may move (ASG-02).

    Departure, permanent hardware failure and loss free a CAL at once; a device retired in working order frees it
    only 90 days after it was assigned."""
    devices = estate.index("devices")
    leavers = estate.index("people").keys() - directory.people.keys()
    out_of_service = devices.keys() - directory.devices.keys()
    found: dict[str, dt.date] = {}
    if not leavers and not out_of_service:
        return found
    for assignments in active.values():
        for a in assignments:
            person = a.person  # the assignee: the person if any, else the device
            if person is not None:
                if person in leavers:
                    found[a.id] = as_of
                continue
            device = a.device or ""
            if device in out_of_service:
                waiting = devices[device].status == "retired"
                found[a.id] = max(as_of, a.since + dt.timedelta(days=REASSIGNMENT_DAYS)) if waiting else as_of
    return found


@dataclass(slots=True)
class _Draft:
    """A charge being gathered: deployments and the subjects it licenses pile up.

    ``deployments`` starts as the sorted ids of one need's deployments (a tuple shared by every subject alike) and
    becomes a set only when more are added: most charges license one need, and are sorted once per tuple."""

    licensee: Subject
    cal: str
    pool: PoolKey
    version: str | None
    candidate: Candidate | None = None
    connector: Holding | None = None
    deployments: set[str] | tuple[str, ...] = ()
    behalf: set[str] | frozenset[str] = frozenset()  # (one empty set for the many charges that license one alone)
    alternative: set[str] | frozenset[str] = frozenset()
    need: Need | None = None

    def add(self, deployments: Iterable[str]) -> None:
        """Add deployment ids to those the charge licenses."""
        if isinstance(self.deployments, tuple):
            self.deployments = set(self.deployments)
        self.deployments.update(deployments)

    def done(self) -> Charge:
        behalf = tuple(sorted(self.behalf - {self.licensee[1]})) if self.behalf else ()
        deployments = self.deployments
        return Charge(
            self.licensee,
            self.cal,
            self.pool,
            self.version,
            self.candidate,
            self.connector,
            deployments if isinstance(deployments, tuple) else tuple(sorted(deployments)),
            behalf,
            tuple(sorted(self.alternative)) if self.alternative else (),
        )


_NO_ONE: frozenset[str] = frozenset()


class Charger:
    """Turns coverages into charges: covered pairs charge their CAL, uncovered pairs the fewest missing ones."""

    def __init__(self, ev: Evaluator, owned: dict[PoolKey, int]) -> None:
        self.ev = ev
        self.owned = owned
        self.covered: dict[tuple[Subject, PoolKey], _Draft] = {}
        self.tentative: list[tuple[Requirement, str, _Draft]] = []  # device charges a person's User CAL may make moot
        self.edges: dict[Requirement, dict[Edge, tuple[Need, set[str]]]] = defaultdict(dict)

    def run(self, coverages: list[Coverage]) -> tuple[list[Charge], dict[tuple[Subject, str], list[Candidate]]]:
        for coverage in coverages:
            self._take(coverage)
        missing = self._missing()
        for requirement, person, draft in self.tentative:
            if (("person", person), requirement[0], requirement[3]) not in missing.cover_keys:
                self._merge(draft)
        drafts = [*self.covered.values(), *self._place(missing.drafts)]
        charges = sorted([d.done() for d in drafts], key=_charge_order)
        return charges, missing.rejections

    def rerun(
        self, coverages: list[Coverage], before: Analysis, touched: set[Subject]
    ) -> tuple[list[Charge], dict[tuple[Subject, str], list[Candidate]]]:
        """``run``, for coverages of the same needs, in the same order, as ``before``'s: the charges of licensees no
        changed coverage can reach are ``before``'s, and only the others are worked out again (the same answer).

        A charge of a licensee is made from the coverages whose need names it (as its subject or a partner; an
        External Connector's hosts from the uncovered needs alone), taken in order. Coverages that may take
        otherwise: those not reused from ``before`` (every uncovered one among them), and a device's covered one
        whose users may judge otherwise (``touched``: they are asked whether their own CALs cover it). Their
        licensees are worked out again from every coverage naming them, with every uncovered coverage (the
        missing CALs: they are placed among every pool's charges, which are known then).
        """
        old = before.coverages
        redo = [
            index
            for index, (was, now) in enumerate(zip(old, coverages, strict=True))
            if was is not now or (now.need.partners and _asks_partners(now, touched))
        ]
        if not redo:  # (no uncovered coverage either: nothing missing, nothing rejected)
            return list(before.charges), {}
        licensees: set[Subject] = set()
        for index in redo:
            licensees |= _licensees(old[index])
            licensees |= _licensees(coverages[index])
        rows = set(redo)
        rows.update(
            index
            for index, coverage in enumerate(coverages)
            if coverage.need.subject in licensees or (coverage.need.partners and _names_any(coverage.need, licensees))
        )
        kept = []
        for charge in before.charges:
            if charge.licensee in licensees:
                continue
            if charge.candidate is None and charge.connector is None:
                # (cannot be: a missing CAL's licensee is named by an uncovered need, and every uncovered one is redone)
                return self.run(coverages)
            kept.append(charge)
        for index in sorted(rows):
            self._take(coverages[index])
        missing = self._missing()
        for requirement, person, draft in self.tentative:
            if (("person", person), requirement[0], requirement[3]) not in missing.cover_keys:
                self._merge(draft)
        mine = [draft for key, draft in self.covered.items() if key[0] in licensees]
        self.covered = {key: draft for key, draft in self.covered.items() if key[0] in licensees}
        drafts = [*mine, *self._place(missing.drafts, ((charge.licensee, charge.pool) for charge in kept))]
        # The kept charges are in order already, and no licensee has charges in both lists: the new ones, sorted as
        # run sorts them (stable: a covered licence before a missing one), each go where they belong among them.
        fresh = sorted([draft.done() for draft in drafts], key=_charge_order)
        charges: list[Charge] = []
        start = 0
        for charge in fresh:
            at = bisect.bisect_right(kept, _charge_order(charge), lo=start, key=_charge_order)
            charges.extend(kept[start:at])
            charges.append(charge)
            start = at
        charges.extend(kept[start:])
        return charges, missing.rejections

    def _merge(self, draft: _Draft) -> None:
        key = (draft.licensee, draft.pool)
        found = self.covered.setdefault(key, draft)
        if found is not draft:
            found.add(draft.deployments)
            found.behalf |= draft.behalf

    def _covered(self, licensee: Subject, candidate: Candidate, need: Need, behalf: Iterable[str]) -> _Draft:
        pool = self.ev.pools[candidate.holding.id]
        deployments = self.ev.sorted_deployment_ids(need.deployments)
        subjects = set(behalf)
        return _Draft(licensee, need.cal, pool, pool[1] or None, candidate, None, deployments, subjects or _NO_ONE)

    def _take(self, coverage: Coverage) -> None:
        need = coverage.need
        kind, sid = need.subject
        other = "device" if kind == "person" else "person"
        if coverage.connector is not None:
            for host in need.deployment.hosts or (need.deployment.id,):
                connector = coverage.connector
                draft = _Draft(("device", host), need.cal, self.ev.pools[connector.id], connector.version)
                draft.connector, draft.deployments, draft.behalf = coverage.connector, {need.deployment.id}, {sid}
                self._merge(draft)
            return
        if coverage.covered_by is not None:
            if kind == "person":  # a person's own CAL: no partner is asked (``_merge`` of ``_covered``, inlined)
                pool = self.ev.pools[coverage.covered_by.holding.id]
                ids = self.ev.sorted_deployment_ids(need.deployments)
                found = self.covered.get((need.subject, pool))
                if found is None:
                    draft = _Draft(need.subject, need.cal, pool, pool[1] or None, coverage.covered_by, None, ids)
                    self.covered[(need.subject, pool)] = draft
                else:
                    found.add(ids)
                return
            partners = [(p, self.ev.accepted(need, (other, p))) for p in need.partners]
            if partners and all(c is not None for _, c in partners):  # its users' User CALs cover it already
                for user, candidate in partners:
                    assert candidate is not None
                    self._merge(self._covered((other, user), candidate, need, [sid]))
                return
            self._merge(self._covered(need.subject, coverage.covered_by, need, [p for p, _ in partners]))
            return
        if not need.partners:
            self._edge(need, (sid, None) if kind == "person" else (None, sid))
        for partner, candidate in coverage.partners:
            if candidate is None:
                self._edge(need, (sid, partner) if kind == "person" else (partner, sid))
            elif kind == "person":  # the device's CAL covers this person unless the person gets a User CAL
                self.tentative.append((need.requirement, sid, self._covered((other, partner), candidate, need, [sid])))
            else:
                self._merge(self._covered((other, partner), candidate, need, [sid]))

    def _edge(self, need: Need, edge: Edge) -> None:
        found = self.edges[need.requirement].get(edge)
        if found is None:
            self.edges[need.requirement][edge] = (need, {d.id for d in need.deployments})
        else:
            found[1].update(d.id for d in need.deployments)

    def _missing(self) -> _Missing:
        """The fewest missing CALs that cover every uncovered pair, one per licensee, CAL and type."""
        result = _Missing()
        for requirement in sorted(self.edges, key=_requirement_order):
            edges = self.edges[requirement]
            for subject, incident in _vertex_cover(edges, requirement[3]).items():
                self._add_missing(result, requirement, subject, incident, edges)
        return result

    def _add_missing(
        self,
        result: _Missing,
        requirement: Requirement,
        subject: Subject,
        incident: list[Edge],
        edges: dict[Edge, tuple[Need, set[str]]],
    ) -> None:
        cal, product, version, cal_type = requirement
        wanted = cal_type or ("user" if subject[0] == "person" else "device")
        need = edges[incident[0]][0]
        key = (subject, cal, wanted)
        result.cover_keys.add((subject, cal, cal_type))
        draft = result.drafts.get(key)
        if draft is None or _rank(self.ev.cat, product, version) > _rank(self.ev.cat, product, draft.version):
            rep = Need(subject, cal, product, version, cal_type, need.deployments, need.vias, need.partners)
            fresh = _Draft(
                subject, cal, (cal, version or "", wanted), version, behalf=set(), alternative=set(), need=rep
            )
            if draft is not None:
                fresh.deployments, fresh.behalf, fresh.alternative = draft.deployments, draft.behalf, draft.alternative
            draft = result.drafts[key] = fresh
            result.rejections[(subject, cal)] = [c for c in self.ev.candidates(rep, subject) if c.problem is not None]
        behalf, alternative = draft.behalf, draft.alternative
        assert isinstance(behalf, set) and isinstance(alternative, set)  # (a missing CAL's draft has its own)
        for edge in incident:
            draft.add(edges[edge][1])
            partner = edge[1] if subject[0] == "person" else edge[0]
            if partner is not None:
                behalf.add(partner)
                if cal_type is None:  # an RDS host's licensing mode fixes the type: the partner is no alternative
                    alternative.add(partner)

    def _place(
        self, drafts: dict[tuple[Subject, str, str], _Draft], known: Iterable[tuple[Subject, PoolKey]] = ()
    ) -> list[_Draft]:
        """Count each missing CAL in a pool with one to spare that would do, else in the pool it lacks (``known``:
        covered licences besides the charger's own, (licensee, pool))."""
        if not drafts:  # nothing missing: no pool is asked for a CAL to spare
            return []
        required: dict[PoolKey, set[Subject]] = defaultdict(set)
        for licensee, pool in (*self.covered, *known):
            required[pool].add(licensee)
        keys_for: dict[tuple[str, str], set[PoolKey]] = defaultdict(set)  # (needed CAL, type) -> pools granting it
        by_pool: dict[PoolKey, list[Holding]] = defaultdict(list)
        for holding in self.ev.holdings.values():
            if holding.cal not in self.ev.cat.cals:
                continue
            by_pool[self.ev.pools[holding.id]].append(holding)
            if subscriptions.offering(self.ev.cat.cals, holding.cal) == subscriptions.BRIDGE:
                continue  # a spare Bridge covers nobody without a qualifying subscription (issue 18)
            for granted in self.ev.cat.expand(holding.cal):
                keys_for[(granted, holding.type)].add(self.ev.pools[holding.id])
        placed: list[_Draft] = []
        for key in sorted(drafts):
            draft = drafts[key]
            assert draft.need is not None
            spare = self._spare(draft.need, key[2], keys_for[(draft.cal, key[2])], required, by_pool)
            if spare is not None:
                draft.pool = spare
            required[draft.pool].add(draft.licensee)
            placed.append(draft)
        return placed

    def _spare(
        self,
        need: Need,
        cal_type: str,
        keys: set[PoolKey],
        required: dict[PoolKey, set[Subject]],
        by_pool: dict[PoolKey, list[Holding]],
    ) -> PoolKey | None:
        """The least valuable pool with a CAL to spare that would satisfy ``need``."""
        cat = self.ev.cat
        for key in sorted(keys, key=lambda k: (k[0] != need.cal, _rank(cat, need.product, k[1]), k)):
            if self.owned.get(key, 0) <= len(required[key]) or need.subject in required[key]:
                continue
            usable = [h for h in by_pool[key] if self.ev.entitlement.get(h.id) is None]
            if any(self._would_do(h, need) for h in usable):
                return key
        return None

    def _would_do(self, holding: Holding, need: Need) -> bool:
        """Whether a CAL of ``holding`` would meet ``need`` once assigned (version and licensing server)."""
        if version_problem(holding, need, self.ev.cat, self.ev.as_of) is not None:
            return False
        return self.ev.licensing_server_problem(need, holding) is None


def _charge_order(charge: Charge) -> tuple[str, str, PoolKey, str]:
    """(licensee, pool, cal), with the licensee's two parts side by side: the same order, compared faster."""
    return (charge.licensee[0], charge.licensee[1], charge.pool, charge.cal)


def _asks_partners(coverage: Coverage, touched: set[Subject]) -> bool:
    """Whether the charger asks, of a device's covered need, users whose CALs may judge otherwise now."""
    need = coverage.need
    if coverage.covered_by is None or need.subject[0] != "device":
        return False
    return any(("person", partner) in touched for partner in need.partners)


def _licensees(coverage: Coverage) -> set[Subject]:
    """Everyone a coverage can charge: its subject, its partners, and the hosts of its External Connector."""
    need = coverage.need
    other = "device" if need.subject[0] == "person" else "person"
    found = {need.subject, *((other, partner) for partner in need.partners)}
    if coverage.connector is not None:
        found.update(("device", host) for host in need.deployment.hosts or (need.deployment.id,))
    return found


def _names_any(need: Need, subjects: set[Subject]) -> bool:
    """Whether a need names one of ``subjects`` as its subject or a partner."""
    if need.subject in subjects:
        return True
    if not need.partners:
        return False
    other = "device" if need.subject[0] == "person" else "person"
    return any((other, partner) in subjects for partner in need.partners)


@dataclass(slots=True)
class _Missing:
    drafts: dict[tuple[Subject, str, str], _Draft] = field(default_factory=dict)
    cover_keys: set[tuple[Subject, str, str | None]] = field(default_factory=set)
    rejections: dict[tuple[Subject, str], list[Candidate]] = field(default_factory=dict)


def _requirement_order(requirement: Requirement) -> tuple[str, str, str, str]:
    cal, product, version, cal_type = requirement
    return (cal, product, version or "", cal_type or "")


def _rank(cat: Catalogue, product_id: str, version: str | None) -> int:
    product = cat.products.get(product_id)
    rank = product.rank(version) if product is not None and version else None
    return -1 if rank is None else rank


def _vertex_cover(edges: dict[Edge, tuple[Need, set[str]]], cal_type: str | None = None) -> dict[Subject, list[Edge]]:
    """A minimum set of subjects touching every edge, each with the edges it covers (in a stable order).

    A person with no known device, and a device with no known user, must hold a CAL themselves; the rest is a
    bipartite graph of people and devices, whose minimum vertex cover comes from a maximum matching (Konig).
    When the CAL's type is fixed (an RDS host licensed per device or per user), only that side can hold it: every
    device (or person) of a pair is chosen, however many pairs one person (or device) would cover.
    """
    chosen: dict[Subject, list[Edge]] = defaultdict(list)
    forced: set[Subject] = set()
    for person, device in edges:
        if person is not None and (device is None or cal_type == "user"):
            forced.add(("person", person))
        elif device is not None and (person is None or cal_type == "device"):
            forced.add(("device", device))
    pairs = sorted(
        (p, d)
        for p, d in edges
        if p is not None and d is not None and ("person", p) not in forced and ("device", d) not in forced
    )
    cover = forced | _konig(pairs)
    for edge in sorted(edges, key=lambda e: (e[0] or "", e[1] or "")):
        person, device = edge
        if person is not None and ("person", person) in cover:
            chosen[("person", person)].append(edge)
        elif device is not None and ("device", device) in cover:
            chosen[("device", device)].append(edge)
    return dict(sorted(chosen.items()))


def _konig(pairs: list[tuple[str, str]]) -> set[Subject]:
    """Minimum vertex cover of a bipartite graph (people on the left, devices on the right)."""
    adjacency: dict[str, list[str]] = defaultdict(list)
    for person, device in pairs:
        adjacency[person].append(device)
    match_person: dict[str, str] = {}
    match_device: dict[str, str] = {}
    for person in sorted(adjacency):
        _augment(person, adjacency, match_person, match_device)
    # Konig: from unmatched people, walk unmatched edges to devices and matched edges back to people.
    seen_people = {p for p in adjacency if p not in match_person}
    seen_devices: set[str] = set()
    frontier = sorted(seen_people)
    while frontier:
        following: list[str] = []
        for person in frontier:
            for device in adjacency[person]:
                if device in seen_devices or match_person.get(person) == device:
                    continue
                seen_devices.add(device)
                owner = match_device.get(device)
                if owner is not None and owner not in seen_people:
                    seen_people.add(owner)
                    following.append(owner)
        frontier = following
    return {("person", p) for p in adjacency if p not in seen_people} | {("device", d) for d in seen_devices}


def _augment(
    root: str, adjacency: dict[str, list[str]], match_person: dict[str, str], match_device: dict[str, str]
) -> bool:
    """Find an augmenting path from ``root`` (iteratively, so no graph is too deep) and flip it."""
    parent: dict[str, str] = {}
    visited: set[str] = set()
    stack = [(root, iter(adjacency[root]))]
    while stack:
        person, devices = stack[-1]
        for device in devices:
            if device in visited:
                continue
            visited.add(device)
            parent[device] = person
            owner = match_device.get(device)
            if owner is None:
                while True:  # flip the path back to the root
                    holder = parent[device]
                    previous = match_person.get(holder)
                    match_device[device], match_person[holder] = holder, device
                    if previous is None:
                        return True
                    device = previous
            stack.append((owner, iter(adjacency[owner])))
            break
        else:
            stack.pop()
    return False
