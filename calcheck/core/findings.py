"""The finding record shared by every stage, and severities."""

from __future__ import annotations

import enum
from typing import Any


class Severity(enum.IntEnum):
    """Ordered so that comparisons mean 'at least as severe'."""

    INFO = 0
    WARNING = 1
    ERROR = 2

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        return cls[text.upper()]


class Finding:
    """One finding: a frozen record, compared and hashed by its fields.

    Written out rather than made with ``dataclasses``: importing that module (and ``inspect`` with it) and
    generating the methods is a tenth of what `calcheck validate FILE` costs to start, and every command uses this
    record. ``tests/test_findings.py`` holds it to the frozen dataclass it stands for.
    """

    __slots__ = ("column", "hint", "line", "message", "path", "records", "rule", "severity")
    __match_args__ = ("rule", "severity", "path", "line", "column", "message", "hint", "records")  # field order
    rule: str
    severity: Severity
    path: str
    line: int
    column: int
    message: str
    hint: str
    # Ids of the records the finding is about; waivers match on them.
    records: tuple[str, ...]

    def __init__(
        self,
        rule: str,
        severity: Severity,
        path: str,
        line: int,
        column: int,
        message: str,
        hint: str = "",
        records: tuple[str, ...] = (),
    ) -> None:
        values = (rule, severity, path, line, column, message, hint, records)
        for name, value in zip(self.__match_args__, values, strict=True):
            object.__setattr__(self, name, value)

    def _fields(self) -> tuple[Any, ...]:
        return (self.rule, self.severity, self.path, self.line, self.column, self.message, self.hint, self.records)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Finding)
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in zip(self.__match_args__, self._fields(), strict=True))
        return f"{type(self).__qualname__}({shown})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self._fields())

    def replace(self, **changes: Any) -> Finding:
        """A copy with ``changes`` (as ``dataclasses.replace`` does)."""
        fields = dict(zip(self.__match_args__, self._fields(), strict=True))
        unknown = set(changes) - set(fields)
        if unknown:
            raise TypeError(f"Finding has no field {sorted(unknown)[0]!r}")
        return Finding(**(fields | changes))

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.path, self.line, self.column, self.rule, self.message)


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Return findings in report order: by file, line, column, rule."""
    return sorted(findings, key=Finding.sort_key)
