"""The hand-written records on `validate`'s path behave as the dataclasses they stand for."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from typing import Any

import pytest

from calcheck.core.findings import Finding, Severity
from calcheck.estate.yamlload import Document, LoadedFile


@dataclasses.dataclass(frozen=True, slots=True)
class Finding_:  # the dataclass Finding was, to compare with
    rule: str
    severity: Severity
    path: str
    line: int
    column: int
    message: str
    hint: str = ""
    records: tuple[str, ...] = ()


@dataclasses.dataclass(slots=True)
class Document_:
    data: Any
    pos: Any
    line: int
    column: int
    odd_numbers: bool = False


@dataclasses.dataclass(slots=True)
class LoadedFile_:
    path: str
    documents: list[Any] = dataclasses.field(default_factory=list)
    findings: list[Any] = dataclasses.field(default_factory=list)
    broken_paths: list[Any] = dataclasses.field(default_factory=list)


ARGS: list[tuple[Any, ...]] = [
    ("schema", Severity.ERROR, "a.yaml", 3, 5, "people[0]: bad", "fix it", ("u1",)),
    ("schema", Severity.ERROR, "a.yaml", 3, 5, "people[0]: bad"),
    ("duplicate-key", Severity.WARNING, "b/c.yaml", 1, 1, "m", ""),
]


@pytest.mark.parametrize("args", ARGS)
def test_finding_is_the_frozen_dataclass_it_was(args: tuple[Any, ...]) -> None:
    mine, theirs = Finding(*args), Finding_(*args)
    assert repr(mine) == repr(theirs).replace("Finding_(", "Finding(", 1)
    assert Finding(*args) == mine and hash(Finding(*args)) == hash(mine)
    assert hash(mine) == hash(dataclasses.astuple(theirs))  # the fields' tuple, as the dataclass hashes
    assert mine != theirs and mine != dataclasses.astuple(theirs)
    assert Finding(**dataclasses.asdict(theirs)) == mine
    assert [getattr(mine, name) for name in Finding.__match_args__] == list(dataclasses.astuple(theirs))
    with pytest.raises(AttributeError):
        mine.line = 4  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del mine.rule  # type: ignore[misc]
    with pytest.raises(AttributeError):
        mine.other = 1  # type: ignore[attr-defined]
    assert pickle.loads(pickle.dumps(mine)) == mine == copy.deepcopy(mine) == copy.copy(mine)
    changed = mine.replace(severity=Severity.INFO, line=9)
    assert changed == Finding(**(dataclasses.asdict(theirs) | {"severity": Severity.INFO, "line": 9}))
    with pytest.raises(TypeError):
        mine.replace(colour=1)
    assert sorted([changed, mine], key=Finding.sort_key) == [mine, changed]  # line 9 after line 1 or 3


def test_document_and_loaded_file_are_the_dataclasses_they_were() -> None:
    doc = Document({"a": [1]}, (1, 1, {"a": (1, 1, (1, 4, [(1, 5)]))}), 1, 1)
    assert repr(doc) == repr(Document_(doc.data, doc.pos, 1, 1)).replace("Document_(", "Document(", 1)
    assert doc == Document({"a": [1]}, doc.pos, 1, 1) and doc != Document({"a": [1]}, doc.pos, 1, 1, True)
    with pytest.raises(TypeError):
        hash(doc)
    loaded = LoadedFile("a.yaml")
    assert repr(loaded) == repr(LoadedFile_("a.yaml")).replace("LoadedFile_(", "LoadedFile(", 1)
    assert loaded.documents is not LoadedFile("b").documents  # a new list each, as default_factory gives
    loaded.problem("empty-file", 1, 1, "m", "h")
    assert loaded == LoadedFile("a.yaml", [], [Finding("empty-file", Severity.ERROR, "a.yaml", 1, 1, "m", "h")])
    assert loaded != LoadedFile("a.yaml")
