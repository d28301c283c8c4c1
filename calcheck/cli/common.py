"""What every command shares: argument types, estate options, running a check, writing output."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from calcheck.core.errors import CalcheckError, UsageError
from calcheck.core.text import one_line

if TYPE_CHECKING:
    from calcheck.core.findings import Finding
    from calcheck.edits.operations import Decided
    from calcheck.estate.cache import FileCache
    from calcheck.estate.parallel import Later
    from calcheck.estate.results import Kept
    from calcheck.estate.sources import EstateSource
    from calcheck.estate.transfers import Timeline
    from calcheck.licensing.engine import CheckResult

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
T = TypeVar("T")
Handler = Callable[[argparse.Namespace], int]
Subparsers = Any  # argparse's _SubParsersAction, which it does not export


# The dates calcheck takes on its command line: wide enough for any licence, narrow enough that every date worked
# out from one (the day before, 90 days on, an audit interval, --unused-days back) is still a calendar date.
FIRST_DATE, LAST_DATE = dt.date(1900, 1, 1), dt.date(2999, 12, 31)
MAX_DAYS = 36500


def parse_date(text: str) -> dt.date:
    try:
        date = dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None
    if not FIRST_DATE <= date <= LAST_DATE:
        raise argparse.ArgumentTypeError(f"{text} is out of range; give a date from {FIRST_DATE} to {LAST_DATE}")
    return date


def parse_days(text: str) -> int:
    """A number of days, from 1 to MAX_DAYS (a hundred years)."""
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of days: {text!r}") from None
    if not 1 <= days <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"{text} is out of range; give 1 to {MAX_DAYS} days")
    return days


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error reported in one line (the usage is one ``--help`` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


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
    if revisions:  # the commands that check the estate (history reads git alone)
        cache_option(parser)


def cache_option(
    parser: argparse.ArgumentParser,
    text: str = "parse every file (and walk every commit) again instead of reusing cached results",
) -> None:
    parser.add_argument("--no-cache", action="store_true", help=text)


def file_cache(args: argparse.Namespace) -> FileCache | None:
    """The loaded-file cache, unless --no-cache (or CALCHECK_NO_CACHE) turns it off."""
    from calcheck.estate.cache import open_cache

    return open_cache(not getattr(args, "no_cache", False))


def edit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--path", type=Path, help="estate folder (default: the nearest licenses/)")
    parser.add_argument(
        "--force",
        action="store_true",
        help="write even if the change makes the position worse or gives a holder a CAL it already has",
    )
    parser.add_argument("--dry-run", action="store_true", help="show the change without writing it")
    parser.add_argument("--as-of", type=parse_date, default=None, metavar="DATE", help="check as of this day")
    parser.add_argument(
        "--no-history",
        action="store_true",
        help="do not read git history (the 90-day rule judges the edit by the records only)",
    )
    cache_option(parser)


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


def check_at(
    path: Path,
    rev: str | None,
    as_of: dt.date,
    history: bool,
    cache: FileCache | None = None,
    timeline: Timeline | Callable[[], Timeline] | None = None,
) -> CheckResult:
    """Check the estate at ``path`` in the work tree, or as it was at ``rev`` (``timeline``: its history, if already
    walked)."""
    with estate_source(path, rev) as source:
        return check_source(source, path, rev, as_of, history, cache, timeline)


@contextlib.contextmanager
def estate_source(path: Path, rev: str | None) -> Iterator[EstateSource]:
    """The estate at ``path`` in the work tree, or as it was at ``rev``; its git readers end with the block."""
    if rev is None:  # the work tree: the git layer is not loaded
        from calcheck.estate.sources import WorkTree

        yield WorkTree(path)
        return
    from calcheck.git.repo import open_tree

    tree = open_tree(path, rev)
    try:
        yield tree
    finally:
        tree.close()


def check_source(
    source: EstateSource,
    path: Path,
    rev: str | None,
    as_of: dt.date,
    history: bool,
    cache: FileCache | None = None,
    timeline: Timeline | Callable[[], Timeline] | None = None,
    earlier: tuple[CheckResult, EstateSource] | None = None,
) -> CheckResult:
    """``check_at`` of an open ``source``; ``earlier``: the check of another source, whose estate is taken where
    the files are the same (``engine.recheck``: the same answer)."""
    from calcheck.estate.splice import changed_between
    from calcheck.licensing import engine

    walk: Later[Timeline] | None = None
    if history and timeline is None:  # a check without its history need not load the code that walks it
        walk = _walk_meanwhile(path, rev, as_of, cache)
    found = walk.result if walk is not None else timeline
    try:
        if earlier is None:
            return keep(engine.check(source, as_of, found, cache))
        base, before = earlier
        return keep(engine.recheck(base, before, source, changed_between(before, source), as_of, found, cache))
    finally:
        if walk is not None:
            walk.cancel()  # (when the check stopped before it asked for the history)


def kept_result(
    command: str, options: list[str], path: Path, revs: list[str | None], cache: FileCache | None, git: bool = True
) -> Kept | None:
    """Where a command's result, read from the estate at ``path`` in ``revs`` (None: the work tree) with
    ``options``, is kept, and its key: the digest of everything the reading reads (``calcheck.estate.results``):
    the options, the working folder, the commits and, for the work tree, every file of the estate and of the schemas
    beside it and what git takes for changed (``git``: whether the history is read at all). None without a lasting
    cache, or when git cannot say what a revision is (the command itself then says why)."""
    from calcheck.estate.results import Kept, Results, folder_digest
    from calcheck.estate.schema import copies_beside

    results = Results.beside(cache)
    if results is None:
        return None
    from calcheck.git.timeline import revisions_read  # (not before: a run without a cache need not load it)

    def key() -> str | None:
        try:
            commits = revisions_read(path, revs) if git or any(rev is not None for rev in revs) else []
            real, copies = path.resolve(), copies_beside(path)
        except (CalcheckError, OSError, RuntimeError):  # (RuntimeError: a link loop, before Python 3.13)
            return None  # no key: worked out and not kept (and the command says why, if it cannot be)
        files = []
        if None in revs:  # the folder as named (git's prefix: the history) and as the system finds it (the check)
            files = [folder_digest(folder) for folder in dict.fromkeys([Path(os.path.abspath(path)), real])]
            files.append(folder_digest(copies))
        # (where the folder is, as named and as the system finds it: an edit writes a way from a new file to the
        # schemas beside the folder a link leads to, the same files in another place give another line)
        place = [os.getcwd(), str(path), os.path.abspath(path), str(real), os.environ.get("TZ", "")]
        return Results.key(command, [*options, *place, *commits, *files])

    found = key()
    return Kept(results, found, key) if found is not None else None


def _walk_meanwhile(path: Path, rev: str | None, as_of: dt.date, cache: FileCache | None) -> Later[Timeline]:
    """The history a check reads, walked by a forked process while this one reads and analyses the estate (the
    answer is the same: see ``calcheck.estate.parallel.later``)."""
    from calcheck.estate import loading, parallel
    from calcheck.estate.transfers import decode_timeline, encode_timeline
    from calcheck.git.timeline import timeline_for

    lasting = cache.lasting() if cache is not None else None
    names = loading.builtin_cal_names()

    def walk() -> Timeline:
        return timeline_for(path, rev, as_of, names, lasting)

    return parallel.later(walk, lambda: encode_timeline(walk()), decode_timeline)


# What a command read (millions of records for a large estate), kept until the command is over. Freeing it one
# object at a time costs about a tenth of a check; a process about to exit need not (see ``release``).
_READ: list[object] = []


def keep(value: T) -> T:
    """Keep ``value`` alive until ``release``; returns it."""
    _READ.append(value)
    return value


def release(exiting: bool) -> None:
    """Free what commands kept; or, when the process is about to exit, leave it for the operating system.

    Kept in a reference cycle moved to the collector's permanent generation, it is never freed object by object:
    not when the command returns, nor when the interpreter clears its modules at exit.
    """
    if not exiting:
        _READ.clear()
        return
    import gc

    _READ.append(_READ)
    gc.freeze()


def warn_without_libyaml() -> None:
    from calcheck.estate.yamlload import HAS_LIBYAML

    if not HAS_LIBYAML:
        print("calcheck: warning: PyYAML was built without libyaml; reading is 10-15 times slower", file=sys.stderr)


def run_check(args: argparse.Namespace) -> CheckResult:
    warn_without_libyaml()
    as_of = args.as_of or dt.date.today()
    return check_at(estate_path(args), args.rev, as_of, not args.no_history, file_cache(args))


def run_edit(args: argparse.Namespace, plan: Callable[[Path, CheckResult, dt.date], list[Any]]) -> int:
    estate = Path(args.path) if args.path is not None else default_estate()
    with edit_lock(estate, args.dry_run):
        return _edit(args, estate, plan)


def edit_lock(estate: Path, dry_run: bool) -> contextlib.AbstractContextManager[object]:
    """The estate's lock around read-decide-write (a dry run writes nothing, so takes none)."""
    from calcheck.edits.lock import estate_lock

    return contextlib.nullcontext() if dry_run else estate_lock(estate)


def _edit(args: argparse.Namespace, estate: Path, plan: Callable[[Path, CheckResult, dt.date], list[Any]]) -> int:
    from calcheck.edits import operations

    today = args.as_of or dt.date.today()
    lasting = file_cache(args)
    kept = kept_edit("edit", args, estate, [f"on {today}"], lasting)
    decided = operations.Decided.decode(kept.get()) if kept is not None else None  # the same edit asked before
    changes: list[Any] | None = None
    if decided is None:
        base = keep(operations.baseline(estate, today, history=not args.no_history, cache=lasting))
        changes = plan(estate, base.result, today)
        found = keep(operations.review(base, changes))
        shown = "".join(change.diff(display_path(change.path)) for change in changes)
        shown += new_findings_text(found.diff.introduced)
        refused = None
        if found.worse and not args.force:
            refused = "refused: the change would make the licence position worse (--force to write it anyway):\n"
            refused += "".join(f"  {one_line(item)}\n" for item in found.worse)
        decided = operations.Decided.of(changes, shown, refused)
        if kept is not None and decided.keepable:
            kept.put(decided.encode())
    return carry_out(args, estate, decided, changes)


_PIECE = 1 << 20


def carry_out(
    args: argparse.Namespace, estate: Path, decided: Decided, changes: list[Any] | None, say: bool = True
) -> int:
    """Show a decided edit, then end with its refusal, stop at its dry run, or write it: the changes just planned,
    or the files of a kept decision (``say``: then print what each change did)."""
    from calcheck.edits import operations

    for at in range(0, len(decided.shown), _PIECE):  # a piece at a time: an import's diffs run to many megabytes
        sys.stdout.write(decided.shown[at : at + _PIECE])
    if decided.refused is not None:
        sys.stdout.write(decided.refused)
        return EXIT_FINDINGS
    if args.dry_run:
        print("dry run: nothing written")
        return EXIT_OK
    if changes is not None:
        operations.write(changes)
    else:
        decided.write(estate)
    if say:
        print("\n".join(decided.summaries))
    return EXIT_OK


def kept_edit(
    command: str, args: argparse.Namespace, estate: Path, read: list[str], cache: FileCache | None
) -> Kept | None:
    """Where an edit's decision is kept (``kept_result``): asked again with the same options (``read``: what else
    it reads, such as the day and an export's digest) and the estate, its schemas, the git history and the working
    folder as they were, it is the same decision, whether it was a dry run or not (git is always part of the key:
    an audit records HEAD and whether the work tree has changes)."""
    options = [f"{name}={value!r}" for name, value in sorted(vars(args).items()) if not callable(value)]
    options = [*read, *(option for option in options if not option.startswith("dry_run="))]
    # where each file named leads: through a link outside the estate ('hop/../licenses/...'), the same name may
    # lead elsewhere by the time the edit is asked again
    options += [
        f"{name} leads to {_real(value)}" for name, value in sorted(vars(args).items()) if isinstance(value, Path)
    ]
    return kept_result(command, options, estate, [None], cache)


def _real(path: Path) -> str:
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return "nowhere"


def new_findings_text(findings: list[Finding]) -> str:
    """What the next check would report that it does not report now."""
    if not findings:
        return ""
    lines = [f"{len(findings)} new finding(s) after the change ('calcheck check' will report them):"]
    lines += [f"  {f.severity.label} [{f.rule}] {f.path}:{f.line}: {one_line(f.message)}" for f in findings]
    return "\n".join(lines) + "\n"


def emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    from calcheck.core.atomic import write_text

    write_text(output, text)
