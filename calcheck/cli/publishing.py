"""Commands that publish the position: site build/serve and export."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from calcheck.cli.common import (
    EXIT_OK,
    Handler,
    Subparsers,
    cache_option,
    display_path,
    estate_options,
    estate_path,
    file_cache,
    parse_date,
    run_check,
)
from calcheck.core.errors import UsageError

if TYPE_CHECKING:
    pass


def add_site(commands: Subparsers) -> Handler:
    """Register ``calcheck site`` and its options."""
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
        sub.add_argument(
            "--config",
            type=Path,
            metavar="FILE",
            help="site configuration (default: site/mkdocs.yml beside the estate)",
        )
        sub.add_argument("--as-of", type=parse_date, default=None, metavar="DATE", help="position as of this day")
        sub.add_argument("--engine", choices=("mkdocs", "zensical"), default="mkdocs", help="site generator")
        if action == "build":
            cache_option(sub, "parse every file, walk every commit, compute every trend point and render every page "
                         "again instead of reusing cached results")  # fmt: skip
        else:
            cache_option(sub, "parse every file, walk every commit and compute every trend point again instead of "
                         "reusing cached results")  # fmt: skip
        if action == "serve":
            sub.add_argument(
                "--dev-addr",
                default="127.0.0.1:8000",
                metavar="HOST:PORT",
                help="address to serve on (default: %(default)s)",
            )
    return cmd_site


def add_export(commands: Subparsers) -> Handler:
    """Register ``calcheck export`` and its options."""
    export = commands.add_parser(
        "export",
        help="export the ELP, assignment register and proof index for auditors",
        description="Write elp, assignments and proofs as CSV files (or one XLSX workbook) into a folder, with "
        "MANIFEST.json holding each file's SHA-256. The same revision and date give identical bytes.",
    )
    estate_options(export, output=False)
    export.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    export.add_argument("--to", type=Path, required=True, metavar="DIR", help="folder to write the bundle into")
    return cmd_export


def cmd_site(args: argparse.Namespace) -> int:
    from calcheck.site import build

    build.require_engine(args.engine)
    estate = estate_path(args)
    paths = build.SitePaths.of(args.config or estate.resolve().parent / "site" / "mkdocs.yml")
    if args.site_command == "serve":
        build.serve(estate, paths, args.as_of, args.engine, args.dev_addr, file_cache(args))
        return EXIT_OK
    summary = build.build_site(estate, paths, args.as_of or dt.date.today(), args.engine, file_cache(args))
    print(f"site built in {display_path(paths.html)} ({summary})")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from calcheck.core.atomic import write_all
    from calcheck.outputs.export import bundle

    result = run_check(args)
    revision, dirty = None, None
    if args.rev is not None or not args.no_history:
        from calcheck.git.timeline import open_repo

        repo = open_repo(estate_path(args))
        if repo is not None and repo.has_commits():
            revision = repo.resolve(args.rev or "HEAD")
            dirty = args.rev is None and bool(repo.changed_files(repo.prefix(estate_path(args))))
    if args.to.exists() and not args.to.is_dir():
        raise UsageError(f"{args.to}: is a file; --to takes a folder")
    files = bundle(result, args.format, revision, dirty)
    args.to.mkdir(parents=True, exist_ok=True)
    write_all((args.to / name, data) for name, data in files.items())
    print(f"exported {len(files)} files to {display_path(args.to)}: " + ", ".join(files))
    return EXIT_OK
