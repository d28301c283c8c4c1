"""The site's history, walked by a forked process while the estate is read and judged, comes back exactly as walked.

What the process sends (``encode_history``: the entries as the history cache encodes them, the timeline as a forked
check's walk sends it) decodes to exactly what it walked, on generated histories and on hostile ones (Unicode, bidi
controls, bytes that are not UTF-8, huge subjects, merges, renames, several time zones); what does not decode
exactly is refused; and the site's pages are the same whether the walk is forked, done here (``CALCHECK_JOBS=1``),
or forked and lost (a process that dies or sends garbage), with and without the cache.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import random
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from calcheck.estate import loading
from calcheck.estate.cache import FileCache
from calcheck.estate.transfers import Reuse, Timeline, Transfer
from calcheck.git.history import Entry, Event
from calcheck.git.timeline import decode_history, encode_history, history_with_timeline
from calcheck.site import build
from tests.conftest import AS_OF, ROOT
from tests.test_site_one_walk import make_history

NAMES = loading.builtin_cal_names()
DAY = dt.date.fromisoformat(AS_OF)
BIDI = "\u202etxt.exe\u202c \u2066isolated\u2069 \u200f\u200e"
HOSTILE_TEXTS = [
    "Ünïcödé café — 東京 🎉 e\u0301",
    BIDI,
    "line\u2028separator\u2029paragraph\x85next",
    "<script>alert(1)</script> | *bold* [link](javascript:x) `tick`",
    "tab\there\x1b[31mred\x1b[0m",
    "S" * 70_000,  # a huge subject
]
Plain = tuple[str, str, str, str, list[object]]


def plain(entries: list[Entry]) -> list[Plain]:
    """Entries as values, every field as written: the date with its own offset (``==`` on dates compares instants),
    each event's text, ids, group and details (events compare by identity)."""

    def event(e: Event) -> tuple[object, ...]:
        return (e.text, e.ids, e.group, [event(d) for d in e.detail])

    return [(e.sha, e.date.isoformat(), e.author, e.title, [event(x) for x in e.events]) for e in entries]


def same_after_transfer(found: tuple[list[Entry], Timeline]) -> bytes:
    """The encoded history, having checked that it decodes to exactly ``found``."""
    body = encode_history(found)
    assert body is not None
    back = decode_history(body)
    assert back is not None
    assert encode_history(back) == body  # and again, byte for byte (before ``plain`` gathers any ids)
    assert plain(back[0]) == plain(found[0])
    assert back[1] == found[1]
    return body


def git(root: Path, *args: str, date: str = "2026-01-05T09:00:00+00:00", author: str = "Dana") -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(root.parent), "TZ": "UTC",
           "GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": "d@x", "GIT_COMMITTER_NAME": "Dana",
           "GIT_COMMITTER_EMAIL": "d@x", "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date,
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}  # fmt: skip
    done = subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr


def hostile_history(seed: int, root: Path) -> Path:
    """A repository whose commits, authors and records carry hostile text: a real estate (the bundled one), then
    commits that rename files, move and remove CALs, add people named in hostile text, and merge branches, with
    messages in several encodings and time zones; returns the estate."""
    rng = random.Random(seed)
    shutil.copytree(ROOT / "licenses", root / "licenses")
    estate = root / "licenses"
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", f"Initial estate {HOSTILE_TEXTS[seed % len(HOSTILE_TEXTS)]}")
    people = estate / "people" / "hostile.yaml"
    rows: list[str] = []
    day = dt.date(2026, 1, 6)
    for number in range(rng.randint(4, 8)):
        text = rng.choice(HOSTILE_TEXTS)
        action = rng.choice(["people", "rename", "remove", "merge", "people"])
        if action == "rename":
            found = sorted((estate / "assignments").glob("*.yaml"))
            source = rng.choice(found)
            git(root, "mv", str(source.relative_to(root)), f"licenses/assignments/r{number}-{source.name}")
        elif action == "remove":
            found = sorted((estate / "assignments").glob("*.yaml"))
            target = rng.choice(found)
            lines = target.read_text(encoding="utf-8").splitlines(keepends=True)
            items = [i for i, line in enumerate(lines) if line.lstrip().startswith("- ")]
            if items:
                del lines[rng.choice(items)]
            target.write_text("".join(lines), encoding="utf-8")
        else:
            name = text[:200].replace("\\", "/").replace('"', "'")
            rows.append(f'  - {{id: "h{number}-{rng.choice(["é", "東", "x"])}", name: "{name}", status: active}}\n')
            people.write_text("kind: people\npeople:\n" + "".join(rows), encoding="utf-8")
        zone = rng.choice(["+00:00", "-05:00", "+13:00", "+05:30"])
        when = f"{day}T{rng.choice(['00:30', '12:00', '23:30'])}:00{zone}"
        message = root.parent / "message"
        raw = f"{text}\n\nBody {BIDI}\n".encode() if rng.random() < 0.7 else b"Caf\xe9 \xff\xfe not UTF-8\n"
        message.write_bytes(raw)
        author = rng.choice(["Dana", "Zoë Ångström", "\u202eevil", "李雷"])
        if action == "merge":
            git(root, "checkout", "-q", "-b", f"side{number}")
            (estate / "people" / f"side{number}.yaml").write_text(
                f'kind: people\npeople:\n  - {{id: s{number}, name: "{text[:50]}"}}\n', encoding="utf-8"
            )
            git(root, "add", "-A")
            git(root, "commit", "-q", "-F", str(message), date=when, author=author)
            git(root, "checkout", "-q", "main")
            git(root, "merge", "-q", "--no-ff", f"side{number}", "-m", f"Merge pull request #{number} from x/y",
                "-m", text, date=when)  # fmt: skip
        else:
            git(root, "add", "-A")
            git(root, "commit", "-q", "--allow-empty", "-F", str(message), date=when, author=author)
        message.unlink()
        day += dt.timedelta(days=rng.choice([0, 1, 40]))
    return estate


@pytest.mark.parametrize("seed", range(4))
def test_a_hostile_history_survives_its_transfer_exactly(seed: int, tmp_path: Path) -> None:
    estate = hostile_history(seed, tmp_path / "repo")
    for cache in (None, FileCache(tmp_path / "cache"), FileCache(tmp_path / "cache")):  # cold, then from the cache
        found = history_with_timeline(estate, DAY, NAMES, cache)
        assert len(found[0]) >= 5
        body = same_after_transfer(found)
    texts = " ".join(e.title + e.author for e in found[0])
    assert any(t[:40] in texts for t in HOSTILE_TEXTS) and body  # (hostile text was walked)
    assert any(ev.detail for e in found[0] for ev in e.events)  # the first commit's events are summarised


@pytest.mark.parametrize("seed", range(30, 36))
def test_a_generated_history_survives_its_transfer_exactly(seed: int, tmp_path: Path) -> None:
    """Generated histories (``test_site_one_walk``): moves, renames, kinds that change, unreadable files, reused ids,
    merges, time zones, uncommitted changes; on the check's day and on days that walk twice."""
    history = make_history(seed, tmp_path, lambda root, estate: None)
    for as_of in sorted({max(history.days), min(history.days), DAY}):
        same_after_transfer(history_with_timeline(history.estate, as_of, NAMES, None))


def made_history() -> tuple[list[Entry], Timeline]:
    """A history whose every field a lossy transfer would get wrong: offsets of one instant, microseconds, lone
    surrogates, ids given or gathered from details (or none), nested details, texts written later, empty texts."""
    utc = dt.UTC
    plus = dt.timezone(dt.timedelta(hours=5, minutes=30))
    minus = dt.timezone(-dt.timedelta(hours=11))
    details = (Event("A-1 moved \udcff", ("A-1", "H1")), Event(lambda: "lazy " + BIDI, (), "g"))
    entries = [
        Entry("a" * 40, dt.datetime(2026, 1, 5, 9, 0, tzinfo=utc), "Dana", "", ()),
        Entry(
            "b" * 40,
            dt.datetime(2026, 1, 5, 14, 30, tzinfo=plus),
            "Zoë \udce9",
            BIDI,
            (
                Event("2 assignments moved", None, "assignments moved", details),
                Event("", ("A-1", "A-1", ""), "", ()),
                Event(lambda: "written later", ("x",), "people added", lambda: details),
            ),
        ),
        Entry("c" * 40, dt.datetime(2026, 1, 4, 22, 0, 0, 7, tzinfo=minus), "\x00", "S" * 100_000, ()),
    ]
    transfer = Transfer("H1", "A-1", "p1 \udcff", dt.date(2025, 1, 1), dt.date(2026, 1, 5), None, True, "b" * 40)
    reuse = Reuse("A-2", "H1 to p1", "H2 to d1", "uncommitted", dt.date(2026, 1, 6))
    return entries, Timeline([transfer], "a note " + BIDI, [reuse], frozenset({"A-1", "A-2", "\udcff"}))


def test_every_field_survives_and_a_transfer_that_loses_one_is_told_apart() -> None:
    entries, timeline = made_history()
    body = same_after_transfer((entries, timeline))
    assert same_after_transfer(([], Timeline())) != body
    # the comparison sees what a lossy transfer would lose: one instant written in another offset
    first = entries[1]
    moved = Entry(first.sha, first.date.astimezone(dt.UTC), first.author, first.title, first.events)
    assert moved.date == first.date and plain([moved]) != plain([first])


def test_what_is_not_exactly_a_history_is_refused() -> None:
    body = encode_history(made_history())
    assert body is not None
    for cut in sorted({1, 2, len(body) // 3, len(body) // 2, len(body) - 2, len(body) - 1}):
        assert decode_history(body[:cut]) is None, cut  # cut off
    wrong = [
        b"garbage", b"", b"null", b"[]", b'{"entries": [], "timeline": null}',
        b'{"entries": [], "timeline": {"transfers": [], "note": null, "reused": [], "ids": []}, "more": 1}',
        b'{"entries": [["a", "2026-01-05T09:00:00", "D", "T", [[], [], [], []]]], '
        b'"timeline": {"transfers": [], "note": null, "reused": [], "ids": []}}',  # a date without its offset
        b'{"entries": [["a", "2026-01-05T09:00:00+00:00", "D", 7, [[], [], [], []]]], '
        b'"timeline": {"transfers": [], "note": null, "reused": [], "ids": []}}',  # a title that is not text
        b'{"entries": [["a", "2026-01-05T09:00:00+00:00", "D", "T", [["x"], [[1]], [""], [null]]]], '
        b'"timeline": {"transfers": [], "note": null, "reused": [], "ids": []}}',  # an id that is not text
        b'{"entries": [["a", "2026-01-05T09:00:00+00:00", "D", "T", [["x"], [null], [""]]]], '
        b'"timeline": {"transfers": [], "note": null, "reused": [], "ids": []}}',  # three columns
        b'{"entries": [["a", "2026-01-05T09:00:00+00:00", "D", "T"]], '
        b'"timeline": {"transfers": [], "note": null, "reused": [], "ids": []}}',  # no events
        b'{"entries": [], "timeline": {"transfers": [["H", "A", "p", "2026-01-01", "2026-01-02", null, 1, "c"]], '
        b'"note": null, "reused": [], "ids": []}}',  # a flag that is not one
        b"\xff\xfe{}",
    ]  # fmt: skip
    for garbage in wrong:
        assert decode_history(garbage) is None, garbage


# --- the site ---------------------------------------------------------------------------------------------------


def docs_tree(project: Path) -> dict[str, str]:
    top = project / "site" / "_build" / "docs"
    return {
        path.relative_to(top).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(top.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The bundled site around a hostile history of the bundled estate, with an uncommitted change."""
    root = tmp_path / "project"
    estate = hostile_history(2, root)
    shutil.copytree(ROOT / "site", root / "site", ignore=shutil.ignore_patterns("_build", "screenshots"))
    hr = estate / "assignments" / "hr.yaml"
    hr.write_text(hr.read_text(encoding="utf-8").replace("EA-CORE-USER", "EA-WS22-USER", 1), encoding="utf-8")
    return root


def pages(project: Path, cache: Path | None) -> dict[str, str]:
    paths = build.SitePaths.of(project / "site" / "mkdocs.yml")
    if cache is not None:
        shutil.rmtree(cache, ignore_errors=True)
    filecache = FileCache(cache) if cache is not None else None
    build.generate(project / "licenses", paths, DAY, filecache, cached=cache is not None)
    return docs_tree(project)


def test_the_pages_are_the_same_however_the_history_comes_back(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    walked_in: list[int] = []
    walk = history_with_timeline

    def noted(*args: object) -> tuple[list[Entry], Timeline]:
        (tmp_path / f"walked-{os.getpid()}").touch()
        walked_in.append(os.getpid())
        return walk(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(build, "history_with_timeline", noted)
    monkeypatch.setenv("CALCHECK_JOBS", "1")
    expected = pages(project, None)
    assert walked_in == [os.getpid()]  # walked here
    assert pages(project, tmp_path / "cache") == expected
    monkeypatch.setenv("CALCHECK_JOBS", "2")
    for cache in (None, tmp_path / "cache"):
        walked_in.clear()
        for mark in tmp_path.glob("walked-*"):
            mark.unlink()
        assert pages(project, cache) == expected
        assert walked_in == [] and len(list(tmp_path.glob("walked-*"))) == 1  # walked by the forked process
    sent = encode_history
    lost: list[Callable[[tuple[list[Entry], Timeline]], bytes | None]] = [
        lambda found: os._exit(3),  # the process dies
        lambda found: b"garbage",
        lambda found: (sent(found) or b"")[:-5],  # cut off
        lambda found: None,  # nothing sent
    ]
    for fault in lost:
        monkeypatch.setattr(build, "encode_history", fault)
        for cache in (None, tmp_path / "cache"):
            walked_in.clear()
            assert pages(project, cache) == expected
            assert walked_in == [os.getpid()]  # walked again here


def test_the_walks_error_is_said_first_as_before(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When both the walk and the check fail, the walk's error is the one raised (the walk came first before)."""
    from calcheck.core.errors import CalcheckError
    from calcheck.licensing import engine

    def walk(*args: object) -> tuple[list[Entry], Timeline]:
        raise CalcheckError("the walk failed")

    def check(*args: object) -> object:
        raise CalcheckError("the check failed")

    monkeypatch.setattr(build, "history_with_timeline", walk)
    monkeypatch.setattr(engine, "check", check)
    for jobs in ("1", "2"):
        monkeypatch.setenv("CALCHECK_JOBS", jobs)
        with pytest.raises(CalcheckError, match="the walk failed"):
            pages(project, None)
