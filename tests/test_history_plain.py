"""What a snapshot's shards may hold: the level-at-a-time check refuses exactly what a check of value after value
refuses (what JSON would not give back exactly), on chosen and on generated records."""

from __future__ import annotations

import datetime as dt
import enum
import random
from pathlib import Path
from typing import Any

import pytest

from calcheck.git.histcache import HistoryCache, Snapshot, _Invalid, _plain


def refused_one_by_one(data: Any) -> bool:
    """The check value after value: keys exactly text, values exactly text, numbers, flags, None, lists, mappings."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if not all(type(k) is str for k in value):
                return True
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif value is not None and type(value) not in (str, int, float, bool):
            return True
    return False


def refused(data: Any) -> bool:
    try:
        _plain(data)
    except _Invalid:
        return True
    return False


class Text(str):
    pass


class Number(enum.IntEnum):
    ONE = 1


class Mapping(dict[str, Any]):
    pass


class Items(list[Any]):
    pass


ODD = [(1,), Text("x"), Number.ONE, dt.date(2026, 1, 5), {1}, b"x", 1j, object()]
PLAIN = ["x", "", 0, -5, 1.5, float("inf"), True, False, None, [], {}, Mapping(a=1), Items([1, "y"])]


@pytest.mark.parametrize("odd", ODD, ids=[type(o).__name__ for o in ODD])
def test_what_json_would_not_give_back_is_refused_at_any_depth(odd: Any) -> None:
    for data in (odd, [odd], [{"a": "b"}, {"id": "x", "groups": ["k1", odd]}], [{"a": [{"b": [[odd]]}]}]):
        assert refused(data) and refused_one_by_one(data)
    for key in (1, None, True, 1.5, Text("k"), (1, 2)):
        data = [{"id": "x"}, {"id": "y", "more": [{"ok": 1}, {key: "v"}]}]
        assert refused(data) and refused_one_by_one(data)


def test_plain_values_pass_at_any_depth() -> None:
    data = [{"id": str(i), "v": value, "l": [value, {"k": [value]}]} for i, value in enumerate(PLAIN)]
    assert not refused(data) and not refused_one_by_one(data)
    assert not refused([]) and not refused([[], [[]], {}])


def test_generated_records_are_refused_exactly_when_value_after_value_refuses_them() -> None:
    chance = random.Random(16)

    def make(depth: int) -> Any:
        roll = chance.random()
        if depth > 3 or roll < 0.45:
            return chance.choice(PLAIN[:9] if chance.random() < 0.97 else ODD)
        if roll < 0.7:
            return [make(depth + 1) for _ in range(chance.randrange(4))]
        keys = [f"k{i}" for i in range(chance.randrange(4))]
        if chance.random() < 0.03:
            keys.append(chance.choice([1, None, Text("k")]))  # type: ignore[arg-type]
        return {key: make(depth + 1) for key in keys}

    outcomes = set()
    for _ in range(3000):
        data = [make(0) for _ in range(chance.randrange(1, 6))]
        assert refused(data) == refused_one_by_one(data), data
        outcomes.add(refused(data))
    assert outcomes == {True, False}


def test_a_snapshot_holding_what_json_would_not_give_back_is_not_stored(tmp_path: Path) -> None:
    store = HistoryCache(tmp_path)
    for odd in ODD:
        snapshot = Snapshot({("devices", "d"): ("a.yaml", {"id": "d", "groups": ["k1", odd]})}, {}, {})
        store.put_snapshot("walk", "k" * 64, snapshot)
        assert store.snapshot("walk", "k" * 64) is None
    plain = Snapshot({("devices", "d"): ("a.yaml", {"id": "d", "groups": ["k1"], "n": {"x": [1.5, None]}})}, {}, {})
    store.put_snapshot("walk", "k" * 64, plain)
    found = store.snapshot("walk", "k" * 64)
    assert found is not None and found.state == plain.state
