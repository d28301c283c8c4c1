"""Parsing on every core: the same results as one process, whatever the workers do."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from calcheck.estate import parallel
from calcheck.estate.cache import FileCache
from calcheck.estate.loading import load_all
from calcheck.estate.sources import WorkTree
from calcheck.licensing import engine
from tests.conftest import ROOT

GENERATE = ROOT / "tests" / "benchmarks" / "generate.py"
ESTATES = [
    ROOT / "licenses",
    ROOT / "tests" / "broken-estate" / "licenses",
    ROOT / "tests" / "bad-input",
    *sorted(p / "licenses" for p in (ROOT / "tests" / "cases").iterdir() if (p / "licenses").is_dir()),
]


@pytest.fixture
def always_parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fork workers for any amount of work (three processes in all)."""
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setenv("CALCHECK_JOBS", "3")


def _as_plain(results: list[tuple[object, object]]) -> list[object]:
    out = []
    for loaded, checked in results:
        docs = [(d.data, d.pos, d.line, d.column) for d in loaded.documents]  # type: ignore[attr-defined]
        out.append((loaded.path, docs, loaded.findings, loaded.broken_paths, checked))  # type: ignore[attr-defined]
    return out


def _load(estate: Path, cache: FileCache | None = None) -> str:
    """Everything loaded, as text (a NaN read from a file is never equal to itself)."""
    source = WorkTree(estate)
    return repr(_as_plain(load_all(source, source.yaml_files(), cache)))  # type: ignore[arg-type]


@pytest.mark.parametrize("estate", ESTATES, ids=lambda p: p.parent.name if p.name == "licenses" else p.name)
def test_every_example_and_bad_file_loads_the_same_on_every_core(
    estate: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CALCHECK_JOBS", "1")
    alone = _load(estate)
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setenv("CALCHECK_JOBS", "3")
    assert _load(estate) == alone
    cache = FileCache(tmp_path / "cache")
    assert _load(estate, cache) == alone  # workers fill the cache ...
    assert _load(estate, cache) == alone  # ... with entries that read back the same


def test_workers_really_parse_and_their_results_come_back_in_order(always_parallel: None) -> None:
    work = list(range(40))
    results = parallel.parse_all(
        work,
        lambda item: 1,
        lambda item: (item, os.getpid()),
        lambda item: f"{item} {os.getpid()}".encode(),
        lambda item, body: (int(body.split()[0]), int(body.split()[1])),
    )
    assert [item for item, _ in results] == work
    pids = {pid for _, pid in results}
    assert os.getpid() in pids and len(pids) == 3


def test_a_worker_that_dies_or_sends_garbage_changes_nothing(always_parallel: None) -> None:
    parent = os.getpid()

    def produce(item: int) -> bytes | None:
        if item % 7 == 3:
            os._exit(9)  # killed mid-way: its later items never arrive
        if item % 5 == 0:
            return None  # a result the format cannot carry
        return b"garbage" if item % 2 else str(item * 10).encode()

    def decode(item: int, body: bytes) -> int | None:
        return int(body) if body.isdigit() else None

    results = parallel.parse_all(list(range(60)), lambda item: 60 - item, lambda item: item * 10, produce, decode)
    assert results == [item * 10 for item in range(60)]
    assert os.getpid() == parent


def test_the_work_is_split_by_size_with_a_smaller_share_here() -> None:
    shares = parallel.split([10] * 100, 1)
    assert sorted(shares[0] + shares[1]) == list(range(100))
    assert 50 <= len(shares[0]) <= 60  # this process also decodes what the worker sends
    shares = parallel.split([1000, 1, 1, 1], 1)
    assert shares[1] == [0] or shares[0] == [0]
    assert parallel.split([], 3) == [[], [], [], []]


@pytest.mark.parametrize("value", ["1", "0", "-4", "lots", ""])
def test_jobs_setting(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALCHECK_JOBS", value)
    expected = {"1": 1, "0": 1, "-4": 1, "lots": 1}.get(value)
    if expected is None:
        assert 1 <= parallel.jobs() <= parallel.MAX_JOBS
    else:
        assert parallel.jobs() == expected


def test_a_generated_estate_checks_the_same_on_one_core_and_on_all(tmp_path: Path) -> None:
    """Above the size where workers are forked, the command line's output is the same as with CALCHECK_JOBS=1."""
    out = tmp_path / "bench"
    command = [sys.executable, str(GENERATE), str(out), "--assignments", "12000", "--people", "7200",
               "--devices", "4800", "--holdings", "60", "--deployments", "30"]  # fmt: skip
    subprocess.run(command, check=True)
    size = sum(p.stat().st_size for p in (out / "licenses").rglob("*.yaml"))
    assert size > parallel.MIN_PARALLEL_BYTES
    outputs = []
    for jobs in ("1", "2", "4"):
        env = {**os.environ, "CALCHECK_JOBS": jobs, "CALCHECK_NO_CACHE": "1"}
        run = [sys.executable, "-m", "calcheck", "check", str(out / "licenses"), "--as-of", "2026-11-30"]
        done = subprocess.run([*run, "--format", "json", "--no-history"], env=env, capture_output=True, check=False)
        outputs.append((done.returncode, done.stdout, done.stderr))
    assert outputs[0][1] and outputs[0] == outputs[1] == outputs[2]
    day = dt.date(2026, 11, 30)
    assert engine.check(out / "licenses", day).findings  # the estate has findings to compare


def test_a_memo_keeps_what_the_workers_parsed(always_parallel: None, tmp_path: Path) -> None:
    """An edit's second check takes every file it did not change from the memo, the workers' share included."""
    from calcheck.estate.cache import FileMemo

    for inner in (None, FileCache(tmp_path / "cache")):
        memo = FileMemo.over(inner)
        source = WorkTree(ROOT / "licenses")
        files = source.yaml_files()
        first = load_all(source, files, memo)
        assert len(memo.entries) == len(files)
        again = load_all(source, files, memo)
        assert all(a is b for (a, _), (b, _) in zip(again, first, strict=True))  # the very objects kept


def test_a_result_worked_out_meanwhile_comes_from_the_forked_process_or_else_from_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CALCHECK_JOBS", "2")
    here_calls: list[int] = []

    def here() -> str:
        here_calls.append(os.getpid())
        return "here"

    def decode(body: bytes) -> str | None:
        return body.decode() if body.startswith(b"from ") else None

    pending = parallel.later(here, lambda: f"from {os.getpid()} {os.environ['CALCHECK_JOBS']}".encode(), decode)
    answer = pending.result()
    assert answer.startswith("from ") and answer != f"from {os.getpid()} 1" and here_calls == []  # another process
    assert answer.endswith(" 1") and os.environ["CALCHECK_JOBS"] == "2"  # which parses on its own core only
    assert parallel.later(here, lambda: b"garbage", decode).result() == "here"  # not decodable: worked out here
    assert parallel.later(here, lambda: None, decode).result() == "here"  # nothing sent
    stopped = parallel.later(here, lambda: __import__("time").sleep(30) or b"from late", decode)
    stopped.cancel()  # killed at once, and reaped
    assert stopped.result() == "here"
    monkeypatch.setenv("CALCHECK_JOBS", "1")
    assert parallel.later(here, lambda: b"from there", decode).result() == "here"  # one core: no process
    assert here_calls == [os.getpid()] * 4


def test_a_timeline_survives_its_encoding_exactly_and_a_damaged_one_is_refused() -> None:
    import datetime as dt

    from calcheck.estate.transfers import Reuse, Timeline, Transfer, decode_timeline, encode_timeline

    day = dt.date(2026, 3, 1)
    odd = "A-\u202e\ud800\x00\"'\n😀"
    timeline = Timeline(
        [
            Transfer("H", odd, "p", day, day, None, False, "c1"),
            Transfer("H2", "A", "q", day, day, "departure", True, ""),
        ],
        "shallow",
        [Reuse(odd, "x", "y", "c", day)],
        frozenset({odd, "A-1"}),
    )
    assert decode_timeline(encode_timeline(timeline)) == timeline
    assert decode_timeline(encode_timeline(Timeline())) == Timeline()
    body = encode_timeline(timeline)
    for damaged in (body[:-1], body.replace(b"false", b"0"), body.replace(b"2026-03-01", b"2026-02-30"), b"[]", b""):
        assert decode_timeline(damaged) is None
