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
from calcheck.estate.kinds import KINDS
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
def test_schema_is_valid_and_refers_only_beside_itself(path: Path) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(document)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    # No $id: a tool resolves the relative $refs against the file's own location, never a web address.
    assert "$id" not in document
    for ref in re.findall(r'"\$ref": "([^"]*)"', path.read_text(encoding="utf-8")):
        target = ref.split("#", 1)[0]
        assert ref.startswith("#") or (":" not in target and (path.parent / target).is_file()), ref
    assert keywords(document) - EDITOR_KEYWORDS == set()
    assert schema.load_schemas()[schema.BASE_URI + path.name]["$id"] == schema.BASE_URI + path.name


def test_every_kind_has_a_schema() -> None:
    names = {p.name for p in SCHEMA_FILES}
    assert {f"{kind}.schema.json" for kind in KINDS} <= names


def test_schemas_are_shipped_in_the_wheel() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"] == {
        "schemas": "calcheck/_schemas",
        "site/mkdocs.yml": "calcheck/_site/mkdocs.yml",
        "site/docs": "calcheck/_site/docs",
        ".github/workflows": "calcheck/_workflows",
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


ESTATE_FOLDERS = sorted({p.parent for p in (ROOT / "licenses").rglob("*.yaml")})


@pytest.mark.parametrize("folder", ESTATE_FOLDERS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_check_jsonschema_validates_the_bundled_estate_offline(folder: Path, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    files = sorted(folder.glob("*.yaml"))
    kind = load_bytes(str(files[0]), files[0].read_bytes()).documents[0].data["kind"]
    command = [str(Path(sys.executable).with_name("check-jsonschema")), "--schemafile",
               str(ROOT / "schemas" / f"{kind}.schema.json"), *map(str, files)]  # fmt: skip
    # No way out: a proxy that does not exist stands for "offline"; a download attempt would fail the test.
    offline = {**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
               "XDG_CACHE_HOME": str(tmp_path / "cache")}  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=offline)
    assert (done.returncode, done.stdout.strip()) == (0, "ok -- validation done"), done.stdout + done.stderr
    broken = tmp_path / files[0].name
    broken.write_text(files[0].read_text(encoding="utf-8").replace("kind:", "kindd:", 1), encoding="utf-8")
    done = subprocess.run([*command[:3], str(broken)], capture_output=True, text=True, check=False, env=offline)
    assert done.returncode == 1 and "Schema validation errors were encountered" in done.stdout + done.stderr


def test_modelines_resolve_like_an_editor_offline() -> None:
    """What the YAML language server does: the modeline's file, then each $ref beside it; nothing over the network."""
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    fetched: set[str] = set()

    def retrieve(uri: str) -> Resource[Any]:
        parsed = urlparse(uri)
        assert parsed.scheme == "file", f"would fetch {uri}"
        fetched.add(Path(url2pathname(parsed.path)).name)
        return Resource.from_contents(json.loads(Path(url2pathname(parsed.path)).read_text()), DRAFT202012)

    registry: Registry[Any] = Registry(retrieve=retrieve)
    for path in sorted((ROOT / "licenses").rglob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        target = (path.parent / first.split("$schema=", 1)[1]).resolve()
        contents = json.loads(target.read_text(encoding="utf-8"))
        validator = jsonschema.Draft202012Validator(
            {"$id": target.as_uri(), **contents},
            registry=registry,
            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
        )
        data = load_bytes(str(path), path.read_bytes()).documents[0].data
        assert list(validator.iter_errors(data)) == [], path
    assert fetched == {"common.schema.json"}
