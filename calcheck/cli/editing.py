"""Commands that change the estate: assign, unassign, transfer, audit record, import, reconcile."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from calcheck.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    Handler,
    Subparsers,
    cache_option,
    carry_out,
    default_estate,
    display_path,
    edit_lock,
    edit_options,
    emit,
    file_cache,
    kept_edit,
    parse_date,
    parse_days,
    run_edit,
)
from calcheck.core.errors import UsageError
from calcheck.core.findings import Severity
from calcheck.core.text import one_line

if TYPE_CHECKING:
    from calcheck.edits.operations import Decided
    from calcheck.estate.cache import FileCache
    from calcheck.licensing.engine import CheckResult


# Why a CAL is assigned or moves (the 90-day rule allows some reasons early).
REASONS = (
    "new-assignment",
    "departure",
    "hardware-failure",
    "hardware-loss",
    "temporary-cover",
    "upgrade",
    "other",
)


def add_assign(commands: Subparsers) -> Handler:
    """Register ``calcheck assign`` and its options."""
    assign = commands.add_parser(
        "assign",
        help="assign a CAL of a holding to a person or device",
        description="Add an assignment to the YAML (comments and formatting kept; the new record in the block or "
        "flow style, key order and quoting of its neighbours), after checking the estate as the next check will "
        "(git history included): prints the diff and every new finding, and refuses a change that makes the "
        "position worse or gives the person or device a CAL it already has, unless --force.",
    )
    assign.add_argument("holding", help="holding id")
    who = assign.add_mutually_exclusive_group(required=True)
    who.add_argument("--person", metavar="ID", help="person id")
    who.add_argument("--device", metavar="ID", help="device id")
    assign.add_argument("--since", type=parse_date, metavar="DATE", help="first day (default: today)")
    assign.add_argument("--until", type=parse_date, metavar="DATE", help="last day of a temporary assignment")
    assign.add_argument("--temporary", action="store_true", help="a temporary assignment (needs --until)")
    assign.add_argument("--reason", choices=REASONS, help="why the CAL is assigned")
    assign.add_argument("--note", metavar="TEXT", help="free text")
    assign.add_argument(
        "--file", type=Path, metavar="FILE", help="assignments file to add to (default: the assignee's)"
    )
    assign.add_argument("--id", help="assignment id (default: the next in the estate's numbering)")
    edit_options(assign)
    return cmd_assign


def add_unassign(commands: Subparsers) -> Handler:
    """Register ``calcheck unassign`` and its options."""
    unassign = commands.add_parser(
        "unassign",
        help="end an assignment (or remove it)",
        description="End an assignment on a date (until:), or remove its record, after checking the estate as the "
        "next check will (git history included, so a removal that completes a reassignment within 90 days is "
        "refused unless --force).",
    )
    unassign.add_argument("assignment", help="assignment id")
    unassign.add_argument("--on", type=parse_date, metavar="DATE", help="last day (default: today)")
    unassign.add_argument("--remove", action="store_true", help="delete the record instead of ending it")
    edit_options(unassign)
    return cmd_unassign


def add_transfer(commands: Subparsers) -> Handler:
    """Register ``calcheck transfer`` and its options."""
    transfer = commands.add_parser(
        "transfer",
        help="move a CAL to another person or device",
        description="End an assignment the day before --on and assign the same holding "
        "to another person or device from --on, recording 'replaces:' and the reason "
        "(the 90-day rule applies unless the reason allows an early move, judged from the git history as the "
        "check judges it, not only from the record's since:).",
    )
    transfer.add_argument("assignment", help="assignment id")
    target = transfer.add_mutually_exclusive_group(required=True)
    target.add_argument("--to-person", metavar="ID", help="person id")
    target.add_argument("--to-device", metavar="ID", help="device id")
    transfer.add_argument("--on", type=parse_date, metavar="DATE", help="first day of the new holder (default: today)")
    transfer.add_argument("--reason", choices=REASONS, help="why the CAL moves")
    transfer.add_argument(
        "--temporary",
        action="store_true",
        help="temporary cover (needs --until): the holder keeps the assignment and has the CAL back after --until",
    )
    transfer.add_argument("--until", type=parse_date, metavar="DATE", help="last day of a temporary transfer")
    edit_options(transfer)
    return cmd_transfer


def add_audit(commands: Subparsers) -> Handler:
    """Register ``calcheck audit`` and its options."""
    audit = commands.add_parser("audit", help="record an audit or reconciliation")
    audit_commands = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    record = audit_commands.add_parser(
        "record",
        help="write an audit record with the current licence position",
        description="Append an audit record (date, auditor, scope, result, the git revision and the shortfall of "
        "every CAL pool) to audits/<year>.yaml; the audit-overdue rule reads it.",
    )
    record.add_argument("--auditor", required=True, metavar="NAME", help="who audited")
    record.add_argument("--type", choices=("internal", "external", "vendor", "reconciliation"), default="internal")
    record.add_argument("--scope", metavar="TEXT", help="what was audited")
    record.add_argument(
        "--result", choices=("compliant", "non-compliant", "remediated"), help="the outcome (default: from the check)"
    )
    record.add_argument("--date", type=parse_date, metavar="DATE", help="audit date (default: today)")
    record.add_argument(
        "--id",
        help="audit id (default: the next in the numbering of the estate's audits, e.g. AUD-2026-Q3 then "
        "AUD-2026-Q4; AUD-<year>-0001 for the first)",
    )
    edit_options(record)
    return cmd_audit


def add_import(commands: Subparsers) -> Handler:
    """Register ``calcheck import`` and its options."""
    importer = commands.add_parser(
        "import",
        help="update people or devices from a directory export",
        description="Read an Active Directory (Get-ADUser | Export-Csv), Entra ID user-list or Intune device export "
        "(or any CSV with --mapping), update matching records, add new ones, and mark people who are gone or "
        "disabled as departed (devices as retired). Every row is checked first: the import applies completely "
        "or changes nothing. Lists the CALs that became reclaimable and what the import does to the licence "
        "position (each pool that changes, before and after; new findings by rule), and refuses an import that "
        "makes the position worse (a larger shortfall or a new error) unless --accept-shortfall or --force. "
        "'import subscriptions' reads the Microsoft 365 admin center's user export (Licenses column) or an Entra ID "
        "/ Graph export with assignedLicenses (--source m365|graph) and assigns the estate's Online Services "
        "holdings to match; products not in the catalogue are listed.",
    )
    importer.add_argument("what", choices=("people", "devices", "subscriptions"))
    importer.add_argument("file", type=Path, help="the export (CSV; JSON for a Graph export of subscriptions)")
    importer.add_argument("--source", choices=("auto", "ad", "entra", "intune", "m365", "graph"), default="auto")
    importer.add_argument(
        "--mapping",
        type=Path,
        metavar="MAP.yaml",
        help="YAML mapping field -> column (id, name, email, department, enabled), and service_accounts: account "
        "name patterns (e.g. [svc-*]) that make a new person a service account",
    )
    importer.add_argument(
        "--on", type=parse_date, metavar="DATE", help="date of departures and retirements (default: today)"
    )
    importer.add_argument(
        "--file-to",
        type=Path,
        dest="target",
        metavar="FILE",
        help="file for new records (default: <kind>/imported.yaml)",
    )
    importer.add_argument("--path", type=Path, metavar="PATH", help="estate folder (default: the nearest licenses/)")
    importer.add_argument("--dry-run", action="store_true", help="show the changes without writing them")
    importer.add_argument(
        "--partial", action="store_true", help="the export covers part of the directory: leave unlisted records alone"
    )
    importer.add_argument(
        "--accept-shortfall",
        action="store_true",
        help="apply even if the import makes the licence position worse (a larger shortfall or new errors)",
    )
    importer.add_argument(
        "--force", action="store_true", help="apply even if it marks most records as gone or makes the position worse"
    )
    cache_option(importer)
    return cmd_import


def add_reconcile(commands: Subparsers) -> Handler:
    """Register ``calcheck reconcile`` and its options."""
    reconcile = commands.add_parser(
        "reconcile",
        help="compare the estate with observed usage",
        description="Read RD Licensing per-user CAL reports, User Access Logging exports and group membership "
        "exports (CSV): observed users without a covering CAL, per-user RDS over-allocation, and CALs whose "
        "holders were not seen for --unused-days (harvest candidates).",
    )
    reconcile.add_argument("usage", nargs="+", type=Path, help="usage exports (CSV)")
    reconcile.add_argument(
        "--unused-days",
        type=parse_days,
        default=90,
        metavar="N",
        help="harvest CALs unused this long, 1 to 36500 days (default: 90)",
    )
    reconcile.add_argument("--path", type=Path, metavar="PATH", help="estate folder (default: the nearest licenses/)")
    reconcile.add_argument("--as-of", type=parse_date, default=None, metavar="DATE", help="reconcile as of this day")
    reconcile.add_argument("--format", choices=("text", "json", "github", "sarif", "junit", "markdown"), default="text")
    cache_option(reconcile)
    return cmd_reconcile


def cmd_assign(args: argparse.Namespace) -> int:
    from calcheck.edits.operations import plan_assign

    subject = ("person", args.person) if args.person else ("device", args.device)
    return run_edit(
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

    return run_edit(
        args, lambda estate, result, today: [plan_unassign(result, args.assignment, args.on or today, args.remove)]
    )


def cmd_transfer(args: argparse.Namespace) -> int:
    from calcheck.edits.operations import plan_transfer

    to = ("person", args.to_person) if args.to_person else ("device", args.to_device)
    return run_edit(
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
        dirty = revision is not None and repo is not None and bool(repo.changed_files(repo.prefix(estate)))
        record = (args.auditor, args.type, args.scope, args.result, revision, args.id, dirty)
        return [plan_audit(estate, result, today, *record)]

    return run_edit(args, plan)


def cmd_import(args: argparse.Namespace) -> int:
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
    if args.what != "subscriptions" and args.source in ("m365", "graph"):
        raise UsageError(f"--source {args.source} is for 'import subscriptions'")
    with edit_lock(estate, args.dry_run):
        if args.what == "subscriptions":  # Online Services assignments from tenant exports (issue 18)
            from calcheck.cli.online import cmd_import_subscriptions

            return cmd_import_subscriptions(args, estate, on)
        return _import(args, estate, on)


def _import(args: argparse.Namespace, estate: Path, on: dt.date) -> int:
    from calcheck.edits import operations

    lasting = file_cache(args)
    read = _import_read(args, on)
    kept = kept_edit("import", args, estate, read, lasting)
    decided = operations.Decided.decode(kept.get()) if kept is not None else None  # the same import asked before
    changes: list[Any] | None = None
    if decided is None:
        decided, changes = _import_decided(args, estate, on, lasting)
        if kept is not None and decided.keepable and _import_read(args, on) == read:
            kept.put(decided.encode())
    return carry_out(args, estate, decided, changes, say=False)


def _import_read(args: argparse.Namespace, on: dt.date) -> list[str]:
    """What an import reads besides the estate (for its kept decision): the day, the export and the mapping."""
    import hashlib

    found = [f"on {on}"]
    for given in (args.file, args.mapping):
        try:
            found.append(hashlib.sha256(given.read_bytes()).hexdigest() if given is not None else "none")
        except OSError as exc:
            found.append(f"unreadable {type(exc).__name__}")
    return found


def _import_decided(
    args: argparse.Namespace, estate: Path, on: dt.date, lasting: FileCache | None
) -> tuple[Decided, list[Any]]:
    """The import planned and reviewed: what it shows, its refusal if any, and its changes."""
    from calcheck.edits import operations
    from calcheck.edits.importing import Prelocated, checked_many, checked_reader, import_baseline, plan_import
    from calcheck.outputs.diffview import render_position
    from calcheck.outputs.formats import REPORTERS
    from calcheck.outputs.reporters import ReportContext

    mapping, conventions = _mapping(args.mapping) if args.mapping is not None else (None, ())
    located = Prelocated(estate, args.what)  # on a core the check leaves idle
    try:
        base = import_baseline(estate, args.what, on, lasting)
        plan = plan_import(
            base.result,
            estate,
            args.what,
            args.file,
            args.source,
            mapping,
            on,
            args.target,
            args.partial,
            args.force,
            conventions,
            checked_reader(base),
            checked_many(base),
            located,
        )
    finally:
        located.cancel()
    if plan.problems:
        context = ReportContext(str(args.file), None, on.isoformat(), 1, Severity.ERROR)
        problems = REPORTERS["text"](plan.problems, context)
        return operations.Decided(problems, "import refused: nothing was changed\n", ()), []
    found = operations.review(base, plan.changes, "after the import")
    gone = set(plan.leavers)
    freed = [f for f in found.after.findings if f.rule == "reclaimable" and set(f.records) & gone]
    position, worse = render_position(found.diff), bool(found.worse)
    del found, base  # the estate before and after: the diffs need neither (memory: they are the largest output)
    shown = [change.diff(display_path(change.path)) for change in plan.changes]
    skipped = f", {len(plan.skipped)} disabled and not in the estate (skipped)" if plan.skipped else ""
    shown.append(
        f"{len(plan.added)} added, {len(plan.updated)} updated, {len(plan.leavers)} "
        f"{'departed' if args.what == 'people' else 'retired'}{skipped}; {len(freed)} CALs became reclaimable\n"
    )
    shown.extend(f"  {one_line(finding.message)}\n" for finding in freed)
    shown.append(position)
    refused = None
    if worse and not (args.force or args.accept_shortfall):
        refused = (
            "import refused: it would make the licence position worse (--accept-shortfall to apply it anyway); "
            "nothing was changed\n"
        )
    return operations.Decided.of(plan.changes, "".join(shown), refused), plan.changes


def _mapping(path: Path) -> tuple[dict[str, str] | None, tuple[str, ...]]:
    """The --mapping file: field -> column, and ``service_accounts``: the naming conventions of service accounts."""
    from calcheck.estate.parse import load_bytes

    loaded = load_bytes(str(path), path.read_bytes())
    data = loaded.documents[0].data if loaded.documents else None
    if loaded.findings or not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping of field: column")
    conventions = data.pop("service_accounts", [])
    if not isinstance(conventions, list) or not all(isinstance(c, str) and c for c in conventions):
        raise UsageError(f"{path}: service_accounts: expected a list of account name patterns, e.g. [svc-*, *$]")
    if not all(isinstance(v, str) for v in data.values()):
        raise UsageError(f"{path}: expected a mapping of field: column")
    fields = {str(k): str(v) for k, v in data.items()}
    return fields or None, tuple(conventions)


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
    result = engine.check(estate, as_of, cache=file_cache(args))
    findings = sort_findings(problems or reconcile(result, observations, args.unused_days))
    organisation = result.estate.config.organisation if result.estate.config else None
    context = ReportContext(result.estate.root, organisation, as_of.isoformat(), len(args.usage), Severity.ERROR)
    emit(REPORTERS[args.format](findings, context), None)
    return EXIT_FINDINGS if failed(findings, Severity.ERROR) else EXIT_OK
