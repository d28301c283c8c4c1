"""A new record written in the style of its neighbours: block or flow, their key order, and their quoting.

An edit appends to a file someone wrote by hand; the record it adds should look as if they had written it too.
The nearest record (the last of the list) gives the form and the key order; each field's quoting comes from
the nearest record that has that field, or else from the nearest value of the same sort (a date, or text).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_NEAREST = 50  # records looked at for quoting, nearest first
_FLOW_ITEM = re.compile(r"^( *)- \{.*\}[ \t]*$")
SAME_PLACE = {"person": "device", "device": "person"}  # an assignment's subject: either field takes the same place


def styled_record(neighbours: Sequence[Any], values: dict[str, Any]) -> Any:
    """``values`` as a round-trip record shaped like ``neighbours`` (records of the list it joins, in order)."""
    from ruamel.yaml.comments import CommentedMap

    records = [r for r in neighbours if isinstance(r, CommentedMap)]
    last = records[-1] if records else None
    model = [_in_place_of(str(k), values) for k in last] if last is not None else list(values)
    order = order_like(model, list(values))
    quotes = _quoting(records[-_NEAREST:])
    record = CommentedMap({key: _quoted(values[key], quotes, key) for key in order})
    if last is None or last.fa.flow_style():
        record.fa.set_flow_style()
    else:
        record.fa.set_block_style()
    return record


def _in_place_of(key: str, values: dict[str, Any]) -> str:
    """The neighbour's ``device`` stands for a new record's ``person`` (and the other way round)."""
    other = SAME_PLACE.get(key)
    return other if other in values and key not in values else key


def styled_value(neighbours: Sequence[Any], key: str, value: Any) -> Any:
    """One value for field ``key``, quoted as the neighbours quote that field (or values of its sort)."""
    from ruamel.yaml.comments import CommentedMap

    records = [r for r in neighbours if isinstance(r, CommentedMap)]
    return _quoted(value, _quoting(records[-_NEAREST:]), key)


def order_like(model: list[str], keys: list[str]) -> list[str]:
    """``keys`` in the order of ``model``; a key ``model`` lacks follows the key it follows in ``keys``."""
    result = [key for key in model if key in keys]
    for index, key in enumerate(keys):
        if key in result:
            continue
        earlier = [k for k in keys[:index] if k in result]
        result.insert(result.index(earlier[-1]) + 1 if earlier else 0, key)
    return result


def tail_records(path: Path, key: str) -> list[Any]:
    """The last one-line records of a register, read for their style (a few lines, not the whole file)."""
    from calcheck.edits.yamledit import _yaml

    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except UnicodeDecodeError:  # the edit itself refuses such a file; its style does not matter
        return []
    items = [line for line in lines[-2 * _NEAREST :] if _FLOW_ITEM.match(line)]
    if not items:
        return []
    text = "\n".join(items) + "\n"
    try:
        data = _yaml(text).load(text)
    except Exception:  # ruamel raises many error types; without neighbours the default style is used
        return []
    return list(data) if isinstance(data, list) else []


def _sort(value: Any) -> str:
    return "date" if isinstance(value, dt.date) or (isinstance(value, str) and _DATE.match(value)) else "text"


def _quoting(records: Sequence[Any]) -> dict[str, type | None]:
    """Quote style by field ('field KEY': as the nearest record with it) and by sort of value ('sort date',
    'sort text': as most values of that sort, plain on a tie): a ruamel scalar string type, or None (plain)."""
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

    found: dict[str, type | None] = {}
    tally: dict[str, Counter[type | None]] = {"date": Counter(), "text": Counter()}
    for record in reversed(records):
        for field, value in record.items():
            if not isinstance(value, (str, dt.date)):
                continue
            style = type(value) if isinstance(value, (SingleQuotedScalarString, DoubleQuotedScalarString)) else None
            found.setdefault(f"field {field}", style)
            tally[_sort(value)][style] += 1
    for sort, counts in tally.items():
        if counts:
            top = max(counts.values())
            found[f"sort {sort}"] = None if counts[None] == top else counts.most_common(1)[0][0]
    return found


def _quoted(value: Any, quotes: dict[str, type | None], key: str) -> Any:
    if not isinstance(value, (str, dt.date)):
        return value
    same = f"field {SAME_PLACE[key]}" if key in SAME_PLACE else ""
    style = quotes.get(f"field {key}", quotes.get(same, quotes.get(f"sort {_sort(value)}")))
    if style is not None:
        return style(value.isoformat() if isinstance(value, dt.date) else value)
    return dt.date(value.year, value.month, value.day) if isinstance(value, dt.date) else value
