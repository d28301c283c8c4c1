"""The one writer of spreadsheet cells: every CSV and XLSX cell calcheck writes passes through ``safe_cell``.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return before one)
as a formula: an estate's text could then call out or run commands on an auditor's machine (CSV or formula
injection). Such text is written with a leading apostrophe, which spreadsheets read as "this is text"; numbers
(``-5``, ``+1.5``) are left as they are.
"""

from __future__ import annotations

import csv
import io
import re
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


# Where a cell begins in what ``csv.writer`` wrote (at a line's start or after a comma) with a character
# ``safe_cell`` looks at: a cell that begins so is found here (and some that do not, inside quotes). A cell that
# begins with a line end is quoted; one unquoted after a comma is the empty last cell of its row.
_MAYBE_FORMULA = re.compile(r'(?:^|,)(?:"[=+\-@\t\r\n]|[=+\-@\t])', re.MULTILINE)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A CSV document (``\\n`` line ends) with every cell made safe."""
    table = [header, *rows]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(table)
    written = out.getvalue()
    # The writer copies every cell's text as it is, so when what it wrote holds no carriage return and no cell that
    # begins as a formula may, no cell does: each is safe as it is and each row written as below (the common case,
    # found in C rather than cell by cell).
    if "\r" not in written and _MAYBE_FORMULA.search(written) is None:
        return written
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    # csv quotes a field holding the line terminator, not one holding a lone carriage return: such a row is
    # written fully quoted, or a reader would take the carriage return for the end of the line.
    quoted = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for row in table:
        cells = [safe_cell(v) for v in row]
        (quoted if any(isinstance(c, str) and "\r" in c for c in cells) else writer).writerow(cells)
    return out.getvalue()
