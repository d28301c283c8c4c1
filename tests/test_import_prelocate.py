"""An import's records are located in their files' text by a forked process while the estate is checked
(``importing.Prelocated``): what it sends back is exactly what locating the text here gives, on files of every shape
(flow and block records, comments, quoting, Unicode, CR LF, a byte-order mark, no final newline, records the text
edit cannot handle), and an import with it plans, prints and writes what it does without it, whether the process
finished everything, nothing, or was given files that changed since."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calcheck.edits import textedit
from calcheck.edits.importing import (
    Prelocated,
    _locate_file,
    checked_many,
    checked_reader,
    import_baseline,
    plan_import,
)
from calcheck.edits.textedit import TextEditError, _locate, located_text, records_located
from calcheck.estate.sources import WorkTree
from tests.test_import_fast import BROKEN, ODD, Run, _case
from tests.test_import_fast import generated as generated
from tests.test_import_text import PEOPLE, _random_people

ON = dt.date(2026, 11, 30)
SHAPES = [
    PEOPLE,
    ODD,
    BROKEN,
    "kind: people\npeople: [{id: a, name: A}]\n",  # a flow list: not edited as text
    "kind: people\npeople:\n  - &a {id: a, name: A}\n  - *a\n",  # an alias
    "kind: people\npeople:\n  - !!map {id: a, name: A}\n",
    "kind: people\npeople:\n  - id: a\n    note: |\n      two\n      lines\n    name: A\n",
    "kind: people\npeople:\n  - {id: a, name: 'It''s \u2028 here', groups: [g1, {x: y}]}\n  - plain\n  - [1, 2]\n",
    "kind: people\npeople:\n  - {? complex : key, id: a}\n  - {'id': quoted, name: Q}\n  - {id: a, id: twice}\n",
    'kind: people\npeople:\n- id: "u\\u00e9"\n  name: "Jos\\u00e9\\n"\n  kind: employee  # a comment\n- {}\n',
    "kind: people\npeople:\n  - {id: a,\n     name: Over\n       two lines, kind: employee}\n",
    "people:\n  - {id: a, name: A}\nkind: people\n",
    "kind: people\npeople:\n  - {id: a, name: A}\n---\nkind: people\n",
    "kind: devices\ndevices:\n  - {id: d1}\n",
    "",
    "kind: people\npeople:\n  - {id: a, name: [unclosed\n",
]


def _variants(text: str) -> list[str]:
    return [text, "\ufeff" + text, text.replace("\n", "\r\n"), text.rstrip("\n"), text.replace("\n", "\r")]


def _both(text: str) -> tuple[object, object]:
    """(what locating here gives or the error's type, what the encoded answer decodes to)."""
    try:
        here: object = _locate(text, "people")
    except TextEditError:
        here = TextEditError
    body = located_text(text, "people")
    return here, (records_located(body) if body is not None else TextEditError)


@pytest.mark.parametrize("seed", range(6))
def test_located_records_come_back_exactly_as_located_here(seed: int) -> None:
    rng = random.Random(seed)
    texts = [*SHAPES, *(_random_people(rng, 60, quoting)[0] for quoting in (False, True))]
    for text in texts:
        for variant in _variants(text):
            here, there = _both(variant)
            assert there == here, variant


def test_a_damaged_answer_is_none_never_an_error() -> None:
    text = _random_people(random.Random(3), 30, True)[0]
    body = located_text(text, "people")
    assert body is not None and records_located(body) == _locate(text, "people")
    damaged = [
        b"",
        b"\n",
        body[: len(body) // 2],
        body[:-3],
        body.replace(b"[", b"{", 1),
        b'[["id"]]\n' + (5).to_bytes(8, "little", signed=True) * 5,  # a key order that is not there
        b'[["id","id"]]\n',
        b'[["id"]]\n' + b"".join(n.to_bytes(8, "little", signed=True) for n in (0, 2, 0, 0, 0, 0, 1, 1)),
        b'[["id"]]\n' + b"".join(n.to_bytes(8, "little", signed=True) for n in (0, 1, 0, 0, 0, 0, 1, 99)),
        b'[["id"]]\n' + b"".join(n.to_bytes(8, "little", signed=True) for n in (-7, 1, 0, 0, 0, 0, 1, 1)),
        b"[[1]]\n",
        b"{}\n",
        b"\xff\xfe\n",
    ]
    for bad in damaged:
        assert records_located(bad) is None, bad


def test_the_forked_process_locates_each_file_as_here(
    tmp_path: Path, generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    estate, _ = _case(tmp_path, generated, 3)  # with a file of odd records and a broken one
    (estate / "people" / "shapes.yaml").write_text(SHAPES[6], encoding="utf-8")
    (estate / "people" / "crlf.yaml").write_bytes(
        ("\ufeff" + PEOPLE.replace("id: alice", "id: alicia")).replace("\n", "\r\n").encode()
    )
    monkeypatch.setenv("CALCHECK_JOBS", "2")
    found = Prelocated(estate, "people").finish()
    tree = WorkTree(estate)
    located = 0
    for relative in tree.yaml_files():
        raw = tree.read(relative)
        digest = hashlib.sha256(raw).hexdigest()
        try:
            here: object = _locate(raw.decode("utf-8"), "people")
        except (TextEditError, UnicodeDecodeError):
            here = None
        if digest in found:
            assert records_located(found[digest]) == here
            located += 1
        elif relative.startswith("people/"):
            assert here is None or _locate_file(tree, "people", relative) is None
    assert located == len([p for p in (estate / "people").glob("*.yaml") if p.name != "zz-broken.yaml"])


def _plans(estate: Path, export: Path, located: Prelocated | None) -> list[tuple[str, str, str]]:
    base = import_baseline(estate, "people", ON)
    plan = plan_import(
        base.result,
        estate,
        "people",
        export,
        "auto",
        None,
        ON,
        None,
        False,
        True,
        (),
        checked_reader(base),
        checked_many(base),
        located,
    )
    assert not plan.problems
    return [(str(c.path), c.before, c.after) for c in plan.changes]


@pytest.mark.parametrize("seed", [0, 2, 3, 6])
def test_an_import_plans_the_same_with_records_located_beforehand_or_not(
    tmp_path: Path, generated: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    estate, export = _case(tmp_path, generated, seed)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CALCHECK_JOBS", "2")
    plain = _plans(estate, export, None)
    assert plain
    finished = Prelocated(estate, "people")
    assert finished.finish()  # every file located beforehand
    calls: list[str] = []
    real = textedit._locate

    def counted(text: str, collection: str) -> list[textedit._Record | None]:
        calls.append(text)
        return real(text, collection)

    monkeypatch.setattr(textedit, "_locate", counted)  # counts the texts located here
    assert _plans(estate, export, finished) == plain
    assert not [text for text in calls if "kind: people" in text and "zz1" not in text]  # none located again
    stopped = Prelocated(estate, "people")
    stopped.cancel()  # nothing finished: every file located here
    assert _plans(estate, export, stopped) == plain
    changed = Prelocated(estate, "people")
    changed.finish()
    first = sorted((estate / "people").glob("*.yaml"))[0]
    first.write_text(first.read_text(encoding="utf-8") + "# edited since\n", encoding="utf-8")
    again = _plans(estate, export, changed)  # that file's located records are not its text's: it is located here
    assert again == _plans(estate, export, None)


@pytest.mark.parametrize("seed", [0, 3])
def test_the_command_prints_and_writes_the_same_with_one_process_or_two(
    tmp_path: Path, generated: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Run, seed: int
) -> None:
    answers = []
    for jobs in ("1", "2"):
        work = tmp_path / "run"  # the same paths both times: the output names them
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        estate, export = _case(work, generated, seed)
        monkeypatch.chdir(work)
        monkeypatch.setenv("CALCHECK_JOBS", jobs)
        arguments = ("import", "people", str(export), "--path", "licenses", "--on", ON.isoformat(), "--force")
        dry = run_cli(*arguments, "--dry-run", "--no-cache")
        wet = run_cli(*arguments, "--no-cache")
        files = {p.relative_to(estate).as_posix(): p.read_bytes() for p in sorted(estate.rglob("*.yaml"))}
        answers.append((dry, wet, files))
    assert answers[0] == answers[1]
    assert answers[0][0][0] in (0, 1) and "dry run: nothing written" in answers[0][0][1]


@settings(max_examples=1500, deadline=None)
@given(
    st.one_of(
        st.text(alphabet=st.sampled_from("aZy nN0.-+@/_:#,[]{}'\"\t\u00e9\u2028~!&*?|>%`"), max_size=12),
        st.sampled_from(["y", "No", "ON", "off", "True", "NULL", "null", "Null", "n", "yes", "a", "User 1", "IT 7"]),
        st.from_regex(r"[A-Za-z][A-Za-z0-9_.@/+ -]{0,10}", fullmatch=True),
    ),
    st.booleans(),
)
def test_a_value_is_written_plain_exactly_when_every_test_allows_it(value: str, flow: bool) -> None:
    assert textedit._plain_ok(value, flow) == textedit._plain_ok_in_full(value, flow)
