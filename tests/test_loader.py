"""The YAML loader: scalars, positions, and every way a file can be broken."""

from __future__ import annotations

import time

import pytest

from calcheck.estate.parse import load_bytes
from calcheck.estate.yamlload import MAX_ALIAS_NODES, locate, locate_key


def rules_of(raw: bytes) -> list[tuple[str, int, int]]:
    return [(f.rule, f.line, f.column) for f in load_bytes("f.yaml", raw).findings]


def data_of(raw: bytes) -> object:
    loaded = load_bytes("f.yaml", raw)
    assert loaded.findings == []
    return loaded.documents[0].data


def test_scalars_follow_a_json_compatible_core_schema() -> None:
    raw = (
        b"a: yes\nb: no\nc: on\nd: true\ne: null\nf: ~\ng: 2022\nh: 1.10\ni: '1.10'\n"
        b"j: 2026-01-01\nk: 1:20\nl: 0x1F\nm: 0o17\nn: .nan\no: -.inf\np: !!str 12\nq: 012\nr: +3\n"
    )
    data = data_of(raw)
    assert isinstance(data, dict)
    assert data["a"] == "yes" and data["b"] == "no" and data["c"] == "on"
    assert data["d"] is True and data["e"] is None and data["f"] is None
    assert data["g"] == 2022 and data["h"] == 1.1 and data["i"] == "1.10"
    assert data["j"] == "2026-01-01" and data["k"] == "1:20"
    assert data["l"] == 31 and data["m"] == 15
    assert data["n"] != data["n"] and data["o"] == float("-inf")
    assert data["p"] == "12" and data["q"] == 12 and data["r"] == 3


def test_keys_are_always_text() -> None:
    assert data_of(b"2022: a\ntrue: b\nnull: c\n") == {"2022": "a", "true": "b", "null": "c"}


def test_positions_are_one_based_and_reach_every_node() -> None:
    loaded = load_bytes("f.yaml", b"kind: x\nitems:\n  - {id: a, n: 1}\n  - id: b\n    n: [1, 2]\n")
    pos = loaded.documents[0].pos
    assert locate(pos, ["items", 0, "n"]) == (3, 16)
    assert locate(pos, ["items", 1, "n", 1]) == (5, 12)
    assert locate(pos, ["items", 1, "missing"]) == (4, 5)
    assert locate(pos, ["items", 7]) == (3, 3)
    assert locate_key(pos, ["items", 1], "n") == (5, 5)


def test_duplicate_keys_are_errors_at_the_second_key() -> None:
    assert rules_of(b"a: 1\nb:\n  c: 2\n  c: 3\n") == [("duplicate-key", 4, 3)]
    loaded = load_bytes("f.yaml", b"items:\n  - {id: a}\n  - {id: b, id: c}\n")
    assert loaded.broken_paths == [("items", 1)]
    assert loaded.documents[0].data == {"items": [{"id": "a"}, {"id": "b"}]}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"a: [1\n", [("yaml-syntax", 2, 1)]),
        (b"\ta: b\n", [("yaml-syntax", 1, 1)]),
        (b"a: \xff\xfe\n", [("yaml-syntax", 1, 4)]),
        (b"a: b\x00\n", [("yaml-syntax", 1, 5)]),
        (b"", [("empty-file", 1, 1)]),
        (b"# only a comment\n", [("empty-file", 1, 1)]),
        (b"a: 1\n---\nb: 2\n", [("yaml-multiple-documents", 2, 1)]),
        (b"a: !python/object x\n", [("yaml-unsupported", 1, 4)]),
        (b"? [a]\n: b\n", [("yaml-unsupported", 1, 3)]),
    ],
)
def test_broken_input_becomes_a_located_finding(raw: bytes, expected: list[tuple[str, int, int]]) -> None:
    assert rules_of(raw) == expected


def test_bom_and_crlf_are_read() -> None:
    assert data_of(b"\xef\xbb\xbfa: 1\r\nb: x\r\n") == {"a": 1, "b": "x"}


def test_billion_laughs_stops_early() -> None:
    raw = b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    previous = "a"
    for name in "bcdefghi":
        refs = ",".join(f"*{previous}" for _ in range(9))
        raw += f"{name}: &{name} [{refs}]\n".encode()
        previous = name
    started = time.perf_counter()
    findings = load_bytes("f.yaml", raw).findings
    assert [f.rule for f in findings] == ["yaml-alias-bomb"]
    assert str(MAX_ALIAS_NODES) in findings[0].message
    assert time.perf_counter() - started < 5


def test_small_aliases_are_allowed() -> None:
    assert data_of(b"a: &x {k: v}\nb: *x\n") == {"a": {"k": "v"}, "b": {"k": "v"}}


def test_deep_nesting_is_refused_without_recursion() -> None:
    assert rules_of(b"[" * 10_000 + b"]" * 10_000) == [("yaml-too-deep", 1, 65)]


def test_libyamls_own_depth_limit_gives_the_same_finding() -> None:
    """libyaml 0.2.6 (PyYAML 6.0.4) stops at 1000 levels while scanning ahead, before any event: same finding."""
    import yaml

    from calcheck.estate.yamlload import LoadedFile, _Builder

    class ScanningAhead:  # what libyaml 0.2.6 does with this file
        def __init__(self, raw: bytes) -> None:
            self.raw = raw

        def get_event(self) -> None:
            mark = yaml.Mark("x", 1020, 1, 1007, None, None)
            raise yaml.MarkedYAMLError("while increasing flow level", mark, "exceeded maximum nesting depth", mark)

        def dispose(self) -> None:
            pass

    result = LoadedFile("x")
    _Builder(result).run(b"kind: people\npeople: " + b"[" * 1100 + b"]" * 1100 + b"\n", ScanningAhead)
    assert [(f.rule, f.line, f.column) for f in result.findings] == [("yaml-too-deep", 2, 72)]


def test_huge_integers_stay_text() -> None:
    data = data_of(b"x: " + b"9" * 5000 + b"\n")
    assert isinstance(data, dict) and isinstance(data["x"], str)
