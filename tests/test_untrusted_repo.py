"""A repository's files are data: they make calcheck run nothing, write nowhere else, and publish no person.

Issue 15, items 8 to 10: each test here failed before the fix it holds.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from calcheck import __version__
from calcheck.licensing import engine
from tests.conftest import AS_OF, ROOT

Run = Callable[..., tuple[int, str, str]]
DAY = "2026-11-30"


def git(repo: Path, *args: str, date: str = "2026-01-05T09:00:00+00:00", author: str = "Dana Admin") -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": "dana@example.com",
        "GIT_COMMITTER_NAME": author, "GIT_COMMITTER_EMAIL": "dana@example.com",
        "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date,
        "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
    }  # fmt: skip
    return subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True).stdout


def commit(repo: Path, message: str, date: str, author: str = "Dana Admin") -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, date=date, author=author)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The bundled estate and site configuration in a git repository with one commit; the working directory."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "site", repo / "site", ignore=shutil.ignore_patterns("_build"))
    shutil.copytree(ROOT / "licenses", repo / "licenses")
    shutil.copytree(ROOT / "schemas", repo / "schemas")
    git(repo, "init", "-q", "-b", "main")
    commit(repo, "The estate", "2026-01-05T09:00:00+00:00")
    monkeypatch.chdir(repo)
    return repo


def marker_script(folder: Path, name: str) -> Path:
    """An executable that leaves a file named ``name`` in ``folder`` when something runs it."""
    script = folder / f"{name}.sh"
    script.write_text(f"#!/bin/sh\ntouch '{folder / name}'\ncat\n")
    script.chmod(0o755)
    return script


# --- 8: git runs no program the repository's configuration names ------------------------------------------------


def test_git_runs_no_program_the_repository_configures(project: Path, run_cli: Run, tmp_path: Path) -> None:
    (project / ".gitattributes").write_text("*.yaml filter=trap\n")
    commit(project, "Attributes", "2026-01-06T09:00:00+00:00")
    traps = tmp_path / "traps"
    traps.mkdir()
    hooks = project / ".git" / "hooks"
    for hook in ("post-index-change", "reference-transaction", "post-checkout"):
        (hooks / hook).write_text(f"#!/bin/sh\ntouch '{traps / hook}'\n")
        (hooks / hook).chmod(0o755)
    git(project, "config", "core.fsmonitor", str(marker_script(traps, "fsmonitor")))
    git(project, "config", "filter.trap.clean", str(marker_script(traps, "clean-filter")))
    git(project, "config", "filter.trap.process", str(marker_script(traps, "process-filter")))
    git(project, "config", "log.showSignature", "true")
    git(project, "config", "gpg.program", str(marker_script(traps, "gpg")))
    # a change of the same size: git must read the file (through its clean filter) to see it
    finance = project / "licenses" / "assignments" / "finance.yaml"
    finance.write_text(finance.read_text().replace("2024-09-02", "2024-09-03", 1))
    code, out, err = run_cli("check", "--as-of", DAY)
    assert (code, err) == (0, ""), out
    assert sorted(p.name for p in traps.iterdir() if not p.name.endswith(".sh")) == []
    assert run_cli("history")[0] == 0
    assert run_cli("diff", "HEAD", "--as-of", DAY)[0] == 0
    assert sorted(p.name for p in traps.iterdir() if not p.name.endswith(".sh")) == []


def test_git_ignores_the_callers_git_variables(
    project: Path, run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    traps = tmp_path / "traps"
    traps.mkdir()
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", f"'core.fsmonitor'='{marker_script(traps, 'fsmonitor')}'")
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "core.hooksPath")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", str(traps))
    monkeypatch.setenv("GIT_INDEX_FILE", str(tmp_path / "other-index"))
    (traps / "post-index-change").write_text(f"#!/bin/sh\ntouch '{traps / 'hook'}'\n")
    (traps / "post-index-change").chmod(0o755)
    finance = project / "licenses" / "assignments" / "finance.yaml"
    finance.write_text(finance.read_text().replace("2024-09-02", "2024-09-03", 1))
    code, out, err = run_cli("check", "--as-of", DAY)
    assert (code, err) == (0, ""), out
    assert sorted(p.name for p in traps.iterdir() if p.suffix != ".sh" and p.name != "post-index-change") == []
    assert not (tmp_path / "other-index").exists()


# --- 8: site build runs no program site/mkdocs.yml names --------------------------------------------------------

REFUSED = [
    ("hooks:\n  - trap.py\n", "'hooks' is refused: hooks are Python files MkDocs runs"),
    ("INHERIT: ../../outside.yml\n", "'INHERIT' is refused: it makes MkDocs read another configuration file"),
    ("extra_templates: [trap.html]\n", "'extra_templates' is refused: templates are code (Jinja can reach Python)"),
    ('trap: !!python/object/apply:os.system ["touch TRAP"]\n', "tag"),
    ("markdown_extensions:\n  - trap\n", "Markdown extension 'trap' is not allowed"),
    ("markdown_extensions:\n  - antigravity\n", "Markdown extension 'antigravity' is not allowed"),
    ("markdown_extensions:\n  - pymdownx.snippets\n", "Markdown extension 'pymdownx.snippets' is not allowed"),
    ("markdown_extensions:\n  - pymdownx.b64\n", "Markdown extension 'pymdownx.b64' is not allowed"),
    ("plugins:\n  - material/info\n", "plugin 'material/info' is not one of"),
    ("theme:\n  name: material\n  custom_dir: overrides\n", "'theme.custom_dir' is refused"),
]


def _config_with(project: Path, extra: str) -> Path:
    config = project / "site" / "mkdocs.yml"
    text = config.read_text()
    for key in ("markdown_extensions:", "theme:", "plugins:"):
        if extra.startswith(key) and key in text:  # replace the block of that key
            start = text.index(key)
            end = next((i for i in range(start + 1, len(text)) if text[i - 1] == "\n" and text[i] not in " -\n"), None)
            text = text[:start] + text[end:] if end else text[:start]
    config.write_text(text + extra)
    return config


@pytest.mark.parametrize(("extra", "reason"), REFUSED)
def test_site_configuration_that_names_code_is_refused(project: Path, run_cli: Run, extra: str, reason: str) -> None:
    (project / "site" / "trap.py").write_text("open('TRAP', 'w').close()\n")
    (project / "trap.py").write_text("open('TRAP', 'w').close()\n")
    config = _config_with(project, extra)
    code, out, err = run_cli("site", "build", "licenses", "--as-of", DAY)
    assert (code, out) == (2, "")
    assert err.startswith(f"calcheck: error: {config}:") and reason in err and err.count("\n") == 1, err
    assert not (project / "TRAP").exists() and not (project / "site" / "TRAP").exists()
    assert not (project / "site" / "_build").exists()


@pytest.mark.parametrize(
    ("key", "value"),
    [("docs_dir", "../../outside"), ("docs_dir", "/tmp"), ("site_dir", "../../outside"), ("docs_dir", "docs")],
)
def test_site_folders_outside_the_build_folder_are_refused(project: Path, run_cli: Run, key: str, value: str) -> None:
    config = project / "site" / "mkdocs.yml"
    default = "_build/docs" if key == "docs_dir" else "_build/html"
    config.write_text(config.read_text().replace(f"{key}: {default}", f"{key}: {value}"))
    code, _, err = run_cli("site", "build", "licenses", "--as-of", DAY)
    assert code == 2
    assert f"'{key}' must be '{default}' (the folder calcheck builds), not '{value}'" in err
    assert not (project.parent / "outside").exists()


def test_a_module_named_like_the_engine_in_the_working_directory_is_not_run(project: Path, run_cli: Run) -> None:
    shadow = project / "mkdocs"
    shadow.mkdir()
    (shadow / "__init__.py").write_text("open('TRAP', 'w').close()\n")
    (shadow / "__main__.py").write_text("open('TRAP', 'w').close()\n")
    code, _, err = run_cli("site", "build", "licenses", "--as-of", DAY)
    assert (code, err) == (0, "")
    assert not (project / "TRAP").exists()
    assert (project / "site" / "_build" / "html" / "index.html").is_file()


# --- 9: the site's writes never follow links; no cache is trusted as data ----------------------------------------


@pytest.mark.parametrize("link", ["site/_build", "site/_build/docs", "site/_build/html", "site/_build/docs/index.md"])
def test_site_build_never_writes_through_a_committed_link(
    project: Path, run_cli: Run, tmp_path: Path, link: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "index.md").write_text("keep me\n")
    (outside / "index.html").write_text("keep me\n")
    (outside / "docs").mkdir()
    (outside / "html").mkdir()
    path = project / link
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(outside if not link.endswith(".md") else outside / "index.md")
    commit(project, "A link in the build folder", "2026-01-06T09:00:00+00:00")
    code, _, err = run_cli("site", "build", "licenses", "--as-of", DAY)
    assert (code, err) == (0, "")
    assert sorted(p.name for p in outside.iterdir()) == ["docs", "html", "index.html", "index.md"]
    assert (outside / "index.md").read_text() == (outside / "index.html").read_text() == "keep me\n"
    assert not list((outside / "docs").iterdir()) and not list((outside / "html").iterdir())
    assert not (project / "site" / "_build").is_symlink()
    assert (project / "site" / "_build" / "html" / "index.html").is_file()


def test_handwritten_pages_do_not_follow_links_out(project: Path, run_cli: Run, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "passwords.md").write_text("# SECRET-4711\n")
    (project / "site" / "docs" / "leak").symlink_to(secret)
    (project / "site" / "docs" / "leak.md").symlink_to(secret / "passwords.md")
    assert run_cli("site", "build", "licenses", "--as-of", DAY)[0] == 0
    built = project / "site" / "_build"
    assert not [p for p in built.rglob("*") if p.is_file() and b"SECRET-4711" in p.read_bytes()]


def test_a_committed_trend_cache_is_not_read(project: Path, run_cli: Run) -> None:
    chart = project / "site" / "_build" / "html" / "charts" / "position.svg"
    (project / "licenses" / "README.md").write_text("The estate.\n")
    commit(project, "A second commit", "2026-01-07T09:00:00+00:00")
    assert run_cli("site", "build", "licenses", "--as-of", DAY)[0] == 0
    honest = chart.read_bytes()
    shas = git(project, "rev-list", "HEAD").split()
    forged = json.dumps({f"{__version__}:{sha}": [4242, 4242, 4242, 4242] for sha in shas})
    for folder in ("site/_build/cache", "site/_build", "site", "licenses", "."):
        (project / folder).mkdir(parents=True, exist_ok=True)
        (project / folder / "trend.json").write_text(forged)
    git(project, "add", "-f", "site/_build/cache/trend.json")
    commit(project, "A forged cache", "2026-01-08T09:00:00+00:00")
    for _ in range(2):  # the cache calcheck keeps itself is used the second time
        assert run_cli("site", "build", "licenses", "--as-of", DAY)[0] == 0
        assert b">5000<" not in chart.read_bytes()
        assert chart.read_bytes().count(b"<polyline") == honest.count(b"<polyline")
    private = project / ".git" / "calcheck" / "trend.json"
    assert private.is_file() and "4242" not in private.read_text()


# --- 10: pseudonymisation covers every field ---------------------------------------------------------------------


def test_pseudonymised_site_names_no_person_anywhere(project: Path, run_cli: Run) -> None:
    estate = project / "licenses"
    config = estate / "calcheck.yaml"
    config.write_text(config.read_text().replace("pseudonymise_people: false", "pseudonymise_people: true"))
    people = engine.check(estate, dt.date.fromisoformat(AS_OF)).estate.index("people")
    alice, grace = people["alice.martin"], people["grace.lindqvist"]
    holdings = estate / "holdings" / "windows-server.yaml"
    text = holdings.read_text()
    holdings.write_text(text.replace("owner: IT licensing", f"owner: {alice.name}", 1))
    (estate / "waivers" / "active.yaml").write_text(
        "kind: waivers\nwaivers:\n"
        f"  - {{id: W-1, rule: reclaimable, records: [{grace.id}], owner: {alice.id},"
        f" reason: '{grace.name} returns in January; ask {alice.email}', expires: 2027-01-31}}\n"
    )
    audits = estate / "audits" / "2026.yaml"
    audits.write_text(audits.read_text().replace("auditor: ", f"auditor: {grace.name} and ", 1))
    devices = estate / "devices" / "workstations.yaml"
    devices.write_text(devices.read_text().replace("kind: devices\ndevices:\n", "kind: devices\ndevices:\n"
        f"  - {{id: LAPTOP-AM, name: \"{alice.name}'s laptop\", kind: workstation, status: active,"
        f" department: {alice.id}}}\n", 1))  # fmt: skip
    commit(project, f"Give {grace.id}'s CAL to {alice.name}.", "2026-02-02T09:00:00+00:00", author=grace.name)
    code, _, err = run_cli("site", "build", "licenses", "--as-of", DAY)
    assert (code, err) == (0, "")
    site = project / "site" / "_build"
    data = {p: p.read_bytes().lower() for p in site.rglob("*") if p.is_file()}
    forms = {form.lower().encode() for p in people.values() for form in (p.id, p.name, p.email) if form}
    leaks = sorted(f"{p.relative_to(site)}: {form.decode()}" for p, content in data.items() for form in forms
                   if form in content)  # fmt: skip
    assert leaks == []
    waivers = next(content for path, content in data.items() if path.name == "waivers.html")
    assert b"person-" in waivers and b"returns in january" in waivers  # the text is there, its people are not


def test_without_pseudonyms_the_site_names_people(project: Path, run_cli: Run) -> None:
    assert run_cli("site", "build", "licenses", "--as-of", DAY)[0] == 0
    assert b"alice.martin" in (project / "site" / "_build" / "html" / "data" / "people.js").read_bytes()
