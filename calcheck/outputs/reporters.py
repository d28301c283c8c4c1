"""Reporters: pure functions from findings to text, selected by name."""

from __future__ import annotations

import json
from collections import Counter

from calcheck import __version__
from calcheck.core.findings import Finding, Severity
from calcheck.core.text import one_line

JSON_FORMAT_VERSION = 1


class ReportContext:
    """What a report says besides its findings (a plain record: no ``dataclasses`` import for `validate FILE`)."""

    __slots__ = ("as_of", "colour", "estate", "fail_on", "files", "organisation", "waived")

    def __init__(
        self,
        estate: str,
        organisation: str | None,
        as_of: str,
        files: int,
        fail_on: Severity,
        colour: bool = False,
        waived: int = 0,
    ) -> None:
        self.estate = estate
        self.organisation = organisation
        self.as_of = as_of
        self.files = files
        self.fail_on = fail_on
        self.colour = colour
        self.waived = waived


def counts(findings: list[Finding]) -> Counter[Severity]:
    return Counter(f.severity for f in findings)


def failed(findings: list[Finding], threshold: Severity) -> bool:
    return any(f.severity >= threshold for f in findings)


_COLOURS = {Severity.ERROR: "\033[31m", Severity.WARNING: "\033[33m", Severity.INFO: "\033[36m"}
_RESET, _BOLD, _DIM = "\033[0m", "\033[1m", "\033[2m"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def render_text(findings: list[Finding], ctx: ReportContext) -> str:
    lines: list[str] = []
    for f in findings:
        label = f.severity.label
        if ctx.colour:
            label = f"{_COLOURS[f.severity]}{label}{_RESET}"
        lines.append(f"{f.path}:{f.line}:{f.column}: {label} [{f.rule}] {one_line(f.message)}")
        if f.hint:
            hint = f"    hint: {one_line(f.hint)}"
            lines.append(f"{_DIM}{hint}{_RESET}" if ctx.colour else hint)
    tally = counts(findings)
    verdict = "FAIL" if failed(findings, ctx.fail_on) else "OK"
    if ctx.colour:
        verdict = f"{_BOLD}{_COLOURS[Severity.ERROR] if verdict == 'FAIL' else chr(27) + '[32m'}{verdict}{_RESET}"
    who = f"{ctx.organisation}, " if ctx.organisation else ""
    lines.append(
        f"{verdict}: {_plural(tally[Severity.ERROR], 'error')}, {_plural(tally[Severity.WARNING], 'warning')}, "
        f"{tally[Severity.INFO]} info{f', {ctx.waived} waived' if ctx.waived else ''} in "
        f"{_plural(ctx.files, 'file')} ({who}{ctx.estate}, as of {ctx.as_of})"
    )
    return "\n".join(lines) + "\n"


def render_json(findings: list[Finding], ctx: ReportContext) -> str:
    tally = counts(findings)
    document = {
        "tool": {"name": "calcheck", "version": __version__},
        "format_version": JSON_FORMAT_VERSION,
        "estate": ctx.estate,
        "organisation": ctx.organisation,
        "as_of": ctx.as_of,
        "files": ctx.files,
        "summary": {
            "errors": tally[Severity.ERROR],
            "warnings": tally[Severity.WARNING],
            "info": tally[Severity.INFO],
            "failed": failed(findings, ctx.fail_on),
            "fail_on": ctx.fail_on.label,
            "waived": ctx.waived,
        },
        "findings": [
            {
                "rule": f.rule,
                "severity": f.severity.label,
                "path": f.path,
                "line": f.line,
                "column": f.column,
                "message": f.message,
                "hint": f.hint,
            }
            for f in findings
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
