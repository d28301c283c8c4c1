"""Exceptions: the tool cannot go on (data problems are findings, not exceptions)."""

from __future__ import annotations


class CalcheckError(Exception):
    """Base class; the CLI maps subclasses to exit codes."""


class UsageError(CalcheckError):
    """Bad command line or configuration: exit code 2."""
