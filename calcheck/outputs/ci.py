"""Reporters for CI systems: GitHub workflow commands, a Markdown summary, SARIF 2.1.0 and JUnit XML."""

from __future__ import annotations

import json
import os
from urllib.parse import quote

from calcheck import __version__
from calcheck.core.findings import Finding, Severity
from calcheck.core.text import one_line
from calcheck.licensing.rules import REGISTRY
from calcheck.outputs.reporters import ReportContext, counts, failed

# GitHub shows at most 10 annotations of each kind per step (and 50 per job); a summary may take 1 MiB.
ANNOTATIONS_PER_KIND = 10
SUMMARY_BYTES = 1024 * 1024 - 4096
_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def escape_data(text: str) -> str:
    """Escape a workflow command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command's property value (file, title, ...)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _annotation(finding: Finding) -> str:
    rule = REGISTRY.get(finding.rule)
    title = f"{finding.rule}: {rule.title}" if rule else finding.rule
    props = (
        f"file={escape_property(finding.path)},line={max(finding.line, 1)},col={max(finding.column, 1)},"
        f"title={escape_property(title)}"
    )
    message = finding.message + (f"\n{finding.hint}" if finding.hint else "")
    return f"::{_COMMAND[finding.severity]} {props}::{escape_data(message)}"


def render_github(findings: list[Finding], ctx: ReportContext) -> str:
    """Annotations (the most severe first, capped per kind), every finding as a log line, and a verdict."""
    lines: list[str] = []
    shown: dict[Severity, int] = dict.fromkeys(Severity, 0)
    left_out = 0
    for finding in sorted(findings, key=lambda f: (-f.severity, f.sort_key())):
        if shown[finding.severity] < ANNOTATIONS_PER_KIND:
            shown[finding.severity] += 1
            lines.append(_annotation(finding))
        else:
            left_out += 1
    if left_out:
        lines.append(
            f"::notice title=calcheck::{left_out} more findings are not annotated (GitHub shows "
            f"{ANNOTATIONS_PER_KIND} of each kind per step); the job summary lists them all"
        )
    lines += [one_line(f"{f.path}:{f.line}:{f.column}: {f.severity.label} [{f.rule}] {f.message}") for f in findings]
    lines.append(_verdict(findings, ctx))
    return "\n".join(lines) + "\n"


def _verdict(findings: list[Finding], ctx: ReportContext) -> str:
    tally = counts(findings)
    state = "FAIL" if failed(findings, ctx.fail_on) else "OK"
    return (
        f"{state}: {tally[Severity.ERROR]} errors, {tally[Severity.WARNING]} warnings, {tally[Severity.INFO]} info "
        f"in {ctx.files} files ({ctx.estate}, as of {ctx.as_of})"
    )


def _md(text: str) -> str:
    escaped = one_line(text).replace("\\", "\\\\")
    for char in "|`*_[]<>#":
        escaped = escaped.replace(char, "\\" + char)
    return escaped


def render_markdown(findings: list[Finding], ctx: ReportContext) -> str:
    """A Markdown table of every finding, for a job summary (kept under GitHub's size limit)."""
    head = [f"### calcheck: {_md(_verdict(findings, ctx))}", ""]
    if not findings:
        return "\n".join([*head, "No findings.", ""]) + "\n"
    head += ["| Severity | Rule | Where | Finding | What to do |", "|---|---|---|---|---|"]
    rows = [
        f"| {f.severity.label} | `{f.rule}` | {_md(f.path)}:{f.line}:{f.column} | {_md(f.message)} | {_md(f.hint)} |"
        for f in findings
    ]
    text = "\n".join(head) + "\n"
    for index, row in enumerate(rows):
        if len(text.encode()) + len(row.encode()) > SUMMARY_BYTES:
            text += (
                f"\n{len(rows) - index} more findings do not fit in a job summary; run calcheck check to see them.\n"
            )
            break
        text += row + "\n"
    return text


def _uri(path: str) -> dict[str, str]:
    if os.path.isabs(path):
        return {"uri": "file://" + quote(path)}
    return {"uri": quote(path), "uriBaseId": "%SRCROOT%"}


def render_sarif(findings: list[Finding], ctx: ReportContext) -> str:
    """SARIF 2.1.0 with the rule registry as the tool's rules and repository-relative locations."""
    rules = list(REGISTRY.values())
    index = {rule.id: i for i, rule in enumerate(rules)}
    driver = {
        "name": "calcheck",
        "version": __version__,
        "informationUri": "https://calcheck.dev",
        "rules": [
            {
                "id": rule.id,
                "name": "".join(part.capitalize() for part in rule.id.split("-")),
                "shortDescription": {"text": rule.title},
                "fullDescription": {"text": rule.docs},
                "help": {"text": f"{rule.docs}\nLicensing source: {rule.source}"},
                "defaultConfiguration": {"level": _SARIF_LEVEL[rule.severity]},
                "properties": {"source": rule.source, "tags": ["licensing" if rule.stage == "rules" else "files"]},
            }
            for rule in rules
        ],
    }
    results = [
        {
            "ruleId": f.rule,
            **({"ruleIndex": index[f.rule]} if f.rule in index else {}),
            "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f.message + (f" ({f.hint})" if f.hint else "")},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": _uri(f.path),
                        "region": {"startLine": max(f.line, 1), "startColumn": max(f.column, 1)},
                    }
                }
            ],
        }
        for f in findings
    ]
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver}, "results": results, "columnKind": "unicodeCodePoints"}],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render_junit(findings: list[Finding], ctx: ReportContext) -> str:
    """JUnit XML: each rule is a test case that fails when it has findings at or above --fail-on."""
    from xml.etree import ElementTree  # (here: only this format needs it)

    by_rule: dict[str, list[Finding]] = {rule: [] for rule in REGISTRY}
    for finding in findings:
        by_rule.setdefault(finding.rule, []).append(finding)
    failures = sum(1 for found in by_rule.values() if failed(found, ctx.fail_on))
    suites = ElementTree.Element("testsuites", name="calcheck", tests=str(len(by_rule)), failures=str(failures))
    suite = ElementTree.SubElement(
        suites, "testsuite", name=one_line(ctx.estate), tests=str(len(by_rule)), failures=str(failures),
        errors="0", skipped="0", timestamp=ctx.as_of,
    )  # fmt: skip
    for rule_id, found in by_rule.items():
        case = ElementTree.SubElement(suite, "testcase", classname="calcheck", name=rule_id)
        lines = [one_line(f"{f.path}:{f.line}:{f.column}: {f.severity.label}: {f.message}") for f in found]
        if failed(found, ctx.fail_on):
            failure = ElementTree.SubElement(case, "failure", type=rule_id, message=f"{len(found)} finding(s)")
            failure.text = "\n".join(lines)
        elif lines:
            ElementTree.SubElement(case, "system-out").text = "\n".join(lines)
    ElementTree.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding="unicode") + "\n"
