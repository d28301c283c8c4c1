"""The JSON Schemas: valid, editor-friendly, shipped, and enforced the same by both validators."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from calcheck.estate import schema
from calcheck.estate.loading import builtin_catalogue
from calcheck.estate.parse import load_bytes
from calcheck.estate.yamlload import Document
from tests.conftest import ROOT

SCHEMA_FILES = sorted((ROOT / "schemas").glob("*.schema.json"))
# Keywords that YAML language servers understand; nothing newer or exotic.
EDITOR_KEYWORDS = {
    "$schema", "$id", "$defs", "$ref", "title", "description", "type", "properties", "required",
    "additionalProperties", "items", "enum", "const", "pattern", "format", "minimum", "maximum",
    "minItems", "minLength", "maxLength", "uniqueItems", "oneOf", "not", "default", "propertyNames",
}  # fmt: skip


def keywords(node: Any, inside_properties: bool = False) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if not inside_properties:
                found.add(key)
            found |= keywords(value, key in ("properties", "$defs") and not inside_properties)
    elif isinstance(node, list):
        for item in node:
            found |= keywords(item)
    return found


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_schema_is_valid_and_identified(path: Path) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(document)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document["$id"] == schema.BASE_URI + path.name
    assert keywords(document) - EDITOR_KEYWORDS == set()


def test_every_kind_has_a_schema() -> None:
    names = {p.name for p in SCHEMA_FILES}
    assert {f"{kind}.schema.json" for kind in schema.KINDS} <= names


def test_schemas_are_shipped_in_the_wheel() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"] == {
        "schemas": "calcheck/_schemas",
        "site/mkdocs.yml": "calcheck/_site/mkdocs.yml",
        "site/docs": "calcheck/_site/docs",
    }


@pytest.mark.parametrize("path", sorted((ROOT / "licenses").rglob("*.yaml")), ids=lambda p: p.name)
def test_sample_files_carry_an_editor_modeline(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
    assert match, first
    target = (path.parent / match.group(1)).resolve()
    assert target.is_file()
    kind = load_bytes(str(path), path.read_bytes()).documents[0].data["kind"]
    assert target.name == f"{kind}.schema.json"


def doc(data: Any) -> Document:
    return Document(data, (1, 1), 1, 1)


PERSON = {"id": "ann", "name": "Ann", "kind": "employee", "status": "active"}
CORPUS: list[tuple[str, Any, bool]] = [
    ("people", {"kind": "people", "people": [PERSON]}, True),
    ("people", {"kind": "people", "people": [{**PERSON, "departed": "2026-13-45"}]}, False),
    ("people", {"kind": "people", "people": [{**PERSON, "departed": "2024-02-30"}]}, False),
    ("people", {"kind": "people", "people": [{**PERSON, "departed": "2024-02-29"}]}, True),
    ("people", {"kind": "people", "people": [{**PERSON, "departed": "20240229"}]}, False),
    ("people", {"kind": "people", "people": [{**PERSON, "id": "-x"}]}, False),
    ("people", {"kind": "people", "people": [{**PERSON, "extra": 1}]}, False),
    ("people", {"kind": "people", "people": [{**PERSON, "status": True}]}, False),
    ("people", {"kind": "devices", "people": []}, False),
    ("assignments", {"kind": "assignments", "assignments": [{"id": "a", "holding": "h", "since": "2026-01-01"}]}, False),
    ("assignments", {"kind": "assignments", "assignments": [{"id": "a", "holding": "h", "person": "p", "since": "2026-01-01"}]}, True),
    ("assignments", {"kind": "assignments", "assignments": [{"id": "a", "holding": "h", "person": "p", "device": "d", "since": "2026-01-01"}]}, False),
    ("deployments", {"kind": "deployments", "deployments": [{"id": "d", "name": "D", "product": "p", "version": 2022, "access": {}}]}, True),
    ("deployments", {"kind": "deployments", "deployments": [{"id": "d", "name": "D", "product": "p", "version": 20.22, "access": {}}]}, False),
    ("config", {"kind": "config", "organisation": "X", "headroom_threshold": 1.5}, False),
    ("config", {"kind": "config", "organisation": "X", "rules": {"severity": {"schema": "fatal"}}}, False),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "data", "valid"), CORPUS)
def test_fast_and_detailed_validators_agree(kind: str, data: Any, valid: bool) -> None:
    checks = schema.validators()
    assert checks.is_valid(kind, data) is valid
    assert (not list(checks.detailed(kind).iter_errors(data))) is valid
    assert (schema.validate_document("f.yaml", kind, doc(data)) == []) is valid


def test_builtin_catalogue_has_the_products_and_suites() -> None:
    data = builtin_catalogue()[0].data
    products = {p["id"] for p in data["products"]}
    cals = {c["id"]: c for c in data["cals"]}
    assert {
        "windows-server",
        "exchange-server",
        "sharepoint-server",
        "sql-server",
        "skype-server",
        "project-server",
    } <= products
    assert {"rds", "adrms", "external-connector", "core-cal-suite", "enterprise-cal-suite"} <= set(cals)
    assert "rds" not in cals["enterprise-cal-suite"]["contains"]
    assert set(cals["core-cal-suite"]["contains"]) < set(cals["enterprise-cal-suite"]["contains"])
