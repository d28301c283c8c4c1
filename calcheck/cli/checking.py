"""Commands that read the estate and report: check, report, explain, validate, rules."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from calcheck.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    Handler,
    Subparsers,
    check_at,
    emit,
    estate_options,
    estate_path,
    file_cache,
    kept_result,
    run_check,
    use_colour,
    warn_without_libyaml,
)
from calcheck.core.errors import UsageError
from calcheck.core.findings import Severity
from calcheck.core.text import one_line

if TYPE_CHECKING:
    from calcheck.estate.results import Kept
    from calcheck.licensing.engine import CheckResult
    from calcheck.licensing.rules import Rule


def add_check(commands: Subparsers) -> Handler:
    """Register ``calcheck check`` and its options."""
    check = commands.add_parser(
        "check",
        help="validate the estate and report findings",
        description="Validate the estate: YAML, schemas, references and licensing rules. The schemas are those "
        "installed with calcheck; a copy in the repository's schemas/ folder that differs is reported "
        "(schema-outdated).",
    )
    estate_options(check)
    check.add_argument(
        "--format",
        choices=("text", "json", "github", "sarif", "junit", "markdown"),
        default="text",
        help="output format (default: text); github writes workflow-command annotations",
    )
    check.add_argument(
        "--summary",
        type=Path,
        metavar="FILE",
        help="append a Markdown table of every finding to FILE (default with --format github: $GITHUB_STEP_SUMMARY)",
    )
    check.add_argument(
        "--fail-on",
        choices=("error", "warning", "info"),
        default="error",
        help="lowest severity that makes the exit code 1 (default: error)",
    )
    check.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour text output (default: auto, on a terminal unless NO_COLOR is set)",
    )
    check.add_argument(
        "--ratchet",
        metavar="BASE",
        help="fail only if the change makes the position worse than at git revision BASE",
    )
    return cmd_check


def add_report(commands: Subparsers) -> Handler:
    """Register ``calcheck report`` and its options."""
    report = commands.add_parser(
        "report",
        help="print the Effective License Position (ELP)",
        description="Print the Effective License Position: per CAL pool, owned, assigned, "
        "required, surplus, shortfall and its cost; with --by, per department or cost centre.",
    )
    estate_options(report)
    report.add_argument(
        "--format", choices=("text", "markdown", "csv", "json"), default="text", help="output format (default: text)"
    )
    report.add_argument(
        "--by",
        choices=("department", "cost-centre"),
        help="the position per department or cost centre: CALs required and assigned, shortfall, chargeback",
    )
    return cmd_report


def add_explain(commands: Subparsers) -> Handler:
    """Register ``calcheck explain`` and its options."""
    explain = commands.add_parser(
        "explain",
        help="explain one person's or device's CAL needs and coverage",
        description="Show which deployments a person or device reaches, which CALs that "
        "requires, which assignment covers each need, and why other CALs were rejected.",
    )
    explain.add_argument("id", help="person or device id")
    estate_options(explain)
    explain.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    return cmd_explain


def add_validate(commands: Subparsers) -> Handler:
    """Register ``calcheck validate`` and its options."""
    validate = commands.add_parser(
        "validate",
        help="validate single files against their schemas (fast; no references or rules)",
        description="Parse each file and validate it against the schema of its kind: the fast check for "
        "pre-commit and editors. References between files and the licensing rules need 'calcheck check'.",
    )
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE", help="estate files")
    validate.add_argument("--format", choices=("text", "json", "github", "sarif", "junit", "markdown"), default="text")
    return cmd_validate


def add_rules(commands: Subparsers) -> Handler:
    """Register ``calcheck rules`` and its options."""
    rules = commands.add_parser("rules", help="list the rules, or show one rule's documentation")
    rules.add_argument("rule", nargs="?", help="rule id")
    return cmd_rules


def cmd_check(args: argparse.Namespace) -> int:
    from calcheck.outputs.ci import render_markdown
    from calcheck.outputs.formats import REPORTERS
    from calcheck.outputs.reporters import ReportContext, failed

    threshold = Severity.parse(args.fail_on)
    to_terminal = args.output is None and sys.stdout.isatty()
    colour = args.format == "text" and use_colour(args.color, to_terminal)
    summary = args.summary or (os.environ.get("GITHUB_STEP_SUMMARY") if args.format == "github" else None)
    kept = _kept_check(args, colour) if args.ratchet is None and not summary else None
    if kept is not None:
        known = _known(kept.get())
        if known is not None:  # the same estate, asked the same way: the same answer
            warn_without_libyaml()
            emit(known[1], args.output)
            return known[0]
    result = run_check(args)
    context = ReportContext(
        estate=result.estate.root,
        organisation=result.estate.config.organisation if result.estate.config else None,
        as_of=result.context.as_of.isoformat(),
        files=result.files,
        fail_on=threshold,
        colour=colour,
        waived=len(result.waived),
    )
    text = REPORTERS[args.format](result.findings, context)
    if summary:
        with open(summary, "a", encoding="utf-8") as stream:
            stream.write(render_markdown(result.findings, context))
    if args.ratchet is None:
        code = EXIT_FINDINGS if failed(result.findings, threshold) else EXIT_OK
        if kept is not None:
            kept.put(json.dumps({"exit": code, "text": text}, ensure_ascii=False))
        emit(text, args.output)
        return code
    return _ratchet(args, result, text)


def _kept_check(args: argparse.Namespace, colour: bool) -> Kept | None:
    """Where the check's result is kept, and its key (``kept_result``): what it reads, and how it is asked."""
    as_of = (args.as_of or dt.date.today()).isoformat()
    options = [args.rev or "", str(args.no_history), as_of, args.format, args.fail_on, str(colour)]
    return kept_result("check", options, estate_path(args), [args.rev], file_cache(args), git=not args.no_history)


def _known(text: str | None) -> tuple[int, str] | None:
    """A kept check's exit code and text, when ``text`` is exactly such a record."""
    try:
        record = json.loads(text) if text is not None else None
    except ValueError:
        return None
    if not isinstance(record, dict) or record.keys() != {"exit", "text"}:
        return None
    code, shown = record["exit"], record["text"]
    if code not in (EXIT_OK, EXIT_FINDINGS) or not isinstance(shown, str):
        return None
    return code, shown


def _ratchet(args: argparse.Namespace, result: CheckResult, text: str) -> int:
    """Fail only when the change makes the position worse than on the base revision."""
    from calcheck.licensing.diff import compare

    base = check_at(estate_path(args), args.ratchet, result.context.as_of, not args.no_history, file_cache(args))
    worse = compare(base, result, args.ratchet, args.rev or "working tree").regressions()
    verdict = f"ratchet against {args.ratchet}: " + (
        f"{len(worse)} regression(s)" if worse else "no regression (the position is no worse)"
    )
    lines = [f"{verdict}", *(f"  {one_line(item)}" for item in worse)]
    if args.format == "text":
        emit(text + "\n".join(lines) + "\n", args.output)
    else:
        emit(text, args.output)
        print("\n".join(lines), file=sys.stderr)
    return EXIT_FINDINGS if worse else EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from calcheck.outputs.report import RENDERERS, ReportInput

    result = run_check(args)
    organisation = result.estate.config.organisation if result.estate.config else None
    if args.by is not None:  # the position per department or cost centre (issue 18)
        from calcheck.outputs import bygroup

        split = bygroup.breakdown(result.estate, result.context.analysis, result.context.position, args.by)
        emit(bygroup.RENDERERS[args.format](split, organisation or result.estate.root), args.output)
        return EXIT_OK
    data = ReportInput(organisation, result.estate.root, result.context.position, result.findings, len(result.waived))
    emit(RENDERERS[args.format](data), args.output)
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    from calcheck.licensing import explain

    result = run_check(args)
    subjects = explain.subjects_named(result.estate, args.id)
    if not subjects:
        raise UsageError(f"no person or device with id {args.id!r} in {result.estate.root}")
    render = explain.render_json if args.format == "json" else explain.render_text
    analysis = result.context.analysis
    parts = [render(result.estate, analysis, explain.explain(result.estate, analysis, s)) for s in subjects]
    emit("\n".join(parts), args.output)
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from calcheck.core.findings import sort_findings
    from calcheck.estate import loading
    from calcheck.outputs.formats import REPORTERS
    from calcheck.outputs.reporters import ReportContext, failed

    for path in args.files:
        if not path.is_file():
            raise UsageError(f"{path}: {'not a file' if path.exists() else 'no such file'}")
    findings = sort_findings([f for path in args.files for f in loading.validate_file(path)])
    context = ReportContext("files", None, dt.date.today().isoformat(), len(args.files), Severity.ERROR)
    emit(REPORTERS[args.format](findings, context), None)
    return EXIT_FINDINGS if failed(findings, Severity.ERROR) else EXIT_OK


def cmd_rules(args: argparse.Namespace) -> int:
    from calcheck.licensing.rules import REGISTRY

    if args.rule is None:
        width = max(len(rule_id) for rule_id in REGISTRY)
        lines = [f"{r.id:<{width}}  {r.severity.label:<7}  {r.title}  [{r.source}]" for r in REGISTRY.values()]
        emit("\n".join(lines) + "\n", None)
        return EXIT_OK
    rule = REGISTRY.get(args.rule)
    if rule is None:
        raise UsageError(f"unknown rule {args.rule!r}; run 'calcheck rules' for the list")
    emit(_rule_text(rule), None)
    return EXIT_OK


def _rule_text(rule: Rule) -> str:
    from calcheck.licensing.rules.example import load_examples

    text = f"{rule.id}: {rule.title}\nseverity: {rule.severity.label}\nsource: {rule.source}\n\n{rule.docs}\n"
    base = "(the files below replace those of the base example estate, calcheck/licensing/rules/examples/_base.yaml)"
    for example in load_examples(rule.id):
        text += f"\nExample, as of {example.as_of}: {example.description}\n{base}\n"
        for label, files in (("Fails with", example.changes_failing), ("Passes with", example.changes_passing)):
            if files:
                text += f"\n{label}:\n"
                for path, content in files.items():
                    text += f"  {path}\n" + "".join(f"    {line}\n" for line in content.splitlines())
    return text
