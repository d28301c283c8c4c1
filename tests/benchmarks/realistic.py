"""Write estate files the way admins and imports really write them, for benchmarks that mean something.

Every file draws its own habits from a seeded generator: flow records, block records or a mix of both; lists in
flow or block form; two-space or zero indentation of the list; a schema modeline or not; comment lines and
trailing comments; blank lines; values quoted single, double or not at all; keys in varying order; optional
fields present or absent; names and notes with accents, apostrophes, commas, colons and other scripts; a few
files saved with CRLF line endings or a byte-order mark (Windows editors). Every file stays valid YAML that
means exactly the records given, so the estate checks as it would in life.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from typing import Any

FIRST = ["Anna", "Zoë", "Łukasz", "José", "Søren", "Chloé", "Mårten", "Iñaki", "Đorđe", "Aoife", "Ngọc", "Björn",
         "Émilie", "Jürgen", "Ólafur", "Fatma", "Priya", "Wei", "Yusuf", "Kateřina", "Siobhán", "Ana-María", "Mia",
         "Ben", "Dana", "Ulla", "Bob", "Ji-woo", "Małgorzata", "Nuño"]  # fmt: skip
LAST = ["O'Brien", "Müller", "Nguyễn", "Ødegård", "García Márquez", "Smith, Jr.", "Kowalczyk", "Dvořák", "Çelik",
        "Van der Berg", "王", "Sørensen", "D'Angelo", "Ibáñez", "Lefèvre", "Chen", "Okafor", "Ivanova", "Žukauskas",
        "MacLeod", "Schäfer", "Ó Súilleabháin", "Kim", "Andersson", "Rossi", "Dubois", "Novák", "Jansen"]  # fmt: skip
NOTES = ["moved desks: 3rd floor", "confirmed by HR (ticket #4211)", "Vertrag verlängert bis März", "prêt de matériel",
         "on loan, see e-mail of 2024-05-02", "shared kiosk; night shift", "«temporary» — check again", "VIP: CFO's office",
         "replaces stolen laptop", "Zugang über Citrix"]  # fmt: skip
COMMENTS = ["# moved from Finance in the 2024 reorganisation", "# TODO: confirm with HR", "# --- contractors ---",
            "# imported from AD on 2025-02-03", "# Zugänge geprüft", "# see ticket SAM-1234"]  # fmt: skip
_PLAIN_SAFE = re.compile(r"[^\W\d_][\w .@/()'-]*[\w.)]\Z|[^\W\d_]\Z")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


@dataclass
class Habits:
    """How one file is written."""

    style: str  # flow, block or mixed
    indent: str  # before '- '
    modeline: bool
    comments: float  # chance of a comment line before a record
    blanks: float
    trailing: float  # chance of a trailing comment on a record (block) or after it (flow)
    quoting: float  # chance a plain-safe string is quoted anyway
    block_lists: float  # chance a list in a block record is written as a block list
    shuffle: float  # chance a record's optional keys come in another order
    crlf: bool
    bom: bool

    @classmethod
    def draw(cls, rng: random.Random) -> Habits:
        return cls(
            style=rng.choice(["flow", "flow", "block", "block", "mixed"]),
            indent=rng.choice(["  ", "  ", ""]),
            modeline=rng.random() < 0.6,
            comments=rng.choice([0.0, 0.01, 0.05]),
            blanks=rng.choice([0.0, 0.02, 0.1]),
            trailing=rng.choice([0.0, 0.02]),
            quoting=rng.choice([0.0, 0.1, 0.5]),
            block_lists=rng.choice([0.0, 0.5, 1.0]),
            shuffle=rng.choice([0.0, 0.3]),
            crlf=rng.random() < 0.05,
            bom=rng.random() < 0.03,
        )


def person_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def note(rng: random.Random) -> str:
    return rng.choice(NOTES)


def comment(rng: random.Random) -> str:
    return rng.choice(COMMENTS)


def _scalar(value: Any, rng: random.Random, habits: Habits, flow: bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    safe = bool(_PLAIN_SAFE.match(text)) and text.lower() not in _RESERVED and ": " not in text and " #" not in text
    if flow and any(c in text for c in ",[]{}"):
        safe = False
    if re.fullmatch(r"\d{4}-\d\d-\d\d", text):  # dates: plain or quoted, both read as text
        safe = True
    if safe and rng.random() >= habits.quoting:
        return text
    if "'" not in text and rng.random() < 0.5:
        return f"'{text}'"
    return json.dumps(text, ensure_ascii=False)


def _flow_value(value: Any, rng: random.Random, habits: Habits) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v, rng, habits, True) for v in value) + "]"
    return _scalar(value, rng, habits, True)


def _ordered(record: dict[str, Any], rng: random.Random, habits: Habits) -> list[tuple[str, Any]]:
    items = list(record.items())
    if rng.random() < habits.shuffle and len(items) > 2:
        rest = items[1:]
        rng.shuffle(rest)
        items = [items[0], *rest]
    return items


def render_record(record: dict[str, Any], rng: random.Random, habits: Habits) -> list[str]:
    style = habits.style if habits.style != "mixed" else rng.choice(["flow", "block"])
    items = _ordered(record, rng, habits)
    ind = habits.indent
    if style == "flow":
        line = f"{ind}- {{" + ", ".join(f"{k}: {_flow_value(v, rng, habits)}" for k, v in items) + "}"
        if rng.random() < habits.trailing:
            line += "  " + comment(rng)
        return [line]
    lines: list[str] = []
    for number, (key, value) in enumerate(items):
        lead = f"{ind}- " if number == 0 else f"{ind}  "
        if isinstance(value, list) and value and rng.random() < habits.block_lists:
            lines.append(f"{lead}{key}:")
            lines += [f"{ind}    - {_scalar(v, rng, habits, False)}" for v in value]
            continue
        text = _flow_value(value, rng, habits) if isinstance(value, list) else _scalar(value, rng, habits, False)
        line = f"{lead}{key}: {text}"
        if rng.random() < habits.trailing:
            line += "  " + comment(rng)
        lines.append(line)
    return lines


def render_file(kind: str, records: list[dict[str, Any]], seed: int, schema: str | None = None) -> bytes:
    """One estate file of ``kind`` holding ``records``, written with habits drawn from ``seed``."""
    rng = random.Random(seed)
    habits = Habits.draw(rng)
    lines = []
    if habits.modeline:
        lines.append(f"# yaml-language-server: $schema=../../schemas/{schema or kind}.schema.json")
    lines += [f"kind: {kind}", f"{kind}:" if records else f"{kind}: []"]
    for record in records:
        if rng.random() < habits.blanks:
            lines.append("")
        if rng.random() < habits.comments:
            lines.append(habits.indent + comment(rng))
        lines += render_record(record, rng, habits)
    text = ("\r\n" if habits.crlf else "\n").join(lines) + ("\r\n" if habits.crlf else "\n")
    return ("\ufeff" if habits.bom else "").encode() + text.encode("utf-8")
