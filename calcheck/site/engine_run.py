"""MkDocs run by calcheck: the build of ``mkdocs build --strict``, and a record of each page that lets the next build
render only the pages whose Markdown changed.

    python -P calcheck/site/engine_run.py CONFIG RECORD_OUT [RECORD_IN]

(run by its path: it imports MkDocs and the standard library only, never calcheck)

Without ``RECORD_IN`` this is MkDocs' own build (``mkdocs.commands.build.build``), watched by a plugin that changes
nothing: it notes each page's source digest, title, anchors, links to other pages' anchors and search entries. With
``RECORD_IN`` (the record of the build whose output is still in the site folder, byte for byte: calcheck checks that
first) a page whose Markdown is byte for byte the one recorded is not rendered again, its HTML kept, while every
page that changed is rendered, the site-wide files (the theme's templates such as the sitemap, unless a kept page
has the last word at their path, and the search index with every page's entries, kept or new, in the pages' order)
are written anew and a static file is copied again unless its source is the one copied last time. What a page's HTML
depends on beyond its Markdown is the same for every page: the configuration, the theme, the engine's versions and
the day (the caller's key for the record), the set of files, and the navigation, that is every page's title and
metadata in their order. When the files or the navigation differ from the record (a page added, removed or retitled),
when MkDocs is not 1.6 or a plugin other than Material's ``search`` and ``offline`` is configured, the site is built
whole instead, as without a record. ``tests/test_site_incremental.py`` holds the result byte for byte equal to a
whole build from nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from pathlib import Path
from typing import Any

FORMAT = "calcheck-site-pages/1"
# The plugins whose effect on a page is the page's own (they index it, or inline the index after the build).
PLUGINS = frozenset({"material.plugins.search.plugin.SearchPlugin", "material.plugins.offline.plugin.OfflinePlugin"})


def main(argv: list[str]) -> int:
    """Build the site of ``argv[0]`` (a MkDocs configuration), write its record to ``argv[1]``; with ``argv[2]``, the
    record of the build in the site folder, render only what changed. 0 when built, 1 when MkDocs stopped."""
    config_file, record_out = argv[0], Path(argv[1])
    previous = _read(Path(argv[2])) if len(argv) > 2 else None
    _logging()
    done = _run(config_file, record_out, previous) if previous is not None else None
    if done is None:
        done = _run(config_file, record_out, None)
    return 1 if done is None else done


def _run(config_file: str, record_out: Path, previous: dict[str, Any] | None) -> int | None:
    """One build (the whole site without ``previous``); None when ``previous`` cannot be built on (nothing written)."""
    import mkdocs
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort

    config = load_config(config_file=config_file, strict=True)
    recorder = Recorder()
    config.plugins["calcheck-recorder"] = recorder  # type: ignore[assignment]
    config.plugins.on_startup(command="build", dirty=False)
    try:
        if previous is None:
            build(config)
        elif not _may_reuse(config, mkdocs.__version__) or not incremental(config, recorder, previous):
            return None
    except Abort as stop:
        print(str(stop), file=sys.stderr)
        return 1
    finally:
        config.plugins.on_shutdown()
    record_out.write_text(json.dumps(recorder.record(), ensure_ascii=False, default=str), encoding="utf-8")
    return 0


def _logging() -> None:
    """As ``mkdocs build`` logs: its messages, INFO and above, on stderr."""
    logger = logging.getLogger("mkdocs")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    stream = logging.StreamHandler()
    stream.setFormatter(logging.Formatter("%(levelname)-7s -  %(message)s"))
    logger.addHandler(stream)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    if not isinstance(data.get("files"), list) or not isinstance(data.get("pages"), list):
        return None
    return data


def _may_reuse(config: Any, version: str) -> bool:
    """Only MkDocs 1.6 (whose build this module follows step by step) with no plugin but those in PLUGINS."""
    if not version.startswith("1.6."):
        return False
    named = {
        f"{type(p).__module__}.{type(p).__qualname__}" for p in config.plugins.values() if not isinstance(p, Recorder)
    }
    return named <= PLUGINS


def _search(config: Any) -> Any:
    """Material's search plugin, if configured (its index is what the search box reads)."""
    for plugin in config.plugins.values():
        if f"{type(plugin).__module__}.{type(plugin).__qualname__}" in PLUGINS and hasattr(plugin, "search_index"):
            return plugin
    return None


def _digest(file: Any) -> str:
    return hashlib.sha256(file.content_bytes).hexdigest()


class Recorder:
    """A plugin that changes nothing: it records each page as MkDocs built it, and the files of the site."""

    def __init__(self) -> None:
        self.pages: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        self.files: list[str] = []
        self.static: list[Any] = []  # the files copied as they are
        self.search: Any = None
        self.seen = 0

    # MkDocs' plugin interface (duck-typed: a BasePlugin's configuration is not needed)
    config: dict[str, Any] = {}  # noqa: RUF012

    def on_files(self, files: Any, *, config: Any) -> Any:
        self.files = sorted(f"{f.src_uri}\0{f.dest_uri}" for f in files)
        self.static = [f for f in files if not f.is_documentation_page()]
        self.search = _search(config)
        return files

    def on_nav(self, nav: Any, *, config: Any, files: Any) -> Any:
        self.order = [f.src_uri for f in files.documentation_pages()]
        return nav

    def on_page_context(self, context: Any, *, page: Any, config: Any, nav: Any) -> Any:
        self.pages[page.file.src_uri] = {**describe(page), "search": self._new_entries()}
        return context

    on_page_context.mkdocs_priority = -100  # type: ignore[attr-defined]  # after search has indexed the page

    def _new_entries(self) -> list[Any]:
        if self.search is None:
            return []
        entries = self.search.search_index.entries
        new = entries[self.seen :]
        self.seen = len(entries)
        return list(new)

    def kept(self, src: str, page: dict[str, Any]) -> None:
        """A page not rendered again: its record, and its search entries put where the build would put them."""
        if self.search is not None:
            self.search.search_index.entries.extend(page["search"])
            self.seen = len(self.search.search_index.entries)
        self.pages[src] = page

    def record(self) -> dict[str, Any]:
        pages = [{"src": src, **self.pages[src]} for src in self.order if src in self.pages]
        static = {file.dest_uri: _digest(file) for file in self.static}
        return {"format": FORMAT, "files": self.files, "static": static, "pages": pages}


def describe(page: Any) -> dict[str, Any]:
    """What the build of other pages and of the site reads from ``page``, with its source's digest."""
    links = page.links_to_anchors
    return {
        "digest": _digest(page.file),
        "title": page.title,
        "render_title": page._title_from_render,
        "meta": json.dumps(page.meta, sort_keys=True, default=repr),
        "anchors": sorted(page.present_anchor_ids) if page.present_anchor_ids is not None else None,
        "links": {f.src_uri: dict(anchors) for f, anchors in links.items()} if links is not None else None,
    }


def incremental(config: Any, recorder: Recorder, previous: dict[str, Any]) -> bool:
    """MkDocs 1.6's ``build`` step by step, rendering only the pages that changed; False (nothing written) when the
    files or the navigation are not those of ``previous``."""
    from mkdocs import utils
    from mkdocs.commands import build as steps
    from mkdocs.exceptions import Abort, BuildError
    from mkdocs.structure.files import InclusionLevel, get_files, set_exclusions
    from mkdocs.structure.nav import get_navigation
    from mkdocs.structure.pages import Page

    logger = logging.getLogger("mkdocs")
    warning_counter = utils.CountHandler()
    warning_counter.setLevel(logging.WARNING)
    logger.addHandler(warning_counter)
    inclusion = InclusionLevel.is_included
    kept = {page["src"]: page for page in previous["pages"] if isinstance(page, dict) and "src" in page}
    try:
        config = config.plugins.on_config(config)
        config.plugins.on_pre_build(config=config)
        files = get_files(config)
        env = config.theme.get_env()
        files.add_files_from_theme(env, config)
        files = config.plugins.on_files(files, config=config)
        set_exclusions(files, config)
        nav = get_navigation(files, config)
        nav = config.plugins.on_nav(nav, config=config, files=files)
        if recorder.files != previous["files"]:
            return False
        reused: dict[str, dict[str, Any]] = {}
        for file in files.documentation_pages(inclusion=inclusion):
            if file.page is None and file.inclusion.is_not_in_nav():
                Page(None, file, config)
            assert file.page is not None
            before = kept.get(file.src_uri)
            if (
                before is not None
                and before.get("digest") == _digest(file)
                and _restore(file.page, before, config, files)
            ):
                reused[file.src_uri] = before
            else:
                steps._populate_page(file.page, config, files)
        if not _same_navigation(files.documentation_pages(inclusion=inclusion), kept):
            return False
        env = config.plugins.on_env(env, config=config, files=files)
        doc_files = files.documentation_pages(inclusion=inclusion)
        # A page is written after the static files and templates, over any of the same name (the site's own 404
        # page over the theme's): where a kept page has the last word, they are not written either.
        last = {file.dest_uri for file in doc_files if file.src_uri in reused}
        _copy_static(files, inclusion, last, previous.get("static"))
        for template in config.theme.static_templates:
            if template not in last:
                steps._build_theme_template(template, env, files, config, nav)
        for template in config.extra_templates:
            if template not in last:
                steps._build_extra_template(template, files, config, nav)
        for file in doc_files:
            assert file.page is not None
            if file.src_uri in reused:
                recorder.kept(file.src_uri, reused[file.src_uri])
            else:
                steps._build_page(file.page, config, doc_files, nav, env, excluded=file.inclusion.is_excluded())
        log_level = config.validation.links.anchors
        for file in doc_files:
            assert file.page is not None
            file.page.validate_anchor_links(files=files, log_level=log_level)
        config.plugins.on_post_build(config=config)
        if counts := warning_counter.get_counts():
            raise Abort(f"Aborted with {', '.join(f'{v} {k.lower()}s' for k, v in counts)} in strict mode!")
    except Exception as e:
        config.plugins.on_build_error(error=e)
        if isinstance(e, BuildError):
            logger.error(str(e))
            raise Abort("Aborted with a BuildError!") from e
        raise
    finally:
        logger.removeHandler(warning_counter)
    return True


def _copy_static(files: Any, inclusion: Any, last: set[str], copied: object) -> None:
    """Copy the static files, as MkDocs does, but those a kept page writes over and those whose source is the one
    copied last time (the site, checked byte for byte, holds what the copy would give)."""
    before: dict[str, Any] = copied if isinstance(copied, dict) else {}
    for file in files:
        if file.is_documentation_page() or not inclusion(file.inclusion) or file.dest_uri in last:
            continue
        if before.get(file.dest_uri) != _digest(file):
            file.copy_file()


def _restore(page: Any, before: dict[str, Any], config: Any, files: Any) -> bool:
    """Give a page not rendered again what other pages read of it (its source read as MkDocs reads it, its recorded
    title, anchors and links); False when the record does not fit."""
    anchors, links = before.get("anchors"), before.get("links")
    page.read_source(config)
    page._title_from_render = before.get("render_title")
    page.content = ""  # rendered once (the title is then never guessed from the Markdown)
    page.present_anchor_ids = set(anchors) if isinstance(anchors, list) else None
    if isinstance(links, dict):
        targets = {src: files.get_file_from_path(src) for src in links}
        if any(target is None for target in targets.values()):
            return False
        page.links_to_anchors = {targets[src]: dict(value) for src, value in links.items()}
    else:
        page.links_to_anchors = None
    return bool(page.title == before.get("title"))


def _same_navigation(doc_files: Any, kept: dict[str, dict[str, Any]]) -> bool:
    """Every page's title and metadata, in order, as recorded: the navigation every page shows is the same."""
    now = [(f.src_uri, f.page.title, json.dumps(f.page.meta, sort_keys=True, default=repr)) for f in doc_files]
    before = [(src, page.get("title"), page.get("meta")) for src, page in kept.items()]
    return now == before


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
