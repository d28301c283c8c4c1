"""The benchmark generator, in miniature: its estates and history are valid input of realistic shape."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

from calcheck.git.repo import GitRepo
from calcheck.licensing import engine
from tests.conftest import ROOT

GENERATE = ROOT / "tests" / "benchmarks" / "generate.py"
FILE_RULES = {
    "yaml-syntax",
    "duplicate-key",
    "schema",
    "unknown-reference",
    "duplicate-id",
    "unknown-kind",
    "wrong-kind",
}


def test_generated_estate_and_history(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    command = [sys.executable, str(GENERATE), str(out), "--assignments", "600", "--people", "250", "--devices", "90",
               "--holdings", "12", "--deployments", "20", "--commits", "8"]  # fmt: skip
    subprocess.run(command, check=True)
    result = engine.check(out / "licenses", dt.date(2026, 11, 30))
    assert len(result.estate.assignments) == 600
    assert len(result.estate.people) == 250 and len(result.estate.devices) == 90
    assert len(result.estate.holdings) == 12 and len(result.estate.deployments) == 20
    assert {f.rule for f in result.findings} & FILE_RULES == set()
    assert result.context.position.total("owned") >= result.context.position.total("assigned")
    repo = GitRepo(out)
    assert len(repo.log("licenses", repo.resolve("HEAD"))) == 9
    status = subprocess.run(["git", "status", "--porcelain"], cwd=out, capture_output=True, check=True)
    assert status.stdout == b""  # the work tree is the last commit, nothing left over
    again = tmp_path / "again"
    subprocess.run([*command[:2], str(again), *command[3:]], check=True)
    first = sorted(p.relative_to(out).as_posix() for p in (out / "licenses").rglob("*.yaml"))
    assert first == sorted(p.relative_to(again).as_posix() for p in (again / "licenses").rglob("*.yaml"))
    assert all((out / name).read_bytes() == (again / name).read_bytes() for name in first)


def test_real_style_files_mean_exactly_their_records() -> None:
    sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))
    try:
        import realistic
    finally:
        sys.path.pop(0)
    from calcheck.estate.yamlload import load_bytes

    records = [
        {"id": f"u{i:03d}", "name": realistic.person_name(rng), "kind": "employee", "status": "active",
         "department": "Opérations, Süd", "groups": ["g01", "g02"], "notes": realistic.note(rng), "onsite": i % 2 == 0,
         "hours_per_week": 40, "departed": "2026-01-31"}
        for i, rng in ((i, __import__("random").Random(i)) for i in range(60))
    ]  # fmt: skip
    seen = set()
    for seed in range(40):
        raw = realistic.render_file("people", records, seed)
        loaded = load_bytes("p.yaml", raw)
        assert loaded.findings == [], (seed, loaded.findings)
        assert loaded.documents[0].data == {"kind": "people", "people": records}, seed
        text = raw.decode("utf-8-sig")
        seen |= {"flow" if "- {" in text else "", "block" if "\n  - id:" in text or "\n- id:" in text else ""}
        seen |= {"crlf" if "\r\n" in text else "", "bom" if raw.startswith(b"\xef\xbb\xbf") else ""}
        seen |= {"comment" if "\n# " in text or "  # " in text else "", "quoted" if "'" in text or '"' in text else ""}
    assert seen >= {"flow", "block", "crlf", "bom", "comment", "quoted"}


def test_a_real_style_history_merges_pull_requests_that_change_one_file(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    command = [sys.executable, str(GENERATE), str(out), "--assignments", "300", "--people", "120", "--devices", "60",
               "--holdings", "8", "--deployments", "10", "--commits", "30", "--style", "real"]  # fmt: skip
    subprocess.run(command, check=True)

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=out, capture_output=True, text=True, check=True).stdout

    merges = git("log", "--merges", "--format=%H %P").split("\n")[:-1]
    assert len(merges) == 2  # commits 13 and 27 of 30 come through a pull request
    for line in merges:
        merge, first, branch = line.split()
        assert git("rev-parse", f"{branch}^") == first + "\n"  # the branch starts at main's last commit
        assert len(git("diff", "--name-only", first, branch).split()) == 1  # and changes one file, as its merge does
        assert git("diff", "--name-only", first, merge) == git("diff", "--name-only", first, branch)
    assert git("status", "--porcelain") == ""
