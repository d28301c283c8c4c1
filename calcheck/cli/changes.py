"""Commands that read git: history and diff."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from calcheck.cli.common import (
    EXIT_OK,
    Handler,
    Subparsers,
    cache_option,
    check_source,
    emit,
    estate_options,
    estate_path,
    estate_source,
    file_cache,
    kept_result,
    parse_date,
)
from calcheck.core.errors import UsageError

if TYPE_CHECKING:
    from calcheck.estate.parallel import Later
    from calcheck.estate.transfers import Timeline


def add_history(commands: Subparsers) -> Handler:
    """Register ``calcheck history`` and its options."""
    history = commands.add_parser(
        "history",
        help="the estate's change log from git, in licensing terms",
        description="List every commit that changed the estate, with what it did in licensing terms "
        "(assignments, reassignments, holdings, leavers), oldest first as a register reads (the site lists the newest "
        "first). Renamed files and moved records are followed.",
    )
    estate_options(history, revisions=False, as_of="only changes committed on or before DATE")
    history.add_argument("--rev", default="HEAD", metavar="REV", help="history up to this revision (default: HEAD)")
    history.add_argument("--since", type=parse_date, metavar="DATE", help="only changes committed on or after DATE")
    history.add_argument("--id", metavar="RECORD", help="only changes that involve this record id")
    history.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    cache_option(history, "walk every commit again instead of reusing the cached history")
    return cmd_history


def add_diff(commands: Subparsers) -> Handler:
    """Register ``calcheck diff`` and its options."""
    diff = commands.add_parser(
        "diff",
        help="what a change does to the licence position",
        description="Compare the estate at BASE with HEAD (default: the working tree): pools before and after, "
        "assignments added, removed and transferred, findings introduced and resolved.",
    )
    diff.add_argument("base", metavar="BASE", help="git revision to compare against")
    diff.add_argument("head", nargs="?", metavar="HEAD", help="git revision (default: the working tree)")
    diff.add_argument("--path", type=Path, metavar="PATH", help="estate folder (default: the nearest licenses/)")
    diff.add_argument("--as-of", type=parse_date, default=None, metavar="DATE", help="evaluate dates as of this day")
    diff.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    diff.add_argument("--output", "-o", type=Path, metavar="FILE", help="write to this file instead of standard output")
    diff.add_argument("--no-history", action="store_true", help="do not read git history")
    cache_option(diff)
    return cmd_diff


def cmd_history(args: argparse.Namespace) -> int:
    from calcheck.estate import loading
    from calcheck.git.timeline import entries_at, open_repo
    from calcheck.outputs.historyview import READS_RECORDS, RENDERERS

    path = estate_path(args)
    repo = open_repo(path)
    if repo is None:
        raise UsageError(f"{path} is not inside a git repository")
    commit = repo.resolve(args.rev)
    details = args.format in READS_RECORDS or args.id is not None  # else only the summaries' texts are printed
    walked = entries_at(repo, repo.prefix(path), commit, loading.builtin_cal_names(), file_cache(args), details)
    entries = [
        e
        for e in walked
        if (args.since is None or e.date.date() >= args.since) and (args.as_of is None or e.date.date() <= args.as_of)
    ]
    if args.id is not None:
        entries = [e.only(args.id) for e in entries if e.only(args.id).events]
    emit(RENDERERS[args.format](entries), args.output)
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    from calcheck.estate.cache import FileMemo
    from calcheck.licensing.diff import compare
    from calcheck.outputs.diffview import RENDERERS

    path = Path(args.path) if args.path is not None else estate_path(argparse.Namespace(path=None, rev=args.base))
    as_of = args.as_of or dt.date.today()
    lasting = file_cache(args)
    cache = FileMemo.over(lasting)  # the files the two sides share are read once, --no-cache or not
    sides: list[Callable[[], Timeline] | None] = [None, None]
    walk = None
    if not args.no_history and lasting is None:  # (with the history cache, the second walk resumes from the first)
        walk = _both_walked_meanwhile(path, args.base, args.head, as_of)
        sides = [_side(walk, path, rev, as_of, index) for index, rev in enumerate((args.base, args.head))]
    options = [args.base, args.head or "", as_of.isoformat(), args.format, str(args.no_history)]
    kept = kept_result("diff", options, path, [args.base, args.head], lasting)
    known = kept.get() if kept is not None else None
    if known is not None:  # the same two estates, asked the same way: the same answer
        emit(known, args.output)
        return EXIT_OK
    history = not args.no_history
    try:  # the head's estate is the base's with the files that differ read again (the same answer)
        with estate_source(path, args.base) as before:
            base = check_source(before, path, args.base, as_of, history, cache, sides[0])
            with estate_source(path, args.head) as after:
                head = check_source(after, path, args.head, as_of, history, cache, sides[1], (base, before))
    finally:
        if walk is not None:
            walk.cancel()
    text = RENDERERS[args.format](compare(base, head, args.base, args.head or "working tree"))
    if kept is not None:
        kept.put(text)
    emit(text, args.output)
    return EXIT_OK


def _both_walked_meanwhile(
    path: Path, base: str, head: str | None, as_of: dt.date
) -> Later[tuple[Timeline, Timeline] | None]:
    """Both sides' history from one walk (``timelines_for``), by a forked process while the estate is read."""
    from calcheck.estate import parallel
    from calcheck.estate.loading import builtin_cal_names
    from calcheck.estate.transfers import decode_timelines, encode_timelines
    from calcheck.git.timeline import timelines_for

    names = builtin_cal_names()

    def walk() -> tuple[Timeline, Timeline] | None:
        return timelines_for(path, base, head, as_of, names)

    def produce() -> bytes | None:  # (none: the base is not on the head's way, which this process finds too)
        found = walk()
        return encode_timelines(found) if found is not None else None

    return parallel.later(walk, produce, decode_timelines)


def _side(
    walk: Later[tuple[Timeline, Timeline] | None], path: Path, rev: str | None, as_of: dt.date, index: int
) -> Callable[[], Timeline]:
    """One side's history: from the shared walk, or walked on its own when the base is not on the head's way."""

    def timeline() -> Timeline:
        both = walk.result()
        if both is not None:
            return both[index]
        from calcheck.estate.loading import builtin_cal_names
        from calcheck.git.timeline import timeline_for

        return timeline_for(path, rev, as_of, builtin_cal_names(), None)

    return timeline
