"""Reading CSV exports: encodings, PowerShell's type line, exact line numbers, unreadable files as findings."""

from __future__ import annotations

from pathlib import Path

from calcheck.core.findings import Finding
from calcheck.edits.csvinput import CsvExport, read_export


def read(tmp_path: Path, raw: bytes) -> CsvExport | Finding:
    path = tmp_path / "export.csv"
    path.write_bytes(raw)
    return read_export(path, "import")


def test_rows_keep_the_line_they_start_on(tmp_path: Path) -> None:
    raw = b'#TYPE Selected.Microsoft.ActiveDirectory.Management.ADUser\r\nName,Note\r\nann,"two\r\nlines"\r\n\r\nbob,x\r\n'
    assert read(tmp_path, raw) == CsvExport(["Name", "Note"], 2, [(3, ["ann", "two\r\nlines"]), (6, ["bob", "x"])])


def test_utf16_with_a_byte_order_mark(tmp_path: Path) -> None:
    raw = "Name,City\r\nJosé,Zürich\r\n".encode("utf-16")
    assert read(tmp_path, raw) == CsvExport(["Name", "City"], 1, [(2, ["José", "Zürich"])])


def test_unicode_line_separators_stay_inside_their_cell(tmp_path: Path) -> None:
    assert read(tmp_path, "Name\nA\u2028B\n".encode()) == CsvExport(["Name"], 1, [(2, ["A\u2028B"])])


def test_empty_file(tmp_path: Path) -> None:
    assert read(tmp_path, b"") == CsvExport(None, 1, [])


def test_another_encoding_is_a_finding_at_the_first_bad_byte(tmp_path: Path) -> None:
    found = read(tmp_path, "Name,City\nann,Köln\n".encode("cp1252"))
    assert isinstance(found, Finding)
    assert (found.rule, found.line, found.column, found.message) == ("import", 2, 6, "not UTF-8 text")


def test_a_nul_byte_is_a_finding(tmp_path: Path) -> None:
    found = read(tmp_path, b"Name,City\nann,K\x00ln\n")
    assert isinstance(found, Finding)
    assert (found.line, found.column, found.message) == (2, 6, "control character U+0000 in the export")


def test_a_cell_beyond_the_csv_field_limit_is_a_finding(tmp_path: Path) -> None:
    found = read(tmp_path, b"Name,City\nann,x\nbob," + b"y" * 200_000 + b"\n")
    assert isinstance(found, Finding)
    assert (found.line, found.message) == (3, "not readable as CSV: field larger than field limit (131072)")
