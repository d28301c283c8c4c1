"""The in-memory estate: plain frozen records built from validated documents."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, TypeVar

from calcheck.estate.sources import FileState
from calcheck.estate.yamlload import Pos, locate

T = TypeVar("T")


def fast_init(cls: type[T]) -> type[T]:
    """Give a frozen, slotted dataclass an ``__init__`` that sets each slot through its descriptor.

    The one dataclasses writes for a frozen class calls ``object.__setattr__`` per field, which costs as
    much as the rest of building a large estate's records; this one builds the same object in half the
    time. The class stays frozen. Only plain fields are supported (no factories, no ``__post_init__``).
    """
    params: list[str] = []
    sets: list[str] = []
    namespace: dict[str, Any] = {}
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"fast_init: {cls.__name__} has __post_init__")
    for spec in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not spec.init or spec.kw_only or spec.default_factory is not dataclasses.MISSING:
            raise TypeError(f"fast_init: {cls.__name__}.{spec.name} is not a plain field")
        namespace[f"_set_{spec.name}"] = getattr(cls, spec.name).__set__
        if spec.default is dataclasses.MISSING:
            params.append(spec.name)
        else:
            namespace[f"_default_{spec.name}"] = spec.default
            params.append(f"{spec.name}=_default_{spec.name}")
        sets.append(f"    _set_{spec.name}(self, {spec.name})\n")
    exec(f"def __init__(self, {', '.join(params)}):\n{''.join(sets) or '    pass'}\n", namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


@fast_init
@dataclass(frozen=True, slots=True)
class Source:
    """Where a record was written: file, position, and its position tree for field lookups."""

    path: str
    line: int
    column: int
    pos: Pos = (1, 1)

    def at(self, *keys: str | int) -> tuple[int, int]:
        """Line and column of a field of this record (or of the record itself)."""
        return locate(self.pos, keys)


BUILTIN = Source("<built-in catalogue>", 0, 0)


@dataclass(frozen=True, slots=True)
class ProductVersion:
    version: str
    released: dt.date
    accepts: tuple[str, ...] = ()
    subscription: bool = False
    fallback: str | None = None  # the version a Subscription Edition licence keeps when SA lapses


@dataclass(frozen=True, slots=True)
class Edition:
    """An edition of a server product and the licensing models it is sold under (the default first)."""

    name: str
    models: tuple[str, ...]
    max_users: int | None = None
    max_devices: int | None = None


@dataclass(frozen=True, slots=True)
class Product:
    id: str
    name: str
    versions: tuple[ProductVersion, ...]
    source: Source
    runs_on: str | None = None
    external_users: str = "cal"  # cal | connector | with-server
    editions: tuple[Edition, ...] = ()
    _ranks: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_ranks", {entry.version: i for i, entry in enumerate(self.versions)})

    def rank(self, version: str) -> int | None:
        """Position of ``version`` in release order, or None if unknown."""
        return self._ranks.get(version)

    def find(self, version: str) -> ProductVersion | None:
        index = self.rank(version)
        return None if index is None else self.versions[index]


@dataclass(frozen=True, slots=True)
class Cal:
    id: str
    name: str
    kind: str
    source: Source
    product: str | None = None
    base: str | None = None
    role: str | None = None
    feature: str | None = None
    contains: tuple[str, ...] = ()
    covers: tuple[str, ...] = ()
    # Online Services (subscriptions and CAL Suite Bridges sold as User SLs; calcheck.licensing.subscriptions)
    offering: str | None = None
    qualifying: tuple[str, ...] = ()
    requires_also: tuple[str, ...] = ()
    skus: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    management: tuple[str, ...] = ()
    terms: str | None = None


@dataclass(frozen=True, slots=True)
class Agreement:
    id: str
    type: str
    signed: dt.date
    source: Source
    ends: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Config:
    organisation: str
    source: Source
    audit_interval_days: int = 365
    headroom_threshold: float = 0.95
    currency: str | None = None
    agreements: tuple[Agreement, ...] = ()
    severity: dict[str, str] = field(default_factory=dict)
    disabled: tuple[str, ...] = ()  # in file order, for locating each
    publish_proofs: bool = False
    pseudonymise_people: bool = False
    repository_url: str | None = None
    renewal_window_days: int = 90


@dataclass(frozen=True, slots=True)
class Proof:
    type: str
    ref: str
    source: Source
    date: dt.date | None = None
    file: str | None = None
    sha256: str | None = None
    file_state: FileState | None = None
    actual_sha256: str | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class Holding:
    id: str
    cal: str
    type: str
    quantity: int
    channel: str
    purchased: dt.date
    source: Source
    proofs: tuple[Proof, ...] = ()
    kind: str | None = None
    version: str | None = None
    agreement: str | None = None
    sa_until: dt.date | None = None
    subscription_until: dt.date | None = None
    unit_price: float | None = None
    currency: str | None = None
    owner: str | None = None
    tags: tuple[str, ...] = ()


@fast_init
@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str
    kind: str
    status: str
    source: Source
    email: str | None = None
    departed: dt.date | None = None
    department: str | None = None
    cost_centre: str | None = None
    groups: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    onsite: bool | None = None
    hours_per_week: float | None = None
    tags: tuple[str, ...] = ()


@fast_init
@dataclass(frozen=True, slots=True)
class Device:
    id: str
    kind: str
    status: str
    source: Source
    name: str | None = None
    retired: dt.date | None = None
    department: str | None = None
    cost_centre: str | None = None
    groups: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Access:
    everyone: bool = False
    groups: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    via: tuple[str, ...] = ()  # front-end deployments whose users reach this one through them


@dataclass(frozen=True, slots=True)
class Deployment:
    id: str
    name: str
    product: str
    version: str
    access: Access
    source: Source
    edition: str | None = None
    os_version: str | None = None
    roles: tuple[str, ...] = ()
    rds_licensing_mode: str | None = None
    rds_licensing_server: str | None = None
    features: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    administrators: tuple[str, ...] = ()
    vm_host_only: bool = False
    external_connectors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    licensing_model: str | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class Assignment:
    id: str
    holding: str
    since: dt.date
    source: Source
    person: str | None = None
    device: str | None = None
    until: dt.date | None = None
    temporary: bool = False
    replaces: str | None = None
    reason: str | None = None
    note: str | None = None
    component: str | None = None

    @property
    def assignee(self) -> tuple[str, str]:
        """('person', id) or ('device', id)."""
        return ("person", self.person) if self.person is not None else ("device", self.device or "")


@dataclass(frozen=True, slots=True)
class Audit:
    id: str
    date: dt.date
    auditor: str
    type: str
    result: str
    source: Source
    scope: str | None = None
    revision: str | None = None
    position: dict[str, int] = field(default_factory=dict)
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class Waiver:
    id: str
    rule: str
    owner: str
    reason: str
    expires: dt.date
    source: Source
    records: tuple[str, ...] = ()


@dataclass(slots=True)
class Estate:
    """All records, in file order; lists keep duplicates so that no record is silently lost."""

    root: str
    config: Config | None = None
    configs: list[Config] = field(default_factory=list)
    products: list[Product] = field(default_factory=list)
    cals: list[Cal] = field(default_factory=list)
    holdings: list[Holding] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)
    deployments: list[Deployment] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    audits: list[Audit] = field(default_factory=list)
    waivers: list[Waiver] = field(default_factory=list)
    invalid_ids: dict[str, set[str]] = field(default_factory=dict)
    _index: dict[str, dict[str, Any]] = field(default_factory=dict)

    def index(self, collection: str) -> dict[str, Any]:
        """Records of ``collection`` by id (first occurrence wins), cached."""
        found = self._index.get(collection)
        if found is None:
            found = {}
            for record in getattr(self, collection):
                found.setdefault(record.id, record)
            self._index[collection] = found
        return found
