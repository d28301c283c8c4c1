"""Escaping for everything that reaches Markdown, HTML or SVG from estate data."""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Iterable, Sequence

# The characters Python-Markdown lets a backslash escape; '<' and '&' are HTML-escaped instead.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+.!-])")


def text(value: object) -> str:
    """Inline Markdown text that renders exactly as given: no markup, links or HTML can come through."""
    flat = " ".join(str(value).split())
    return html.escape(_MD_SPECIAL.sub(r"\\\1", flat), quote=False)


def attr(value: object) -> str:
    return html.escape(str(value), quote=True)


def cell(value: object) -> str:
    """An HTML table cell's content (HTML blocks are not parsed as Markdown)."""
    return "" if value is None else html.escape(" ".join(str(value).split()), quote=True)


def table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], *, raw_columns: frozenset[int] = frozenset()
) -> str:
    """An HTML table; cells are escaped unless their column is in ``raw_columns`` (generated markup only)."""
    head = "".join(f"<th>{cell(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{v if i in raw_columns else cell(v)}</td>" for i, v in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"\n<table>\n<thead><tr>{head}</tr></thead>\n<tbody>{body}</tbody>\n</table>\n"


def link(href: str, label: object) -> str:
    """A link whose target calcheck built itself (relative page paths); the label is escaped."""
    if not re.fullmatch(r"[A-Za-z0-9._/#-]+", href) or href.lower().startswith("javascript"):
        raise ValueError(f"refusing to link to {href!r}")
    return f'<a href="{attr(href)}">{cell(label)}</a>'


def slug(value: str) -> str:
    """A file-name-safe, collision-resistant name for a record id."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", value)
    if safe == value and not safe.startswith("."):
        return safe
    return f"{safe.lstrip('.')}-{hashlib.sha1(value.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"


def script_data(name: str, value: object) -> str:
    """A JavaScript file that hands JSON data to the page; safe inside any context."""
    payload = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f"window.calcheckData = window.calcheckData || {{}};\nwindow.calcheckData[{json.dumps(name)}] = {payload};\n"
