"""Review of the file cache: inputs and entries that made a cached run differ from an uncached one, or crash."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from calcheck.estate.cache import FileCache
from calcheck.estate.loading import load_checked
from calcheck.estate.sources import WorkTree
from calcheck.licensing import engine
from tests.conftest import ROOT


def _snapshot(source: WorkTree, relative: str, cache: FileCache | None) -> str:
    loaded, checked = load_checked(source, relative, cache)
    return repr(([(d.data, d.pos, d.line, d.column) for d in loaded.documents], loaded.findings, checked))


def test_a_file_name_that_is_not_utf8_is_read_alike_with_and_without_the_cache(tmp_path: Path) -> None:
    folder = tmp_path / "licenses" / "people"
    folder.mkdir(parents=True)
    name = os.fsdecode(b"staff-\xff.yaml")  # a name the file system allows but UTF-8 cannot spell
    (folder / name).write_bytes(b"kind: people\npeople:\n  - {id: a, name: A, kind: employee, status: active}\n")
    source = WorkTree(tmp_path / "licenses")
    cache = FileCache(tmp_path / "cache")
    expected = _snapshot(source, f"people/{name}", None)
    assert _snapshot(source, f"people/{name}", cache) == expected  # crashed: UnicodeEncodeError writing the entry
    assert _snapshot(source, f"people/{name}", cache) == expected


def test_an_entry_with_damaged_record_positions_is_a_miss(tmp_path: Path) -> None:
    estate = tmp_path / "licenses"
    shutil.copytree(ROOT / "tests" / "broken-estate" / "licenses", estate)
    cache = FileCache(tmp_path / "cache")
    day = dt.date(2026, 11, 30)
    expected = engine.check(estate, day)
    engine.check(estate, day, cache=cache)
    damaged = 0
    for path in (tmp_path / "cache").rglob("*.json"):
        head, _, body = path.read_text(encoding="utf-8").partition("\n")
        entry = json.loads(body)
        for doc in entry["documents"]:
            records = doc["pos"].get("records", [])
            # the head (the record's own line and column) intact, its keys' positions garbled or cut short
            doc["pos"]["records"] = [",".join(r.split(",")[:2] + ["x"] * (i % 2)) for i, r in enumerate(records)]
            damaged += len(records)
        path.write_text(head + "\n" + json.dumps(entry), encoding="utf-8")  # the digest line as it was
    assert damaged
    result = engine.check(estate, day, cache=cache)  # crashed: ValueError when a finding needed a record's keys
    assert result.findings == expected.findings
    assert result.context.position == expected.context.position


def test_a_change_to_the_code_that_reads_files_is_another_key(tmp_path: Path) -> None:
    # A cached entry is calcheck's own reading of a file: read by other code (an editable install, a checkout
    # between releases), it must not be served, or a warm run answers as the old code did.
    shutil.copytree(ROOT / "calcheck", tmp_path / "calcheck", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    probe = "from pathlib import Path; from calcheck.estate.cache import FileCache; print(FileCache(Path('c')).key('a.yaml', 'a.yaml', b'x'))"

    def key() -> str:
        env = {**os.environ, "PYTHONPATH": str(tmp_path)}
        done = subprocess.run(
            [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    first = key()
    assert key() == first
    schema = tmp_path / "calcheck" / "estate" / "schema.py"
    schema.write_text(schema.read_text(encoding="utf-8").replace('RULE = "schema"', 'RULE = "schema-v2"'))
    assert key() != first  # was equal: the old entries, with the old rule id, were served
