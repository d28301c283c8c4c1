"""JSON Schema validation of estate documents, with findings located on the offending line.

A compiled validator (jsonschema-rs) answers "valid?" for every document; only invalid documents
go through the ``jsonschema`` package, whose errors (with ``best_match`` for ``oneOf``) read well.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from calcheck.core.findings import Finding, Severity
from calcheck.estate.yamlload import Document, locate, locate_key

BASE_URI = "https://calcheck.dev/schemas/v1/"  # an identifier, never fetched
RULE = "schema"

Located = tuple[Finding, tuple[Any, ...]]


def schema_dir() -> Path:
    """The schemas folder: inside the installed wheel, or the source checkout's ``schemas/``."""
    packaged = resources.files("calcheck").joinpath("_schemas")
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "schemas"


@cache
def load_schemas() -> dict[str, dict[str, Any]]:
    """Every installed schema by its URI (``BASE_URI`` + file name).

    The files carry no ``$id``: their ``$ref``s are relative (``common.schema.json#/$defs/id``), so editors and
    check-jsonschema resolve them beside the file, offline. calcheck gives each one its URI here, in memory only.
    """
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(schema_dir().glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        found[f"{BASE_URI}{path.name}"] = {"$id": f"{BASE_URI}{path.name}", **schema}
    return found


def copies_beside(estate_root: Path) -> Path:
    """The repository's ``schemas/``: beside the estate folder, where the system finds it (through links)."""
    return estate_root.resolve().parent / "schemas"


def outdated_copies(estate_root: Path, shown: str) -> list[Finding]:
    """A finding for each schema in the repository's ``schemas/`` (beside the estate) that differs from calcheck's."""
    copies = copies_beside(estate_root)
    installed = schema_dir().resolve()
    if copies.is_symlink() or not copies.is_dir() or copies.resolve() == installed:
        return []  # links are not followed: only the repository's own files are compared, and never parsed
    found = []
    for path in sorted(installed.glob("*.schema.json")):
        copy = copies / path.name
        if copy.is_symlink() or not copy.is_file():
            continue
        if copy.stat().st_size != path.stat().st_size or copy.read_bytes() != path.read_bytes():
            found.append(
                Finding(
                    "schema-outdated",
                    Severity.WARNING,
                    f"{shown}/{path.name}",
                    1,
                    1,
                    f"schemas/{path.name} differs from the schema calcheck checks with (its installed copy)",
                    "run 'calcheck init --upgrade .' in the repository to refresh its copies of the schemas",
                )
            )
    return found


def schema_uri(kind: str) -> str:
    return f"{BASE_URI}{kind}.schema.json"


class Validators:
    """Validators built once per process, each kind's on its first use (`validate FILE` needs one or two)."""

    def __init__(self) -> None:
        self._registry: Any = None
        self._fast: dict[str, Any] = {}
        self._slow: dict[str, Any] = {}

    def _compiled(self, kind: str) -> Any:
        import jsonschema_rs

        if self._registry is None:
            self._registry = jsonschema_rs.Registry(list(load_schemas().items()))
        validator = jsonschema_rs.Draft202012Validator(
            load_schemas()[schema_uri(kind)], registry=self._registry, validate_formats=True
        )
        self._fast[kind] = validator
        return validator

    def is_valid(self, kind: str, data: Any) -> bool:
        validator = self._fast.get(kind) or self._compiled(kind)
        return bool(validator.is_valid(data))

    def detailed(self, kind: str) -> Any:
        """The ``jsonschema`` validator for ``kind``, built on first use."""
        if kind not in self._slow:
            import jsonschema
            from referencing import Registry, Resource

            schemas = load_schemas()
            registry: Registry[Any] = Registry().with_resources(
                (uri, Resource.from_contents(schema)) for uri, schema in schemas.items()
            )
            self._slow[kind] = _strict_validator()(
                schemas[schema_uri(kind)],
                registry=registry,
                format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
            )
        return self._slow[kind]


@cache
def _strict_validator() -> Any:
    """Draft 2020-12 as calcheck reads it: an integer is never written as a decimal (``1e3``, ``40.0``), a number
    is finite (no ``.nan`` or ``.inf``), and a pattern's ``$`` is the end of the text (Python's ``$`` also matches
    before a final newline, so an id with a newline at its end would pass).

    The compiled validator cannot tell ``1000.0`` from ``1000``, so a document holding such a number, or one that is
    not finite, is always checked here too (``Document.odd_numbers``).
    """
    import math
    import re

    import jsonschema

    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine_many(
        {
            "integer": lambda _, value: type(value) is int,
            "number": lambda _, value: type(value) is int or (type(value) is float and math.isfinite(value)),
        }
    )

    def pattern(validator: Any, expected: str, instance: Any, schema: Any) -> Any:
        whole = expected[:-1] + r"\Z" if expected.endswith("$") and not expected.endswith("\\$") else expected
        if validator.is_type(instance, "string") and not re.search(whole, instance):
            yield jsonschema.ValidationError(f"{instance!r} does not match {expected!r}")

    extend: Any = jsonschema.validators.extend  # untyped in jsonschema
    return extend(base, validators={"pattern": pattern}, type_checker=checker)


@cache
def validators() -> Validators:
    return Validators()


def validate_document(path: str, kind: str, doc: Document) -> list[Located]:
    """Each schema violation in ``doc`` as a finding with its data path (empty when valid)."""
    checks = validators()
    valid = checks.is_valid(kind, doc.data)
    if valid and not doc.odd_numbers:
        return []
    found = [
        (_finding(path, doc, error), tuple(error.absolute_path)) for error in _errors(checks.detailed(kind), doc.data)
    ]
    if not found and not valid:  # the two validators disagree: never let an invalid document pass
        message = f"document does not match the {kind} schema"
        found.append((Finding(RULE, Severity.ERROR, path, doc.line, doc.column, message, "see schemas/"), ()))
    return found


def _errors(validator: Any, data: Any) -> Iterator[Any]:
    from jsonschema.exceptions import best_match

    for error in validator.iter_errors(data):
        if error.context and not _exclusive_keys(error):
            yield best_match(error.context)
        else:
            yield error


def _exclusive_keys(error: Any) -> list[str]:
    """For a ``oneOf`` of 'this key or that key', the keys; otherwise empty."""
    if error.validator != "oneOf":
        return []
    keys: list[str] = []
    for option in error.validator_value:
        required = option.get("required", []) if isinstance(option, dict) else []
        if len(required) != 1:
            return []
        keys.append(required[0])
    return keys


def _finding(path: str, doc: Document, error: Any) -> Finding:
    location = list(error.absolute_path)
    where = _dotted(location)
    message, hint = _explain(error)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(key for key in error.instance if key not in allowed)
        if extra:
            line, col = locate_key(doc.pos, location, extra[0])
            keys = ", ".join(sorted(allowed))
            return Finding(
                RULE,
                Severity.ERROR,
                path,
                line,
                col,
                f"{where}: unknown key {extra[0]!r}" + (f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""),
                f"check the spelling; allowed keys here: {keys}",
            )
    line, col = locate(doc.pos, location)
    return Finding(RULE, Severity.ERROR, path, line, col, f"{where}: {message}", hint)


def _dotted(location: list[Any]) -> str:
    text = ""
    for step in location:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text or "document"


def _explain(error: Any) -> tuple[str, str]:
    """A message and a one-line hint for a ``jsonschema`` error."""
    kind = error.validator
    value = error.validator_value
    if kind == "required":
        return error.message, "add the missing key"
    if kind == "enum":
        options = ", ".join(str(option) for option in value)
        return f"{_short(error.instance)} is not one of the allowed values", f"use one of: {options}"
    if kind == "const":
        return f"{_short(error.instance)} should be {value!r}", f"write {value!r}"
    if kind == "format" and value == "date":
        return f"{_short(error.instance)} is not a valid date", "write a real calendar date as YYYY-MM-DD"
    if kind == "type":
        expected = value if isinstance(value, str) else " or ".join(value)
        return f"{_short(error.instance)} should be of type {expected}", _type_hint(error.instance, expected)
    if kind == "pattern":
        description = error.schema.get("description", f"match the pattern {value}")
        return f"{_short(error.instance)} is not in the expected form", description
    if kind == "uniqueItems":
        return f"{_short(error.instance)} lists a value twice", "list each value once"
    if kind in ("maxLength", "minLength"):
        bound = "at most" if kind == "maxLength" else "at least"
        size = "too long" if kind == "maxLength" else "too short"
        return f"{_short(error.instance)} is {size}", f"write {bound} {value} characters"
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return _bounded(error.message), f"use a value within the allowed range ({kind} {value})"
    if _exclusive_keys(error):
        keys = " or ".join(repr(key) for key in _exclusive_keys(error))
        return f"needs exactly one of {keys}", f"give {keys}, not both and not neither"
    return _bounded(error.message), str(error.schema.get("description", "see the schema in schemas/"))


MESSAGE_LIMIT = 200


def _bounded(message: str) -> str:
    """A validator's own message, cut short: it may quote a hostile value in full."""
    return message if len(message) <= MESSAGE_LIMIT else message[: MESSAGE_LIMIT - 3] + "..."


_YAML11_BOOLEANS = frozenset({"yes", "no", "on", "off", "y", "n", "Yes", "No", "On", "Off", "YES", "NO", "ON", "OFF"})


def _type_hint(instance: Any, expected: str) -> str:
    if isinstance(instance, str) and instance in _YAML11_BOOLEANS and "boolean" in expected:
        return "write true or false: calcheck reads yes/no/on/off as text (YAML 1.2)"
    if isinstance(instance, float) and "string" in expected:
        return 'quote the value ("1.10"): unquoted, YAML reads it as a decimal number'
    if isinstance(instance, bool) and "string" in expected:
        return "quote the value: unquoted true/false are booleans"
    if instance is None:
        return "give a value; an empty value is null"
    article = "an" if expected[0] in "aeiou" else "a"
    return f"write {article} {expected}"


def _short(value: Any) -> str:
    if isinstance(value, str) and len(value) > 60:
        value = value[:60]
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
