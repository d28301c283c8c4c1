"""What a repository's ``site/mkdocs.yml`` may ask of the site engine: settings, never programs.

MkDocs and Zensical run code a configuration names: ``hooks:`` (Python files), ``INHERIT:`` (another file),
YAML tags such as ``!!python/object/apply`` (MkDocs reads its configuration with PyYAML's full loader),
``theme.custom_dir`` and ``extra_templates`` (Jinja templates, which can reach Python), and any module importable
under a plugin's or Markdown extension's name. A pull request can change ``site/mkdocs.yml``, so calcheck reads it
first, with its own loader (no tags), and refuses it unless every setting is plain data, every plugin and Markdown
extension is on the lists below, and ``docs_dir`` and ``site_dir`` are the build folders calcheck writes
(``_build/docs`` and ``_build/html`` beside the configuration), so nothing is read from or written to a folder
outside the repository.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from calcheck.core.errors import UsageError
from calcheck.core.text import one_line

# Plugins that only read the pages they are given and write into the site folder.
PLUGINS = frozenset({"search", "material/search", "offline", "material/offline", "tags", "material/tags"})
# Markdown's own extensions, by short or full name; pymdownx and Material's extensions by full name.
MARKDOWN_EXTENSIONS = frozenset(
    {
        "abbr", "admonition", "attr_list", "codehilite", "def_list", "extra", "fenced_code", "footnotes",
        "legacy_attrs", "legacy_em", "md_in_html", "meta", "nl2br", "sane_lists", "smarty", "tables", "toc",
        "wikilinks",
    }
)  # fmt: skip
EXTENSION_PACKAGES = ("markdown.extensions.", "pymdownx.", "material.extensions.")
# Both put files from anywhere on disk into a page (an image, for b64): nothing outside the repository is
# published, and a page would depend on more than its Markdown (a changed image, the same page).
REFUSED_EXTENSIONS = frozenset({"pymdownx.snippets", "pymdownx.b64"})
REFUSED_KEYS = {
    "hooks": "hooks are Python files MkDocs runs",
    "INHERIT": "it makes MkDocs read another configuration file",
    "extra_templates": "templates are code (Jinja can reach Python)",
}
THEMES = frozenset({"material", "mkdocs", "readthedocs"})


def check_config(config: Path, docs: Path, html: Path) -> None:
    """Refuse ``config`` (with the first reason, located) unless it asks the engine for nothing but settings."""
    from calcheck.estate.parse import load_bytes

    for path in (config, config.parent):
        if path.is_symlink():
            raise UsageError(f"{path}: is a symbolic link; calcheck builds only a site configuration in the repository")
    loaded = load_bytes(str(config), config.read_bytes(), fast=False)
    if loaded.findings:
        first = loaded.findings[0]
        raise UsageError(f"{config}:{first.line}:{first.column}: {one_line(first.message)}; the site is not built")
    if len(loaded.documents) != 1 or not isinstance(loaded.documents[0].data, dict):
        raise UsageError(f"{config}: not a MkDocs configuration (one mapping of settings)")
    document = loaded.documents[0]
    problem = _problem(document.data, config.parent, docs, html)
    if problem is not None:
        key, reason = problem
        line, column = _position(document.pos, key)
        raise UsageError(f"{config}:{line}:{column}: {reason}; the site is not built")


def _problem(data: dict[str, Any], site: Path, docs: Path, html: Path) -> tuple[list[Any], str] | None:
    for key, reason in REFUSED_KEYS.items():
        if key in data:
            return [key], f"'{key}' is refused: {reason}"
    for key, wanted in (("docs_dir", docs), ("site_dir", html)):
        given = data.get(key)
        expected = os.path.relpath(wanted, site)
        if not isinstance(given, str) or os.path.normpath(os.path.join(site, given)) != os.path.normpath(wanted):
            return [key], f"'{key}' must be {expected!r} (the folder calcheck builds), not {given!r}"
    theme = data.get("theme")
    if isinstance(theme, dict):
        if "custom_dir" in theme:
            return ["theme", "custom_dir"], "'theme.custom_dir' is refused: templates are code (Jinja can reach Python)"
        theme = theme.get("name")
    if theme is not None and theme not in THEMES:
        return ["theme"], f"theme {theme!r} is not one of: {', '.join(sorted(THEMES))}"
    for index, name in enumerate(_names(data.get("plugins"))):
        if name not in PLUGINS:
            return ["plugins", index], f"plugin {name!r} is not one of: {', '.join(sorted(PLUGINS))}"
    for index, name in enumerate(_names(data.get("markdown_extensions"))):
        if not _extension_allowed(name):
            return ["markdown_extensions", index], (
                f"Markdown extension {name!r} is not allowed (Markdown's own, or pymdownx.* or "
                "material.extensions.* by full name)"
            )
    return None


def _names(entries: Any) -> list[Any]:
    """The names in a plugins or markdown_extensions list (each a name, or a one-key mapping of name: options)."""
    if entries is None:
        return []
    if isinstance(entries, dict):
        return list(entries)
    if not isinstance(entries, list):
        return [entries]
    return [next(iter(entry), None) if isinstance(entry, dict) and len(entry) == 1 else entry for entry in entries]


def _extension_allowed(name: Any) -> bool:
    if not isinstance(name, str) or name in REFUSED_EXTENSIONS:
        return False
    if name in MARKDOWN_EXTENSIONS:
        return True
    package = next((p for p in EXTENSION_PACKAGES if name.startswith(p)), None)
    rest = name[len(package) :] if package else ""
    if package == "markdown.extensions.":
        return rest in MARKDOWN_EXTENSIONS
    return bool(rest) and all(part.isidentifier() for part in rest.split("."))


def _position(pos: Any, path: list[Any]) -> tuple[int, int]:
    from calcheck.estate.yamlload import locate, locate_key

    if len(path) == 1:
        return locate_key(pos, [], path[0])
    return locate(pos, path)
