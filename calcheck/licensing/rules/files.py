"""Rules reported while reading files (YAML, kinds, schema): metadata only, the loader emits them."""

from __future__ import annotations

from calcheck.core.findings import Severity
from calcheck.licensing.rules.base import Rule

_E = Severity.ERROR


def _file_rule(rule_id: str, title: str, docs: str) -> Rule:
    return Rule(rule_id, title, _E, "-", docs, None, "files")


RULES = (
    _file_rule(
        "yaml-syntax", "YAML syntax error", "The file is not valid YAML; the finding points at the parser's position."
    ),
    _file_rule(
        "duplicate-key",
        "Duplicate mapping key",
        "A key appears twice in one mapping. YAML parsers silently keep the last value, which loses data.",
    ),
    _file_rule(
        "yaml-unsupported",
        "YAML feature not supported in calcheck files",
        "Custom tags and complex keys are rejected: calcheck files hold plain JSON-like data.",
    ),
    _file_rule("yaml-too-deep", "Nesting too deep", "Mappings and lists nest deeper than calcheck files ever need."),
    _file_rule(
        "yaml-alias-bomb",
        "Alias expansion too large",
        "Anchors and aliases expand to too many values (a 'billion laughs' document).",
    ),
    _file_rule(
        "yaml-multiple-documents",
        "Several YAML documents in one file",
        "A calcheck file holds one document; later documents are reported, not read.",
    ),
    _file_rule("empty-file", "Empty file", "The file holds no YAML document."),
    _file_rule("file-too-large", "File too large", "The file is larger than calcheck reads."),
    _file_rule(
        "unreadable-file",
        "File cannot be read",
        "The file could not be opened, or is not a regular file (a FIFO or a device).",
    ),
    _file_rule(
        "estate-link",
        "Symbolic link not followed",
        "The estate folder, or a file or folder in it that could hold records (a YAML name, or no extension), is a "
        "symbolic link or a submodule; calcheck reads neither, in the work tree or in a revision, so both read the "
        "same files.",
    ),
    _file_rule("unknown-kind", "Unknown document kind", "The document has no valid top-level 'kind:' key."),
    _file_rule(
        "wrong-kind",
        "File of the wrong kind",
        "The file's 'kind:' differs from the folder it lives in (e.g. a devices file under people/).",
    ),
    _file_rule("schema", "Schema violation", "The document does not match its JSON Schema in schemas/."),
)

# Reported beside the estate's files, about the repository's copies of the schemas; listed last in the registry.
COPIES = (
    Rule(
        "schema-outdated",
        "Repository's schema copy differs from calcheck's",
        Severity.WARNING,
        "-",
        "calcheck checks with the schemas installed with it. The copies in the repository's schemas/ folder (beside "
        "the estate) serve editors and other tools; after an upgrade they may describe older data. "
        "'calcheck init --upgrade .' refreshes them.",
        None,
        "copies",
    ),
)
