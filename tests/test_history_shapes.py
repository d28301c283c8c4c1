"""History's item-by-item and changed-range readings find what reading every version whole with libyaml finds.

Files are written the ways admins, editors and imports write them: items at column 0 or indented, flow or block
records, CR LF line ends, a byte-order mark, comments and blank lines, quoting, Unicode. Some versions carry a
hostile line (a tab, a lone CR, a Unicode line break, a document marker, an anchor and alias, a second key, a
record over several lines, a key twice in a record): the fast readings must then fall back, never differ.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest

from calcheck.estate import parallel
from calcheck.estate.yamlload import MAX_FILE_BYTES
from calcheck.git import history
from calcheck.git.history import HistoryBuilder, Parsed, parse_records
from calcheck.git.repo import Change, Commit

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = [
    "\tholding: H9",
    "  note: a\rlone CR",
    "  note: a\u2028line separator",
    "  note: next\x85line",
    "---",
    "...",
    "  - &a {id: Z-1, holding: H1, person: p1, since: 2026-01-01}\n  - *a",
    "other: []",
    "  - {id: Z-2, holding: H1,\n    person: p2, since: 2026-01-01}",
    "  - {id: Z-3, holding: H1, holding: H2, person: p3, since: 2026-01-01}",
    "  - id: Z-4\n    note: |\n      - not an item\n    holding: H1\n    person: p4\n    since: 2026-01-01",
    "- {id: Z-5, holding: H1, person: p5, since: 2026-01-01}",
    "  -\n    id: Z-6\n    holding: H1",
    "  # a comment\n\n",
    "  - 'just text'",
    "  - {id: [Z-7], holding: H1}",
]


def render(row: dict[str, str], style: dict[str, object], indent: str) -> str:
    fields = [f"{k}: {v}" for k, v in row.items()]
    if style["flow"]:
        return f"{indent}- {{{', '.join(fields)}}}"
    pad = indent + "  "
    return f"{indent}- " + f"\n{pad}".join(fields)


def versions(seed: int, steps: int, tag: str = "") -> list[bytes]:
    """A file's versions (its record ids start with ``tag``)."""
    rng = random.Random(seed)
    indent = rng.choice(["", "  ", "    "])
    newline = rng.choice(["\n", "\n", "\r\n"])
    head = rng.choice(["", "\ufeff", "# register\n", "\ufeff# yaml-language-server: $schema=x\n\n"])
    kind_line = rng.choice(["kind: assignments\n", "kind: assignments  # the register\n", "kind:  assignments \n"])
    style = {"flow": rng.random() < 0.5}
    quote = rng.choice(["", "'", '"'])

    def row(name: str, holding: int, who: str) -> dict[str, str]:
        found = {"id": f"{quote}{name}{quote}", "holding": f"H{holding}", "person": who, "since": "2026-01-01"}
        if rng.random() < 0.3:
            found["note"] = rng.choice(["'Zoë Ångström'", '"ticket #12: moved"', "plain words", "'it''s'"])
        return found

    rows: list[str] = [render(row(f"{tag}A-{i:03d}", i % 3, f"p{i}"), style, indent) for i in range(10)]
    found = []
    for step in range(steps):
        action = rng.choice(["edit", "edit", "insert", "delete", "comment", "swap", "append", "hostile", "heal"])
        index = rng.randrange(len(rows)) if rows else 0
        if action == "edit" and rows:
            rows[index] = rows[index].replace("person: p", f"person: q{step}x", 1).replace("person: q", "person: r", 1)
        elif action == "insert":
            rows.insert(index, render(row(f"{tag}B-{step:03d}", 1, f"n{step}"), style, indent))
        elif action == "delete" and len(rows) > 1:
            del rows[index]
        elif action == "comment" and rows:
            rows[index] += f"\n{indent}  # note {step}" if rng.random() < 0.5 else "\n"
        elif action == "swap" and len(rows) > 1:
            rows[0], rows[-1] = rows[-1], rows[0]
        elif action == "hostile" and rows:
            rows.insert(index, rng.choice(HOSTILE).replace("  - ", f"{indent}- ").replace("\n    ", f"\n{indent}  "))
        elif action == "heal":
            rows = [r for r in rows if "Z-" not in r and r.strip() not in ("---", "...", "other: []")]
            rows = [r for r in rows if "\t" not in r and "\r" not in r and "\u2028" not in r and "\x85" not in r]
        else:
            rows.append(render(row(f"{tag}C-{step:03d}", 2, f"d{step}"), style, indent))
        text = head + kind_line + "assignments:\n" + "\n".join(rows) + "\n"
        found.append(text.replace("\n", newline).encode("utf-8"))
    return found


def walk(
    texts: list[bytes], whole: bool, region: bool = True, transfers_only: bool = False
) -> tuple[HistoryBuilder, list[list[str]]]:
    """One file's versions, a commit each, walked item by item (``region``: by changed range too) or ``whole``."""
    blobs = {f"{i:040x}": t for i, t in enumerate(texts)}
    builder = HistoryBuilder(blobs.__getitem__, {}, "licenses", transfers_only=transfers_only)
    if whole or not region:
        builder._region_change = lambda change: None  # type: ignore[method-assign]
    if whole:  # every version read whole by the check's loader, every record compared
        builder.parser.parse = lambda path, raw, *_: Parsed(parse_records(path, raw), None)  # type: ignore[method-assign]
    events = []
    previous = None
    for i, _ in enumerate(texts):
        blob = f"{i:040x}"
        change = Change("M" if previous else "A", "licenses/a/x.yaml" if previous else None, "licenses/a/x.yaml",
                        previous, blob)  # fmt: skip
        when = dt.datetime(2026, 1, 1 + i % 28, tzinfo=dt.UTC)
        commit = Commit(blob, (), "t", "t@x", when, f"c{i}", (change,), when)
        events.append([e.text for e in builder.add(commit, commit.subject).events])
        previous = blob
    return builder, events


def replay(texts: list[bytes], whole: bool) -> tuple[list[list[str]], dict[object, object]]:
    builder, events = walk(texts, whole)
    return events, {key: value[1] for key, value in builder.state.items()}


def test_every_shape_reads_as_the_whole_file_reads(monkeypatch: object) -> None:
    taken: list[bool] = []
    original = HistoryBuilder._region_change

    def counted(self: HistoryBuilder, change: Change) -> object:
        result = original(self, change)
        taken.append(result is not None)
        return result

    HistoryBuilder._region_change = counted  # type: ignore[method-assign,assignment]
    try:
        for seed in range(160):
            texts = versions(seed, 30)
            assert replay(texts, False) == replay(texts, True), seed
    finally:
        HistoryBuilder._region_change = original  # type: ignore[method-assign]
    assert taken.count(True) > len(taken) // 2  # most changes were compared by their changed range alone


def test_the_same_item_text_in_files_of_two_kinds_is_two_records() -> None:
    person = b"kind: people\npeople:\n  - {id: X1, name: Same}\n"
    device = b"kind: devices\ndevices:\n  - {id: X1, name: Same}\n"
    blobs = {"a" * 40: person, "b" * 40: device}
    found = []
    for whole in (False, True):
        builder = HistoryBuilder(blobs.__getitem__, {}, "licenses")
        if whole:
            builder.parser.parse = lambda path, raw, *_: Parsed(parse_records(path, raw), None)  # type: ignore[method-assign]
        when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        first = (
            Change("A", None, "licenses/p.yaml", None, "a" * 40),
            Change("A", None, "licenses/d.yaml", None, "b" * 40),
        )
        added = builder.add(Commit("c" * 40, (), "t", "t@x", when, "c", first, when), "c")
        # the people file becomes a devices file of the same item text
        turned = (Change("M", "licenses/p.yaml", "licenses/p.yaml", "a" * 40, "b" * 40),)
        changed = builder.add(Commit("d" * 40, (), "t", "t@x", when, "d", turned, when), "d")
        found.append(([e.text for e in added.events], [e.text for e in changed.events], sorted(builder.state)))
    assert (
        found[0]
        == found[1]
        == (
            ["device X1 added", "person X1 added (None, None)"],
            ["device X1 added", "person X1 removed"],  # the devices file still holds one too
            [("devices", "X1")],
        )
    )


def test_a_key_held_twice_in_a_file_is_read_as_the_check_reads_it() -> None:
    """The check reads a key's last record; removing or changing one of two is compared whole, as the check sees it."""
    head = "kind: assignments\nassignments:\n"
    first = "- {id: Z, holding: H1, person: p1, since: 2026-01-01}\n"
    second = "- {id: Z, holding: H1, person: p2, since: 2026-01-01}\n"
    other = "- {id: Y, holding: H2, person: p3, since: 2026-01-01}\n"
    texts = [
        (head + first + other + second).encode(),
        (head + first + other).encode(),  # the last Z goes: the first one counts again
        (head + first.replace("p1", "p4") + other).encode(),
        (head + first.replace("p1", "p4") + other + first).encode(),  # Z twice again, the later one counting
        (head + other + first).encode(),
    ]
    fast, whole = replay(texts, False), replay(texts, True)
    assert fast == whole
    assert fast[0][1:] == [
        ["CAL from holding H1 reassigned from p2 to p1"],
        ["CAL from holding H1 reassigned from p1 to p4"],
        ["CAL from holding H1 reassigned from p4 to p1"],
        [],
    ]


def walk_many(files: dict[str, list[bytes]]) -> tuple[list[list[str]], dict[object, object], list[object]]:
    """A first commit adding every file's first version, then one commit per later version, file by file."""
    blobs: dict[str, bytes] = {}
    changes: list[list[Change]] = [[]]
    last: dict[str, str] = {}
    for path, texts in files.items():
        for step, text in enumerate(texts):
            blob = f"{len(blobs):040x}"
            blobs[blob] = text
            change = Change("M" if step else "A", path if step else None, path, last.get(path), blob)
            if step:
                changes.append([])
            changes[-1 if step else 0].append(change)
            last[path] = blob
    builder = HistoryBuilder(blobs.__getitem__, {}, "licenses")
    events = []
    for number, commit_changes in enumerate(changes):
        when = dt.datetime(2026, 1, 1 + number % 28, tzinfo=dt.UTC)
        commit = Commit(f"{number:040x}", (), "t", "t@x", when, f"c{number}", tuple(commit_changes), when)
        events.append([e.text for e in builder.add(commit, commit.subject).events])
    state = {key: value[1] for key, value in builder.state.items()}
    return events, state, list(builder.history.transfers)


def test_a_large_commit_parsed_on_every_core_reads_as_one_process_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A first commit (or any commit bringing many files) is parsed by forked workers: the history is the same."""
    files = {f"licenses/a/s{seed}.yaml": versions(seed, 12, f"S{seed}") for seed in range(40)}
    for number, bad in enumerate(sorted((ROOT / "tests" / "bad-input").iterdir())):
        files[f"licenses/bad/{number}.yaml"] = [bad.read_bytes()]
    monkeypatch.setenv("CALCHECK_JOBS", "1")
    alone = walk_many(files)
    received: list[object] = []
    decode = history._decode_loaded

    def counted(item: tuple[str, str, bytes], body: bytes) -> object:
        received.append(decode(item, body))
        return received[-1]

    monkeypatch.setattr(history, "_decode_loaded", counted)
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setenv("CALCHECK_JOBS", "3")
    assert walk_many(files) == alone
    assert len(received) > 20 and all(received)  # the workers parsed their share, and every result came back whole
    assert (len(alone[0]), len(alone[1]), len(alone[2])) == (441, 326, 72)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("indicator", ["|", ">", "|+", ">+", "|-", "|2"])
def test_a_block_scalar_ending_an_item_keeps_the_line_breaks_the_whole_file_gives_it(
    newline: str, indicator: str
) -> None:
    """A block scalar's value holds the line breaks after it (clip: one, keep: all, up to the next item): an item's
    text must end with them, or read alone it loses them, and a changed range would report a change the check never
    sees, or miss one it does."""
    head = "kind: assignments\nassignments:\n"
    flat = "- {id: A1, holding: H1, person: p1, since: 2026-01-01}\n"
    block = f"- id: A2\n  holding: H1\n  since: 2026-01-01\n  person: {indicator}\n    p2\n"
    plain = "- id: A2\n  holding: H1\n  since: 2026-01-01\n  person: p2\n"
    texts = [
        head + flat,
        head + block + flat,  # a block scalar ends an item that is not the last
        head + block + "\n\n" + flat,  # with blank lines after it
        head + flat + block,  # the last item
        head + flat + block + "\n",  # the last item, the file ending in a blank line
        head + flat + block.rstrip("\n"),  # no final line break
        head + flat + plain,  # the same person, written plain
        head + block + "# kept\n" + flat,
    ]
    encoded = [t.replace("\n", newline).encode() for t in texts]
    assert replay(encoded, False) == replay(encoded, True)
    assert replay(encoded[::-1], False) == replay(encoded[::-1], True)


def transfers(texts: list[bytes], whole: bool) -> list[tuple[str, str, str]]:
    """The 90-day rule's transfers of a file's versions, as a check walks them (assignments only)."""
    builder, _ = walk(texts, whole, transfers_only=True)
    return [(t.holding, t.assignment, t.previous) for t in builder.history.transfers]


@pytest.mark.parametrize("joint", [" #", "  # moved", " #- ", "\t#"])
def test_a_changed_line_that_turns_the_next_unchanged_item_into_a_comment_is_read_as_the_file_reads(
    joint: str,
) -> None:
    """Replacing the line break before an unchanged item with a comment start makes that item part of a comment:
    the changed range must not end where the old version's line break was, or the item seems to stay and a
    reassignment of its CAL (removed here, added there) slips past the 90-day rule."""
    head = "kind: assignments\nassignments:\n"
    first = "  - {id: A1, holding: H1, person: p1, since: 2026-01-01}"
    second = "  - {id: A2, holding: H2, person: p2, since: 2026-01-01}\n"
    third = "  - {id: A3, holding: H2, person: p3, since: 2026-01-02}"
    texts = [
        (head + first + "\n" + second).encode(),
        (head + third + joint + second).encode(),  # A1 goes, A3 comes, and A2 is now a comment
    ]
    assert replay(texts, False) == replay(texts, True)
    assert transfers(texts, False) == transfers(texts, True) == [("H2", "A3", "p2")]


def test_items_reordered_or_repeated_around_a_key_held_twice_are_read_as_the_file_reads() -> None:
    """Which of a key's records counts depends on their order (the last one): moving items that change no text, or
    adding a second copy of an item's text, changes what the check reads, and so what the 90-day rule sees."""
    head = "kind: assignments\nassignments:\n"
    shadow = "- {id: A1, holding: H2, person: p9, since: 2026-01-01}\n"
    real = "- {id: A1, holding: H1, person: p1, since: 2026-01-01}\n"
    other = "- {id: B, holding: H3, person: pb, since: 2026-01-01}\n"
    more = "- {id: C, holding: H4, person: pc, since: 2026-01-01}\n"
    swapped = [
        head + real + other + more,
        head + shadow + other + real + more,  # a shadow copy first: the real one still counts
        head + more + other + real + shadow,  # the shadow goes last: it counts, the CAL moves to p9
        head + more + other + shadow,  # the real one goes: nothing changes any more
    ]
    repeated = [
        head + real + other + shadow + more,
        head + real + other + shadow + more + real,  # the same text again, last: p1 counts again
        head + other + shadow + more + real,
    ]
    twice = [
        head + other + real + more,
        head + other + real + real + more,  # the same item twice
        head + other + real + shadow.replace("H2", "H1") + more,  # the second copy changes: p9 counts
        head + other + shadow.replace("H2", "H1") + more,
    ]
    for versions_ in (swapped, repeated, twice):
        texts = [t.encode() for t in versions_]
        assert replay(texts, False) == replay(texts, True)
        assert transfers(texts, False) == transfers(texts, True)
    assert transfers([t.encode() for t in swapped], True) == [("H2", "A1", "p1")]


def two_files(commits: list[dict[str, str]], whole: bool) -> tuple[list[list[str]], list[tuple[str, str, str]]]:
    """Events and transfers of commits that each set the text of some of two files (a check's walk: assignments)."""
    blobs: dict[str, bytes] = {}
    last: dict[str, str] = {}
    found: list[tuple[list[str], list[tuple[str, str, str]]]] = []
    for only in (False, True):
        builder = HistoryBuilder(blobs.__getitem__, {}, "licenses", transfers_only=only)
        if whole:
            builder._region_change = lambda change: None  # type: ignore[method-assign]
            builder.parser.parse = lambda path, raw, *_: Parsed(parse_records(path, raw), None)  # type: ignore[method-assign]
        events, last = [], {}
        for number, texts in enumerate(commits):
            changes = []
            for path, text in texts.items():
                blob = f"{len(blobs):040x}"
                blobs[blob] = text.encode()
                changes.append(Change("M" if path in last else "A", path if path in last else None, path,
                                      last.get(path), blob))  # fmt: skip
                last[path] = blob
            when = dt.datetime(2026, 1, 1 + number, tzinfo=dt.UTC)
            commit = Commit(f"{number:040x}", (), "t", "t@x", when, f"c{number}", tuple(changes), when)
            events.append([e.text for e in builder.add(commit, commit.subject).events])
        found.append((events, [(t.holding, t.assignment, t.previous) for t in builder.history.transfers]))
    assert found[0][1] == found[1][1]  # a check's walk finds the transfers the full walk finds
    return found[0]


def test_an_item_too_deep_for_the_whole_file_breaks_the_file_as_the_check_reads_it() -> None:
    """The check reads no record of a file nested deeper than it allows: read alone, the deep item is one level
    shallower, and must not read as a record (nor the file's other items stay), or a CAL moved to another file in
    the same commit is no transfer."""
    head = "kind: assignments\nassignments:\n"
    kept = head + "- {id: A1, holding: H1, person: p1, since: 2026-01-01}\n"
    deep = "- {id: A9, holding: H9, person: p9, since: 2026-01-01, note: " + "[" * 62 + "]" * 62 + "}\n"
    other = head + "- {id: B1, holding: H2, person: q1, since: 2026-01-01}\n"
    moved = other + "- {id: A2, holding: H1, person: p2, since: 2026-01-02}\n"
    commits = [
        {"licenses/a.yaml": kept, "licenses/b.yaml": other},
        {"licenses/a.yaml": kept + deep, "licenses/b.yaml": moved},
    ]
    fast, whole = two_files(commits, False), two_files(commits, True)
    assert fast == whole
    assert whole[1] == [("H1", "A2", "p1")]


def test_a_file_too_large_for_the_check_reads_as_no_records() -> None:
    """The check reads no record of a file over its size limit, however usual its items."""
    head = "kind: assignments\nassignments:\n"
    kept = head + "- {id: A1, holding: H1, person: p1, since: 2026-01-01}\n"
    padding = "# " + "x" * 1000 + "\n"
    large = kept + padding * (MAX_FILE_BYTES // len(padding) + 1)
    other = head + "- {id: B1, holding: H2, person: q1, since: 2026-01-01}\n"
    moved = other + "- {id: A2, holding: H1, person: p2, since: 2026-01-02}\n"
    commits = [
        {"licenses/a.yaml": kept, "licenses/b.yaml": other},
        {"licenses/a.yaml": large, "licenses/b.yaml": moved},  # grown past the limit: A1 is gone as the check reads
        {"licenses/a.yaml": kept},
    ]
    fast, whole = two_files(commits, False), two_files(commits, True)
    assert fast == whole
    assert whole[1] == [("H1", "A2", "p1")]
    first = [{"licenses/a.yaml": large}, {"licenses/a.yaml": kept}]  # read whole first, then by its changed range
    assert two_files(first, False) == two_files(first, True)
