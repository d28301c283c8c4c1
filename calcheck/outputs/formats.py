"""The reporters of `calcheck check --format`, by name."""

from __future__ import annotations

from collections.abc import Callable

from calcheck.core.findings import Finding
from calcheck.outputs import reporters

Reporter = Callable[[list[Finding], reporters.ReportContext], str]


def _ci(name: str) -> Reporter:
    """A reporter of ``calcheck.outputs.ci``, imported when first used (it needs the rule registry, which
    `validate FILE` and a plain text check do not)."""

    def render(findings: list[Finding], context: reporters.ReportContext) -> str:
        from calcheck.outputs import ci

        reporter: Reporter = getattr(ci, name)
        return reporter(findings, context)

    return render


REPORTERS: dict[str, Reporter] = {
    "text": reporters.render_text,
    "json": reporters.render_json,
    "github": _ci("render_github"),
    "sarif": _ci("render_sarif"),
    "junit": _ci("render_junit"),
    "markdown": _ci("render_markdown"),
}
