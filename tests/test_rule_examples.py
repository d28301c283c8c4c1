"""Every rule's documented examples: the failing estate triggers the rule, the passing one does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from calcheck.core.findings import Severity
from calcheck.licensing import engine
from calcheck.licensing.rules import REGISTRY
from calcheck.licensing.rules.example import Example, load_example, load_examples, write_estate

# Conditions no YAML example can show; tests/test_loader.py, test_files.py, test_git.py and test_ci.py cover them.
WITHOUT_EXAMPLES = {
    "file-too-large",
    "unreadable-file",
    "history-unavailable",
    "estate-link",
    "id-reused",
    "schema-outdated",
}
RULES_WITH_EXAMPLES = sorted(set(REGISTRY) - WITHOUT_EXAMPLES)
EXAMPLES = [(rule, i) for rule in RULES_WITH_EXAMPLES for i in range(len(load_examples(rule)))]


def _example(rule: str, index: int) -> Example:
    return load_examples(rule)[index]


def test_every_rule_has_examples_but_the_untypeable_ones() -> None:
    assert {rule for rule in REGISTRY if load_example(rule) is None} == WITHOUT_EXAMPLES


@pytest.mark.parametrize(("rule", "index"), EXAMPLES)
def test_failing_example_triggers_the_rule(rule: str, index: int, tmp_path: Path) -> None:
    example = _example(rule, index)
    result = engine.check(write_estate(example.failing, tmp_path / "licenses"), example.as_of)
    assert rule in {f.rule for f in result.findings}


@pytest.mark.parametrize(("rule", "index"), EXAMPLES)
def test_passing_example_is_clean(rule: str, index: int, tmp_path: Path) -> None:
    example = _example(rule, index)
    result = engine.check(write_estate(example.passing, tmp_path / "licenses"), example.as_of)
    assert [(f.rule, f.message) for f in result.findings if f.rule == rule or f.severity is Severity.ERROR] == []
