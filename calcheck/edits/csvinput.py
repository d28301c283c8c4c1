"""Reading the CSV exports of directory and usage tools: encoding, PowerShell's type line, line numbers."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from calcheck.core.findings import Finding, Severity

CSV_HINT = "export it again as comma-separated values (Export-Csv), without editing it by hand"
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
ENCODING_HINT = "save the export as UTF-8 (Export-Csv -Encoding UTF8), then give it again"


@dataclass(slots=True)
class CsvExport:
    """An export's header (None: the file is empty), its line, and its non-blank rows with their first line."""

    header: list[str] | None
    header_line: int
    rows: list[tuple[int, list[str]]]


def decode_export(raw: bytes) -> tuple[str, tuple[int, int] | None]:
    """An export's text (UTF-8, or UTF-16 with its byte-order mark), or the line and column of the first bad byte.

    Nothing is guessed or replaced: a name read in the wrong encoding would be written into the estate wrong.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), None
        except UnicodeDecodeError:
            return "", (1, 1)
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as error:
        before = raw[: error.start]
        line_start = before.rfind(b"\n") + 1
        column = len(before[line_start:].decode("utf-8", errors="replace")) + 1
        return "", (before.count(b"\n") + 1, column)


def read_export(path: Path, rule: str) -> CsvExport | Finding:
    """The export's rows, or one finding (under ``rule``) saying why it cannot be read."""
    shown = str(path)
    text, bad = decode_export(path.read_bytes())
    if bad is not None:
        return Finding(rule, Severity.ERROR, shown, bad[0], bad[1], "not UTF-8 text", ENCODING_HINT)
    control = _CONTROL.search(text)
    if control is not None:
        line = text.count("\n", 0, control.start()) + 1
        column = control.start() - text.rfind("\n", 0, control.start())
        message = f"control character U+{ord(control.group()):04X} in the export"
        return Finding(rule, Severity.ERROR, shown, line, column, message, CSV_HINT)
    skipped = 0
    if text.startswith("#TYPE"):  # Export-Csv's type line
        skipped, newline = 1, text.find("\n")
        text = text[newline + 1 :] if newline >= 0 else ""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)  # a stray quote must not swallow later rows
    rows: list[tuple[int, list[str]]] = []
    previous = 0  # the last line of the previous row: a row that cannot be read is reported where it starts
    try:
        header = next(reader, None)
        previous = reader.line_num
        for cells in reader:
            start, previous = previous + 1, reader.line_num
            if any(cell.strip() for cell in cells):
                rows.append((start + skipped, cells))
    except csv.Error as error:
        return Finding(
            rule, Severity.ERROR, shown, previous + 1 + skipped, 1, f"not readable as CSV: {error}", CSV_HINT
        )
    return CsvExport(header, 1 + skipped, rows)
