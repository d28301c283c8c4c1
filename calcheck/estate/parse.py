"""Reading one file's bytes: the fast lane where it applies, libyaml for everything else."""

from __future__ import annotations

from calcheck.estate import yamlload
from calcheck.estate.yamlload import LoadedFile, gc_paused


def load_bytes(path: str, raw: bytes, *, fast: bool = True) -> LoadedFile:
    """Parse ``raw`` (the content of ``path``) into documents and findings."""
    # The fast lane reads ASCII files only: it is imported (its grammar compiled) only when one comes.
    if fast and len(raw) <= yamlload.MAX_FILE_BYTES and raw.isascii():
        from calcheck.estate import fastlane

        with gc_paused():
            quick = fastlane.load(path, raw)
        if quick is not None:
            return quick
    return yamlload.load_bytes(path, raw)
