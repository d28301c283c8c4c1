"""Reading one file's bytes: the fast lane where it applies, libyaml for everything else."""

from __future__ import annotations

from calcheck.estate import fastlane, yamlload
from calcheck.estate.yamlload import LoadedFile, gc_paused


def load_bytes(path: str, raw: bytes, *, fast: bool = True) -> LoadedFile:
    """Parse ``raw`` (the content of ``path``) into documents and findings."""
    if fast and len(raw) <= yamlload.MAX_FILE_BYTES:
        with gc_paused():
            quick = fastlane.load(path, raw)
        if quick is not None:
            return quick
    return yamlload.load_bytes(path, raw)
