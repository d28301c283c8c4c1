"""Review of reading and editing: inputs that ended in an internal error (exit 3) or in records read differently."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import AS_OF

Run = Callable[..., tuple[int, str, str]]


@pytest.mark.parametrize("number", ["0x" + "f" * 5000, "0o" + "7" * 6000], ids=["hex", "octal"])
def test_a_huge_hexadecimal_or_octal_number_is_a_finding(
    number: str, estate: Callable[[dict[str, str]], Path], run_cli: Run
) -> None:
    estate({"people/people.yaml": f"kind: people\npeople:\n  - {{id: {number}, name: A, kind: employee}}\n"})
    for cache in ((), ("--no-cache",), ()):
        code, out, err = run_cli("check", "licenses", "--as-of", AS_OF, "--no-history", *cache)
        assert (code, err) == (1, ""), err  # was exit 3: the schema error's message could not print the number
        assert "licenses/people/people.yaml:3:" in out and "[schema]" in out
