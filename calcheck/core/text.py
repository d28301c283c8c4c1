"""Text from the estate made safe to print."""

from __future__ import annotations


def one_line(text: str) -> str:
    """Keep one finding on one line whatever the data holds (no injected newlines or escapes)."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
