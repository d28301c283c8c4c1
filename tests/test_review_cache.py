"""Review of the file cache: inputs and entries that made a cached run differ from an uncached one, or crash."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
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

