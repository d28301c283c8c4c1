"""Starting a compliance repository: init."""

from __future__ import annotations

import argparse
import datetime as dt
import re
from pathlib import Path

from calcheck import __version__
from calcheck.cli.common import (
    EXIT_OK,
    Handler,
    Subparsers,
    display_path,
    parse_date,
)
from calcheck.core.errors import UsageError


def add_init(commands: Subparsers) -> Handler:
    """Register ``calcheck init`` and its options."""
    init = commands.add_parser(
        "init",
        help="scaffold a compliance repository, or add what one lacks",
        description="Add to DIR what a compliance repository needs and it lacks: an estate with one example of each "
        "record kind (unless licenses/ holds one), the schemas, the site configuration and guide, the workflows "
        "calcheck's own repository runs (pull-request.yml, pages.yml) and a README. Existing files are never "
        "overwritten; they are listed as left alone. --upgrade refreshes the copies of the schemas instead.",
    )
    init.add_argument("dir", nargs="?", type=Path, default=Path("."), help="the repository (default: .)")
    init.add_argument(
        "--date", type=parse_date, default=None, metavar="DATE", help="date for the examples (default: today)"
    )
    init.add_argument(
        "--action",
        default=None,
        metavar="OWNER/REPO@SHA",
        help="the calcheck action the workflows use, pinned to a commit SHA "
        f"(default: calcheck/calcheck@v{__version__}, with a TODO to pin it)",
    )
    init.add_argument(
        "--upgrade",
        action="store_true",
        help="refresh the repository's copies of the schemas from this calcheck (with --action, the workflows too)",
    )
    return cmd_init


def cmd_init(args: argparse.Namespace) -> int:
    from calcheck.edits.init import DEFAULT_ACTION, scaffold, upgrade
    from calcheck.git.repo import validate_rev

    if args.action is not None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[A-Za-z0-9_./-]+)?@[A-Za-z0-9_.-]+", args.action):
            raise UsageError(f"not an action reference (owner/repo@ref): {args.action!r}")
        validate_rev(args.action.rsplit("@", 1)[1])
    where = display_path(args.dir)
    if args.upgrade:
        if not args.dir.is_dir():
            raise UsageError(f"{where}: no such folder to upgrade")
        done = upgrade(args.dir, args.action)
        print(f"refreshed {len(done.written)} files in {where}" + "".join(f"\n  {name}" for name in done.written))
        print(f"{len(done.kept)} already up to date")
        return EXIT_OK
    done = scaffold(args.dir, args.date or dt.date.today(), args.action or DEFAULT_ACTION)
    print(f"created {len(done.written)} files in {where}")
    for name in done.extended:
        print(f"added missing lines to {name}")
    if done.kept:
        print(f"left alone (already there): {', '.join(done.kept)}")
    print(f"next: cd {where} && calcheck check")
    return EXIT_OK
