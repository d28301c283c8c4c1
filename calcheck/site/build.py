"""The one place that writes the site: generated pages next to the hand-written ones, then MkDocs (or Zensical)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from calcheck import __version__
from calcheck.core.atomic import write_text
from calcheck.core.errors import CalcheckError, UsageError
from calcheck.estate import loading, parallel
from calcheck.estate.cache import FileCache, FileMemo
from calcheck.estate.parallel import Later
from calcheck.estate.results import Results, code_digest
from calcheck.estate.schema import copies_beside, schema_dir
from calcheck.estate.sources import FileState, WorkTree
from calcheck.estate.transfers import Timeline
from calcheck.git.history import Entry
from calcheck.git.repo import GitTree
from calcheck.git.timeline import decode_history, encode_history, history_with_timeline, open_repo
from calcheck.licensing import engine
from calcheck.site import output
from calcheck.site.markup import published_proof
from calcheck.site.pages import SiteInput, TrendPoint, render_site
from calcheck.site.siteconfig import check_config

ENGINES = ("mkdocs", "zensical")
Walked = tuple[list[Entry], Timeline]  # the history's entries, the check's timeline
TREND_POINTS = 12


@dataclass(frozen=True, slots=True)
class SitePaths:
    config: Path
    handwritten: Path
    docs: Path
    html: Path

    @classmethod
    def of(cls, config: Path) -> SitePaths:
        if not config.is_file():
            raise UsageError(f"{config}: no such site configuration (give --config site/mkdocs.yml)")
        site = config.parent
        paths = cls(config, site / "docs", site / "_build" / "docs", site / "_build" / "html")
        check_config(config, paths.docs, paths.html)
        return paths


def trend(
    estate: Path, entries: list[Entry], filecache: FileCache | None = None, cached: bool = True
) -> list[TrendPoint]:
    """The position at up to TREND_POINTS commits (each computed once, then cached by commit and estate path).

    The commits are the first and every ``step``-th after it, ``step`` the least power of two that keeps them to
    TREND_POINTS (``trend_indices``): a new commit adds at most one point, and when the history outgrows the step,
    the points of the doubled step are among those already computed.
    The cache lives in the repository's git folder, where no commit can put a file: a ``trend.json`` committed
    anywhere in the work tree is never read. Not ``cached`` (``--no-cache``), every point is computed and none kept.
    """
    if not entries:
        return []
    repo = open_repo(estate)
    assert repo is not None
    prefix = repo.prefix(estate)
    chosen = [entries[index] for index in trend_indices(len(entries))]
    store = repo.private_dir() / "calcheck" / "trend.json"
    known = _read_trend(store) if cached else {}
    points = []
    kept: dict[str, object] = {}
    code = code_digest().hex()[:16]  # calcheck's code and data, the Python and the libraries (an editable install)
    for entry in chosen:
        key = f"{__version__}:{code}:{entry.sha}:{prefix}"  # one repository may hold several estates
        point = TrendPoint.from_json(str(entry.date.date()), known.get(key))
        if point is None:
            result = engine.check(GitTree(repo, entry.sha, prefix, entry.short), entry.date.date(), cache=filecache)
            point = TrendPoint.of(str(entry.date.date()), result.context.position)
        kept[key] = point.to_json()
        points.append(point)
    # The points of this estate's other commits are of no further use (the next build's are among these, or new),
    # nor are those of another version of calcheck; another estate's are kept for its own builds.
    kept.update((key, value) for key, value in known.items() if not key.endswith(f":{prefix}"))
    if cached and kept != known:
        with contextlib.suppress(OSError):  # a cache that cannot be kept (a read-only clone) only costs time
            store.parent.mkdir(exist_ok=True)
            write_text(store, json.dumps(kept, sort_keys=True))
    return points


def trend_indices(count: int) -> range:
    """Which of ``count`` commits (oldest first) the trend shows: the first and every ``step``-th after it."""
    step = 1
    while -(-count // step) > TREND_POINTS:
        step *= 2
    return range(0, count, step)


def _read_trend(store: Path) -> dict[str, object]:
    """The cached points by version and commit (each checked by ``TrendPoint.from_json`` before use)."""
    try:
        data = json.loads(store.read_bytes()) if store.is_file() and not store.is_symlink() else {}
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {key: value for key, value in data.items() if isinstance(key, str)}


def _publish_proofs(estate_dir: Path, result: engine.CheckResult) -> dict[str, Path]:
    """Proof documents to copy into the site (only when the estate's config allows it)."""
    config = result.estate.config
    if config is None or not config.publish_proofs:
        return {}
    found: dict[str, Path] = {}
    for holding in result.estate.index("holdings").values():
        for proof in holding.proofs:
            if proof.file and proof.file_state is FileState.OK:
                found[proof.file] = estate_dir / proof.file
    return found


def _history_meanwhile(estate_dir: Path, as_of: dt.date, filecache: FileCache | None) -> Later[Walked]:
    """The history's entries and the check's timeline (``history_with_timeline``, which fills the history cache as it
    walks), worked out by a forked process while this one reads and judges the estate, and sent encoded
    (``encode_history``): the answer is the same (see ``calcheck.estate.parallel.later``)."""
    names = loading.builtin_cal_names()

    def walk() -> Walked:
        return history_with_timeline(estate_dir, as_of, names, filecache)

    return parallel.later(walk, lambda: encode_history(walk()), decode_history)


def generate(
    estate_dir: Path,
    paths: SitePaths,
    as_of: dt.date,
    filecache: FileCache | None = None,
    fresh: bool = True,
    cached: bool = True,
) -> engine.CheckResult:
    """Write every page of the site into the build folder; returns the check the pages show.

    ``filecache`` is the loaded-file cache the checks may use (see ``calcheck.estate.cache``); ``fresh``: remove
    the build folder first and create it anew (``serve`` keeps it between regenerations), all but a built site of
    real files when ``cached`` (``build_html`` keeps it only if it is exactly the one it built from the same pages);
    ``cached``: the trend's points may be read from and kept in the trend cache (see ``trend``).
    """
    if fresh:
        kept = (paths.html.name, paths.docs.name) if cached and paths.html.parent == paths.docs.parent else ()
        output.fresh(paths.docs.parent, keep=kept)
    output.real_folders(paths.config.parent, paths.docs)
    walk = _history_meanwhile(estate_dir, as_of, filecache)
    memo = FileMemo.over(filecache)  # the trend's checks read again only the files that changed in between
    try:
        try:
            result = engine.check(WorkTree(estate_dir), as_of, lambda: walk.result()[1], memo)
        except Exception:
            walk.result()  # the walk's own error, if it has one, is the one said first (it came first before)
            raise
        entries = walk.result()[0]
    finally:
        walk.cancel()  # (interrupted before the history was taken)
    proofs = _publish_proofs(estate_dir, result)
    published = {name: published_proof(name) for name in proofs}
    now = TrendPoint.of(f"{as_of}", result.context.position)
    points = [*trend(estate_dir, entries, memo, cached=cached), now]
    repo_url = result.estate.config.repository_url if result.estate.config else None
    data = SiteInput(result, entries, points, repo_url, published)
    files: dict[str, str | bytes] = dict(render_site(data))
    for relative, content in output.regular_files(paths.handwritten).items():
        files.setdefault(relative, content)
    assets = resources.files("calcheck").joinpath("site/assets")
    for name in ("calcheck.js", "calcheck.css", "iframe-worker.js"):
        files[f"assets/{name}"] = assets.joinpath(name).read_bytes()
    for schema in sorted(schema_dir().glob("*.schema.json")):
        files[f"schemas/{schema.name}"] = schema.read_bytes()
    for name, source in proofs.items():
        files[published[name]] = source.read_bytes()
    output.sync(paths.docs, files)
    return result


def engine_command(name: str, paths: SitePaths, serve: bool = False, address: str = "127.0.0.1:8000") -> list[str]:
    if name == "mkdocs":
        verb = ["serve", "--dev-addr", address] if serve else ["build", "--strict"]
        # -P: the working directory is not put on the module path, so a folder named mkdocs there is not imported
        return [sys.executable, "-P", "-m", "mkdocs", *verb, "--config-file", str(paths.config)]
    if name == "zensical":
        executable = _zensical()
        verb = ["serve", "--dev-addr", address] if serve else ["build", "--clean"]
        return [executable, *verb, "--config-file", str(paths.config)]
    raise UsageError(f"unknown site engine {name!r}; use one of: {', '.join(ENGINES)}")


def _zensical() -> str:
    """Zensical beside this Python, else on the absolute entries of PATH (never one relative to the working folder)."""
    own = Path(sys.executable).with_name("zensical")
    if own.is_file():
        return str(own)
    absolute = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if os.path.isabs(p))
    return shutil.which("zensical", path=absolute) or str(own)


def require_engine(name: str) -> None:
    """Stop with one line naming what to install when the site engine is missing (the lean install has none)."""
    if name == "mkdocs" and not (_importable("mkdocs") and _importable("material")):
        raise CalcheckError("MkDocs with Material for MkDocs is not installed: pip install 'calcheck[site]'")
    if name == "zensical" and not (shutil.which("zensical") or Path(sys.executable).with_name("zensical").exists()):
        raise CalcheckError("Zensical is not installed: pip install zensical")


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a module blocked in sys.modules, or a broken one
        return False


def build_html(name: str, paths: SitePaths, results: Results | None) -> bool:
    """Build the HTML with the engine, unless the built site is byte for byte the one the engine built last time
    from the same input (``engine_inputs``), as kept in ``results``; True when the engine ran.

    The engine renders every page (some seconds for a large estate) even when none changed: a build asked again of
    the same estate is then one check. Nothing a repository holds can make a site count as built: what the engine
    built is recorded, as a digest of every file, in calcheck's own cache folder. With MkDocs and the cache, the
    site in the build folder is built on when it is byte for byte the one recorded with its pages (``pages_inputs``):
    only the pages whose Markdown changed are rendered again (see ``calcheck.site.engine_run``).
    """
    key = Results.key("site-html", engine_inputs(name, paths)) if results is not None else None
    found = output.tree_digest(paths.html) if results is not None else None
    if results is not None and key is not None:
        kept = results.get(key)
        if kept is not None and kept == found:
            return False
    pages_key = Results.key("site-pages", pages_inputs(name, paths)) if results is not None else None
    previous = _kept_pages(results.get(pages_key), found) if results is not None and pages_key else None
    if previous is None and (paths.html.exists() or paths.html.is_symlink()):
        output.fresh(paths.html)  # (what the engine does not clean away itself is never read)
    if name == "mkdocs" and results is not None:
        record = run_mkdocs(paths, previous)
    else:
        run_engine(name, paths)
        record = None
    built = output.tree_digest(paths.html) if results is not None else None
    if results is not None and key is not None and built is not None:
        results.put(key, built)
        if pages_key is not None and record is not None:
            results.put(pages_key, json.dumps({"html": built, "record": record}))
    return True


def _kept_pages(text: str | None, html: str | None) -> str | None:
    """The record of the pages MkDocs built last time, when the built site is still exactly what that build left."""
    try:
        kept = json.loads(text) if text is not None and html is not None else None
    except ValueError:
        return None
    if not isinstance(kept, dict) or kept.get("html") != html or not isinstance(kept.get("record"), str):
        return None
    record: str = kept["record"]
    return record


def run_mkdocs(paths: SitePaths, previous: str | None) -> str | None:
    """Build with MkDocs as ``mkdocs build --strict`` does, rendering only the pages that changed since the build
    ``previous`` records (``calcheck.site.engine_run``); returns this build's record (None: none was written)."""
    require_engine("mkdocs")
    runner = Path(__file__).with_name("engine_run.py")
    with tempfile.TemporaryDirectory(prefix="calcheck-site-") as scratch:
        out, into = Path(scratch) / "record.json", Path(scratch) / "previous.json"
        # -P: neither the working folder nor the runner's own folder is put on the module path
        command = [sys.executable, "-P", str(runner), str(paths.config), str(out)]
        if previous is not None:
            into.write_text(previous, encoding="utf-8")
            command.append(str(into))
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise CalcheckError(f"mkdocs build failed:\n{done.stderr.strip() or done.stdout.strip()}")
        try:
            return out.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None


def engine_inputs(name: str, paths: SitePaths) -> list[str]:
    """What the engine's build depends on: the engine and what it runs with (``_engine``), the configuration, and
    every file of the pages folder. The configuration may name no program and no environment variable
    (``siteconfig``), so nothing else reaches the engine."""
    return [*pages_inputs(name, paths), output.tree_digest(paths.docs) or "no pages"]


def pages_inputs(name: str, paths: SitePaths) -> list[str]:
    """What every page's HTML depends on beyond the pages themselves: the engine (``_engine``: its packages, the
    Python, the day), the configuration, and where the pages are read and the site written."""
    return [
        *_engine(name),
        str(paths.config.resolve()),
        hashlib.sha256(paths.config.read_bytes()).hexdigest(),
        str(paths.docs.resolve()),
        str(paths.html.resolve()),
    ]


def _engine(name: str) -> list[str]:
    """The engine, the packages installed beside calcheck (the engine, its theme and extensions), the Python that
    runs them, and the day (MkDocs stamps its sitemap with it, or with ``SOURCE_DATE_EPOCH``)."""
    installed = sorted(
        f"{folder}/{entry}"
        for folder in sys.path
        if os.path.isdir(folder)
        for entry in os.listdir(folder)
        if entry.endswith((".dist-info", ".egg-info", ".egg-link", ".pth"))
    )
    program = []
    if name == "zensical":  # a program of its own: named by where it is and its size and time
        with contextlib.suppress(OSError):
            found = os.stat(_zensical())
            program = [_zensical(), f"{found.st_size} {found.st_mtime_ns}"]
    day = dt.datetime.now(dt.UTC).date().isoformat()
    return [name, *program, sys.version, sys.executable, *installed, day, os.environ.get("SOURCE_DATE_EPOCH", "")]


def build_site(
    estate_dir: Path, paths: SitePaths, as_of: dt.date, engine_name: str, filecache: FileCache | None
) -> str:
    """Write the pages and build the HTML (``generate``, ``build_html``); returns what the site shows in one line.

    When nothing the site is built from has changed since calcheck last built it (``site_inputs``), and the build
    folder is byte for byte what that build left, nothing is worked out again: a build asked again is a no-op
    (recorded, as a digest of every file it left, in calcheck's own cache folder; not with ``--no-cache``).
    """
    results = Results.beside(filecache)
    inputs = site_inputs(estate_dir, paths, as_of, engine_name) if results is not None else None
    key = Results.key("site", inputs) if inputs is not None else None
    if results is not None and key is not None:
        kept = _kept(results.get(key), paths)
        if kept is not None:
            return kept
    result = generate(estate_dir, paths, as_of, filecache, cached=filecache is not None)
    build_html(engine_name, paths, results)
    position = result.context.position
    summary = (
        f"{len(result.estate.index('holdings'))} holdings, {len(result.estate.index('people'))} people, "
        f"shortfall {position.total('shortfall')} as of {position.as_of}"
    )
    built = output.tree_digest(paths.docs.parent)
    again = site_inputs(estate_dir, paths, as_of, engine_name) if key is not None else None
    if results is not None and key is not None and built is not None and again == inputs:  # (nothing read changed)
        results.put(key, json.dumps({"build": built, "summary": summary}))
    return summary


def _kept(text: str | None, paths: SitePaths) -> str | None:
    """The summary of the build ``text`` records, when the build folder is still exactly what it left."""
    try:
        record = json.loads(text) if text is not None else None
    except ValueError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("summary"), str):
        return None
    if record.get("build") != output.tree_digest(paths.docs.parent):
        return None
    summary: str = record["summary"]
    return summary


def site_inputs(estate_dir: Path, paths: SitePaths, as_of: dt.date, engine_name: str) -> list[str] | None:
    """Everything a site build reads: the date, the working folder (paths are shown from it), every file of the
    estate, of the schemas beside it and of the site folder (its build folder aside), what git holds of the work
    tree (HEAD, which fixes the history and the trend, and the files it takes for changed; see
    ``revisions_read``) and the engine (``_engine``). None when git cannot say."""
    from calcheck.estate.results import folder_digest
    from calcheck.git.timeline import revisions_read

    try:
        git = revisions_read(estate_dir, [None])
        named = [Path(os.path.abspath(estate_dir)), estate_dir.resolve()]  # for git (the history), for the check
        copies = copies_beside(estate_dir)
    except (CalcheckError, OSError, RuntimeError):  # (RuntimeError: a link loop, before Python 3.13)
        return None
    site = paths.config.parent
    files = [folder_digest(folder) for folder in dict.fromkeys(named)]
    files += [folder_digest(copies), folder_digest(site, frozenset({"_build"}))]
    place = [
        os.getcwd(),
        str(estate_dir),
        os.path.abspath(estate_dir),
        str(paths.config.resolve()),
        os.environ.get("TZ", ""),
    ]
    return [as_of.isoformat(), *place, *files, *git, *_engine(engine_name)]


def run_engine(name: str, paths: SitePaths) -> None:
    """Build the HTML with MkDocs or Zensical; their output goes to stderr, failures stop calcheck."""
    command = engine_command(name, paths)
    require_engine(name)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise CalcheckError(f"{name} build failed:\n{done.stderr.strip() or done.stdout.strip()}")


def serve(
    estate_dir: Path,
    paths: SitePaths,
    as_of: dt.date | None,
    engine_name: str,
    address: str,
    filecache: FileCache | None = None,
) -> None:
    """Preview the site: the engine serves and live-reloads; calcheck regenerates pages when the YAML changes.

    The engine's temporary build folder lives in a folder of calcheck's own, removed however the server stops.
    ``filecache``: the loaded-file cache (None: ``--no-cache``, which also computes every trend point again).
    """
    cached = filecache is not None
    command = engine_command(engine_name, paths, serve=True, address=address)
    require_engine(engine_name)
    require_free(address)
    generate(estate_dir, paths, as_of or dt.date.today(), filecache, cached=cached)
    signal.signal(signal.SIGTERM, _interrupt)  # stop the server too when calcheck is asked to stop
    with tempfile.TemporaryDirectory(prefix="calcheck-serve-") as scratch:
        process = subprocess.Popen(command, env={**os.environ, "TMPDIR": scratch})
        seen = _stamp(estate_dir, paths.handwritten)
        try:
            while process.poll() is None:
                time.sleep(1.0)
                now = _stamp(estate_dir, paths.handwritten)
                if now != seen:
                    seen = now
                    generate(estate_dir, paths, as_of or dt.date.today(), filecache, fresh=False, cached=cached)
        finally:
            _stop(process)
    if process.returncode != 0:
        raise CalcheckError(f"{engine_name} serve stopped with exit code {process.returncode}")


def require_free(address: str) -> None:
    """Refuse at once, in one line, an address that cannot be served on (the port taken, the host not ours)."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or int(port) > 65535:
        raise UsageError(f"--dev-addr {address!r}: expected HOST:PORT, e.g. 127.0.0.1:8000")
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do: TIME_WAIT is no obstacle
        try:
            probe.bind((host, int(port)))
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise UsageError(f"cannot serve on {address}: {reason}; choose another with --dev-addr HOST:PORT") from None


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Ask the server to stop as Ctrl-C does (it cleans up), then insist."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None:
            return
        process.send_signal(signum)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            continue


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _stamp(*folders: Path) -> tuple[tuple[str, float], ...]:
    return tuple(
        (str(p), p.stat().st_mtime)
        for folder in folders
        if folder.is_dir()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    )
