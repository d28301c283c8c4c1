"""Command line: parses arguments, runs a command, and alone decides the exit code."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from calcheck import __version__
from calcheck.core.errors import CalcheckError, UsageError
from calcheck.core.findings import Severity
from calcheck.core.text import one_line

if TYPE_CHECKING:
    from calcheck.licensing.engine import CheckResult
    from calcheck.licensing.rules import Rule

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


def _estate_options(parser: argparse.ArgumentParser, *, revisions: bool = True) -> None:
    parser.add_argument("path", nargs="?", type=Path, help="estate folder (default: the nearest licenses/)")
    if revisions:
        parser.add_argument("--rev", metavar="REV", help="read the estate as it was at this git revision")
        parser.add_argument(
            "--no-history", action="store_true", help="do not read git history (the 90-day rule uses the records only)"
        )
    parser.add_argument(
        "--as-of",
        type=_date,
        default=None,
        metavar="DATE",
        help="evaluate dates as of this day, YYYY-MM-DD (default: today)",
    )
    parser.add_argument("--output", "-o", type=Path, help="write to this file instead of standard output")


def _edit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--path", type=Path, help="estate folder (default: the nearest licenses/)")
    parser.add_argument("--force", action="store_true", help="write even if the change makes the position worse")
    parser.add_argument("--dry-run", action="store_true", help="show the change without writing it")
    parser.add_argument("--as-of", type=_date, default=None, metavar="DATE", help="check as of this day")


def _edit_commands(commands: Any) -> None:
    reasons = (
        "new-assignment",
        "departure",
        "hardware-failure",
        "hardware-loss",
        "temporary-cover",
        "upgrade",
        "other",
    )
    assign = commands.add_parser(
        "assign",
        help="assign a CAL of a holding to a person or device",
        description="Add an assignment to the YAML (comments and formatting kept), "
        "after checking that the estate stays no worse; prints the diff.",
    )
    assign.add_argument("holding", help="holding id")
    who = assign.add_mutually_exclusive_group(required=True)
    who.add_argument("--person", help="person id")
    who.add_argument("--device", help="device id")
    assign.add_argument("--since", type=_date, help="first day (default: today)")
    assign.add_argument("--until", type=_date, help="last day of a temporary assignment")
    assign.add_argument("--temporary", action="store_true", help="a temporary assignment (needs --until)")
    assign.add_argument("--reason", choices=reasons, help="why the CAL is assigned")
    assign.add_argument("--note", help="free text")
    assign.add_argument("--file", type=Path, help="assignments file to add to (default: the assignee's)")
    assign.add_argument("--id", help="assignment id (default: the next in the estate's numbering)")
    _edit_options(assign)
    unassign = commands.add_parser(
        "unassign",
        help="end an assignment (or remove it)",
        description="End an assignment on a date (until:), or remove its record.",
    )
    unassign.add_argument("assignment", help="assignment id")
    unassign.add_argument("--on", type=_date, help="last day (default: today)")
    unassign.add_argument("--remove", action="store_true", help="delete the record instead of ending it")
    _edit_options(unassign)
    transfer = commands.add_parser(
        "transfer",
        help="move a CAL to another person or device",
        description="End an assignment the day before --on and assign the same holding "
        "to another person or device from --on, recording 'replaces:' and the reason "
        "(the 90-day rule applies unless the reason allows an early move).",
    )
    transfer.add_argument("assignment", help="assignment id")
    target = transfer.add_mutually_exclusive_group(required=True)
    target.add_argument("--to-person", help="person id")
    target.add_argument("--to-device", help="device id")
    transfer.add_argument("--on", type=_date, help="first day of the new holder (default: today)")
    transfer.add_argument("--reason", choices=reasons, help="why the CAL moves")
    transfer.add_argument("--temporary", action="store_true", help="a temporary transfer (needs --until)")
    transfer.add_argument("--until", type=_date, help="last day of a temporary transfer")
    _edit_options(transfer)
    audit = commands.add_parser("audit", help="record an audit or reconciliation")
    audit_commands = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    record = audit_commands.add_parser(
        "record",
        help="write an audit record with the current licence position",
        description="Append an audit record (date, auditor, scope, result, the git revision and the shortfall of "
        "every CAL pool) to audits/<year>.yaml; the audit-overdue rule reads it.",
    )
    record.add_argument("--auditor", required=True, help="who audited")
    record.add_argument("--type", choices=("internal", "external", "vendor", "reconciliation"), default="internal")
    record.add_argument("--scope", help="what was audited")
    record.add_argument(
        "--result", choices=("compliant", "non-compliant", "remediated"), help="the outcome (default: from the check)"
    )
    record.add_argument("--date", type=_date, help="audit date (default: today)")
    record.add_argument("--id", help="audit id (default: the next AUD-<year>-NNNN)")
    _edit_options(record)


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

    check.add_argument(
        "--ratchet",
        metavar="BASE",
        help="fail only if the change makes the position worse than at git revision BASE",
    )

    history = commands.add_parser(
        "history",
        help="the estate's change log from git, in licensing terms",
        description="List every commit that changed the estate, with what it did in licensing terms "
        "(assignments, reassignments, holdings, leavers). Renamed files and moved records are followed.",
    )
    _estate_options(history, revisions=False)
    history.add_argument("--rev", default="HEAD", metavar="REV", help="history up to this revision (default: HEAD)")
    history.add_argument("--since", type=_date, metavar="DATE", help="only changes committed on or after DATE")
    history.add_argument("--id", metavar="RECORD", help="only changes that involve this record id")
    history.add_argument("--format", choices=("text", "markdown", "json"), default="text")

    diff = commands.add_parser(
        "diff",
        help="what a change does to the licence position",
        description="Compare the estate at BASE with HEAD (default: the working tree): pools before and after, "
        "assignments added, removed and transferred, findings introduced and resolved.",
    )
    diff.add_argument("base", metavar="BASE", help="git revision to compare against")
    diff.add_argument("head", nargs="?", metavar="HEAD", help="git revision (default: the working tree)")
    diff.add_argument("--path", type=Path, help="estate folder (default: the nearest licenses/)")
    diff.add_argument("--as-of", type=_date, default=None, metavar="DATE", help="evaluate dates as of this day")
    diff.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    diff.add_argument("--output", "-o", type=Path, help="write to this file instead of standard output")
    diff.add_argument("--no-history", action="store_true", help="do not read git history")

    site = commands.add_parser(
        "site",
        help="build or preview the compliance site",
        description="Generate the compliance site (Markdown and SVG) from the estate and build it with MkDocs "
        "(or Zensical). Generated pages go to site/_build/docs, the HTML to site/_build/html.",
    )
    site_commands = site.add_subparsers(dest="site_command", metavar="ACTION", required=True)
    for action, summary in (("build", "generate the pages and build the HTML"), ("serve", "preview with live reload")):
        sub = site_commands.add_parser(action, help=summary, description=summary)
        sub.add_argument("path", nargs="?", type=Path, help="estate folder (default: the nearest licenses/)")
        sub.add_argument("--config", type=Path, help="site configuration (default: site/mkdocs.yml beside the estate)")
        sub.add_argument("--as-of", type=_date, default=None, metavar="DATE", help="position as of this day")
        sub.add_argument("--engine", choices=("mkdocs", "zensical"), default="mkdocs", help="site generator")
        if action == "serve":
            sub.add_argument("--dev-addr", default="127.0.0.1:8000", help="address to serve on (default: %(default)s)")

    validate = commands.add_parser(
        "validate",
        help="validate single files against their schemas (fast; no references or rules)",
        description="Parse each file and validate it against the schema of its kind: the fast check for "
        "pre-commit and editors. References between files and the licensing rules need 'calcheck check'.",
    )
    validate.add_argument("files", nargs="+", type=Path, help="estate files")
    validate.add_argument("--format", choices=("text", "json", "github", "sarif", "junit", "markdown"), default="text")

    _edit_commands(commands)

    importer = commands.add_parser(
        "import",
        help="update people or devices from a directory export",
        description="Read an Active Directory (Get-ADUser | Export-Csv), Entra ID user-list or Intune device export "
        "(or any CSV with --mapping), update matching records, add new ones, and mark people who are gone or "
        "disabled as departed (devices as retired). Every row is checked first: the import applies completely "
        "or changes nothing. Lists the CALs that became reclaimable.",
    )
    importer.add_argument("what", choices=("people", "devices"))
    importer.add_argument("file", type=Path, help="the export (CSV)")
    importer.add_argument("--source", choices=("auto", "ad", "entra", "intune"), default="auto")
    importer.add_argument(
        "--mapping", type=Path, help="YAML mapping field -> column (id, name, email, department, enabled)"
    )
    importer.add_argument("--on", type=_date, help="date of departures and retirements (default: today)")
    importer.add_argument(
        "--file-to", type=Path, dest="target", help="file for new records (default: <kind>/imported.yaml)"
    )
    importer.add_argument("--path", type=Path, help="estate folder (default: the nearest licenses/)")
    importer.add_argument("--dry-run", action="store_true", help="show the changes without writing them")
    importer.add_argument(
        "--partial", action="store_true", help="the export covers part of the directory: leave unlisted records alone"
    )
    importer.add_argument("--force", action="store_true", help="apply even if it marks most records as gone")

    reconcile = commands.add_parser(
        "reconcile",
        help="compare the estate with observed usage",
        description="Read RD Licensing per-user CAL reports, User Access Logging exports and group membership "
        "exports (CSV): observed users without a covering CAL, per-user RDS over-allocation, and CALs whose "
        "holders were not seen for --unused-days (harvest candidates).",
    )
    reconcile.add_argument("usage", nargs="+", type=Path, help="usage exports (CSV)")
    reconcile.add_argument("--unused-days", type=int, default=90, help="harvest CALs unused this long (default: 90)")
    reconcile.add_argument("--path", type=Path, help="estate folder (default: the nearest licenses/)")
    reconcile.add_argument("--as-of", type=_date, default=None, metavar="DATE", help="reconcile as of this day")
    reconcile.add_argument("--format", choices=("text", "json", "github", "sarif", "junit", "markdown"), default="text")

    export = commands.add_parser(
        "export",
        help="export the ELP, assignment register and proof index for auditors",
        description="Write elp, assignments and proofs as CSV files (or one XLSX workbook) into a folder, with "
        "MANIFEST.json holding each file's SHA-256. The same revision and date give identical bytes.",
    )
    _estate_options(export)
    export.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    export.add_argument("--to", type=Path, required=True, metavar="DIR", help="folder to write the bundle into")

    init = commands.add_parser(
        "init",
        help="scaffold a new compliance repository",
        description="Create an estate with one example of each record kind, the schemas, a site configuration, "
        "a GitHub workflow and a README in DIR. Existing files are never overwritten.",
    )
    init.add_argument("dir", type=Path, help="target folder (created if missing)")
    init.add_argument("--date", type=_date, default=None, help="date for the examples (default: today)")
    init.add_argument(
        "--action",
        default="calcheck/calcheck@v0.1.0",
        help="the calcheck action the workflow uses; pin it to a commit SHA (default: %(default)s)",
    )

    rules = commands.add_parser("rules", help="list the rules, or show one rule's documentation")
    rules.add_argument("rule", nargs="?", help="rule id")
    return parser


def display_path(path: Path) -> str:
    from calcheck.estate.sources import display_path as shown

    return shown(path)


def _use_colour(choice: str, stream_is_tty: bool) -> bool:
    if choice != "auto":
        return choice == "always"
    return stream_is_tty and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def _estate_path(args: argparse.Namespace) -> Path:
    if args.path is not None:
        return Path(args.path)
    try:
        return default_estate()
    except UsageError:
        if getattr(args, "rev", None) is None:
            raise
        return Path("licenses")  # a bare repository has no folder to find: use the conventional path


def _check_at(path: Path, rev: str | None, as_of: dt.date, history: bool) -> CheckResult:
    from calcheck.estate import loading
    from calcheck.licensing import engine

    """Check the estate at ``path`` in the work tree, or as it was at ``rev``."""
    from calcheck.estate.sources import EstateSource, WorkTree
    from calcheck.git.timeline import timeline_for

    source: EstateSource
    if rev is not None:
        from calcheck.git.repo import open_tree

        source = open_tree(path, rev)
    else:
        source = WorkTree(path)
    timeline = timeline_for(path, rev, as_of, loading.builtin_cal_names()) if history else None
    return engine.check(source, as_of, timeline)


def _run(args: argparse.Namespace) -> CheckResult:
    from calcheck.estate.yamlload import HAS_LIBYAML

    if not HAS_LIBYAML:
        print("calcheck: warning: PyYAML was built without libyaml; reading is 10-15 times slower", file=sys.stderr)
    return _check_at(_estate_path(args), args.rev, args.as_of or dt.date.today(), not args.no_history)


def cmd_check(args: argparse.Namespace) -> int:
    from calcheck.outputs.ci import render_markdown
    from calcheck.outputs.formats import REPORTERS
    from calcheck.outputs.reporters import ReportContext, failed

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
    text = REPORTERS[args.format](result.findings, context)
    summary = args.summary or (os.environ.get("GITHUB_STEP_SUMMARY") if args.format == "github" else None)
    if summary:
        with open(summary, "a", encoding="utf-8") as stream:
            stream.write(render_markdown(result.findings, context))
    if args.ratchet is None:
        _emit(text, args.output)
        return EXIT_FINDINGS if failed(result.findings, threshold) else EXIT_OK
    return _ratchet(args, result, text)


def _ratchet(args: argparse.Namespace, result: CheckResult, text: str) -> int:
    """Fail only when the change makes the position worse than on the base revision."""
    from calcheck.licensing.diff import compare

    base = _check_at(_estate_path(args), args.ratchet, result.context.as_of, not args.no_history)
    worse = compare(base, result, args.ratchet, args.rev or "working tree").regressions()
    verdict = f"ratchet against {args.ratchet}: " + (
        f"{len(worse)} regression(s)" if worse else "no regression (the position is no worse)"
    )
    lines = [f"{verdict}", *(f"  {one_line(item)}" for item in worse)]
    if args.format == "text":
        _emit(text + "\n".join(lines) + "\n", args.output)
    else:
        _emit(text, args.output)
        print("\n".join(lines), file=sys.stderr)
    return EXIT_FINDINGS if worse else EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from calcheck.outputs.report import RENDERERS, ReportInput

    result = _run(args)
    organisation = result.estate.config.organisation if result.estate.config else None
    data = ReportInput(organisation, result.estate.root, result.context.position, result.findings, len(result.waived))
    _emit(RENDERERS[args.format](data), args.output)
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    from calcheck.licensing import explain

    result = _run(args)
    subjects = explain.subjects_named(result.estate, args.id)
    if not subjects:
        raise UsageError(f"no person or device with id {args.id!r} in {result.estate.root}")
    render = explain.render_json if args.format == "json" else explain.render_text
    analysis = result.context.analysis
    parts = [render(result.estate, analysis, explain.explain(result.estate, analysis, s)) for s in subjects]
    _emit("\n".join(parts), args.output)
    return EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    from calcheck.estate import loading
    from calcheck.git.timeline import builder_at, open_repo
    from calcheck.outputs.historyview import RENDERERS

    path = _estate_path(args)
    repo = open_repo(path)
    if repo is None:
        raise UsageError(f"{path} is not inside a git repository")
    builder = builder_at(repo, repo.prefix(path), repo.resolve(args.rev), loading.builtin_cal_names())
    entries = [e for e in builder.history.entries if args.since is None or e.date.date() >= args.since]
    if args.id is not None:
        entries = [e.only(args.id) for e in entries if e.only(args.id).events]
    _emit(RENDERERS[args.format](entries), args.output)
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    from calcheck.licensing.diff import compare
    from calcheck.outputs.diffview import RENDERERS

    path = Path(args.path) if args.path is not None else _estate_path(argparse.Namespace(path=None, rev=args.base))
    as_of = args.as_of or dt.date.today()
    base = _check_at(path, args.base, as_of, not args.no_history)
    head = _check_at(path, args.head, as_of, not args.no_history)
    _emit(RENDERERS[args.format](compare(base, head, args.base, args.head or "working tree")), args.output)
    return EXIT_OK


def cmd_site(args: argparse.Namespace) -> int:
    from calcheck.site import build

    estate = _estate_path(args)
    paths = build.SitePaths.of(args.config or estate.resolve().parent / "site" / "mkdocs.yml")
    if args.site_command == "serve":
        build.serve(estate, paths, args.as_of, args.engine, args.dev_addr)
        return EXIT_OK
    result = build.generate(estate, paths, args.as_of or dt.date.today())
    build.run_engine(args.engine, paths)
    position = result.context.position
    print(
        f"site built in {display_path(paths.html)} ({len(result.estate.index('holdings'))} holdings, "
        f"{len(result.estate.index('people'))} people, shortfall {position.total('shortfall')} as of {position.as_of})"
    )
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from calcheck.core.findings import sort_findings
    from calcheck.estate import loading
    from calcheck.outputs.formats import REPORTERS
    from calcheck.outputs.reporters import ReportContext, failed

    findings = sort_findings([f for path in args.files for f in loading.validate_file(path)])
    context = ReportContext("files", None, dt.date.today().isoformat(), len(args.files), Severity.ERROR)
    _emit(REPORTERS[args.format](findings, context), None)
    return EXIT_FINDINGS if failed(findings, Severity.ERROR) else EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    from calcheck.edits.init import scaffold
    from calcheck.git.repo import validate_rev

    if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[A-Za-z0-9_./-]+)?@[A-Za-z0-9_.-]+", args.action):
        raise UsageError(f"not an action reference (owner/repo@ref): {args.action!r}")
    validate_rev(args.action.rsplit("@", 1)[1])
    written = scaffold(args.dir, args.date or dt.date.today(), args.action)
    print(
        f"created {len(written)} files in {display_path(args.dir)}; next: cd {display_path(args.dir)} && calcheck check"
    )
    return EXIT_OK


def _edit(args: argparse.Namespace, plan: Callable[[Path, CheckResult, dt.date], list[Any]]) -> int:
    from calcheck.edits import operations
    from calcheck.licensing import engine

    estate = Path(args.path) if args.path is not None else default_estate()
    today = args.as_of or dt.date.today()
    changes = plan(estate, engine.check(estate, today), today)
    _, worse = operations.verify(estate, changes, today)
    for change in changes:
        sys.stdout.write(change.diff(display_path(change.path)))
    if worse and not args.force:
        print("refused: the change would make the licence position worse (--force to write it anyway):")
        print("\n".join(f"  {one_line(item)}" for item in worse))
        return EXIT_FINDINGS
    if args.dry_run:
        print("dry run: nothing written")
        return EXIT_OK
    operations.write(changes)
    print("\n".join(change.summary for change in changes))
    return EXIT_OK


def cmd_assign(args: argparse.Namespace) -> int:
    from calcheck.edits.operations import plan_assign

    subject = ("person", args.person) if args.person else ("device", args.device)
    return _edit(
        args,
        lambda estate, result, today: [
            plan_assign(
                estate,
                result,
                args.holding,
                subject,
                args.since or today,
                args.until,
                args.temporary,
                args.reason,
                args.note,
                args.file,
                identifier=args.id,
            )
        ],
    )


def cmd_unassign(args: argparse.Namespace) -> int:
    from calcheck.edits.operations import plan_unassign

    return _edit(
        args, lambda estate, result, today: [plan_unassign(result, args.assignment, args.on or today, args.remove)]
    )


def cmd_transfer(args: argparse.Namespace) -> int:
    from calcheck.edits.operations import plan_transfer

    to = ("person", args.to_person) if args.to_person else ("device", args.to_device)
    return _edit(
        args,
        lambda estate, result, today: plan_transfer(
            estate, result, args.assignment, to, args.on or today, args.reason, args.temporary, args.until
        ),
    )


def cmd_audit(args: argparse.Namespace) -> int:
    from calcheck.edits.operations import plan_audit
    from calcheck.git.timeline import open_repo

    if args.date is not None:
        args.as_of = args.date

    def plan(estate: Path, result: CheckResult, today: dt.date) -> list[Any]:
        repo = open_repo(estate)
        revision = repo.resolve("HEAD") if repo is not None and repo.has_commits() else None
        return [plan_audit(estate, result, today, args.auditor, args.type, args.scope, args.result, revision, args.id)]

    return _edit(args, plan)


def cmd_import(args: argparse.Namespace) -> int:
    from calcheck.edits import operations
    from calcheck.edits.importing import plan_import
    from calcheck.estate.parse import load_bytes
    from calcheck.licensing import engine
    from calcheck.outputs.formats import REPORTERS
    from calcheck.outputs.reporters import ReportContext

    estate = Path(args.path) if args.path is not None else default_estate()
    on = args.on or dt.date.today()
    for given in (args.file, args.mapping):
        if given is not None and not given.is_file():
            raise UsageError(f"{given}: {'not a file' if given.exists() else 'no such file'}")
    if args.target is not None:
        if not args.target.resolve().is_relative_to(estate.resolve()):
            raise UsageError(f"{args.target}: not inside the estate {estate}; give a file under it")
        if args.target.suffix not in (".yaml", ".yml") or args.target.is_dir():
            raise UsageError(f"{args.target}: new records go to a .yaml or .yml file")
    mapping = None
    if args.mapping is not None:
        loaded = load_bytes(str(args.mapping), args.mapping.read_bytes())
        data = loaded.documents[0].data if loaded.documents else None
        if loaded.findings or not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise UsageError(f"{args.mapping}: expected a mapping of field: column")
        mapping = {str(k): str(v) for k, v in data.items()}
    result = engine.check(estate, on)
    plan = plan_import(
        result, estate, args.what, args.file, args.source, mapping, on, args.target, args.partial, args.force
    )
    if plan.problems:
        context = ReportContext(str(args.file), None, on.isoformat(), 1, Severity.ERROR)
        sys.stdout.write(REPORTERS["text"](plan.problems, context))
        print("import refused: nothing was changed")
        return EXIT_FINDINGS
    after, _ = operations.verify(estate, plan.changes, on)
    for change in plan.changes:
        sys.stdout.write(change.diff(display_path(change.path)))
    gone = set(plan.leavers)
    freed = [f for f in after.findings if f.rule == "reclaimable" and set(f.records) & gone]
    print(
        f"{len(plan.added)} added, {len(plan.updated)} updated, {len(plan.leavers)} "
        f"{'departed' if args.what == 'people' else 'retired'}; {len(freed)} CALs became reclaimable"
    )
    for finding in freed:
        print(f"  {one_line(finding.message)}")
    if args.dry_run:
        print("dry run: nothing written")
        return EXIT_OK
    operations.write(plan.changes)
    return EXIT_OK


def cmd_reconcile(args: argparse.Namespace) -> int:
    from calcheck.core.findings import sort_findings
    from calcheck.edits.reconcile import read_all, reconcile
    from calcheck.licensing import engine
    from calcheck.outputs.formats import REPORTERS
    from calcheck.outputs.reporters import ReportContext, failed

    estate = Path(args.path) if args.path is not None else default_estate()
    as_of = args.as_of or dt.date.today()
    missing = [str(p) for p in args.usage if not p.is_file()]
    if missing:
        raise UsageError(f"no such file: {', '.join(missing)}")
    observations, problems = read_all(args.usage)
    result = engine.check(estate, as_of)
    findings = sort_findings(problems or reconcile(result, observations, args.unused_days))
    context = ReportContext(result.estate.root, None, as_of.isoformat(), len(args.usage), Severity.ERROR)
    _emit(REPORTERS[args.format](findings, context), None)
    return EXIT_FINDINGS if failed(findings, Severity.ERROR) else EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from calcheck.core.atomic import write_text
    from calcheck.outputs.export import bundle

    result = _run(args)
    revision = None
    if args.rev is not None or not args.no_history:
        from calcheck.git.timeline import open_repo

        repo = open_repo(_estate_path(args))
        if repo is not None and repo.has_commits():
            revision = repo.resolve(args.rev or "HEAD")
    if args.to.exists() and not args.to.is_dir():
        raise UsageError(f"{args.to}: is a file; --to takes a folder")
    files = bundle(result, args.format, revision)
    args.to.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        if name.endswith((".csv", ".json")):
            write_text(args.to / name, data.decode("utf-8"))
        else:
            _write_bytes(args.to / name, data)
    print(f"exported {len(files)} files to {display_path(args.to)}: " + ", ".join(files))
    return EXIT_OK


def _write_bytes(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def cmd_rules(args: argparse.Namespace) -> int:
    from calcheck.licensing.rules import REGISTRY

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
    from calcheck.licensing.rules.example import load_example

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
    from calcheck.core.atomic import write_text

    write_text(output, text)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "check": cmd_check,
    "report": cmd_report,
    "explain": cmd_explain,
    "history": cmd_history,
    "diff": cmd_diff,
    "site": cmd_site,
    "validate": cmd_validate,
    "init": cmd_init,
    "assign": cmd_assign,
    "unassign": cmd_unassign,
    "transfer": cmd_transfer,
    "audit": cmd_audit,
    "export": cmd_export,
    "import": cmd_import,
    "reconcile": cmd_reconcile,
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
    except OSError as exc:  # the machine refused (a full disk, a read-only folder, a file where a folder goes)
        if os.environ.get("CALCHECK_DEBUG"):
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"calcheck: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # the last line of defence: never a traceback for the user
        if os.environ.get("CALCHECK_DEBUG"):
            raise
        print(
            f"calcheck: internal error: {type(exc).__name__}: {exc}\n"
            "(set CALCHECK_DEBUG=1 for the traceback, and please report it)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
