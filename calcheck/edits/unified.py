"""The unified diff an edit shows: exactly ``difflib.unified_diff``'s lines, found without its quadratic scan.

``difflib.SequenceMatcher.find_longest_match`` looks at every line of the range it is given, and
``get_matching_blocks`` asks it again for the parts left and right of each match it finds: when an edit changes
nearly every line of a file (an import renaming thousands of people), the few lines left in common are found by
scanning the file again and again. Only the lines of the old text that occur in the new one (outside difflib's
junk and popular lines) can take part in a match, so ``_Matcher`` looks at those alone: the same algorithm on the
same lines, with the lines that could only reset its state skipped, and so the same matches and the same diff
(``tests/test_unified_diff.py`` holds it equal to ``difflib.unified_diff`` on generated edits).
"""

from __future__ import annotations

import difflib
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from typing import Any


class _Matcher(difflib.SequenceMatcher):  # type: ignore[type-arg]
    """``difflib.SequenceMatcher`` whose longest-match search visits only the lines of ``a`` that ``b`` holds."""

    _hits: list[int] | None = None

    def set_seq1(self, a: Any) -> None:
        self._hits = None
        super().set_seq1(a)

    def set_seq2(self, b: Any) -> None:
        self._hits = None
        super().set_seq2(b)

    def find_longest_match(
        self, alo: int = 0, ahi: int | None = None, blo: int = 0, bhi: int | None = None
    ) -> difflib.Match:
        found: Any = self  # difflib's attributes, which typeshed does not declare
        a, b, b2j, isbjunk = found.a, found.b, found.b2j, found.bjunk.__contains__
        if ahi is None:
            ahi = len(a)
        if bhi is None:
            bhi = len(b)
        hits = self._hits
        if hits is None:  # the lines of a that b2j holds: every other line matches nothing
            hits = self._hits = [i for i, line in enumerate(a) if line in b2j]
        besti, bestj, bestsize = alo, blo, 0
        # as difflib: j2len[j] is the length of the longest junk-free match ending with a[i - 1] and b[j]; a line
        # of a that is not in b2j leaves it empty, so after a skipped line it starts empty again
        j2len: dict[int, int] = {}
        previous = alo - 2
        for at in range(bisect_left(hits, alo), bisect_left(hits, ahi)):
            i = hits[at]
            if i != previous + 1:
                j2len = {}
            previous = i
            j2lenget = j2len.get
            newj2len: dict[int, int] = {}
            for j in b2j[a[i]]:
                if j < blo:
                    continue
                if j >= bhi:
                    break
                k = newj2len[j] = j2lenget(j - 1, 0) + 1
                if k > bestsize:
                    besti, bestj, bestsize = i - k + 1, j - k + 1, k
            j2len = newj2len
        # extended as difflib extends it: by non-junk equal lines, then by junk equal lines, on each side
        while besti > alo and bestj > blo and not isbjunk(b[bestj - 1]) and a[besti - 1] == b[bestj - 1]:
            besti, bestj, bestsize = besti - 1, bestj - 1, bestsize + 1
        while (
            besti + bestsize < ahi
            and bestj + bestsize < bhi
            and not isbjunk(b[bestj + bestsize])
            and a[besti + bestsize] == b[bestj + bestsize]
        ):
            bestsize += 1
        while besti > alo and bestj > blo and isbjunk(b[bestj - 1]) and a[besti - 1] == b[bestj - 1]:
            besti, bestj, bestsize = besti - 1, bestj - 1, bestsize + 1
        while (
            besti + bestsize < ahi
            and bestj + bestsize < bhi
            and isbjunk(b[bestj + bestsize])
            and a[besti + bestsize] == b[bestj + bestsize]
        ):
            bestsize += 1
        return difflib.Match(besti, bestj, bestsize)


def unified_diff(a: Sequence[str], b: Sequence[str], fromfile: str, tofile: str, n: int = 3) -> Iterator[str]:
    """``difflib.unified_diff(a, b, fromfile, tofile, n=n)``, line for line (no dates, lines ending in ``\\n``)."""
    started = False
    for group in _Matcher(None, a, b).get_grouped_opcodes(n):
        if not started:
            started = True
            yield f"--- {fromfile}\n"
            yield f"+++ {tofile}\n"
        first, last = group[0], group[-1]
        yield f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@\n"
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                for line in a[i1:i2]:
                    yield " " + line
                continue
            if tag in ("replace", "delete"):
                for line in a[i1:i2]:
                    yield "-" + line
            if tag in ("replace", "insert"):
                for line in b[j1:j2]:
                    yield "+" + line


def _range(start: int, stop: int) -> str:
    """A hunk's range as unified diffs write it (difflib's ``_format_range_unified``)."""
    beginning, length = start + 1, stop - start
    if length == 1:
        return f"{beginning}"
    if not length:
        beginning -= 1  # an empty range begins at the line before it
    return f"{beginning},{length}"
