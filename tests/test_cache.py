"""The loaded-file cache: the same answers with it, without it and after it is damaged."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from calcheck.estate import cache as file_cache
from calcheck.estate.cache import FileCache
from calcheck.estate.loading import load_checked
from calcheck.estate.sources import WorkTree
from calcheck.estate.yamlload import load_bytes
from calcheck.licensing import engine
from tests.conftest import AS_OF, ROOT

GENERATE = ROOT / "tests" / "benchmarks" / "generate.py"
ESTATES = [
    ROOT / "licenses",
    ROOT / "tests" / "broken-estate" / "licenses",
    *sorted(p / "licenses" for p in (ROOT / "tests" / "cases").iterdir() if (p / "licenses").is_dir()),
]


def _outputs(estate: Path, cwd: Path, *extra: str) -> list[bytes]:
    """check (JSON), report (JSON) and explain of one person, as the command line prints them."""
    base = [sys.executable, "-m", "calcheck"]
    runs = [
        ["check", str(estate), "--as-of", AS_OF, "--format", "json", "--no-history"],
        ["report", str(estate), "--as-of", AS_OF, "--format", "json", "--no-history"],
        ["check", str(estate), "--as-of", AS_OF, "--format", "sarif", "--no-history"],
    ]
    return [subprocess.run([*base, *r, *extra], cwd=cwd, capture_output=True, check=False).stdout for r in runs]


@pytest.mark.parametrize("estate", ESTATES, ids=lambda p: p.parent.name)
def test_cold_warm_and_uncached_runs_print_the_same_bytes(estate: Path, tmp_path: Path) -> None:
    cold = _outputs(estate, tmp_path)
    assert any(Path(file_cache.default_dir() or tmp_path, "files").rglob("*.json"))
    warm = _outputs(estate, tmp_path)
    uncached = _outputs(estate, tmp_path, "--no-cache")
    assert cold == warm == uncached
    assert all(cold)


def test_a_generated_estate_in_real_shapes_gives_the_same_result(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    command = [sys.executable, str(GENERATE), str(out), "--assignments", "3000", "--people", "1800",
               "--devices", "1200", "--holdings", "30", "--deployments", "20"]  # fmt: skip
    subprocess.run(command, check=True)
    cache = FileCache(tmp_path / "cache")
    day = dt.date(2026, 11, 30)
    plain = engine.check(out / "licenses", day)
    cold = engine.check(out / "licenses", day, cache=cache)
    warm = engine.check(out / "licenses", day, cache=cache)
    assert plain.findings == cold.findings == warm.findings
    assert plain.context.position == cold.context.position == warm.context.position
    assert len(list((tmp_path / "cache").rglob("*.json"))) == plain.files


def test_positions_from_the_cache_equal_the_loaders(tmp_path: Path) -> None:
    source = WorkTree(ROOT / "licenses")
    cache = FileCache(tmp_path)
    for relative in source.yaml_files():
        fresh, checked = load_checked(source, relative, cache)
        again, checked_again = load_checked(source, relative, cache)
        assert checked == checked_again
        assert [(d.data, d.pos, d.line, d.column) for d in again.documents] == [
            (d.data, d.pos, d.line, d.column) for d in fresh.documents
        ]
        assert again.findings == fresh.findings and again.broken_paths == fresh.broken_paths


def _entries(folder: Path) -> list[Path]:
    return sorted((folder / "files").rglob("*.json"))


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],  # truncated
        lambda text: "not json at all",
        lambda text: json.dumps({**json.loads(text), "format": "calcheck-file-cache/0"}),
        lambda text: json.dumps({**json.loads(text), "key": "0" * 64}),
        lambda text: json.dumps({**json.loads(text), "findings": [["schema", "FATAL", "x", 1, 1, "m", "h", []]]}),
        lambda text: json.dumps({**json.loads(text), "documents": [{"data": {}, "pos": {"all": "1,x"}}]}),
        lambda text: text.replace('"records":[', '"records":[1,', 1) if '"records":[' in text else "[]",
    ],
    ids=["truncated", "garbage", "format", "key", "severity", "positions", "records"],
)
def test_a_damaged_entry_is_ignored_and_written_again(damage: object, tmp_path: Path) -> None:
    estate = tmp_path / "licenses"
    shutil.copytree(ROOT / "licenses", estate)
    cache = FileCache(tmp_path / "cache")
    day = dt.date(2026, 11, 30)
    expected = engine.check(estate, day)
    engine.check(estate, day, cache=cache)
    entries = _entries(tmp_path / "cache")
    originals = {p: p.read_text(encoding="utf-8") for p in entries}
    # damage as it happens (the digest line no longer matches), then damage made to pass the digest, which the
    # field-by-field checks must still catch
    for digest in (lambda body: None, lambda body: hashlib.sha256(body).hexdigest()):
        for path, text in originals.items():
            head, _, body = text.partition("\n")
            damaged = damage(body).encode()  # type: ignore[operator]
            path.write_bytes((digest(damaged) or head).encode() + b"\n" + damaged)
        result = engine.check(estate, day, cache=cache)
        assert result.findings == expected.findings
        assert result.context.position == expected.context.position
        assert {p: p.read_text(encoding="utf-8") for p in _entries(tmp_path / "cache")} == originals


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_an_entry_that_is_not_a_regular_file_is_a_miss_and_never_waited_for(kind: str, tmp_path: Path) -> None:
    """A FIFO (or a folder) where an entry should be: the command answers as without the cache, without waiting for
    a writer that never comes, and the entry is written again where it can be."""
    estate = tmp_path / "licenses"
    shutil.copytree(ROOT / "licenses", estate)
    env = {**os.environ, "CALCHECK_CACHE_DIR": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "calcheck", "check", str(estate), "--as-of", AS_OF, "--format", "json"]
    expected = subprocess.run([*command, "--no-cache"], capture_output=True, env=env, check=False, timeout=60)
    subprocess.run(command, capture_output=True, env=env, check=False, timeout=60)
    entries = _entries(tmp_path / "cache")
    assert entries
    for entry in entries:
        entry.unlink()
        if kind == "fifo":
            os.mkfifo(entry)
        else:
            entry.mkdir()
    shutil.rmtree(tmp_path / "cache" / "results")  # (the kept check would answer before any file is read)
    done = subprocess.run(command, capture_output=True, env=env, check=False, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (expected.returncode, expected.stdout, expected.stderr)
    if kind == "fifo":
        assert all(entry.is_file() for entry in entries)  # written again over the FIFO


def test_a_changed_byte_is_another_entry(tmp_path: Path) -> None:
    cache = FileCache(tmp_path)
    one = cache.key("a.yaml", "a.yaml", b"kind: people\npeople: []\n")
    assert one != cache.key("a.yaml", "a.yaml", b"kind: people\npeople: [] \n")
    assert one != cache.key("b.yaml", "a.yaml", b"kind: people\npeople: []\n")
    assert one != cache.key("a.yaml", "people/a.yaml", b"kind: people\npeople: []\n")


def test_what_json_cannot_keep_is_not_cached(tmp_path: Path) -> None:
    cache = FileCache(tmp_path)
    raw = b"kind: people\npeople:\n  - {id: a, name: A, kind: employee, status: active}\n"
    loaded = load_bytes("people/a.yaml", raw)
    record = loaded.documents[0].data["people"][0]
    for odd in (1, ("a",), dt.date(2026, 1, 1)):  # a key or a value that JSON would give back as something else
        record.clear()
        record[odd if not isinstance(odd, dt.date) else "since"] = odd
        cache.put(cache.key("people/a.yaml", "people/a.yaml", raw), loaded, [("people", [])])
        assert not _entries(tmp_path)


def test_an_unwritable_cache_folder_changes_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the folder should be")
    day = dt.date(2026, 11, 30)
    assert (
        engine.check(ROOT / "licenses", day, cache=FileCache(blocker)).findings
        == engine.check(ROOT / "licenses", day).findings
    )


def test_the_cache_stays_off_when_asked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CALCHECK_NO_CACHE", "1")
    assert file_cache.open_cache() is None
    monkeypatch.delenv("CALCHECK_NO_CACHE")
    monkeypatch.setenv("CALCHECK_CACHE_DIR", str(tmp_path))
    assert file_cache.open_cache(enabled=False) is None
    opened = file_cache.open_cache()
    assert opened is not None and opened.directory == tmp_path


def test_a_lazy_mapping_behaves_as_the_dict_it_stands_for() -> None:
    from calcheck.estate.lazy import LazyDict

    def made() -> LazyDict:
        return LazyDict(lambda: {"a": (1, 2), "b": (3, 4)})

    plain = {"a": (1, 2), "b": (3, 4)}
    assert made() == plain and plain == made() and made() == made()
    assert made() != LazyDict(lambda: {"a": (1, 2)}) and made() != {"a": (1, 2)}
    assert list(made()) == ["a", "b"] and len(made()) == 2 and "b" in made() and made().get("c") is None
    assert dict(made()) == plain and made().copy() == plain and (made() | {"c": 5}) == {**plain, "c": 5}
    assert repr(made()) == repr(plain) and list(made().items()) == list(plain.items())


def test_the_cache_keeps_within_its_size_removing_the_least_recently_used_at_most_once_a_day(
    tmp_path: Path, run_cli: Callable[..., tuple[int, str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``tidy`` removes the least recently used entries (a read refreshes an entry) until three quarters of the
    limit are left, and temporary files of unfinished writes, once a day; the history cache is its own; a check
    run with a tiny limit still prints the same bytes."""
    folder = tmp_path / "cache"
    day = 1_800_000_000.0
    entries = []
    for index in range(8):  # 8 entries of 1000 bytes, used one minute apart
        path = folder / ("files" if index % 2 else "results") / f"{index:02x}" / f"{index:064x}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 1000)
        os.utime(path, (day + 60 * index, day + 60 * index))
        entries.append(path)
    history = folder / "history" / "old.json"
    history.parent.mkdir()
    history.write_bytes(b"y" * 5000)
    os.utime(history, (day - 86400, day - 86400))
    unfinished, recent = folder / "files" / ".entry-abc.tmp", folder / "files" / ".entry-def.tmp"
    for path, when in ((unfinished, day - 7200), (recent, day + 500)):
        path.write_bytes(b"z")
        os.utime(path, (when, when))
    os.utime(entries[0], (day + 1000, day + 1000))  # the oldest was read since: now the most recently used
    removed = file_cache.tidy(folder, 6000, now=day + 600)
    assert set(removed) == {unfinished, *entries[1:5]}  # 8000 bytes down to 4000 (<= 4500), the least recent first
    assert all(path.exists() for path in (entries[0], *entries[5:], history, recent))
    assert file_cache.tidy(folder, 0, now=day + 3600) == []  # looked over less than a day ago
    assert len(file_cache.tidy(folder, 0, now=day + 600 + 86400)) == 5  # a day on, no room: the rest, and the temporary

    monkeypatch.setenv("CALCHECK_CACHE_DIR", str(folder))
    estate = str(ROOT / "licenses")
    args = ("check", estate, "--as-of", AS_OF, "--format", "json", "--no-history")
    shown = run_cli(*args, "--no-cache")
    (folder / ".tidied").unlink()
    monkeypatch.setenv("CALCHECK_CACHE_MAX_MB", "0")
    assert run_cli(*args) == shown
    assert not any((folder / "files").rglob("*.json")) and not any((folder / "results").rglob("*.json"))
    assert run_cli(*args) == shown  # (tidied once a day: this run's entries stay)
    assert any((folder / "files").rglob("*.json")) and any((folder / "results").rglob("*.json"))
    assert run_cli(*args) == shown


def test_a_result_is_kept_only_when_what_it_read_did_not_change_while_it_was_worked_out(tmp_path: Path) -> None:
    """The key is worked out again before a result is kept: a file changed meanwhile (another key) keeps nothing,
    as the result may be of neither version."""
    from calcheck.estate.results import Kept, Results

    results = Results(tmp_path / "results")
    key = Results.key("check", ["an input"])
    Kept(results, key, lambda: Results.key("check", ["the input changed"])).put("text")
    assert results.get(key) is None and not (tmp_path / "results").exists()
    Kept(results, key, lambda: key).put("text")
    assert results.get(key) == "text"
    assert Results.key("check", ["an input"]) != Results.key("diff", ["an input"])
