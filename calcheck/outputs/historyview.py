"""The change log as text, Markdown or JSON."""

from __future__ import annotations

import json
from collections.abc import Callable

from calcheck.core.text import one_line
from calcheck.git.history import Entry


def render_text(entries: list[Entry]) -> str:
    lines = [
        f"{e.date.date()}, commit {e.short} by {one_line(e.author)} ({one_line(e.title)}): "
        + "; ".join(one_line(ev.text) for ev in e.events)
        for e in entries
        if e.events
    ]
    return "\n".join(lines) + "\n" if lines else "no changes to the estate\n"


def _md(text: str) -> str:
    escaped = one_line(text).replace("\\", "\\\\")
    for char in "`*_[]<>|#":
        escaped = escaped.replace(char, "\\" + char)
    return escaped


def render_markdown(entries: list[Entry]) -> str:
    lines = ["| Date | Commit | Author | Change | What it did |", "|---|---|---|---|---|"]
    for e in entries:
        if e.events:
            what = "<br>".join(_md(ev.text) for ev in e.events)
            lines.append(f"| {e.date.date()} | `{e.short}` | {_md(e.author)} | {_md(e.title)} | {what} |")
    return "\n".join(lines) + "\n"


def render_json(entries: list[Entry]) -> str:
    document = [
        {
            "commit": e.sha,
            "date": e.date.isoformat(),
            "author": e.author,
            "title": e.title,
            "events": [{"text": ev.text, "records": list(ev.ids)} for ev in e.events],
        }
        for e in entries
        if e.events
    ]
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


RENDERERS: dict[str, Callable[[list[Entry]], str]] = {
    "text": render_text,
    "markdown": render_markdown,
    "json": render_json,
}
# The formats that read each event's records: a summarised event finds them in its details (``Event.detail``).
READS_RECORDS = frozenset({"json"})
