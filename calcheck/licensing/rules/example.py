"""Each rule's passing and failing example estates (documentation that the test suite runs)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from calcheck.estate.parse import load_bytes

Files = dict[str, str]


@dataclass(frozen=True, slots=True)
class Example:
    rule: str
    description: str
    as_of: dt.date
    passing: Files
    failing: Files
    changes_passing: Files
    changes_failing: Files


def _read(name: str) -> tuple[str, Any]:
    raw = resources.files("calcheck").joinpath(f"licensing/rules/examples/{name}.yaml").read_bytes()
    loaded = load_bytes(name, raw)
    if loaded.findings:  # pragma: no cover - the test suite loads every example
        raise ValueError(f"example {name} is broken: {loaded.findings[0]}")
    first = raw.decode("utf-8").splitlines()[0]
    return first.partition(": ")[2], loaded.documents[0].data


@cache
def _base_files() -> Files:
    return dict(_read("_base")[1])


def base_files() -> Files:
    """The base example estate's files (a fresh copy: callers may change it)."""
    return dict(_base_files())


def _merge(changes: dict[str, str | None]) -> Files:
    files: dict[str, str | None] = {**_base_files(), **changes}
    return {path: text for path, text in files.items() if text is not None}


@cache
def load_example(rule_id: str) -> Example | None:
    """The rule's main example, or None if it has none."""
    if not resources.files("calcheck").joinpath(f"licensing/rules/examples/{rule_id}.yaml").is_file():
        return None
    return _example(rule_id, rule_id)


@cache
def load_examples(rule_id: str) -> tuple[Example, ...]:
    """All of a rule's examples: the main one (``RULE.yaml``), then each ``RULE.TOPIC.yaml`` by name."""
    folder = resources.files("calcheck").joinpath("licensing/rules/examples")
    more = sorted(
        f.name[: -len(".yaml")]
        for f in folder.iterdir()
        if f.name.startswith(f"{rule_id}.") and f.name.endswith(".yaml")
    )
    main = load_example(rule_id)
    return (*([main] if main is not None else []), *(_example(rule_id, name) for name in more))


def _example(rule_id: str, name: str) -> Example:
    description, data = _read(name)
    passing = data.get("pass") or {}
    failing = data.get("fail") or {}
    return Example(
        rule_id,
        description,
        dt.date.fromisoformat(data["as_of"]),
        _merge(passing),
        _merge(failing),
        {k: v for k, v in passing.items() if v is not None},
        {k: v for k, v in failing.items() if v is not None},
    )


def write_estate(files: Files, root: Path) -> Path:
    """Write an example estate below ``root`` and return it."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root
