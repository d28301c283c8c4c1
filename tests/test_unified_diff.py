"""The diff an edit shows (``calcheck.edits.unified``) is ``difflib.unified_diff``'s, line for line: on generated
texts and edits of them (lines replaced, inserted, deleted, moved; files with comments, blank lines, CR LF, no final
newline, Unicode line breaks; long files where nearly every line changes, and so difflib's popular lines)."""

from __future__ import annotations

import difflib
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calcheck.edits.operations import Change
from calcheck.edits.unified import unified_diff

LINES = [
    "",
    "# a comment",
    "kind: people",
    "people:",
    "  - {id: a1, name: Ann}",
    "  - {id: a1, name: Ann}  # kept",
    "- id: b2",
    "  name: Bo",
    "  status: active",
    "  status: departed",
    "  departed: 2026-11-30",
    "   ",
    "\t",
    "Zoë 王",
]


def _text(rng: random.Random, lines: int, vocabulary: int) -> str:
    pool = LINES + [f"  - {{id: u{i}, name: User {i}}}" for i in range(vocabulary)]
    ends = rng.choice([["\n"], ["\r\n"], ["\n", "\r\n"], ["\n", "\r", "\x85", "\u2028"]])
    text = "".join(rng.choice(pool) + rng.choice(ends) for _ in range(lines))
    if text and rng.random() < 0.3:
        text = text.rstrip("\r\n\x85\u2028")  # no final newline
    return text


def _edit(rng: random.Random, text: str, share: float) -> str:
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    for line in lines:
        roll = rng.random()
        if roll < share / 3:
            continue  # deleted
        if roll < share:
            out.append(f"  - {{id: x{rng.randrange(10**6)}, name: New}}\n")  # replaced by a line seen nowhere
            continue
        if roll < share * 1.2:
            out.append(rng.choice(lines))  # a line from elsewhere (moved, repeated)
        out.append(line)
    if rng.random() < 0.2:
        out.insert(rng.randrange(len(out) + 1), "# inserted\n")
    return "".join(out)


def _both(before: str, after: str) -> tuple[str, str]:
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    return "".join(difflib.unified_diff(a, b, "a/x.yaml", "b/x.yaml")), "".join(
        unified_diff(a, b, "a/x.yaml", "b/x.yaml")
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, 2**32),
    st.integers(0, 700),
    st.integers(1, 400),
    st.sampled_from([0.0, 0.05, 0.3, 0.9, 1.0]),
)
def test_the_diff_is_difflibs_on_generated_edits(seed: int, lines: int, vocabulary: int, share: float) -> None:
    rng = random.Random(seed)
    before = _text(rng, lines, vocabulary)
    after = _edit(rng, before, share) if rng.random() < 0.9 else _text(rng, rng.randrange(700), vocabulary)
    expected, found = _both(before, after)
    assert found == expected
    change = Change(__import__("pathlib").Path("x.yaml"), before, after, "", None)
    assert change.diff("x.yaml") == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["a\n", "b\n", "c\n", "\n", "a", "b\r\n"]), max_size=60), st.data())
def test_the_diff_is_difflibs_on_short_texts_of_few_distinct_lines(a: list[str], data: st.DataObject) -> None:
    b = data.draw(st.lists(st.sampled_from(["a\n", "b\n", "c\n", "\n", "d\n", "b"]), max_size=60))
    for context in (0, 1, 3):
        expected = list(difflib.unified_diff(a, b, "a/f", "b/f", n=context))
        assert list(unified_diff(a, b, "a/f", "b/f", n=context)) == expected


def test_the_diff_is_difflibs_where_nearly_every_line_of_a_long_file_changes() -> None:
    rng = random.Random(16)
    before = "".join(
        (f"- {{id: u{i}, name: Old {i}, status: active}}\n" if i % 7 else "\n") + ("# note\n" if i % 50 == 0 else "")
        for i in range(3000)
    )
    after = "".join(
        line.replace("Old", "New") if rng.random() < 0.97 else line for line in before.splitlines(keepends=True)
    )
    expected, found = _both(before, after)
    assert found == expected
    assert found.count("\n-") > 2000  # difflib's popular lines (the blank ones) are among the changed
    assert _both("", "") == ("", "")
    assert _both("same\n", "same\n") == ("", "")
