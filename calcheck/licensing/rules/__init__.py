"""The rule registry: every rule calcheck knows, in one explicit table."""

from __future__ import annotations

from calcheck.licensing.rules import (
    access,
    assignments,
    files,
    governance,
    holdings,
    integrity,
    servers,
    subscriptions,
)
from calcheck.licensing.rules.base import Context, Problem, Rule

__all__ = ["REGISTRY", "Context", "Problem", "Rule", "get_rule"]

REGISTRY: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        *files.RULES,
        *integrity.RULES,
        *access.RULES,
        *servers.RULES,
        *assignments.RULES,
        *holdings.RULES,
        *governance.RULES,
        *subscriptions.RULES,
        *files.COPIES,
    )
}


def get_rule(rule_id: str) -> Rule | None:
    return REGISTRY.get(rule_id)
