"""The fast lane reads exactly what the libyaml loader reads, or declines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from calcheck.estate import fastlane
from calcheck.estate.kinds import RECORD_KEYS
from calcheck.estate.yamlload import load_bytes
from tests.conftest import ROOT
from tests.test_fastlane_differential import check_agreement


def same(raw: bytes) -> bool | None:
    """True when the fast lane agrees with libyaml, None when it declines."""
    quick = fastlane.load("f.yaml", raw)
    if quick is None:
        return None
    slow = load_bytes("f.yaml", raw)
    assert slow.findings == []
    assert [(d.data, d.pos, d.line, d.column) for d in quick.documents] == [
        (d.data, d.pos, d.line, d.column) for d in slow.documents
    ]
    # History reads the same records item by item, without positions (one-line records only).
    data = slow.documents[0].data
    lines = [line for line in raw.decode().split("\n") if line.lstrip().startswith("- {")]
    if lines and all(
        line.lstrip().startswith(("- {", "#")) or not line.strip() for line in raw.decode().split("\n")[2:]
    ):
        assert [fastlane.item(line) for line in lines] == data[RECORD_KEYS[data["kind"]]]
        assert fastlane.items(lines) == data[RECORD_KEYS[data["kind"]]]  # and a file's items all at once
    return True


def test_every_yaml_file_of_the_project(tmp_path: Path) -> None:
    generated = tmp_path / "bench"
    subprocess.run([sys.executable, str(ROOT / "tests" / "benchmarks" / "generate.py"), str(generated),
                    "--assignments", "400", "--people", "150", "--devices", "60", "--holdings", "8",
                    "--deployments", "10", "--style", "flow"], check=True)  # fmt: skip
    block = tmp_path / "block"
    subprocess.run([sys.executable, str(ROOT / "tests" / "benchmarks" / "generate.py"), str(block),
                    "--assignments", "400", "--people", "150", "--devices", "60", "--holdings", "8",
                    "--deployments", "10", "--style", "block"], check=True)  # fmt: skip
    files = [p for p in [*ROOT.rglob("*.yaml"), *tmp_path.rglob("*.yaml")] if ".git" not in p.parts]
    outcomes = {p: same(p.read_bytes()) for p in files}
    engaged = {p.relative_to(ROOT).as_posix() for p, ok in outcomes.items() if ok and p.is_relative_to(ROOT)}
    assert "licenses/assignments/finance.yaml" in engaged  # the lane is really taken for one-line records
    assert sum(1 for p, ok in outcomes.items() if ok and p.is_relative_to(generated)) > 300
    assert sum(1 for p, ok in outcomes.items() if ok and p.is_relative_to(block)) > 280  # and for block mappings


ROW_KEY = st.sampled_from(["id", "holding", "person", "device", "since", "until", "note", "x_1", "Id", "ab", "true",
                           "temporary", "fa"])  # fmt: skip
ROW_VALUE = st.one_of(
    st.sampled_from(["true", "null", "False", "~", "12", "007", "-3", ".5", "1e3", "2024-01-01", "tomorrow", "n"]),
    st.text(alphabet="abcXYZ019_.@+/- :,#'\"{}[]&*!|>%`\\yesnoNULtru~", min_size=0, max_size=12),
    st.lists(st.text(alphabet="abc019_.- ,:[", min_size=0, max_size=5), max_size=3).map(
        lambda v: "[" + ", ".join(v) + "]"
    ),
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.lists(st.tuples(ROW_KEY, ROW_VALUE), min_size=1, max_size=5), min_size=1, max_size=4),
       st.sampled_from(["  ", "    ", " "]))  # fmt: skip
def test_random_rows_agree_or_decline(rows: list[list[tuple[str, str]]], indent: str) -> None:
    body = "".join(indent + "- {" + ", ".join(f"{k}: {v}" for k, v in row) + "}\n" for row in rows)
    raw = ("# yaml-language-server: $schema=x\nkind: assignments\nassignments:\n" + body).encode()
    same(raw)


def block_field(key: str, value: str, indent: str, nested: str) -> str:
    """'key: value', or a list value as a block list, its dashes level with the key or ``nested`` deeper."""
    if nested != "flow" and value.startswith("[") and value.endswith("]") and len(value) > 2:
        return f"{key}:" + "".join(f"\n{indent}  {nested}- {element}" for element in value[1:-1].split(", "))
    return f"{key}: {value}"


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.lists(st.tuples(ROW_KEY, ROW_VALUE), min_size=1, max_size=5), min_size=1, max_size=4),
       st.sampled_from(["", "  ", "    "]), st.sampled_from(["", "  # note\n", "\n"]),
       st.sampled_from(["flow", "", " ", "  "]))  # fmt: skip
def test_random_block_rows_agree_or_decline(
    rows: list[list[tuple[str, str]]], indent: str, between: str, nested: str
) -> None:
    body = "".join(
        indent + "- " + f"\n{indent}  ".join(block_field(k, v, indent, nested) for k, v in row) + "\n" + between
        for row in rows
    )
    same(("kind: people\npeople:\n" + body).encode())


def test_block_mappings_agree_or_decline() -> None:
    head = b"kind: assignments\nassignments:\n"
    assert same(head + b"- id: A-1\n  holding: H-1\n  groups: [a, b]\n- id: A-2\n  holding: H-2\n") is True
    assert same(head + b"  - id: A-1\n    # a comment\n\n    since: 2026-01-01\n") is True
    assert same(head + b"- id: A-1\n# a comment at the margin: it is one all the same\n  since: 2026-01-01\n") is True
    # blank, space-only and comment lines anywhere, and no final newline: line numbers stay right
    for flow, block in ((b"  - {id: A-1}", b"- id: A-1\n  since: 2026-01-01"), (b"  - {id: A-2}", b"- id: A-2")):
        for text in (b"\n" + head + flow + b"\n", head.replace(b"\n", b"\n   \n", 1) + flow, head + flow + b"\n\n\n",
                     b"# c\n" + head + flow, b"\n" + head + block + b"\n", head + b"\n" + block + b"\n\n",
                     head + block):  # fmt: skip
            assert same(text) is True, text
    many = b"".join(b"  # note %d\n\n" % i for i in range(40))
    assert same(head + many + b"  - {id: A-1}\n" + many + b"  - {id: A-2}\n") is True
    assert same(b"# schema\n" + head + b"- id: A-1\n  since: 2026-01-01\n- id: A-2\n") is True
    assert same(head + b"- id: A-1\n  since: 2026-01-01\n- {id: A-2}\n") is True  # the two styles, mixed
    # outside the grammar (block lists, continued values, trailing spaces, ...): libyaml's to read
    for body in (b"- id: A-1\n  groups:\n  - a: b\n", b"- id: A-1\n  note: one\n    two\n", b"- id: A-1 # x\n",
                 b"- id: A-1\n   holding: H\n", b"- id: A-1\n  note:\n", b"- id: A-1\n  id: A-2\n", b"- A-1\n",
                 b"- id: A-1\n  groups:\n  - a\n", b"- id: A-1   \n", b"- id: A-1\n  groups:\n    - a\n"):  # fmt: skip
        assert fastlane.load("f.yaml", head + body) is None, body


def test_the_cases_that_once_read_otherwise_than_libyaml() -> None:
    """Inputs the fast lane once read differently from libyaml; each is now libyaml's to read."""
    head = b"kind: waivers\nwaivers:\n"
    cases = {
        # a Unicode line break or a control character inside a comment: libyaml reads a break or refuses the file
        "U+2028 in a comment": head + "  # note\u2028- {id: W-2}\n  - {id: W-1}\n".encode(),
        "U+0085 in a comment": head + "  # note\u0085  - {id: W-2}\n  - {id: W-1}\n".encode(),
        "U+2029 in a comment": head + "# x\u2029\n  - {id: W-1}\n".encode(),
        "a C1 control in a comment": head + "# x\u009b\n  - {id: W-1}\n".encode(),
        "a C0 control in a comment": head + b"# x\x1b\n  - {id: W-1}\n",
        # a block list's element with a comma is one string, not two elements
        "a comma in a block list": head + b"- id: W-1\n  records:\n  - WS22, A-1\n",
        # a flow list over two lines
        "a flow list over two lines": head + b"- id: W-1\n  records: [a,\n    b]\n",
        # two pairs on one block line are not valid YAML
        "two pairs on one block line": b"kind: people\npeople:\n- id: ann\n  name: Ann, status: departed\n",
        # keys that libyaml resolves to a boolean or null
        "key True": head + b"  - {id: W-1, True: x}\n",
        "key NULL": head + b"- id: W-1\n  NULL: x\n",
        "key ~": head + b"  - {id: W-1, ~: x}\n",
        # a key longer than libyaml takes as a simple key
        "a 1100-character key": head + b"  - {id: W-1, " + b"k" * 1100 + b": x}\n",
    }
    for name, raw in cases.items():
        assert fastlane.load("f.yaml", raw) is None, name
        check_agreement(raw)  # and history, reading item by item, reads each as libyaml does, or declines


def test_flow_lists_of_plain_values_agree() -> None:
    head = b"kind: people\npeople:\n"
    assert same(head + b"  - {id: ann, groups: [g1, g2], devices: []}\n  - {id: bob, groups: [a b, 2022]}\n") is True


def test_declines_what_it_does_not_read() -> None:
    head = b"kind: assignments\nassignments:\n"
    for body in (b"  - {id: 'A-1'}\n", b"  - {id: A-1}  # note\n", b"  - {id: A-1, id: A-2}\n",
                 b"  - {id: [A-1, [x]]}\n", b"\t- {id: A-1}\n", b"  - {id: A-1}\r\n", b"  - {id: &a A-1}\n",
                 b"  - {id: A-1}\n    - {id: A-2}\n", "  - {id: \u00e9}\n".encode()):  # fmt: skip
        assert fastlane.load("f.yaml", head + body) is None, body
    assert fastlane.load("f.yaml", b"\xef\xbb\xbf" + head + b"  - {id: A-1}\n") is None
    assert fastlane.load("f.yaml", b"kind: people\nassignments:\n  - {id: A-1}\n") is None
    lines = ["  - {id: A-1}", "  - {id: A-2}"]
    assert fastlane.items([*lines, "  - {id: A-3, id: A-4}"]) == [{"id": "A-1"}, {"id": "A-2"}, None]
    for odd in ("  - {id: A-3}\n    - {id: A-4}", "  - {id: 'A-3'}", "  - id: A-3\n   x: y"):
        assert fastlane.items([*lines, odd]) == [{"id": "A-1"}, {"id": "A-2"}, None], odd
    assert fastlane.items(["  - {id: A-3}\n    # note", "  - id: A-3\n    x: y"]) == [
        {"id": "A-3"},
        {"id": "A-3", "x": "y"},
    ]


def test_values_that_are_not_text_agree() -> None:
    """Nulls, booleans, numbers and dates read alike on every path (whole file, one item, a file's items)."""
    head = b"kind: holdings\nholdings:\n"
    values = ["null", "Null", "TRUE", "false", "007", "+1", "-2", ".5", "1e3", "0x1F", "0o17", "2024-02-30", "12",
              "nothing", "tru", "a b", "[null, 3, x]", "[]", "[2024-01-01]", "FALSE"]  # fmt: skip
    rows = "".join(f"  - {{id: H{i}, v: {v}, w: text}}\n" for i, v in enumerate(values))
    assert same(head + rows.encode()) is True
    assert same(head + b"  - {id: H1, v: text, w: [a, b]}\n  - {id: H2, v: 2026-01-01, w: []}\n") is True
    # keys that start like a boolean or null, before values that are not text
    for value in (b"true", b"null", b"FALSE", b"12", b"[x, true]"):
        assert same(head + b"  - {id: H1, temporary: " + value + b", note: x, flag: " + value + b"}\n") is True
