"""Starting a compliance repository: init."""

from __future__ import annotations

import argparse
import datetime as dt
import re
from pathlib import Path
from typing import TYPE_CHECKING

from calcheck.cli.common import (
    EXIT_OK,
    Handler,
    Subparsers,
    display_path,
    parse_date,
)
from calcheck.core.errors import UsageError

if TYPE_CHECKING:
    pass


def add_init(commands: Subparsers) -> Handler:
    """Register ``calcheck init`` and its options."""
    init = commands.add_parser(
        "init",
        help="scaffold a new compliance repository",
        description="Create an estate with one example of each record kind, the schemas, a site configuration, "
        "a GitHub workflow and a README in DIR. Existing files are never overwritten.",
    )
    init.add_argument("dir", type=Path, help="target folder (created if missing)")
    init.add_argument("--date", type=parse_date, default=None, help="date for the examples (default: today)")
    init.add_argument(
        "--action",
        default="calcheck/calcheck@v0.1.0",
        help="the calcheck action the workflow uses; pin it to a commit SHA (default: %(default)s)",
    )
    return cmd_init


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
