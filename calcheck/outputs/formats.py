"""The reporters of `calcheck check --format`, by name."""

from __future__ import annotations

from collections.abc import Callable

from calcheck.core.findings import Finding
from calcheck.outputs import ci, reporters

Reporter = Callable[[list[Finding], reporters.ReportContext], str]

REPORTERS: dict[str, Reporter] = {
    "text": reporters.render_text,
    "json": reporters.render_json,
    "github": ci.render_github,
    "sarif": ci.render_sarif,
    "junit": ci.render_junit,
    "markdown": ci.render_markdown,
}
