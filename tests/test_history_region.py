"""History's changed-range comparison finds exactly the records a full comparison finds."""

from __future__ import annotations

import datetime as dt
import random

from calcheck.git.history import HistoryBuilder
from calcheck.git.repo import Change, Commit
from tests.test_history_shapes import walk


def versions(seed: int, steps: int) -> list[str]:
    rng = random.Random(seed)
    rows = [f"  - {{id: A-{i:03d}, holding: H{i % 3}, person: p{i}, since: 2026-01-01}}" for i in range(12)]
    found = []
    for step in range(steps):
        action = rng.choice(["edit", "insert", "delete", "comment", "swap", "append"])
        index = rng.randrange(len(rows)) if rows else 0
        if action == "edit" and rows:
            rows[index] = rows[index].replace("person: p", f"person: q{step}x", 1)
        elif action == "insert":
            rows.insert(index, f"  - {{id: B-{step:03d}, holding: H1, person: n{step}, since: 2026-02-01}}")
        elif action == "delete" and len(rows) > 1:
            del rows[index]
        elif action == "comment" and rows:
            rows[index] += f"\n    # note {step}"
        elif action == "swap" and len(rows) > 1:
            rows[0], rows[-1] = rows[-1], rows[0]
        else:
            rows.append(f"  - {{id: C-{step:03d}, holding: H2, device: d{step}, since: 2026-03-01}}")
        found.append("# register\nkind: assignments\nassignments:\n" + "\n".join(rows) + "\n")
    return found


def replay(texts: list[str], use_region: bool) -> list[list[str]]:
    return walk([t.encode() for t in texts], whole=False, region=use_region)[1]


def test_region_and_full_comparisons_agree(monkeypatch: object) -> None:
    taken = []
    original = HistoryBuilder._region_change

    def counted(self: HistoryBuilder, change: Change) -> object:
        result = original(self, change)
        taken.append(result is not None)
        return result

    for seed in range(40):
        texts = versions(seed, 25)
        full = replay(texts, False)
        HistoryBuilder._region_change = counted  # type: ignore[method-assign,assignment]
        try:
            assert replay(texts, True) == full, seed
        finally:
            HistoryBuilder._region_change = original  # type: ignore[method-assign]
    assert taken.count(True) == 960  # every edit after the first version went through the changed-range path


def test_common_start_and_end_are_exact() -> None:
    """The block-wise search agrees with a byte-by-byte walk, across block edges and at the limits."""
    from calcheck.git.history import _common_prefix, _common_suffix

    def walk(a: bytes, b: bytes) -> int:
        n = 0
        while n < min(len(a), len(b)) and a[n] == b[n]:
            n += 1
        return n

    rng = random.Random(7)
    for case in range(600):
        size = rng.choice([0, 1, 4095, 4096, 4097, 9000]) if case % 4 == 0 else rng.randrange(300)
        a = bytes(rng.choice(b"ab") for _ in range(size))
        b = bytearray(a)
        for _ in range(rng.randrange(3)):
            if b:
                b[rng.randrange(len(b))] = ord("c")
        b += b"x" * rng.choice([0, 0, 3])
        limit = rng.randrange(len(a) + 2)
        assert _common_prefix(a, bytes(b)) == walk(a, bytes(b))
        assert _common_suffix(a, bytes(b), limit) == min(walk(a[::-1], bytes(b)[::-1]), limit)


def test_a_check_follows_only_assignments_and_finds_the_same_transfers() -> None:
    """The walk a check makes (assignments only, nothing described) finds exactly the full walk's transfers."""
    people = ["kind: people\npeople:\n" + "".join(f"  - {{id: p{i}, name: P, kind: employee, status: {s}}}\n"
                                                  for i in range(12)) for s in ("active", "departed")]  # fmt: skip
    found = 0
    for seed in range(20):
        texts = versions(seed, 25)
        blobs = {f"{i:040x}": t.encode() for i, t in enumerate(texts + people)}
        walks = []
        for only in (False, True):
            builder = HistoryBuilder(blobs.__getitem__, {}, "licenses", transfers_only=only)
            for i in range(len(texts)):
                person = f"{len(texts) + i % 2:040x}"
                changes = (
                    Change("M" if i else "A", "licenses/a/x.yaml" if i else None,
                           "licenses/a/x.yaml", f"{i - 1:040x}" if i else None, f"{i:040x}"),
                    Change("M" if i else "A", "licenses/p.yaml" if i else None, "licenses/p.yaml",
                           f"{len(texts) + (i - 1) % 2:040x}" if i else None, person),
                )  # fmt: skip
                date = dt.datetime(2026, 1, 1 + i % 28, tzinfo=dt.UTC)
                entry = builder.add(Commit(f"{i:040x}", (), "t", "t@x", date, f"c{i}", changes, date), "c")
                assert entry.events == () or not only
            walks.append(builder.history.transfers)
        assert walks[0] == walks[1], seed
        found += len(walks[0])
    assert found > 20
