"""CAL transfers: the plain records the git history produces and the 90-day rule reads."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

# Reasons that allow a CAL to move within 90 days of its last assignment (ASG-02).
ALLOWED_REASONS = frozenset({"departure", "hardware-failure", "hardware-loss", "temporary-cover"})
# The commit of a transfer seen in the work tree's changes, not yet committed.
UNCOMMITTED = "uncommitted"


@dataclass(frozen=True, slots=True)
class Transfer:
    """A CAL of ``holding`` moved from one assignee to another (for the 90-day rule, ASG-02)."""

    holding: str
    assignment: str
    previous: str
    previous_since: dt.date
    date: dt.date
    reason: str | None
    temporary: bool
    commit: str


@dataclass(frozen=True, slots=True)
class Reuse:
    """An assignment id that history shows named another record before: removed, then given to a new one."""

    assignment: str
    before: str  # "holding to assignee" of the earlier record
    after: str
    commit: str
    date: dt.date


@dataclass(slots=True)
class Timeline:
    """What the history tells a check; ``note`` says why it could not be read, if so."""

    transfers: list[Transfer] = field(default_factory=list)
    note: str | None = None
    reused: list[Reuse] = field(default_factory=list)
    ids: frozenset[str] = frozenset()  # every assignment id the history has seen


def encode_timeline(timeline: Timeline) -> bytes:
    """A timeline as JSON (``decode_timeline`` gives it back exactly)."""
    return dumps(plain_timeline(timeline))


def decode_timeline(body: bytes) -> Timeline | None:
    """The timeline ``encode_timeline`` wrote, checked field by field; None if it is not exactly one."""
    try:
        return timeline_of(loads(body))
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        return None


def encode_timelines(timelines: tuple[Timeline, Timeline]) -> bytes:
    """Two timelines as JSON (``decode_timelines``)."""
    return dumps([plain_timeline(t) for t in timelines])


def decode_timelines(body: bytes) -> tuple[Timeline, Timeline] | None:
    try:
        first, second = loads(body)
        return timeline_of(first), timeline_of(second)
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        return None


def dumps(value: Any) -> bytes:
    """Plain values as JSON in UTF-8, lone surrogates kept (``loads`` gives them back exactly)."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def loads(body: bytes) -> Any:
    return json.loads(body.decode("utf-8", "surrogatepass"))


def plain_timeline(timeline: Timeline) -> dict[str, Any]:
    """A timeline as plain values (``timeline_of`` gives it back exactly; ``dumps`` writes them)."""
    transfers = [_row(t) for t in timeline.transfers]
    reused = [[r.assignment, r.before, r.after, r.commit, r.date.isoformat()] for r in timeline.reused]
    return {"transfers": transfers, "note": timeline.note, "reused": reused, "ids": sorted(timeline.ids)}


def _row(t: Transfer) -> list[Any]:
    return [
        t.holding,
        t.assignment,
        t.previous,
        t.previous_since.isoformat(),
        t.date.isoformat(),
        t.reason,
        t.temporary,
        t.commit,
    ]


def timeline_of(data: Any) -> Timeline:
    """The timeline ``plain_timeline`` gave, checked field by field (``ValueError``, ``TypeError`` or ``KeyError``
    when it is not exactly one)."""
    transfers = [
        Transfer(_text(h), _text(a), _text(p), _day(ps), _day(d), _text_or_none(r), _flag(tmp), _text(c))
        for h, a, p, ps, d, r, tmp, c in data["transfers"]
    ]
    reused = [Reuse(_text(a), _text(b), _text(af), _text(c), _day(d)) for a, b, af, c, d in data["reused"]]
    ids = frozenset(_text(i) for i in data["ids"])
    return Timeline(transfers, _text_or_none(data["note"]), reused, ids)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not text")
    return value


def _text_or_none(value: Any) -> str | None:
    return None if value is None else _text(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("not a flag")
    return value


def _day(value: Any) -> dt.date:
    return dt.date.fromisoformat(_text(value))
