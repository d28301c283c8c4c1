"""The Effective License Position (POE-04): per CAL pool, what is owned, assigned and required."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from calcheck.estate.model import Estate, Holding
from calcheck.licensing import subscriptions
from calcheck.licensing.access import Catalogue, Directory, Need, Subject
from calcheck.licensing.coverage import Analysis, Coverage, version_problem

PoolKey = tuple[str, str, str]  # (cal id, version or "", type)


COUNTS = ("owned", "assigned", "required", "surplus", "shortfall", "reclaimable")  # the ELP's numbers, in order


@dataclass(slots=True)
class Pool:
    """One row of the ELP: a CAL, version and type."""

    cal: str
    name: str
    kind: str
    version: str
    type: str
    owned: int = 0
    assigned: int = 0
    reclaimable: int = 0
    unit_price: float | None = None
    holdings: list[str] = field(default_factory=list)
    required_subjects: set[Subject] = field(default_factory=set)
    uncovered_subjects: set[Subject] = field(default_factory=set)

    def counts(self) -> list[int]:
        """This pool's ``COUNTS``, in order."""
        return [int(getattr(self, name)) for name in COUNTS]

    @property
    def required(self) -> int:
        return len(self.required_subjects) + len(self.uncovered_subjects)  # kept disjoint

    @property
    def uncovered(self) -> int:
        return len(self.uncovered_subjects)

    @property
    def over_allocated(self) -> int:
        return max(0, self.assigned - self.owned)

    @property
    def shortfall(self) -> int:
        """CALs to buy: people and devices that need this pool beyond what it owns."""
        return max(0, self.required - self.owned)

    @property
    def surplus(self) -> int:
        """CALs owned beyond what is required (assignments to leavers included)."""
        return max(0, self.owned - self.required)

    @property
    def shortfall_cost(self) -> float | None:
        if self.shortfall == 0:
            return 0.0
        return None if self.unit_price is None else round(self.shortfall * self.unit_price, 2)

    @property
    def utilisation(self) -> float | None:
        return None if self.owned == 0 else self.assigned / self.owned

    @property
    def label(self) -> str:
        version = f" {self.version}" if self.version else ""
        return f"{self.name}{version} ({self.type.capitalize()})"


@dataclass(slots=True)
class Position:
    as_of: dt.date
    currency: str | None
    pools: list[Pool]

    def total(self, attribute: str) -> int:
        return sum(int(getattr(pool, attribute)) for pool in self.pools)

    def totals(self) -> list[int]:
        """The sum of each of ``COUNTS`` over all pools, in order."""
        return [self.total(name) for name in COUNTS]

    @property
    def shortfall_cost(self) -> float | None:
        costs = [pool.shortfall_cost for pool in self.pools]
        return None if any(cost is None for cost in costs) else round(sum(c for c in costs if c is not None), 2)

    @property
    def compliant(self) -> bool:
        return self.total("shortfall") == 0


def pool_key(holding: Holding) -> PoolKey:
    return (holding.cal, holding.version or "", holding.type)


def compute_position(estate: Estate, analysis: Analysis) -> Position:
    """Aggregate the analysis into pools, in catalogue order."""
    cat = Catalogue(estate)
    directory = Directory(estate, analysis.as_of)
    pools: dict[PoolKey, Pool] = {}

    def pool(key: PoolKey) -> Pool:
        if key not in pools:
            cal = cat.cals.get(key[0])
            kind = subscriptions.pool_kind(cal) if cal else ""  # 'subscription'/'bridge' for Online Services
            pools[key] = Pool(key[0], cal.name if cal else key[0], kind, key[1], key[2])
        return pools[key]

    for holding in estate.index("holdings").values():
        if holding.cal not in cat.cals:
            continue
        row = pool(pool_key(holding))
        row.holdings.append(holding.id)
        if holding.unit_price is not None:
            row.unit_price = max(row.unit_price or 0.0, holding.unit_price)
        if analysis.entitlement.get(holding.id) is not None:
            continue
        row.owned += holding.quantity
        for assignment in analysis.in_force.get(holding.id, []):
            row.assigned += 1
            kind, subject_id = assignment.assignee
            if subject_id not in (directory.people if kind == "person" else directory.devices):
                row.reclaimable += 1
    _attribute_needs(analysis.coverages, pool, cat, estate, analysis.as_of)
    _price_missing_pools(pools.values(), estate)
    ordered = sorted(pools.values(), key=lambda p: (_cal_order(cat, p.cal), _version_order(cat, p), p.type))
    currency = estate.config.currency if estate.config and estate.config.currency else _currency(estate)
    return Position(analysis.as_of, currency, ordered)


def _attribute_needs(
    coverages: list[Coverage], pool: Callable[[PoolKey], Pool], cat: Catalogue, estate: Estate, as_of: dt.date
) -> None:
    """Count each subject once per pool: in the pool that covers it, else in a pool with a CAL to spare
    that would cover it, else in the pool it lacks (where it becomes a shortfall)."""
    worst: dict[tuple[Subject, str], Coverage] = {}
    for coverage in coverages:
        need = coverage.need
        if coverage.covered_by is not None:
            pool(pool_key(coverage.covered_by.holding)).required_subjects.add(need.subject)
        elif coverage.connector is not None:
            for host in need.deployment.hosts or (need.deployment.id,):
                pool(pool_key(coverage.connector)).required_subjects.add(("device", host))
        else:
            current = worst.get(need.key)
            if current is None or _rank(cat, need.product, need.version) > _rank(
                cat, current.need.product, current.need.version
            ):
                worst[need.key] = coverage
    holdings = estate.index("holdings")
    keys_for: dict[tuple[str, str], set[PoolKey]] = defaultdict(set)  # (needed CAL, type) -> pools that grant it
    for holding in holdings.values():
        if subscriptions.offering(cat.cals, holding.cal) == subscriptions.BRIDGE:
            continue  # a spare Bridge covers nobody without a qualifying subscription (issue 18)
        for granted in cat.expand(holding.cal):
            keys_for[(granted, holding.type)].add(pool_key(holding))
    for (subject, _), coverage in sorted(worst.items()):
        need = coverage.need
        cal_type = need.type or ("user" if subject[0] == "person" else "device")
        spare = _spare_pool(need, keys_for[(need.cal, cal_type)], pool, holdings, cat, as_of)
        target = spare if spare is not None else pool((need.cal, need.version or "", cal_type))
        if subject not in target.required_subjects:
            target.uncovered_subjects.add(subject)


def _spare_pool(
    need: Need,
    keys: set[PoolKey],
    pool: Callable[[PoolKey], Pool],
    holdings: dict[str, Holding],
    cat: Catalogue,
    as_of: dt.date,
) -> Pool | None:
    """The least valuable existing pool with a CAL to spare that would satisfy ``need``."""
    for key in sorted(keys, key=lambda k: (k[0] != need.cal, _rank(cat, need.product, k[1]), k)):
        row = pool(key)
        if row.owned <= row.required:
            continue
        if any(version_problem(holdings[h], need, cat, as_of) is None for h in row.holdings if h in holdings):
            return row
    return None


def _rank(cat: Catalogue, product_id: str, version: str | None) -> int:
    product = cat.products.get(product_id)
    rank = product.rank(version) if product is not None and version else None
    return -1 if rank is None else rank


def _price_missing_pools(pools: Iterable[Pool], estate: Estate) -> None:
    """Price a pool nobody bought from the dearest holding of the same CAL, so shortfalls have a cost."""
    by_cal: dict[str, float] = defaultdict(float)
    for holding in estate.index("holdings").values():
        if holding.unit_price is not None:
            by_cal[holding.cal] = max(by_cal[holding.cal], holding.unit_price)
    for row in pools:
        if row.unit_price is None and row.cal in by_cal:
            row.unit_price = by_cal[row.cal]


def _currency(estate: Estate) -> str | None:
    currencies = {h.currency for h in estate.index("holdings").values() if h.currency}
    return currencies.pop() if len(currencies) == 1 else None


def _cal_order(cat: Catalogue, cal_id: str) -> int:
    order = list(cat.cals)
    return order.index(cal_id) if cal_id in cat.cals else len(order)


def _version_order(cat: Catalogue, row: Pool) -> int:
    cal = cat.cals.get(row.cal)
    return _rank(cat, cal.product, row.version) if cal is not None and cal.product else -1
