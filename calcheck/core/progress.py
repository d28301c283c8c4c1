"""Progress on a terminal for long imports and reconciliations; silent in CI, in pipes and for short jobs."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")
MINIMUM = 2000
STEP = 1000


def progress(items: Sequence[T], label: str) -> Iterator[T]:
    """Yield ``items``, drawing ``label: done/total`` on standard error when it is a terminal."""
    show = len(items) >= MINIMUM and sys.stderr.isatty() and not os.environ.get("CI")
    for index, item in enumerate(items):
        if show and index % STEP == 0:
            sys.stderr.write(f"\r{label}: {index}/{len(items)}")
            sys.stderr.flush()
        yield item
    if show:
        sys.stderr.write(f"\r{label}: {len(items)}/{len(items)}\n")
