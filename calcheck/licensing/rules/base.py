"""What a rule is: metadata plus a pure check over the estate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from calcheck.core.findings import Severity
from calcheck.estate.model import Estate, Source
from calcheck.estate.transfers import Reuse, Timeline, Transfer
from calcheck.licensing.analysis import analyse
from calcheck.licensing.coverage import Analysis
from calcheck.licensing.elp import Position, compute_position


@dataclass(frozen=True, slots=True)
class Context:
    """What a rule may know besides the estate: the date, and the licensing analysis made from both."""

    as_of: dt.date
    analysis: Analysis
    position: Position
    transfers: tuple[Transfer, ...] = ()
    history_note: str | None = None
    reused: tuple[Reuse, ...] = ()
    history_ids: frozenset[str] = frozenset()  # every assignment id git has seen, for ids never reused

    @classmethod
    def build(
        cls,
        estate: Estate,
        as_of: dt.date,
        timeline: Timeline | Callable[[], Timeline] | None = None,
        earlier: tuple[Estate, Analysis] | None = None,
    ) -> Context:
        """The context of a check; ``earlier``: an estate before an edit and its analysis, from which what the
        edit cannot touch is taken (see ``analyse``). ``timeline`` may be a function that gives it (the history
        walked meanwhile by another process): it is asked for once the analysis, which needs none of it, is done."""
        analysis = analyse(estate, as_of, earlier)
        if callable(timeline):
            timeline = timeline()
        transfers = tuple(timeline.transfers) if timeline else ()
        note = timeline.note if timeline else None
        reused = tuple(timeline.reused) if timeline else ()
        ids = timeline.ids if timeline else frozenset()
        return cls(as_of, analysis, compute_position(estate, analysis), transfers, note, reused, ids)


@dataclass(frozen=True, slots=True)
class Problem:
    """A rule's raw result; the engine stamps the rule id and severity."""

    path: str
    line: int
    column: int
    message: str
    hint: str
    records: tuple[str, ...] = ()

    @classmethod
    def at(
        cls,
        source: Source,
        field: str | tuple[str | int, ...] | None,
        message: str,
        hint: str,
        records: tuple[str, ...] = (),
    ) -> Problem:
        """A problem at ``field`` (a key, or a path of keys and indexes) of a record."""
        path = (field,) if isinstance(field, str) else (field or ())
        line, column = source.at(*path)
        return cls(source.path, line, column, message, hint, records)


Check = Callable[[Estate, Context], Iterator[Problem]]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str
    severity: Severity
    source: str
    docs: str
    check: Check | None = None
    stage: str = "rules"
