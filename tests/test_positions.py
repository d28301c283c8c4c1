"""Position trees: packed per mapping (PosDict), they read exactly as the positions libyaml's composer gives."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest
import yaml

from calcheck.estate.lazy import LazyDict
from calcheck.estate.loading import load_estate
from calcheck.estate.sources import WorkTree
from calcheck.estate.yamlload import PosDict, load_bytes
from tests.conftest import ROOT

FILES = sorted(
    path
    for folder in (ROOT / "licenses", ROOT / "tests", ROOT / "calcheck")
    for path in folder.rglob("*.y*ml")
    if "_build" not in path.parts
)
SHAPES = [
    "kind: people\npeople:\n  - {id: a, groups: [x, y], tags: []}\n  - id: b\n    groups:\n      - z\n    m: {}\n",
    "a: &anchor {b: 1, c: [1, {d: 2}]}\ne: *anchor\nf: &s text\ng: *s\nh: [*anchor, *s]\n",
    "x:\n  y:\n    z:\n      - [1, 2, [3]]\n      - {k: v, 'q': \"r\", null: 1, 2: 3, true: 4}\n",
    "---\nkey: value\nlist: [a, b]\n",
    "plain\n",
    "- 1\n- {a: 1}\n- [ {b: {c: {d: []}}} ]\n",
]


def _from_nodes(node: Any) -> tuple[Any, ...]:
    """The position tree as the composer's nodes give it (the reference)."""
    here = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        children = {}
        for key, value in node.value:
            text = key.value if key.tag.endswith(":str") else yaml.safe_load(key.value)
            name = text if isinstance(text, str) else json.dumps(text) if text is not None else "null"
            children[name] = (key.start_mark.line + 1, key.start_mark.column + 1, _from_nodes(value))
        return (*here, children)
    if isinstance(node, yaml.SequenceNode):
        return (*here, [_from_nodes(item) for item in node.value])
    return here


def _expanded(pos: Any) -> Any:
    if len(pos) == 2:
        return pos
    children = pos[2]
    if isinstance(children, dict):
        return (pos[0], pos[1], {key: (k[0], k[1], _expanded(k[2])) for key, k in children.items()})
    return (pos[0], pos[1], [_expanded(child) for child in children])


def _compare(raw: bytes) -> bool:
    loaded = load_bytes("f.yaml", raw)
    if loaded.findings or len(loaded.documents) != 1:
        return False  # duplicates, tags and the like: the composer would keep what calcheck refuses
    reference = _from_nodes(yaml.compose(raw, Loader=yaml.CSafeLoader))
    assert _expanded(loaded.documents[0].pos) == reference
    assert loaded.documents[0].pos == reference  # a PosDict compares as the dict it stands for
    return True


@pytest.mark.parametrize("text", SHAPES)
def test_positions_of_every_shape_are_the_composers(text: str) -> None:
    assert _compare(text.encode())


def test_positions_of_every_yaml_file_here_are_the_composers() -> None:
    compared = sum(_compare(path.read_bytes()) for path in FILES)
    assert compared > 50


def test_a_packed_mapping_reads_as_a_dict() -> None:
    pos = load_bytes("f.yaml", b"a: 1\nb: [x]\nc: {d: 2}\n").documents[0].pos
    plain = {"a": (1, 1, (1, 4)), "b": (2, 1, (2, 4, [(2, 5)])), "c": (3, 1, (3, 4, {"d": (3, 5, (3, 8))}))}
    children = pos[2]
    assert type(children) is PosDict
    assert children.peek() == plain and children._keys is not None  # peek leaves it packed
    assert list(children) == ["a", "b", "c"] and len(children) == 3 and "b" in children and "z" not in children
    assert children == plain and plain == children and children.get("z") is None and children["a"] == plain["a"]
    assert dict(children) == {**children} == plain and list(children.items()) == list(plain.items())
    assert repr(children) == repr(plain) and json.dumps(children) == json.dumps(plain)


def test_packed_positions_pickle_packed() -> None:
    pos = load_bytes("f.yaml", b"- {a: 1, b: [x]}\n- {a: 2, b: [y]}\n").documents[0].pos
    again = pickle.loads(pickle.dumps(pos))
    assert [type(item[2]) for item in again[2]] == [PosDict, PosDict] and all(_packed(item[2]) for item in again[2])
    assert again[2][0][2]._keys is again[2][1][2]._keys  # one tuple for one order of keys
    assert again == pos and again[2][1][2]["b"] == (2, 10, (2, 13, [(2, 14)]))
    pos[2][0][2]["a"]  # expanded: pickled as the plain dict it now is
    assert pickle.loads(pickle.dumps(pos[2][0][2])) == {"a": (1, 4, (1, 7)), "b": (1, 10, (1, 13, [(1, 14)]))}


def test_duplicate_keys_name_the_first_position(tmp_path: Path) -> None:
    loaded = load_bytes("f.yaml", b"a: 1\nb:\n  - 1\nc: {x: 1}\nb: 2\n")
    assert [f.message.split(";")[0] for f in loaded.findings] == ["duplicate key 'b' (first at line 2, column 1)"]
    assert loaded.documents[0].pos[2] == {"a": (1, 1, (1, 4)), "b": (2, 1, (3, 3, [(3, 5)])), "c": (4, 1, (4, 4, {"x": (4, 5, (4, 8))}))}  # fmt: skip


def _packed(children: Any) -> bool:
    """Not expanded yet: a PosDict, or a fast-lane record's positions (worked out from its line on first read)."""
    return (
        isinstance(children, LazyDict) and (children._keys if type(children) is PosDict else children._make) is not None
    )


def test_records_keep_their_positions_packed_once_loaded() -> None:
    estate, _, _ = load_estate(WorkTree(ROOT / "licenses"))
    records = [*estate.people, *estate.devices, *estate.assignments, *estate.holdings]
    assert any(type(r.source.pos[2]) is PosDict for r in records)
    assert records and all(_packed(r.source.pos[2]) for r in records)
    person = estate.people[0]
    assert person.source.at("name") == person.source.pos[2]["name"][2]
    assert not _packed(person.source.pos[2])
