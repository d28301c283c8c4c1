"""The site's fast paths give exactly the slow paths' answer: per-record histories gathered in one pass, and built
sites byte-identical whatever the caches hold."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from calcheck.git.history import Entry, Event
from calcheck.site.pages import record_histories
from tests.conftest import AS_OF, ROOT, site_history

Run = Callable[..., tuple[int, str, str]]
STAMPED = {"sitemap.xml", "sitemap.xml.gz"}  # MkDocs stamps these with the build's day, whatever the input


def git(project: Path, *args: str, day: int = 5) -> None:
    when = f"2026-01-{day:02d}T09:00:00+00:00"
    env = {"GIT_AUTHOR_NAME": "Dana", "GIT_AUTHOR_EMAIL": "d@x", "GIT_COMMITTER_NAME": "Dana",
           "GIT_COMMITTER_EMAIL": "d@x", "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when, "PATH": "/usr/bin:/bin",
           "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}  # fmt: skip
    subprocess.run(["git", *args], cwd=project, env=env, check=True, capture_output=True)


def edit(path: Path, old: str, new: str) -> None:
    content = path.read_text()
    assert old in content, old
    path.write_text(content.replace(old, new, 1))


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """The bundled estate and site in a git repository with a history of transfers, moves, changes and removals."""
    shutil.copytree(ROOT / "site", tmp_path / "site", ignore=shutil.ignore_patterns("_build", "screenshots"))
    shutil.copytree(ROOT / "licenses", tmp_path / "licenses")
    estate = tmp_path / "licenses"
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "Initial estate")
    sales = estate / "assignments" / "sales.yaml"
    edit(sales, "{id: A-0097, holding: EA-WS22-USER", "{id: A-0097, holding: EA-CORE-USER")
    edit(sales, "{id: A-0099, holding: EA-WS22-USER", "{id: A-0099, holding: EA-CORE-USER")
    git(tmp_path, "commit", "-q", "-am", "Move two CALs", day=6)
    git(tmp_path, "mv", "licenses/assignments/sales.yaml", "licenses/assignments/sales-emea.yaml")
    git(tmp_path, "commit", "-q", "-m", "Rename the sales register", day=7)
    hr = estate / "assignments" / "hr.yaml"
    edit(hr, "  - {id: A-0118, holding: EA-CORE-USER, person: anja.nielsen, since: 2024-09-02}\n", "")
    git(tmp_path, "commit", "-q", "-am", "Anja left", day=8)
    return tmp_path


def test_record_histories_equal_each_records_own_history(repository: Path) -> None:
    entries = site_history(repository / "licenses")
    ids = {i for e in entries for event in e.events for part in (*event.detail, event) for i in part.ids}
    assert {"A-0097", "EA-WS22-USER", "EA-CORE-USER", "A-0118"} <= ids
    found = record_histories(entries, ids)
    for record_id in sorted(ids):
        expected = [e.only(record_id) for e in entries if e.only(record_id).events]
        got = found.get(record_id, [])
        assert [(e.sha, e.title, [ev.text for ev in e.events]) for e in got] == [
            (e.sha, e.title, [ev.text for ev in e.events]) for e in expected
        ], record_id
    assert record_histories(entries, set()) == {}


def site_tree(project: Path) -> dict[str, str]:
    """Every file of the built site (its docs and its HTML) by path, as a digest; MkDocs' own stamps left out."""
    tree = {}
    for folder in ("docs", "html"):
        top = project / "site" / "_build" / folder
        for root, _, names in os.walk(top):
            for name in names:
                path = Path(root) / name
                if name not in STAMPED:
                    tree[f"{folder}/{path.relative_to(top).as_posix()}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return tree


def test_cold_warm_and_uncached_builds_are_byte_identical(
    repository: Path, run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALCHECK_CACHE_DIR", str(tmp_path / "cold-cache"))
    estate = str(repository / "licenses")
    assert run_cli("site", "build", estate, "--as-of", AS_OF)[0] == 0
    cold = site_tree(repository)
    assert "html/holdings/EA-CORE-USER.html" in cold and "html/search/search_index.json" in cold
    assert run_cli("site", "build", estate, "--as-of", AS_OF)[0] == 0
    assert site_tree(repository) == cold
    assert run_cli("site", "build", estate, "--as-of", AS_OF, "--no-cache")[0] == 0
    assert site_tree(repository) == cold
    # one new commit: the build that reuses what the caches hold equals the one that reuses nothing
    edit(
        repository / "licenses" / "assignments" / "hr.yaml",
        "A-0119, holding: EA-CORE-USER",
        "A-0119, holding: EA-WS22-USER",
    )
    git(repository, "commit", "-q", "-am", "Bruno moves to a server CAL", day=9)
    assert run_cli("site", "build", estate, "--as-of", AS_OF)[0] == 0
    warm = site_tree(repository)
    assert warm != cold
    # a tampered file cache (every entry rewritten) changes nothing either
    entries = [path for path in (tmp_path / "cold-cache").rglob("*") if path.is_file()]
    assert entries
    for path in entries:
        path.write_bytes(b'{"kind": "people", "people": []}\n' + path.read_bytes()[::-1])
    assert run_cli("site", "build", estate, "--as-of", AS_OF)[0] == 0
    assert site_tree(repository) == warm
    trend = repository / ".git" / "calcheck" / "trend.json"
    trend.write_bytes(trend.read_bytes().replace(b'"totals": [', b'"totals": [1'))  # every kept point made wrong
    assert run_cli("site", "build", estate, "--as-of", AS_OF, "--no-cache")[0] == 0
    assert site_tree(repository) == warm  # --no-cache reads none of them ...
    kept = trend.read_bytes()
    trend.unlink()
    assert run_cli("site", "build", estate, "--as-of", AS_OF, "--no-cache")[0] == 0
    assert site_tree(repository) == warm
    assert not trend.exists()  # ... and writes none
    trend.write_bytes(kept)
    shutil.rmtree(tmp_path / "cold-cache" / "results")  # (else the site, built from the same files, is not redone)
    assert run_cli("site", "build", estate, "--as-of", AS_OF)[0] == 0
    assert site_tree(repository) != warm  # while a build with caches believes them (the folder is trusted)


def test_script_data_shows_controls_as_the_escape_by_escape_rewrite_does() -> None:
    from calcheck.site import markup

    alphabet = ["a", "é", "\\", "\b", "\f", "\n", "\t", "\x00", "\x7f", "\u202e", "\u2066", "\u200f", "😀", "\ud800",
                "<", "&", '"', "\\u202e", "\u00a0", "\u061c", "\x85", "z"]  # fmt: skip
    rng = __import__("random").Random(16)
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        payload = __import__("json").dumps([text, {text: [text]}], ensure_ascii=True)
        assert markup._shown(payload) == markup._JSON_ESCAPE.sub(markup._visible, payload), repr(text)
    shown = markup.script_data("t", ["\u202eevil\x00", "Zoë"])
    assert "\\\\u202e" in shown and "\\\\x00" in shown and "Zo\\u00eb" in shown


def test_a_site_asked_again_of_the_same_pages_is_the_one_built_before_and_anything_else_is_built_anew(
    repository: Path, run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build asked again when nothing it reads has changed, and its build folder is byte for byte what the last
    build left, does nothing again; the engine does not render the pages again when the built site is the one it
    built from the same pages. A page changed in the built site or in its pages, a file added to it or a link put in
    it, another configuration, another hand-written page, an uncommitted and a committed change to the estate each
    have the site built anew, and it equals an uncached build."""
    monkeypatch.setenv("CALCHECK_CACHE_DIR", str(tmp_path / "cache"))
    estate = str(repository / "licenses")
    html, docs = repository / "site" / "_build" / "html", repository / "site" / "_build" / "docs"

    def stamp(path: Path) -> tuple[int, int]:
        found = path.stat()
        return found.st_ino, found.st_mtime_ns

    def built(*options: str) -> tuple[dict[str, str], tuple[int, int], tuple[int, int]]:
        code, out, _ = run_cli("site", "build", estate, "--as-of", AS_OF, *options)
        assert code == 0 and out.startswith("site built in ") and " holdings, " in out
        return site_tree(repository), stamp(html / "index.html"), stamp(docs / "holdings.md")

    first, made, written = built()
    assert built() == (first, made, written)  # neither written nor rendered again
    for spoil in (
        lambda: (html / "holdings.html").write_text("<p>forged</p>"),
        lambda: (html / "extra.html").write_text("<p>more</p>"),
        lambda: (html / "assets" / "link").symlink_to(repository / "licenses"),
    ):
        spoil()
        again, remade, _ = built()
        assert again == first and remade != made  # rendered anew: the pages are the same, the site was not
        assert not (html / "extra.html").exists() and not (html / "assets" / "link").is_symlink()
        made = remade
    (docs / "holdings.md").write_text("forged")
    again, remade, rewritten = built()
    assert again == first and rewritten != written and remade == made  # the page written anew is the same
    config = repository / "site" / "mkdocs.yml"
    config.write_text(config.read_text().replace("site_name: CAL compliance", "site_name: Licences"))
    renamed, made, _ = built()
    assert renamed != first and built()[:2] == (renamed, made)
    assert built("--no-cache")[0] == renamed
    guide = repository / "site" / "docs" / "guide" / "index.md"
    guide.write_text(guide.read_text() + "\nOne more line.\n")
    guided = built()[0]
    assert guided != renamed and built("--no-cache")[0] == guided
    edit(
        repository / "licenses" / "assignments" / "hr.yaml",
        "A-0119, holding: EA-CORE-USER",
        "A-0119, holding: EA-WS22-USER",
    )
    changed, remade, _ = built()
    assert changed != guided and remade != made and built("--no-cache")[0] == changed
    git(repository, "commit", "-q", "-am", "Bruno moves to a server CAL", day=9)  # the same files, one commit more
    committed = built()[0]
    assert committed != changed and built("--no-cache")[0] == committed


def test_the_trend_cache_keeps_only_the_points_a_build_can_use_again(
    repository: Path, run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a build the trend cache holds this build's points of the estate (and other estates' points), not those
    of commits the trend no longer shows nor those of another calcheck."""
    monkeypatch.setenv("CALCHECK_CACHE_DIR", str(tmp_path / "cache"))
    estate = str(repository / "licenses")
    assert run_cli("site", "build", estate, "--as-of", AS_OF)[0] == 0
    store = repository / ".git" / "calcheck" / "trend.json"
    points = json.loads(store.read_text())
    assert len(points) == 4 and all(key.endswith(":licenses") for key in points)  # the four commits
    stale = {"0.0.1:0123456789abcdef:" + "0" * 40 + ":licenses": next(iter(points.values()))}
    other = {key.replace(":licenses", ":other/licenses"): value for key, value in points.items()}
    store.write_text(json.dumps({**points, **stale, **other}))
    shutil.rmtree(tmp_path / "cache" / "results")  # (else the site, built from the same files, is not redone)
    assert run_cli("site", "build", estate, "--as-of", AS_OF)[0] == 0
    assert json.loads(store.read_text()) == {**points, **other}


@pytest.mark.parametrize("cached", [False, True], ids=["no cache", "cache"])
def test_the_sites_one_walk_gives_the_history_and_the_checks_transfers_of_two_walks(
    repository: Path, tmp_path: Path, cached: bool
) -> None:
    """The site walks the history once for its pages and its check: the entries are ``entries_at``'s and the transfers
    ``timeline_for``'s, with uncommitted changes (one a transfer), and with a commit dated after the check's day (each
    then walked on its own)."""
    import datetime as dt

    from calcheck.estate import loading
    from calcheck.estate.cache import FileCache
    from calcheck.git.timeline import entries_at, history_with_timeline, open_repo, timeline_for

    estate = repository / "licenses"
    names = loading.builtin_cal_names()
    sales = estate / "assignments" / "sales-emea.yaml"
    edit(sales, "A-0099, holding: EA-CORE-USER, person: olga.berg", "A-0099, holding: EA-CORE-USER, person: sam.lopez")
    git(repository, "commit", "-q", "-am", "Reassign a CAL", day=20)
    edit(sales, "A-0097, holding: EA-CORE-USER, person: noor.rossi", "A-0097, holding: EA-CORE-USER, person: zoe.silva")
    found = []
    for day in (dt.date(2026, 11, 30), dt.date(2026, 1, 6), dt.date(2026, 1, 19)):
        cache = FileCache(tmp_path / f"cache-{day}") if cached else None
        repo = open_repo(estate)
        assert repo is not None
        expected = (
            entries_at(repo, repo.prefix(estate), repo.resolve("HEAD"), names, cache),
            timeline_for(estate, None, day, names, cache),
        )
        for _ in range(2):  # the second time from the cache, if any
            entries, timeline = history_with_timeline(estate, day, names, cache)
            assert (_plain(entries), timeline) == (_plain(expected[0]), expected[1]), day
        found.append(len(expected[1].transfers))
        assert len(expected[0]) == 5
    assert found == [2, 2, 2]  # the committed transfer (dated the check's day when later), the uncommitted one


def _plain(entries: list[Entry]) -> list[object]:
    """Entries as values (events compare by identity)."""

    def event(e: Event) -> tuple[object, ...]:
        return (e.text, e.ids, e.group, [event(d) for d in e.detail])

    return [(e.sha, e.date, e.author, e.title, [event(x) for x in e.events]) for e in entries]
