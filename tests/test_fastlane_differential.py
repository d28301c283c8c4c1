"""The fast lane against libyaml on generated and mutated files: the same data, positions and findings, or a decline.

Records are generated in flow and block style from keys and values that YAML reads specially (booleans, nulls,
numbers, indicators, quotes, anchors, tags, comments, flow collections over several lines) and then mutated with
the characters YAML treats specially: Unicode line breaks (U+0085, U+2028, U+2029), C0 and C1 controls, BOMs,
tabs, CR, quotes, flow indicators, '#', '&', '*', '!', and invalid UTF-8. Wherever the fast lane answers, libyaml
must give the same documents and no finding; wherever it reads one list item as history cuts it, libyaml must read
that item alike. The suite runs a derandomized slice (300 examples of 4 files); a long run, e.g.
``CALCHECK_FASTLANE_EXAMPLES=20000 CALCHECK_FASTLANE_VARIANTS=9`` (200,000 files), draws afresh each time.
"""

from __future__ import annotations

import atexit
import json
import os
import random
import re
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from calcheck.estate import fastlane, yamlload

SPECIAL = [
    ":", ": ", "#", " #", ",", ", ", "[", "]", "{", "}", "&a ", "*a", "!", "!!str ", "!!float ", "|", ">", "'", '"',
    "%", "@", "`", "?", "? ", "-", "- ", "~", " ", "  ", "\t", "\r", "\n", "\r\n", "\n  ", "\n    ", "\x00", "\x01",
    "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\x80", "\x85", "\x9f", "\xa0", "\u2028", "\u2029", "\ufeff",
    "\\", ".", "+", "/", "_", "=", "<", "\u00e9", "\U0001f600", "---", "...", "\ud7ff", "\ue000", "\ufffe", "0", "e3",
    ".nan", "True", "NULL", "null", "~", "yes",
]  # fmt: skip
KEYS = st.one_of(
    st.sampled_from(["id", "holding", "person", "device", "since", "until", "note", "groups", "tags", "x_1", "_k",
                     "kind", "temporary", "true_x", "nullx", "fa", "n"]),
    st.sampled_from(["True", "TRUE", "true", "False", "false", "NULL", "Null", "null", "~", "yes", "on", "1", "1.5",
                     "a b", "Id", "k-1", "'id'", '"id"', "? id", "k" * 70, "k" * 1030, "\u00e9t\u00e9"]),
    st.text(alphabet="abz_09AZ", min_size=1, max_size=8),
)  # fmt: skip
WORDS = st.one_of(
    st.sampled_from(["A-1", "WS22-U", "ann.lee@x.example", "2026-01-05", "Ann Lee", "a  b", "x/y+z", "_u", "7", "007",
                     "-3", "+1", ".5", "1e3", "1.10", "0x1F", "0o17", "1_000", ".nan", ".inf", "-.inf", "true",
                     "True", "FALSE", "null", "Null", "~", "", "yes", "1:20", "a: b", "a, b", "a #b", "a#b", "-", "- x",
                     "@x", "`x", "&a x", "*a", "!x y", "'q'", '"q"', "[x]", "{x: y}", "|", ">", "%x", "?x", "x" * 1030,
                     "9" * 4001, "1" + "0" * 400]),
    st.text(alphabet="abcXYZ019_.@+/- ", min_size=1, max_size=12),
    st.lists(st.sampled_from([*"abc019 -_.", *SPECIAL]), max_size=6).map("".join),
)  # fmt: skip
# Mostly what the fast lane reads, so that a mutation lands next to something it would otherwise accept.
PLAIN_KEYS = st.one_of(
    st.sampled_from(["id", "holding", "since", "note", "x_1", "_k", "true_x", "nullx", "k" * 64]),
    st.tuples(st.sampled_from("abxz_"), st.text(alphabet="az09_", max_size=6)).map("".join),
)
PLAIN_WORDS = st.one_of(
    st.sampled_from(["A-1", "2026-01-05", "Ann Lee", "a  b", "7", "-3", "+1", ".5", "1e3", "1.10", "0x1F", "true",
                     "Null", "ann@x.example", "x/y+z", "_u", "9" * 4001]),
    st.tuples(
        st.sampled_from(["a", "Z", "0", "9", "_", "-1", "+2", ".3"]),
        st.text(alphabet="aZ09_.@+/ -", max_size=8),
        st.sampled_from(["", "b", "9", ".", "-", "/", "@"]),
    ).map(lambda parts: parts[0] + (parts[1] + parts[2] if parts[2] else "")),
)  # fmt: skip
KEYS = st.one_of(PLAIN_KEYS, PLAIN_KEYS, PLAIN_KEYS, KEYS)
WORDS = st.one_of(PLAIN_WORDS, PLAIN_WORDS, PLAIN_WORDS, WORDS)
PLAIN_LIST = st.lists(PLAIN_WORDS, max_size=3).map(lambda v: "[" + ", ".join(v) + "]")
FLOW_LIST = st.lists(WORDS, max_size=3).map(lambda v: "[" + ", ".join(v) + "]")
SEP = st.sampled_from([", ", ", ", ", ", ",", " , ", ",\n      ", ", \n    "])


@st.composite
def value_text(draw: st.DrawFn, block: bool, indent: str, clean: bool) -> str:
    """A value as written after 'key: ' (or after 'key:' for a block list)."""
    if clean:
        return " " + draw(st.one_of(PLAIN_WORDS, PLAIN_WORDS, PLAIN_LIST))
    kind = draw(st.sampled_from(["word"] * 6 + ["flow"] * 3 + ["multiline-flow", "block-list", "quoted"]))
    if kind == "flow":
        return " " + draw(FLOW_LIST)
    if kind == "multiline-flow":
        words = draw(st.lists(WORDS, min_size=1, max_size=3))
        return " [" + draw(SEP).join(words) + "]"
    if kind == "block-list" and block:
        words = draw(st.lists(WORDS, min_size=1, max_size=3))
        nested = draw(st.sampled_from(["", "  ", " "]))
        return "".join(f"\n{indent}  {nested}- {w}" for w in words)
    if kind == "quoted":
        return " " + draw(st.sampled_from(["'", '"'])) + draw(WORDS) + draw(st.sampled_from(["'", '"']))
    return " " + draw(WORDS)


@st.composite
def record(draw: st.DrawFn, indent: str, clean: bool) -> str:
    block = draw(st.booleans())
    keys = PLAIN_KEYS if clean else KEYS
    pairs = [(draw(keys), draw(value_text(block, indent, clean))) for _ in range(draw(st.integers(1, 4)))]
    if not block:
        pairs = [(k, v if not v.startswith("\n") else " [x]") for k, v in pairs]
        return f"{indent}- {{" + (", " if clean else draw(SEP)).join(f"{k}:{v}" for k, v in pairs) + "}\n"
    between = draw(st.sampled_from(["", "", "\n", f"{indent}  # note\n", "# x: 1\n", "   \n"]))
    return f"{indent}- " + f"\n{between}{indent}  ".join(f"{k}:{v}" for k, v in pairs) + "\n"


@st.composite
def estate_file(draw: st.DrawFn) -> bytes:
    """A file of records; half of them only what the fast lane reads, the others with mutations of every kind."""
    clean = draw(st.booleans())
    indent = draw(st.sampled_from(["", "  ", "    ", " "]))
    kind = draw(st.sampled_from(["assignments", "people", "holdings", "assignments"] + ([] if clean else ["config"])))
    key = kind if kind != "config" else "holdings"
    heads = ["", "# yaml-language-server: $schema=x\n", "\n"] + ([] if clean else ["---\n", "%YAML 1.2\n---\n"])
    after = ["", "", "\n", f"{indent}# c\n"] + ([] if clean else ["  #\u2028x\n", "# \x85\n"])
    ends = ["", "\n", "# end"] + ([] if clean else ["...", "\n---\n"])
    items = [draw(record(indent, clean)) + draw(st.sampled_from(after)) for _ in range(draw(st.integers(1, 4)))]
    text = f"{draw(st.sampled_from(heads))}kind: {kind}\n{key}:\n" + "".join(items) + draw(st.sampled_from(ends))
    if draw(st.booleans()):
        text = text.rstrip("\n")
    for _ in range(0 if clean else draw(st.integers(0, 3))):  # with the characters YAML treats specially
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "insert", "delete", "duplicate-line", "indent"]))
        if action == "insert":
            text = text[:at] + draw(st.sampled_from(SPECIAL)) + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + 1 :]
        else:
            lines = text.split("\n")
            index = at % len(lines)
            lines[index : index + 1] = [lines[index]] * 2 if action == "duplicate-line" else [" " + lines[index]]
            text = "\n".join(lines)
    raw = text.encode("utf-8", "surrogatepass")
    return raw if clean else draw(st.sampled_from([raw] * 4 + [b"\xef\xbb\xbf" + raw, raw.replace(b"e", b"\xff", 1)]))


def documents(loaded: yamlload.LoadedFile) -> list[tuple[object, ...]]:
    return [(d.data, d.pos, d.line, d.column, d.odd_numbers) for d in loaded.documents]


def chunks(raw: bytes) -> list[str]:
    """The list items of a file as the history reader cuts them (each with its trailing blank and comment lines)."""
    text = raw.decode("utf-8", "replace")
    first = re.search(r"^( *)- ", text, re.MULTILINE)
    if first is None:
        return []
    return re.split(rf"\n(?={first.group(1)}- )", text[first.start() :].rstrip("\n"))


TALLY: Counter[str] = Counter()  # outcomes over every file checked, written to $CALCHECK_FASTLANE_TALLY at exit
if os.environ.get("CALCHECK_FASTLANE_TALLY"):
    atexit.register(lambda: Path(os.environ["CALCHECK_FASTLANE_TALLY"]).write_text(json.dumps(TALLY, sort_keys=True)))


def note(text: str) -> None:
    """Count an outcome (per example in Hypothesis's statistics, per file in the tally)."""
    TALLY[text] += 1
    if currently_in_test_context():
        event(text)


def check_agreement(raw: bytes) -> None:
    """The fast lane reads ``raw`` (and each of its items) as libyaml does, or declines."""
    quick = fastlane.load("f.yaml", raw)
    slow = yamlload.load_bytes("f.yaml", raw)
    TALLY["files compared"] += 1
    note("fast lane reads the file" if quick is not None else "fast lane declines the file")
    if quick is not None:
        assert (slow.findings, slow.broken_paths) == ([], [])
        assert documents(quick) == documents(slow)
    parts = chunks(raw)
    for part, found in zip(parts, fastlane.items(parts), strict=True):
        assert found == fastlane.item(part)
        if found is None:
            continue
        note("fast lane reads an item")
        alone = yamlload.load_bytes("f.yaml", part.encode())
        assert (alone.findings, alone.broken_paths) == ([], [])
        assert [d.data for d in alone.documents] == [[found]]


def variants(raw: bytes, seed: int, count: int) -> list[bytes]:
    """``raw`` and ``count`` single mutations of it: a special character or a word's character inserted, or a byte
    deleted."""
    chooser = random.Random(seed)
    found = [raw]
    for _ in range(count):
        at = chooser.randrange(len(raw) + 1)
        roll = chooser.random()
        if roll < 0.15:
            found.append(raw[:at] + raw[at + 1 :])
        else:  # half of them what a plain word may hold: the file often stays in the grammar, its meaning changes
            insert = chooser.choice(SPECIAL if roll < 0.6 else IN_WORDS).encode("utf-8", "surrogatepass")
            found.append(raw[:at] + insert + raw[at:])
    return found


IN_WORDS = [*"aZ09_.@+/- ", "e3", "0x", "True", "null", "NULL", "true_", "-.", "  ", "k" * 60]
# Each example checks the generated file and VARIANTS single mutations of it (cases = examples * (1 + VARIANTS)).
EXAMPLES = int(os.environ.get("CALCHECK_FASTLANE_EXAMPLES", "300"))
VARIANTS = int(os.environ.get("CALCHECK_FASTLANE_VARIANTS", "3"))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize="CALCHECK_FASTLANE_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
@given(estate_file(), st.integers(0, 2**32))
def test_generated_and_mutated_files_agree_with_libyaml(raw: bytes, seed: int) -> None:
    for case in variants(raw, seed, VARIANTS):
        check_agreement(case)


# The fast lane's whole-file test as one regular expression, as it was written before it matched an item at a time.
_WHOLE = {
    indent: re.compile(
        rf"(?:{fastlane._IGN}*{indent}- (?:\{{{fastlane._PAIR}(?:, {fastlane._PAIR})*\}}\n|{fastlane._PAIR}\n"
        rf"(?:{fastlane._IGN}*{indent}  {fastlane._PAIR}\n)*))+{fastlane._IGN}*"
    )
    for indent in ("", " ", "  ", "    ")
}


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(estate_file(), st.integers(0, 2**32))
def test_the_items_matched_one_at_a_time_are_the_whole_runs_match(raw: bytes, seed: int) -> None:
    for case in variants(raw, seed, 8):
        if not case.isascii():
            continue
        text = case.decode("ascii")
        text = text if text.endswith("\n") else text + "\n"
        for indent, whole in _WHOLE.items():
            for start in {0, text.find(f"\n{indent}- ") + 1, text.find("- ") - len(indent)} - {-1}:
                if start >= 0:
                    expected = whole.fullmatch(text, start) is not None
                    assert fastlane._all_items(text, start, indent) == expected, (text, indent, start)
