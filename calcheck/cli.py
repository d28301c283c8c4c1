"""Command line: parses arguments, runs a command, and alone decides the exit code."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from calcheck import __version__
from calcheck.errors import CalcheckError, UsageError
from calcheck.findings import Severity

if TYPE_CHECKING:
    from calcheck.engine import CheckResult
    from calcheck.rules import Rule

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

DESCRIPTION = """\
Check Microsoft Client Access Licence (CAL) compliance of an estate kept as YAML files.

exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage or configuration error,
3 internal error."""


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def default_estate() -> Path:
    """The nearest ``licenses/`` folder from the working directory upwards."""
    here = Path.cwd()
    for folder in (here, *here.parents):
        candidate = folder / "licenses"
        if candidate.is_dir():
            return candidate
    raise UsageError("no licenses/ folder here or above; give the estate folder as PATH")


def _estate_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", type=Path, help="estate folder (default: the nearest licenses/)")
    parser.add_argument(
        "--as-of",
        type=_date,
        default=None,
        metavar="DATE",
        help="evaluate dates as of this day, YYYY-MM-DD (default: today)",
    )
    parser.add_argument("--output", "-o", type=Path, help="write to this file instead of standard output")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="calcheck", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"calcheck {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    check = commands.add_parser(
        "check",
        help="validate the estate and report findings",
        description="Validate the estate: YAML, schemas, references and licensing rules.",
    )
    _estate_options(check)
    check.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
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

    report = commands.add_parser(
        "report",
        help="print the Effective License Position (ELP)",
        description="Print the Effective License Position: per CAL pool, owned, assigned, "
        "required, surplus, shortfall and its cost.",
    )
    _estate_options(report)
    report.add_argument(
        "--format", choices=("text", "markdown", "csv", "json"), default="text", help="output format (default: text)"
    )

    explain = commands.add_parser(
        "explain",
        help="explain one person's or device's CAL needs and coverage",
        description="Show which deployments a person or device reaches, which CALs that "
        "requires, which assignment covers each need, and why other CALs were rejected.",
    )
    explain.add_argument("id", help="person or device id")
    _estate_options(explain)
    explain.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")

    rules = commands.add_parser("rules", help="list the rules, or show one rule's documentation")
    rules.add_argument("rule", nargs="?", help="rule id")
    return parser


def _use_colour(choice: str, stream_is_tty: bool) -> bool:
    if choice != "auto":
        return choice == "always"
    return stream_is_tty and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def _run(args: argparse.Namespace) -> CheckResult:
    from calcheck import engine
    from calcheck.yamlload import HAS_LIBYAML

    if not HAS_LIBYAML:
        print("calcheck: warning: PyYAML was built without libyaml; reading is 10-15 times slower", file=sys.stderr)

    root = args.path if args.path is not None else default_estate()
    return engine.check(root, args.as_of or dt.date.today())


def cmd_check(args: argparse.Namespace) -> int:
    from calcheck.reporters import REPORTERS, ReportContext, failed

    result = _run(args)
    threshold = Severity.parse(args.fail_on)
    to_terminal = args.output is None and sys.stdout.isatty()
    context = ReportContext(
        estate=result.estate.root,
        organisation=result.estate.config.organisation if result.estate.config else None,
        as_of=result.context.as_of.isoformat(),
        files=result.files,
        fail_on=threshold,
        colour=args.format == "text" and _use_colour(args.color, to_terminal),
        waived=len(result.waived),
    )
    _emit(REPORTERS[args.format](result.findings, context), args.output)
    return EXIT_FINDINGS if failed(result.findings, threshold) else EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from calcheck.report import RENDERERS, ReportInput

    result = _run(args)
    organisation = result.estate.config.organisation if result.estate.config else None
    data = ReportInput(organisation, result.estate.root, result.context.position, result.findings, len(result.waived))
    _emit(RENDERERS[args.format](data), args.output)
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    from calcheck import explain

    result = _run(args)
    subjects = explain.subjects_named(result.estate, args.id)
    if not subjects:
        raise UsageError(f"no person or device with id {args.id!r} in {result.estate.root}")
    render = explain.render_json if args.format == "json" else explain.render_text
    analysis = result.context.analysis
    parts = [render(result.estate, analysis, explain.explain(result.estate, analysis, s)) for s in subjects]
    _emit("\n".join(parts), args.output)
    return EXIT_OK


def cmd_rules(args: argparse.Namespace) -> int:
    from calcheck.rules import REGISTRY

    if args.rule is None:
        width = max(len(rule_id) for rule_id in REGISTRY)
        lines = [f"{r.id:<{width}}  {r.severity.label:<7}  {r.title}  [{r.source}]" for r in REGISTRY.values()]
        _emit("\n".join(lines) + "\n", None)
        return EXIT_OK
    rule = REGISTRY.get(args.rule)
    if rule is None:
        raise UsageError(f"unknown rule {args.rule!r}; run 'calcheck rules' for the list")
    _emit(_rule_text(rule), None)
    return EXIT_OK


def _rule_text(rule: Rule) -> str:
    from calcheck.rules.example import load_example

    text = f"{rule.id}: {rule.title}\nseverity: {rule.severity.label}\nsource: {rule.source}\n\n{rule.docs}\n"
    example = load_example(rule.id)
    if example is None:
        return text
    text += f"\nExample, as of {example.as_of}: {example.description}\n"
    text += "(the files below replace those of the base example estate, calcheck/rules/examples/_base.yaml)\n"
    for label, files in (("Fails with", example.changes_failing), ("Passes with", example.changes_passing)):
        if files:
            text += f"\n{label}:\n"
            for path, content in files.items():
                text += f"  {path}\n" + "".join(f"    {line}\n" for line in content.splitlines())
    return text


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    from calcheck.atomic import write_text

    write_text(output, text)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "check": cmd_check,
    "report": cmd_report,
    "explain": cmd_explain,
    "rules": cmd_rules,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"calcheck: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CalcheckError as exc:
        print(f"calcheck: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("calcheck: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # the last line of defence: never a traceback for the user
        if os.environ.get("CALCHECK_DEBUG"):
            raise
        print(
            f"calcheck: internal error: {type(exc).__name__}: {exc}\n"
            "(set CALCHECK_DEBUG=1 for the traceback, and please report it)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
