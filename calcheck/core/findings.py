"""The finding record shared by every stage, and severities."""

from __future__ import annotations

import enum
from dataclasses import dataclass


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


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: Severity
    path: str
    line: int
    column: int
    message: str
    hint: str = ""
    # Ids of the records the finding is about; waivers match on them.
    records: tuple[str, ...] = ()

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.path, self.line, self.column, self.rule, self.message)


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Return findings in report order: by file, line, column, rule."""
    return sorted(findings, key=Finding.sort_key)
