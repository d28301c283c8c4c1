"""Command line: parses arguments, runs a command, and alone decides the exit code.

The top layer: it may import every other package; nothing imports it but ``calcheck.__main__``.

Each command group lives in a module of its own (``checking``, ``changes``, ``editing``, ``publishing``,
``project``) with an ``add_<command>`` function that registers the command's options and returns its
handler; this module lists them in the order ``calcheck --help`` shows them and maps errors to exit codes.
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import sys
from collections.abc import Callable, Sequence

from calcheck import __version__
from calcheck.cli.common import EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, Handler, Parser, Subparsers, release
from calcheck.core.errors import CalcheckError, UsageError

DESCRIPTION = """\
Check Microsoft Client Access Licence (CAL) compliance of an estate kept as YAML files.

exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage or configuration error,
3 internal error."""

# In the order `calcheck --help` lists them: each command's module in this package and its ``add_<command>``.
# Named rather than imported, so that a command imports only its own module (`validate` starts in a fraction of
# the time the whole command line would take to import).
COMMANDS = {
    "check": "checking.add_check",
    "report": "checking.add_report",
    "explain": "checking.add_explain",
    "history": "changes.add_history",
    "diff": "changes.add_diff",
    "site": "publishing.add_site",
    "validate": "checking.add_validate",
    "assign": "editing.add_assign",
    "unassign": "editing.add_unassign",
    "transfer": "editing.add_transfer",
    "audit": "editing.add_audit",
    "import": "editing.add_import",
    "reconcile": "editing.add_reconcile",
    "export": "publishing.add_export",
    "init": "project.add_init",
    "rules": "checking.add_rules",
}


def _adder(name: str) -> Callable[[Subparsers], Handler]:
    module, function = COMMANDS[name].split(".")
    add: Callable[[Subparsers], Handler] = getattr(importlib.import_module(f"calcheck.cli.{module}"), function)
    return add


def build_parser(only: str | None = None) -> tuple[argparse.ArgumentParser, dict[str, Handler]]:
    """The command line; with ``only``, just that command (the same parser for it: ``--help`` reads the same)."""
    parser = Parser(prog="calcheck", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"calcheck {__version__}")
    commands: Subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    handlers = {name: _adder(name)(commands) for name in COMMANDS if only is None or name == only}
    return parser, handlers


class _Closed(io.TextIOBase):
    """Standard output when the caller closed it: writing to it is a usage error, not a crash."""

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        raise UsageError("standard output is closed; redirect it to a file, or give --output FILE")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv``; without it, the process's own, about to exit with the code returned."""
    if sys.stdout is None:  # started with standard output closed
        sys.stdout = _Closed()
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
    given = sys.argv[1:] if argv is None else list(argv)
    # A command named first is parsed by a parser holding only that command; anything else (no command, --help,
    # --version, a misspelt command) by the whole command line, whose messages list every command.
    parser, handlers = build_parser(given[0] if given and given[0] in COMMANDS else None)
    args = parser.parse_args(given)
    try:
        return handlers[args.command](args)
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
    finally:
        _end_git_processes()
        _tidy_caches()
        release(exiting=argv is None)


def _tidy_caches() -> None:
    """Keep the cache folders a command used within their size (looked up only if the command used one)."""
    cache = sys.modules.get("calcheck.estate.cache")
    if cache is not None:
        cache.tidy_opened()


def _end_git_processes() -> None:
    """Every git process a command started ends with it (looked up only if the command read git at all)."""
    repo = sys.modules.get("calcheck.git.repo")
    if repo is not None:
        repo.close_all()
