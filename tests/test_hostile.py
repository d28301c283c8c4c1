"""Hostile and broken input: the YAML test suite, a bad-input corpus, fuzzing, and paths that try to escape."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calcheck.estate.parse import load_bytes
from calcheck.licensing import engine
from calcheck.licensing.rules.example import base_files, write_estate
from tests.conftest import ROOT

SUITE = ROOT / "tests" / "reference" / "yaml-test-suite.json"  # packed by tests/reference/refresh.py
CORPUS = ROOT / "tests" / "bad-input"
AS_OF = dt.date(2026, 6, 30)

# Where libyaml (the C parser calcheck uses) departs from the YAML 1.2 suite. A rejected valid case gets a
# located yaml-syntax finding; an accepted invalid case loads, and then meets the schema like any other file.
LIBYAML_REJECTS_VALID = {
    "2JQS",
    "2LFX",
    "2SXE",
    "4ABK",
    "4MUZ/00",
    "4MUZ/01",
    "4MUZ/02",
    "58MP",
    "5MUD",
    "5T43",
    "6BCT",
    "6CA3",
    "6LVF",
    "6M2F",
    "7Z25",
    "8XYN",
    "96NN/00",
    "96NN/01",
    "9SA2",
    "A2M4",
    "BEC7",
    "CFD4",
    "DBG4",
    "DK3J",
    "DK95/00",
    "DK95/03",
    "DK95/04",
    "FP8R",
    "FRK4",
    "HM87/00",
    "HWV9",
    "K3WX",
    "M2N8/00",
    "M7A3",
    "MUS6/05",
    "MUS6/06",
    "NHX8",
    "NJ66",
    "NKF9",
    "Q5MG",
    "QT73",
    "R4YG",
    "S3PD",
    "SM9W/01",
    "UKK6/00",
    "UT92",
    "VJP3/01",
    "W4TN",
    "W5VH",
    "Y79Y/001",
    "Y79Y/010",
}
LIBYAML_ACCEPTS_INVALID = {
    "9C9N",
    "9JBA",
    "CVW2",
    "DK95/01",
    "G5U8",
    "MUS6/00",
    "QB6E",
    "S98Z",
    "SU5Z",
    "X4QW",
    "Y79Y/003",
    "YJV2",
}
LIBYAML_MISREADS = {"652Z", "HM87/01", "JEF9/02", "L24T/01", "Y2GN"}
UNSUPPORTED = {"yaml-unsupported", "yaml-multiple-documents", "empty-file", "duplicate-key"}  # fmt: skip


def suite_cases() -> dict[str, dict[str, Any]]:
    """The YAML test suite's cases by name: input bytes (base64), expected JSON (or None) and the error flag."""
    cases: dict[str, dict[str, Any]] = json.loads(SUITE.read_text(encoding="utf-8"))["cases"]
    return cases


def json_documents(text: str) -> list[object]:
    decoder, index, found = json.JSONDecoder(), 0, []
    text = text.strip()
    while index < len(text):
        value, index = decoder.raw_decode(text, index)
        found.append(value)
        while index < len(text) and text[index].isspace():
            index += 1
    return found


def test_yaml_test_suite() -> None:
    outcome: dict[str, set[str]] = {"rejected valid": set(), "accepted invalid": set(), "misread": set()}
    cases = suite_cases()
    for name, case in cases.items():
        loaded = load_bytes("in.yaml", base64.b64decode(case["in.yaml"]))
        rules = {f.rule for f in loaded.findings}
        assert all(f.line >= 1 and f.column >= 1 for f in loaded.findings), name
        if case["error"]:
            if not rules:
                outcome["accepted invalid"].add(name)
            continue
        if "yaml-syntax" in rules:
            outcome["rejected valid"].add(name)
        elif rules:
            assert rules <= UNSUPPORTED, (name, rules)  # a clear "not supported in calcheck files" finding
        elif case["in.json"] is not None:
            expected = json_documents(case["in.json"])
            if [d.data for d in loaded.documents] != expected[:1]:
                outcome["misread"].add(name)
    assert outcome == {
        "rejected valid": LIBYAML_REJECTS_VALID,
        "accepted invalid": LIBYAML_ACCEPTS_INVALID,
        "misread": LIBYAML_MISREADS,
    }
    assert len(cases) == 402


def corpus_findings(tmp: Path, name: str, content: bytes) -> list[str]:
    folder, _, _ = name.partition("--")
    root = write_estate(base_files(), tmp / "licenses")
    (root / folder).mkdir(exist_ok=True)
    (root / folder / name).write_bytes(content)
    result = engine.check(root, AS_OF)
    again = engine.check(root, AS_OF)
    assert result.findings == again.findings
    prefix = root.as_posix() + "/"
    return sorted(
        f"{f.rule} {f.line}:{f.column}"
        for f in result.findings
        if f.path.endswith(f"/{name}") or f.path == prefix + name
    )


def expected_corpus() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in (CORPUS / "expected.txt").read_text(encoding="utf-8").splitlines():
        name, _, finding = line.partition(":")  # 'name:' alone: a file with no finding
        found.setdefault(name, [])
        if finding.strip():
            found[name].append(finding.strip())
    return found


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.yaml")))
def test_bad_input_corpus(name: str, tmp_path: Path) -> None:
    got = corpus_findings(tmp_path, name, (CORPUS / name).read_bytes())
    if os.environ.get("CALCHECK_UPDATE_GOLDEN"):
        lines = (
            [line for line in (CORPUS / "expected.txt").read_text().splitlines() if not line.startswith(name + ":")]
            if (CORPUS / "expected.txt").exists()
            else []
        )
        lines += [f"{name}: {finding}" for finding in got] or [f"{name}:"]
        (CORPUS / "expected.txt").write_text("\n".join(sorted(lines)) + "\n", encoding="utf-8")
    assert got == sorted(expected_corpus()[name])


def test_fifty_megabyte_file_is_refused_quickly(tmp_path: Path) -> None:
    content = b"kind: people\npeople:\n" + b"  - {id: zed, name: Zed, kind: employee, status: active}\n" * 900_000
    assert len(content) > 50_000_000
    assert corpus_findings(tmp_path, "people--huge.yaml", content) == ["file-too-large 1:1"]


def test_proof_files_that_are_links_folders_or_devices(tmp_path: Path) -> None:
    root = write_estate(base_files(), tmp_path / "licenses")
    outside = tmp_path / "secret.pdf"
    outside.write_bytes(b"secret")
    (root / "proofs").mkdir()
    (root / "proofs" / "link.pdf").symlink_to(outside)
    (root / "proofs" / "device.pdf").symlink_to("/dev/zero")
    (root / "proofs" / "folder.pdf").mkdir()
    os.mkfifo(root / "proofs" / "pipe.pdf")
    holdings = root / "holdings" / "holdings.yaml"
    proofs = "".join(
        f"      - {{type: invoice, ref: R{i}, file: proofs/{n}}}\n"
        for i, n in enumerate(("link.pdf", "device.pdf", "folder.pdf", "pipe.pdf", "missing.pdf"))
    )
    text = holdings.read_text()
    assert "    proof: [{type: invoice, ref: INV-1}]\n" in text
    holdings.write_text(text.replace("    proof: [{type: invoice, ref: INV-1}]\n", "    proof:\n" + proofs))
    messages = [f.message for f in engine.check(root, AS_OF).findings if f.rule == "proof-file"]
    assert messages == [
        "WS22-U: proof file 'proofs/link.pdf' is a symbolic link, or inside one (links are never followed)",
        "WS22-U: proof file 'proofs/device.pdf' is a symbolic link, or inside one (links are never followed)",
        "WS22-U: proof file 'proofs/folder.pdf' is not a regular file",
        "WS22-U: proof file 'proofs/pipe.pdf' is not a regular file",
        "WS22-U: proof file 'proofs/missing.pdf' does not exist",
    ]


def test_a_linked_estate_is_not_read(tmp_path: Path) -> None:
    real = write_estate(base_files(), tmp_path / "real")
    (tmp_path / "licenses").symlink_to(real)
    result = engine.check(tmp_path / "licenses", AS_OF)
    assert [(f.rule, f.message) for f in result.findings] == [
        ("estate-link", "the estate folder is a symbolic link; it is not read")
    ]
    assert result.files == 0


# Fuzzing: mutate the files of a valid estate and require a clean, located, repeatable answer.
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30), st.floats(allow_nan=True),
    st.text(max_size=30), st.sampled_from(["yes", "no", "1:20", "2026-13-45", "0x1F", ".inf", "~", "*a", "&a", "!!x", "{", "]", "'", '"', "- ", "? x", "<script>"]),
)  # fmt: skip
MUTATIONS = st.tuples(
    st.sampled_from(sorted(base_files())),
    st.sampled_from(["replace-value", "delete-line", "duplicate-line", "insert-text", "truncate", "indent"]),
    st.integers(min_value=0, max_value=10_000),
    SCALARS,
)


def mutate(text: str, action: str, where: int, value: object) -> str:
    lines = text.splitlines(keepends=True)
    index = where % max(len(lines), 1)
    if action == "replace-value" and lines:
        key, sep, _ = lines[index].partition(": ")
        lines[index] = f"{key}{sep or ': '}{json.dumps(value) if not isinstance(value, str) else value}\n"
    elif action == "delete-line" and lines:
        del lines[index]
    elif action == "duplicate-line" and lines:
        lines.insert(index, lines[index])
    elif action == "insert-text":
        position = where % (len(text) + 1)
        return text[:position] + str(value) + text[position:]
    elif action == "truncate":
        return text[: where % (len(text) + 1)]
    elif action == "indent" and lines:
        lines[index] = "   " + lines[index]
    return "".join(lines)


@settings(
    max_examples=int(os.environ.get("CALCHECK_FUZZ_EXAMPLES", "60")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(MUTATIONS, min_size=1, max_size=4))
def test_fuzzed_estates_always_get_clean_findings(mutations: list[tuple[str, str, int, object]]) -> None:
    files = dict(base_files())
    for name, action, where, value in mutations:
        files[name] = mutate(files[name], action, where, value)
    with tempfile.TemporaryDirectory() as folder:
        root = write_estate(files, Path(folder) / "licenses")
        first = engine.check(root, AS_OF)
        second = engine.check(root, AS_OF)
    assert first.findings == second.findings
    for finding in first.findings:
        assert finding.path and finding.line >= 1 and finding.column >= 1, finding
        assert finding.message and "\n" not in finding.path
    shutil.rmtree(folder, ignore_errors=True)


def test_huge_values_are_quoted_short_in_findings(tmp_path: Path) -> None:
    huge = "A" * 1_000_000
    root = write_estate(base_files(), tmp_path / "licenses")
    (root / "people" / "huge.yaml").write_text(
        f"kind: people\npeople:\n  - id: huge\n    name: {huge}\n    kind: employee\n    status: active\n"
        f"  - id: {huge}\n    name: Bob\n    kind: employee\n    status: {huge}\n",
        encoding="utf-8",
    )
    findings = [f for f in engine.check(root, AS_OF).findings if f.path.endswith("huge.yaml")]
    assert sorted((f.rule, f.line, f.column) for f in findings) == [
        ("schema", 4, 11),
        ("schema", 7, 9),
        ("schema", 10, 13),
    ]
    assert max(len(f.message) + len(f.hint) for f in findings) < 400
    assert "is too long" in next(f.message for f in findings if f.line == 4)
