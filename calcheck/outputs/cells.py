"""The one writer of spreadsheet cells: every CSV and XLSX cell calcheck writes passes through ``safe_cell``.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return before one)
as a formula: an estate's text could then call out or run commands on an auditor's machine (CSV or formula
injection). Such text is written with a leading apostrophe, which spreadsheets read as "this is text"; numbers
(``-5``, ``+1.5``) are left as they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value: Any) -> Any:
    """``value`` as a spreadsheet should show it: text that would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS) and not _number(value):
        return "'" + value
    return value


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip() == text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A CSV document (``\\n`` line ends) with every cell made safe."""
    table = [header, *rows]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([_safe_row(row) for row in table])
    written = out.getvalue()
    # The writer copies every cell's text as it is: no carriage return in what it wrote, none in any cell, and
    # every row is written as below (the common case, in one pass over the rows).
    if "\r" not in written:
        return written
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    # csv quotes a field holding the line terminator, not one holding a lone carriage return: such a row is
    # written fully quoted, or a reader would take the carriage return for the end of the line.
    quoted = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for row in table:
        cells = _safe_row(row)
        (quoted if any(isinstance(c, str) and "\r" in c for c in cells) else writer).writerow(cells)
    return out.getvalue()


def _safe_row(row: Sequence[Any]) -> list[Any]:
    """``[safe_cell(v) for v in row]``, tested inline (the site's CSV files hold hundreds of thousands of cells)."""
    return ["'" + v if isinstance(v, str) and v.startswith(_FORMULA_STARTS) and not _number(v) else v for v in row]
