"""``calcheck import subscriptions``: Online Services assignments from Microsoft 365 and Entra ID exports."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from calcheck.cli.common import EXIT_FINDINGS, EXIT_OK, display_path
from calcheck.core.errors import UsageError
from calcheck.core.findings import Severity

if TYPE_CHECKING:
    from calcheck.edits.subscriptions import SubscriptionPlan

SOURCES = ("auto", "m365", "graph")


def cmd_import_subscriptions(args: argparse.Namespace, estate: Path, on: dt.date) -> int:
    from calcheck.edits import operations
    from calcheck.edits.subscriptions import plan_subscriptions
    from calcheck.licensing import engine
    from calcheck.outputs.formats import REPORTERS
    from calcheck.outputs.reporters import ReportContext

    if args.source not in SOURCES:
        raise UsageError(f"--source {args.source} is for people and devices; subscriptions come from m365 or graph")
    if args.mapping is not None:
        raise UsageError("--mapping is for people and devices, not subscriptions")
    result = engine.check(estate, on)
    plan = plan_subscriptions(result, estate, args.file, args.source, on, args.target, args.partial)
    if plan.problems:
        context = ReportContext(str(args.file), None, on.isoformat(), 1, Severity.ERROR)
        sys.stdout.write(REPORTERS["text"](plan.problems, context))
        print("import refused: nothing was changed")
        return EXIT_FINDINGS
    for change in plan.changes:
        sys.stdout.write(change.diff(display_path(change.path)))
    print(summary(plan))
    if args.dry_run:
        print("dry run: nothing written")
        return EXIT_OK
    operations.write(plan.changes)
    return EXIT_OK


def summary(plan: SubscriptionPlan) -> str:
    """What the import did, and what it could not map."""
    lines = [
        f"{plan.users} users matched: {len(plan.added)} assignments added, {plan.kept} kept, "
        f"{len(plan.ended)} ended; {len(plan.unmatched)} users with subscriptions are not in the estate"
    ]
    lines += [f"  not in the estate: {user}" for user in plan.unmatched]
    if plan.unknown:
        lines.append(f"{len(plan.unknown)} products not in the catalogue (not counted as CAL rights):")
        lines += [f"  {product}: {count} user{'s' if count != 1 else ''}" for product, count in plan.unknown.items()]
    return "\n".join(lines)
