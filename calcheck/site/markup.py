"""Escaping for everything that reaches Markdown, HTML or SVG from estate data."""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from calcheck.core.text import one_line

# The characters Python-Markdown lets a backslash escape; '<' and '&' are HTML-escaped instead.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+.!-])")


# Front matter of a data page: its tables get the table of contents' width (Material's ``hide: [toc]``).
WIDE = "---\nhide:\n  - toc\n---\n\n"


def clean(value: object) -> str:
    """One line of text with every control and bidirectional override shown escaped, as the terminal shows it.

    A right-to-left override (U+202E) or isolate in the data would otherwise reorder calcheck's own sentence
    around it, or the numbers of the rows beside it in a search result.
    """
    text = str(value)
    if text.isprintable() and "  " not in text and text.strip() == text:
        return text  # the common case, unchanged: checked in C rather than rebuilt
    return one_line(" ".join(text.split()))


def text(value: object) -> str:
    """Inline Markdown text that renders exactly as given: no markup, links or HTML can come through."""
    return html.escape(_MD_SPECIAL.sub(r"\\\1", clean(value)), quote=False)


def attr(value: object) -> str:
    return html.escape(str(value), quote=True)


def cell(value: object) -> str:
    """An HTML table cell's content (HTML blocks are not parsed as Markdown)."""
    return "" if value is None else html.escape(clean(value), quote=True)


def value(data: object) -> str:
    """A value from the data inside a sentence calcheck writes: escaped and isolated from the text around it."""
    return f"<bdi>{cell(data)}</bdi>"


@dataclass(frozen=True, slots=True)
class Layout:
    """How a table is shown: its id, number columns, columns offered as filters, rows per page, row classes."""

    id: str = ""
    numeric: frozenset[int] = frozenset()
    keep: frozenset[int] = frozenset()  # short values that read badly broken (kinds, states, dates): never wrapped
    filters: frozenset[int] = frozenset()
    page: int = 0  # rows per page when the site's script pages the table; 0: all rows
    row_classes: Sequence[str] = ()
    row_ids: Sequence[str] = ()
    sortable: bool = True


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    raw_columns: frozenset[int] = frozenset(),
    layout: Layout = Layout(),
    footer: Sequence[Sequence[object]] = (),
) -> str:
    """An HTML table in a box that scrolls on its own (never the page); cells are escaped unless their column
    is in ``raw_columns`` (generated markup only). Number columns stay compact; text wraps. ``footer`` rows
    (totals) stay last whatever the sort."""

    def kind(index: int) -> str:
        if index in layout.numeric:
            return ' class="cc-num"'
        return ' class="cc-keep"' if index in layout.keep else ""

    def row(values: Sequence[object], escape_all: bool) -> str:
        return "".join(
            f"<td{kind(i)}>{v if i in raw_columns and not escape_all else cell(v)}</td>" for i, v in enumerate(values)
        )

    def opening(n: int) -> str:
        classes = layout.row_classes[n] if n < len(layout.row_classes) else ""
        anchor = layout.row_ids[n] if n < len(layout.row_ids) else ""
        return (
            "<tr" + (f' class="{attr(classes)}"' if classes else "") + (f' id="{attr(anchor)}"' if anchor else "") + ">"
        )

    head = "".join(
        f"<th{kind(i)}{' data-filter' if i in layout.filters else ''}>{cell(h)}</th>" for i, h in enumerate(headers)
    )
    body = "".join(opening(n) + row(values, False) + "</tr>" for n, values in enumerate(rows))
    foot = "".join(f'<tr class="cc-total">{row(values, True)}</tr>' for values in footer)
    options = (f' id="{attr(layout.id)}"' if layout.id else "") + (f' data-page="{layout.page}"' if layout.page else "")
    options += "" if layout.sortable else ' data-nosort=""'
    options += f' style="min-width:{min_width(len(headers))}rem"'
    return (
        f'\n<div class="cc-scroll"><table class="cc-data"{options}>\n<thead><tr>{head}</tr></thead>\n'
        f"<tbody>{body}</tbody>\n" + (f"<tfoot>{foot}</tfoot>\n" if foot else "") + "</table></div>\n"
    )


def min_width(columns: int) -> int:
    """A table's least width in rem: on a phone it scrolls in its box rather than break every word."""
    return min(4 * columns, 40)


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


# Document types a proof of purchase keeps when published; anything a browser would run from the site's own
# origin (HTML, SVG, XML, script) is published without an extension and so downloads as plain bytes.
DOCUMENT_TYPES = frozenset(
    ("pdf", "png", "jpg", "jpeg", "gif", "webp", "tif", "tiff", "txt", "csv", "xls", "xlsx", "doc", "docx", "odt",
     "ods", "rtf", "eml", "msg", "zip")
)  # fmt: skip


def published_proof(name: str) -> str:
    """Where a proof document is published in the site: a safe, unique name that keeps a document's extension,
    so the reader's browser opens ``invoice.pdf`` as the PDF it is."""
    digest = hashlib.sha1(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    stem, dot, extension = name.rpartition("/")[2].rpartition(".")
    if not dot or not stem or extension.lower() not in DOCUMENT_TYPES:
        stem, extension = name.rpartition("/")[2], ""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", stem).strip("_") or "document"
    return f"proofs/{safe}-{digest}" + (f".{extension.lower()}" if extension else "")


# In JSON written with ensure_ascii: an escaped backslash, a \\uXXXX escape, or a \\b or \\f escape.
_JSON_ESCAPE = re.compile(r"(\\\\)|\\u([0-9a-f]{4})|\\([bf])")
_JSON_ESCAPES = re.compile(r"\\\\|\\u[0-9a-f]{4}|\\[bf]")  # the same, without groups: ``findall`` gives text


# What ``clean`` escapes that a CSV file could hold: controls (but line ends) and bidirectional formatting.
_CSV_UNSAFE = re.compile("[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def csv_text(text: str) -> str:
    """A CSV file's text with its control and bidirectional characters shown escaped, as ``clean`` shows them."""
    return _CSV_UNSAFE.sub(lambda match: one_line(match.group(0)), text)


def _visible(match: re.Match[str]) -> str:
    """``clean``'s escaping inside JSON text: a control or bidirectional character becomes its visible escape."""
    if match.group(1) or (match.group(2) and 0xD800 <= int(match.group(2), 16) <= 0xDFFF):
        return match.group(0)  # an escaped backslash, or half of a character beyond the BMP
    char = chr(int(match.group(2), 16)) if match.group(2) else {"b": "\b", "f": "\f"}[match.group(3)]
    if char.isprintable():
        return match.group(0)
    if char.isspace():
        return " "
    return one_line(char).replace("\\", "\\\\")


def _shown(payload: str) -> str:
    """``_JSON_ESCAPE.sub(_visible, payload)``, found in C: a large table holds hundreds of thousands of escapes
    (every letter beyond ASCII in a name), few of them distinct, and almost never one that ``_visible`` changes."""
    changed: dict[str, str] = {}
    for escape in set(_JSON_ESCAPES.findall(payload)):
        match = _JSON_ESCAPE.fullmatch(escape)
        if match is not None and _visible(match) != escape:
            changed[escape] = _visible(match)
    if not changed:
        return payload
    return _JSON_ESCAPE.sub(lambda match: changed.get(match.group(0), match.group(0)), payload)


def script_data(name: str, data: object) -> str:
    """A JavaScript file that hands JSON data to the page; safe inside any context. Control and bidirectional
    characters arrive as their visible escapes (as ``clean`` shows them)."""
    payload = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
    if "\\u" in payload or "\\b" in payload or "\\f" in payload:
        payload = _shown(payload)
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f"window.calcheckData = window.calcheckData || {{}};\nwindow.calcheckData[{json.dumps(name)}] = {payload};\n"
