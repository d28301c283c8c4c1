"""The model's records: ``fast_init`` builds exactly what the dataclass would, and they stay frozen."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from calcheck.estate.model import Assignment, Source, fast_init


@dataclasses.dataclass(frozen=True, slots=True)
class Plain:
    a: str
    b: int = 2
    c: tuple[str, ...] = ()


Quick: type[Any] = fast_init(dataclasses.make_dataclass("Quick", [("a", str), ("b", int, 2), ("c", tuple, ())], frozen=True,
                                             slots=True))  # fmt: skip


@pytest.mark.parametrize(
    ("args", "kwargs"), [(("x",), {}), (("x", 5), {}), (("x",), {"c": ("y",)}), ((), {"a": "x", "b": 7, "c": ()})]
)
def test_fast_init_builds_what_the_dataclass_builds(args: tuple[object, ...], kwargs: dict[str, object]) -> None:
    quick, plain = Quick(*args, **kwargs), Plain(*args, **kwargs)  # type: ignore[arg-type]
    assert dataclasses.astuple(quick) == dataclasses.astuple(plain)
    assert quick == Quick(*args, **kwargs) and hash(quick) == hash(Quick(*args, **kwargs))


def test_fast_init_keeps_records_frozen_and_checks_arguments() -> None:
    record = Assignment("A-1", "H-1", dt.date(2026, 1, 5), Source("a.yaml", 3, 5), person="ann")
    assert (record.person, record.device, record.temporary, record.source.line) == ("ann", None, False, 3)
    assert record == Assignment("A-1", "H-1", dt.date(2026, 1, 5), Source("a.yaml", 3, 5), "ann")
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.person = "bob"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Assignment("A-1", "H-1")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Assignment("A-1", "H-1", dt.date(2026, 1, 5), Source("a.yaml", 3, 5), colour="red")  # type: ignore[call-arg]


def test_fast_init_refuses_what_it_cannot_build() -> None:
    with_factory = dataclasses.make_dataclass(
        "F", [("a", list, dataclasses.field(default_factory=list))], frozen=True, slots=True
    )
    with pytest.raises(TypeError):
        fast_init(with_factory)
