"""The Effective License Position (POE-04): per CAL pool, what is owned, assigned and required."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from calcheck.estate.model import Estate
from calcheck.licensing import subscriptions
from calcheck.licensing.access import Catalogue, Subject
from calcheck.licensing.coverage import Analysis, PoolKey, pool_key

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


def compute_position(estate: Estate, analysis: Analysis) -> Position:
    """Aggregate the analysis's charges into pools, in catalogue order (nothing is worked out again here)."""
    cat = Catalogue(estate)
    pools: dict[PoolKey, Pool] = {}

    def pool(key: PoolKey) -> Pool:
        if key not in pools:
            cal = cat.cals.get(key[0])
            kind = subscriptions.pool_kind(cal) if cal else ""  # 'subscription'/'bridge' for Online Services
            pools[key] = Pool(key[0], cal.name if cal else key[0], kind, key[1], key[2])
        return pools[key]

    reclaimable, as_of = analysis.reclaimable, analysis.as_of
    for holding in estate.index("holdings").values():
        if holding.cal not in cat.cals:
            continue
        row = pool(analysis.pools.get(holding.id) or pool_key(holding))
        row.holdings.append(holding.id)
        if holding.unit_price is not None:
            row.unit_price = max(row.unit_price or 0.0, holding.unit_price)
        if analysis.entitlement.get(holding.id) is not None:
            continue
        row.owned += holding.quantity
        active = analysis.in_force.get(holding.id, [])
        row.assigned += len(active)
        if reclaimable:
            row.reclaimable += sum(1 for a in active if (free := reclaimable.get(a.id)) is not None and free <= as_of)
    for charge in analysis.charges:
        row = pools.get(charge.pool) or pool(charge.pool)
        if charge.candidate is None and charge.connector is None:  # missing
            if charge.licensee not in row.required_subjects:
                row.uncovered_subjects.add(charge.licensee)
        else:
            row.required_subjects.add(charge.licensee)
            if row.uncovered_subjects:
                row.uncovered_subjects.discard(charge.licensee)
    _price_missing_pools(pools.values(), estate)
    ordered = sorted(pools.values(), key=lambda p: (_cal_order(cat, p.cal), _version_order(cat, p), p.type))
    currency = estate.config.currency if estate.config and estate.config.currency else _currency(estate)
    return Position(analysis.as_of, currency, ordered)


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
