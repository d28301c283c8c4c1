"""Auditor exports: CSV and XLSX bundles with a manifest, identical bytes for the same revision and date."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.conftest import ROOT

Run = Callable[..., tuple[int, str, str]]


def export(run_cli: Run, target: Path, fmt: str) -> dict[str, bytes]:
    code, out, _ = run_cli("export", str(ROOT / "licenses"), "--as-of", "2026-11-30", "--no-history", "--format", fmt,
                           "--to", str(target))  # fmt: skip
    assert code == 0 and out.startswith(f"exported {4 if fmt == 'csv' else 2} files to ")
    return {p.name: p.read_bytes() for p in target.iterdir()}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_bundles_are_reproducible_and_verifiable(run_cli: Run, tmp_path: Path, fmt: str) -> None:
    first = export(run_cli, tmp_path / "a", fmt)
    second = export(run_cli, tmp_path / "b", fmt)
    assert first == second
    manifest = json.loads(first["MANIFEST.json"])
    assert manifest["as_of"] == "2026-11-30" and manifest["organisation"] == "Fabrikam Logistics Ltd"
    assert {name: hashlib.sha256(first[name]).hexdigest() for name in manifest["files"]} == manifest["files"]
    assert set(first) == {*manifest["files"], "MANIFEST.json"}


def test_csv_contents(run_cli: Run, tmp_path: Path) -> None:
    files = export(run_cli, tmp_path, "csv")
    register = list(csv.DictReader(io.StringIO(files["assignments.csv"].decode())))
    assert len(register) == 162
    ulla = [r for r in register if r["assignee"] == "ulla.ivanova"]
    assert [(r["assignment"], r["in_force"], r["reclaimable"]) for r in ulla] == [
        ("A-0109", "yes", "yes"),
        ("A-0110", "yes", "yes"),
    ]
    elp = list(csv.DictReader(io.StringIO(files["elp.csv"].decode())))
    assert sum(int(r["owned"]) for r in elp) == 187 and sum(int(r["shortfall"]) for r in elp) == 0
    proofs = list(csv.DictReader(io.StringIO(files["proofs.csv"].decode())))
    assert {r["file_check"] for r in proofs} == {"ok"}
    assert all(r["sha256_recorded"] == r["sha256_actual"] for r in proofs)


def test_xlsx_sheets(run_cli: Run, tmp_path: Path) -> None:
    files = export(run_cli, tmp_path, "xlsx")
    book = load_workbook(io.BytesIO(files["calcheck-export.xlsx"]))
    assert book.sheetnames == ["elp", "assignments", "proofs", "by-department", "by-cost-centre"]
    assert book["assignments"].max_row == 163
    assert [c.value for c in book["elp"][1]][:3] == ["cal", "name", "kind"]


def test_formula_like_cells_are_text(run_cli: Run, estate: Callable[[dict[str, str]], Path], tmp_path: Path) -> None:
    estate({"people/p.yaml": "kind: people\npeople:\n  - {id: evil, name: '=HYPERLINK(\"http://x\")', kind: employee, status: active}\n",
            "holdings/h.yaml": "kind: holdings\nholdings:\n  - {id: H1, cal: windows-server, version: '2022', type: user, quantity: 1, channel: volume, purchased: 2024-01-01, proof: [{type: invoice, ref: '+SUM(A1)'}]}\n",
            "assignments/a.yaml": "kind: assignments\nassignments:\n  - {id: A-1, holding: H1, person: evil, since: 2024-02-01}\n"})  # fmt: skip
    run_cli("export", "--as-of", "2026-11-30", "--to", str(tmp_path / "out"))
    text = (tmp_path / "out" / "assignments.csv").read_text() + (tmp_path / "out" / "proofs.csv").read_text()
    assert "'=HYPERLINK" in text and "'+SUM(A1)" in text


def test_a_target_that_cannot_be_a_folder_is_an_error_not_a_crash(run_cli: Run, tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("x")
    base = ("export", str(ROOT / "licenses"), "--as-of", "2026-11-30", "--no-history", "--to")
    assert run_cli(*base, str(taken)) == (2, "", f"calcheck: error: {taken}: is a file; --to takes a folder\n")
    assert run_cli(*base, str(taken / "sub")) == (2, "", f"calcheck: error: {taken / 'sub'}: Not a directory\n")
    assert taken.read_text() == "x"
