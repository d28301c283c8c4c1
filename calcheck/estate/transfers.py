"""CAL transfers: the plain records the git history produces and the 90-day rule reads."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

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
