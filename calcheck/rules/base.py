"""What a rule is: metadata plus a pure check over the estate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from calcheck.findings import Severity
from calcheck.model import Estate, Source


@dataclass(frozen=True, slots=True)
class Context:
    """What a rule may know besides the estate."""

    as_of: dt.date


@dataclass(frozen=True, slots=True)
class Problem:
    """A rule's raw result; the engine stamps the rule id and severity."""

    path: str
    line: int
    column: int
    message: str
    hint: str

    @classmethod
    def at(cls, source: Source, field: str | None, message: str, hint: str) -> Problem:
        line, column = source.at(field) if field else (source.line, source.column)
        return cls(source.path, line, column, message, hint)


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
