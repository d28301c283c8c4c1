"""Exports for auditors: the ELP, the assignment register and the proof-of-purchase index, with a manifest.

The same revision and date always give byte-identical files (sorted rows, fixed workbook metadata and zip
timestamps), so an auditor can verify a bundle against the SHA-256 manifest.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterable
from typing import Any

from calcheck import __version__
from calcheck.core.errors import CalcheckError
from calcheck.licensing.access import Catalogue
from calcheck.licensing.engine import CheckResult
from calcheck.outputs import bygroup
from calcheck.outputs.cells import csv_text, safe_cell
from calcheck.outputs.report import CSV_COLUMNS, csv_rows

Table = tuple[list[str], list[list[Any]]]
FIXED_TIME = (2000, 1, 1, 0, 0, 0)
_STAMP = re.compile(rb"<dcterms:(created|modified)([^>]*)>[^<]*</dcterms:\1>")


def elp_table(result: CheckResult) -> Table:
    return list(CSV_COLUMNS), csv_rows(result.context.position)


def register_table(result: CheckResult) -> Table:
    estate, as_of = result.estate, result.context.as_of
    cat = Catalogue(estate)
    analysis = result.context.analysis  # the one licensing computation: in force and reclaimable as check says
    active = {a.id for assignments in analysis.in_force.values() for a in assignments}
    holdings = estate.index("holdings")
    people = estate.index("people")
    header = [
        "assignment",
        "holding",
        "cal",
        "version",
        "type",
        "assignee_kind",
        "assignee",
        "name",
        "since",
        "until",
        "temporary",
        "reason",
        "in_force",
        "reclaimable",
        "source",
    ]
    rows = []
    for a in sorted(estate.index("assignments").values(), key=lambda a: a.id):
        holding = holdings.get(a.holding)
        kind, subject = a.assignee
        free = analysis.reclaimable.get(a.id)
        name = people[subject].name if kind == "person" and subject in people else ""
        rows.append(
            [
                a.id,
                a.holding,
                cat.name(holding.cal) if holding else "",
                (holding.version or "") if holding else "",
                holding.type if holding else "",
                kind,
                subject,
                name,
                a.since.isoformat(),
                a.until.isoformat() if a.until else "",
                "yes" if a.temporary else "",
                a.reason or "",
                "yes" if a.id in active else "no",
                "yes" if free is not None and free <= as_of and analysis.entitlement.get(a.holding) is None else "",
                f"{a.source.path}:{a.source.line}",
            ]
        )
    return header, rows


def proof_table(result: CheckResult) -> Table:
    header = [
        "holding",
        "cal",
        "quantity",
        "channel",
        "agreement",
        "purchased",
        "proof_type",
        "reference",
        "date",
        "file",
        "sha256_recorded",
        "sha256_actual",
        "file_check",
    ]
    rows = []
    for h in sorted(result.estate.index("holdings").values(), key=lambda h: h.id):
        holding = [h.id, h.cal, h.quantity, h.channel, h.agreement or "", h.purchased.isoformat()]
        for p in h.proofs or ():
            rows.append(
                [
                    *holding,
                    p.type,
                    p.ref,
                    p.date.isoformat() if p.date else "",
                    p.file or "",
                    p.sha256 or "",
                    p.actual_sha256 or "",
                    p.file_state.value if p.file_state else "",
                ]
            )
        if not h.proofs:
            rows.append([*holding, "", "", "", "", "", "", "no proof of purchase"])
    return header, rows


def tables(result: CheckResult) -> dict[str, Table]:
    return {
        "elp": elp_table(result),
        "assignments": register_table(result),
        "proofs": proof_table(result),
    }


def chargeback_tables(result: CheckResult) -> dict[str, Table]:
    """One table per grouping: each group's share of each pool, with its chargeback."""
    context = result.context
    splits = bygroup.breakdowns(result.estate, context.analysis, context.position, list(bygroup.GROUPINGS))
    return {f"by-{split.by}": (list(bygroup.CSV_COLUMNS), bygroup.csv_rows(split)) for split in splits}


def to_csv(table: Table) -> bytes:
    return csv_text(*table).encode("utf-8")


def to_xlsx(named: dict[str, Table]) -> bytes:
    """One workbook, one sheet per table, byte-identical for the same content."""
    try:
        from openpyxl import Workbook
    except ImportError:
        raise CalcheckError("XLSX export needs openpyxl: pip install 'calcheck[xlsx]'") from None

    book = Workbook()
    book.remove(book.active)
    for name, (header, rows) in named.items():
        sheet = book.create_sheet(name)
        sheet.append([safe_cell(v) for v in header])
        for row in rows:
            sheet.append([safe_cell(v) for v in row])
    import datetime as dt

    fixed = dt.datetime(2000, 1, 1)
    book.properties.created = fixed
    book.properties.modified = fixed
    book.properties.creator = "calcheck"
    raw = io.BytesIO()
    book.save(raw)
    return _normalise_zip(raw.getvalue())


def _normalise_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed timestamps and order, so equal content gives equal bytes."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in sorted(source.namelist()):
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            content = source.read(name)
            if name == "docProps/core.xml":  # openpyxl stamps the save time here
                content = _STAMP.sub(rb"<dcterms:\1\2>2000-01-01T00:00:00Z</dcterms:\1>", content)
            target.writestr(info, content)
    return out.getvalue()


def bundle(result: CheckResult, fmt: str, revision: str | None, dirty: bool | None = None) -> dict[str, bytes]:
    """The files of an export, with MANIFEST.json listing each file's SHA-256 last.

    ``dirty`` says the data is the work tree's, with uncommitted changes on top of ``revision``.
    """
    named = tables(result)
    files = (
        {f"{name}.csv": to_csv(table) for name, table in named.items()}
        if fmt == "csv"
        else {"calcheck-export.xlsx": to_xlsx({**named, **chargeback_tables(result)})}  # + by group (issue 18)
    )
    manifest = {
        "tool": {"name": "calcheck", "version": __version__},
        "estate": result.estate.root,
        "organisation": result.estate.config.organisation if result.estate.config else None,
        "as_of": result.context.as_of.isoformat(),
        "revision": revision,
        "dirty": dirty,
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    files["MANIFEST.json"] = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    return files


def verify(files: Iterable[tuple[str, bytes]], manifest: dict[str, Any]) -> list[str]:
    """Names whose content does not match the manifest (for auditors and tests)."""
    expected: dict[str, str] = manifest["files"]
    seen = dict(files)
    return sorted(n for n, digest in expected.items() if hashlib.sha256(seen.get(n, b"")).hexdigest() != digest)
