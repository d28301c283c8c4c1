"""What every command shares: argument types, estate options, running a check, writing output."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from calcheck.core.errors import UsageError
from calcheck.core.text import one_line

if TYPE_CHECKING:
    from calcheck.licensing.engine import CheckResult

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
Handler = Callable[[argparse.Namespace], int]
Subparsers = Any  # argparse's _SubParsersAction, which it does not export


def parse_date(text: str) -> dt.date:
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


def estate_options(
    parser: argparse.ArgumentParser,
    *,
    revisions: bool = True,
    output: bool = True,
    as_of: str = "evaluate dates as of this day, YYYY-MM-DD (default: today)",
) -> None:
    parser.add_argument("path", nargs="?", type=Path, help="estate folder (default: the nearest licenses/)")
    if revisions:
        parser.add_argument("--rev", metavar="REV", help="read the estate as it was at this git revision")
        parser.add_argument(
            "--no-history", action="store_true", help="do not read git history (the 90-day rule uses the records only)"
        )
    parser.add_argument(
        "--as-of",
        type=parse_date,
        default=None,
        metavar="DATE",
        help=as_of,
    )
    if output:
        parser.add_argument(
            "--output", "-o", type=Path, metavar="FILE", help="write to this file instead of standard output"
        )


def edit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--path", type=Path, help="estate folder (default: the nearest licenses/)")
    parser.add_argument("--force", action="store_true", help="write even if the change makes the position worse")
    parser.add_argument("--dry-run", action="store_true", help="show the change without writing it")
    parser.add_argument("--as-of", type=parse_date, default=None, metavar="DATE", help="check as of this day")


def display_path(path: Path) -> str:
    from calcheck.estate.sources import display_path as shown

    return shown(path)


def use_colour(choice: str, stream_is_tty: bool) -> bool:
    if choice != "auto":
        return choice == "always"
    return stream_is_tty and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def estate_path(args: argparse.Namespace) -> Path:
    if args.path is not None:
        return Path(args.path)
    try:
        return default_estate()
    except UsageError:
        if getattr(args, "rev", None) is None:
            raise
        return Path("licenses")  # a bare repository has no folder to find: use the conventional path


def check_at(path: Path, rev: str | None, as_of: dt.date, history: bool) -> CheckResult:
    """Check the estate at ``path`` in the work tree, or as it was at ``rev``."""
    from calcheck.estate import loading
    from calcheck.estate.sources import EstateSource, WorkTree
    from calcheck.git.timeline import timeline_for
    from calcheck.licensing import engine

    source: EstateSource
    if rev is not None:
        from calcheck.git.repo import open_tree

        source = open_tree(path, rev)
    else:
        source = WorkTree(path)
    timeline = timeline_for(path, rev, as_of, loading.builtin_cal_names()) if history else None
    return engine.check(source, as_of, timeline)


def run_check(args: argparse.Namespace) -> CheckResult:
    from calcheck.estate.yamlload import HAS_LIBYAML

    if not HAS_LIBYAML:
        print("calcheck: warning: PyYAML was built without libyaml; reading is 10-15 times slower", file=sys.stderr)
    return check_at(estate_path(args), args.rev, args.as_of or dt.date.today(), not args.no_history)


def run_edit(args: argparse.Namespace, plan: Callable[[Path, CheckResult, dt.date], list[Any]]) -> int:
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


def emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    from calcheck.core.atomic import write_text

    write_text(output, text)


def write_bytes(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
