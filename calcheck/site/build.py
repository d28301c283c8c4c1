"""The one place that writes the site: generated pages next to the hand-written ones, then MkDocs (or Zensical)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from calcheck import __version__
from calcheck.core.errors import CalcheckError, UsageError
from calcheck.estate import loading
from calcheck.estate.schema import schema_dir
from calcheck.estate.sources import FileState, WorkTree
from calcheck.git.history import Entry
from calcheck.git.repo import GitTree
from calcheck.git.timeline import builder_at, open_repo, timeline_for
from calcheck.licensing import engine
from calcheck.site.markup import published_proof
from calcheck.site.pages import SiteInput, TrendPoint, render_site

ENGINES = ("mkdocs", "zensical")
TREND_POINTS = 12


@dataclass(frozen=True, slots=True)
class SitePaths:
    config: Path
    handwritten: Path
    docs: Path
    html: Path
    cache: Path

    @classmethod
    def of(cls, config: Path) -> SitePaths:
        if not config.is_file():
            raise UsageError(f"{config}: no such site configuration (give --config site/mkdocs.yml)")
        site = config.parent
        return cls(config, site / "docs", site / "_build" / "docs", site / "_build" / "html", site / "_build" / "cache")


def _history(estate: Path) -> list[Entry]:
    """The estate's history, when it is in a git repository with its full history."""
    repo = open_repo(estate)
    if repo is None or not repo.has_commits() or repo.is_shallow():
        return []
    return builder_at(repo, repo.prefix(estate), repo.resolve("HEAD"), loading.builtin_cal_names()).history.entries


def trend(estate: Path, entries: list[Entry], cache: Path) -> list[TrendPoint]:
    """The position at up to TREND_POINTS commits (each computed once, then cached by commit)."""
    if not entries:
        return []
    repo = open_repo(estate)
    assert repo is not None
    prefix = repo.prefix(estate)
    step = max(1, len(entries) // TREND_POINTS)
    chosen = entries[::-1][::step][:TREND_POINTS][::-1]
    cache.mkdir(parents=True, exist_ok=True)
    store = cache / "trend.json"
    known: dict[str, object] = json.loads(store.read_text()) if store.is_file() else {}
    points = []
    for entry in chosen:
        key = f"{__version__}:{entry.sha}"
        point = TrendPoint.from_json(str(entry.date.date()), known.get(key))
        if point is None:
            result = engine.check(GitTree(repo, entry.sha, prefix, entry.short), entry.date.date())
            point = TrendPoint.of(str(entry.date.date()), result.context.position)
            known[key] = point.to_json()
        points.append(point)
    store.write_text(json.dumps(known, sort_keys=True))
    return points


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


def _write(path: Path, content: str | bytes) -> None:
    """Write only when the content changed, so a live-reloading server sees real changes only."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def generate(estate_dir: Path, paths: SitePaths, as_of: dt.date) -> engine.CheckResult:
    """Write every page of the site into the build folder; returns the check the pages show."""
    entries = _history(estate_dir)
    timeline = timeline_for(estate_dir, None, as_of, loading.builtin_cal_names())
    result = engine.check(WorkTree(estate_dir), as_of, timeline)
    proofs = _publish_proofs(estate_dir, result)
    published = {name: published_proof(name) for name in proofs}
    now = TrendPoint.of(f"{as_of}", result.context.position)
    points = [*trend(estate_dir, entries, paths.cache), now]
    repo_url = result.estate.config.repository_url if result.estate.config else None
    data = SiteInput(result, entries, points, repo_url, published)
    files: dict[str, str | bytes] = dict(render_site(data))
    if paths.handwritten.is_dir():
        for page in sorted(paths.handwritten.rglob("*")):
            if page.is_file() and not page.is_symlink():
                files.setdefault(page.relative_to(paths.handwritten).as_posix(), page.read_bytes())
    assets = resources.files("calcheck").joinpath("site/assets")
    for name in ("calcheck.js", "calcheck.css", "iframe-worker.js"):
        files[f"assets/{name}"] = assets.joinpath(name).read_bytes()
    for schema in sorted(schema_dir().glob("*.schema.json")):
        files[f"schemas/{schema.name}"] = schema.read_bytes()
    for name, source in proofs.items():
        files[published[name]] = source.read_bytes()
    _sync(paths.docs, files)
    return result


def _sync(folder: Path, files: dict[str, str | bytes]) -> None:
    """Make ``folder`` hold exactly ``files``."""
    folder.mkdir(parents=True, exist_ok=True)
    for existing in sorted(folder.rglob("*"), reverse=True):
        relative = existing.relative_to(folder).as_posix()
        if existing.is_file() and relative not in files:
            existing.unlink()
        elif existing.is_dir() and not any(existing.iterdir()):
            existing.rmdir()
    for relative, content in files.items():
        _write(folder / relative, content)


def engine_command(name: str, paths: SitePaths, serve: bool = False, address: str = "127.0.0.1:8000") -> list[str]:
    if name == "mkdocs":
        verb = ["serve", "--dev-addr", address] if serve else ["build", "--strict"]
        return [sys.executable, "-m", "mkdocs", *verb, "--config-file", str(paths.config)]
    if name == "zensical":
        executable = shutil.which("zensical") or str(Path(sys.executable).with_name("zensical"))
        verb = ["serve", "--dev-addr", address] if serve else ["build", "--clean"]
        return [executable, *verb, "--config-file", str(paths.config)]
    raise UsageError(f"unknown site engine {name!r}; use one of: {', '.join(ENGINES)}")


def run_engine(name: str, paths: SitePaths) -> None:
    """Build the HTML with MkDocs or Zensical; their output goes to stderr, failures stop calcheck."""
    command = engine_command(name, paths)
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise CalcheckError(f"{name} is not installed: pip install 'calcheck[site]'") from None
    if done.returncode != 0:
        raise CalcheckError(f"{name} build failed:\n{done.stderr.strip() or done.stdout.strip()}")


def serve(estate_dir: Path, paths: SitePaths, as_of: dt.date | None, engine_name: str, address: str) -> None:
    """Preview the site: the engine serves and live-reloads; calcheck regenerates pages when the YAML changes."""
    generate(estate_dir, paths, as_of or dt.date.today())
    process = subprocess.Popen(engine_command(engine_name, paths, serve=True, address=address))
    seen = _stamp(estate_dir, paths.handwritten)
    signal.signal(signal.SIGTERM, _interrupt)  # stop the server too when calcheck is asked to stop
    try:
        while process.poll() is None:
            time.sleep(1.0)
            now = _stamp(estate_dir, paths.handwritten)
            if now != seen:
                seen = now
                generate(estate_dir, paths, as_of or dt.date.today())
    finally:
        process.terminate()
        process.wait(timeout=10)


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
