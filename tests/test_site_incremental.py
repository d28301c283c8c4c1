"""A site built on the one before (only the pages whose Markdown changed rendered again) is byte for byte the site
MkDocs builds from nothing (``mkdocs build --strict``, as ``--no-cache`` runs it), after each kind of change."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import AS_OF
from tests.test_site_fast import edit, git, repository  # noqa: F401  (the fixture: the bundled estate in git)

Run = Callable[..., tuple[int, str, str]]


def tree(top: Path) -> dict[str, bytes]:
    """Every file below ``top``, by relative path, with its bytes (nothing left out)."""
    return {
        path.relative_to(top).as_posix(): path.read_bytes()
        for path in sorted(top.rglob("*"))
        if path.is_file() or path.is_symlink()
    }


def stamp(path: Path) -> tuple[int, int]:
    found = path.stat()
    return found.st_ino, found.st_mtime_ns


@pytest.fixture
def build(
    repository: Path,  # noqa: F811
    run_cli: Run,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[], tuple[dict[str, bytes], bool]]:
    """Build the site with the cache, then compare it with a build from nothing of the same commit; returns the
    site and whether the build rendered only some pages (a page whose Markdown did not change kept its HTML)."""
    monkeypatch.setenv("CALCHECK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764460800")  # the sitemap's day, whatever day the test runs on
    estate = str(repository / "licenses")
    site = repository / "site" / "_build"
    kept_page = site / "html" / "reference" / "data-model.html"  # no estate change touches it

    def run() -> tuple[dict[str, bytes], bool]:
        before = stamp(kept_page) if kept_page.exists() else None
        code, _, err = run_cli("site", "build", estate, "--as-of", AS_OF)
        assert code == 0, err
        built = tree(site)
        partial = before is not None and stamp(kept_page) == before
        saved = site.with_name("_built")
        shutil.copytree(site, saved)  # (the build from nothing goes where the pages are: they show the folder)
        code, _, err = run_cli("site", "build", estate, "--as-of", AS_OF, "--no-cache")
        assert code == 0, err
        assert tree(site) == built
        shutil.rmtree(site)
        saved.rename(site)  # the next build builds on the one with the cache, not on this one
        return built, partial

    return run


def test_a_site_built_on_the_last_one_is_the_site_built_from_nothing(
    repository: Path,  # noqa: F811
    build: Callable[[], tuple[dict[str, bytes], bool]],
) -> None:
    first, partial = build()
    assert not partial and "html/search/search_index.json" in first and "html/sitemap.xml.gz" in first
    estate, html = repository / "licenses", repository / "site" / "_build" / "html"
    # a commit that changes some pages' content (the holdings', the dashboard's, the history's), not the navigation
    edit(estate / "assignments" / "hr.yaml", "A-0119, holding: EA-CORE-USER", "A-0119, holding: EA-WS22-USER")
    git(repository, "commit", "-q", "-am", "Bruno moves to a server CAL", day=9)
    guide = (html / "guide" / "index.html").stat().st_mtime_ns
    source = (html.parent / "docs" / "guide" / "index.md").stat().st_mtime_ns
    changed, partial = build()
    assert partial and changed != first
    assert (html / "guide" / "index.html").stat().st_mtime_ns == guide  # kept: its Markdown did not change ...
    assert (html.parent / "docs" / "guide" / "index.md").stat().st_mtime_ns == source  # ... nor was it written
    assert changed["html/history.html"] != first["html/history.html"]
    # the search index still holds every page: those rendered again and those kept
    assert changed["html/search/search_index.json"] != first["html/search/search_index.json"]
    # (a holding's page shows the commit's event in its own history; the change history itself is a data file)
    assert b"to bruno.olsen: holding EA-CORE-USER -&gt; EA-WS22-USER" in changed["html/search/search_index.json"]
    assert b"Bruno moves to a server CAL" in changed["html/data/history.js"]
    assert (
        b"How we manage CALs" in changed["html/search/search_index.json"]
        or b"guide/index.html" in changed["html/search/search_index.json"]
    )
    # a commit that adds a page (a holding has a page of its own): other files, the whole site is built
    added, partial = _commit_and_build(
        repository, build, "Another holding", day=10, change=lambda: _add_holding(estate)
    )
    assert not partial and any(name.startswith("html/holdings/EA-NEW") for name in added)
    # and one that removes it again
    removed, partial = _commit_and_build(
        repository, build, "The holding goes", day=11, change=lambda: _remove_holding(estate)
    )
    assert not partial and not any(name.startswith("html/holdings/EA-NEW") for name in removed)
    # a page retitled (the navigation of every page shows its title): the whole site is built
    leavers = repository / "site" / "docs" / "guide" / "leavers.md"
    first_line = leavers.read_text().splitlines()[0]
    assert first_line.startswith("# ")
    edit(leavers, first_line, "# People who leave")
    retitled, partial = build()
    assert not partial and b"People who leave" in retitled["html/index.html"]
    # a page's text changed, its title not: only it is rendered again
    edit(leavers, "# People who leave", "# People who leave\n\nOne more line.")
    more, partial = build()
    assert partial and more["html/guide/leavers.html"] != retitled["html/guide/leavers.html"]
    # another configuration: the whole site is built
    config = repository / "site" / "mkdocs.yml"
    edit(config, "site_name: CAL compliance", "site_name: Licences")
    renamed, partial = build()
    assert not partial and b"Licences" in renamed["html/guide/index.html"]
    # the built site changed by hand: built whole again
    (html / "guide" / "audits.html").write_text("<p>forged</p>")
    again, partial = build()
    assert again == renamed and not partial


def _commit_and_build(
    project: Path, build: Callable[[], tuple[dict[str, bytes], bool]], title: str, day: int, change: Callable[[], None]
) -> tuple[dict[str, bytes], bool]:
    change()
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", title, day=day)
    return build()


def _add_holding(estate: Path) -> None:
    text = (estate / "holdings" / "remote-desktop.yaml").read_text()
    (estate / "holdings" / "more.yaml").write_text(text.replace("CSP-RDS22-USER", "EA-NEW-USER"))


def _remove_holding(estate: Path) -> None:
    (estate / "holdings" / "more.yaml").unlink()


def test_nothing_of_the_build_is_left_in_the_temporary_folder(tmp_path: Path) -> None:
    assert not [name for name in os.listdir(tmp_path) if name.startswith("calcheck-site-")]
