"""`calcheck init`: scaffold a new compliance repository that passes its check and builds its site."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from calcheck import __version__
from calcheck.core.atomic import write_text
from calcheck.estate.schema import schema_dir

DEFAULT_ACTION = f"calcheck/calcheck@v{__version__}"
# A workflow of this repository runs the action from its own checkout; a new repository runs the published one.
LOCAL_ACTION = re.compile(r"^(\s+uses: )\./$", re.MULTILINE)
PINNED = re.compile(r"@[0-9a-f]{40}$")
UNPINNED_TODO = (
    " # TODO: pin to a commit SHA: calcheck init --upgrade . --action calcheck/calcheck@<SHA>"
    " # zizmor: ignore[unpinned-uses]"
)
GITIGNORE = ("site/_build/", "__pycache__/", ".venv/")


def _modeline(kind: str, depth: int) -> str:
    return f"# yaml-language-server: $schema={'../' * depth}schemas/{kind}.schema.json\n"


def estate_files(today: dt.date) -> dict[str, str]:
    """One example of each record kind, dated so that the estate is clean on ``today``."""
    later = today + dt.timedelta(days=180)
    return {
        "licenses/calcheck.yaml": _modeline("config", 1)
        + f"""\
kind: config
organisation: Example Organisation
currency: EUR
audit_interval_days: 180
agreements:
  - {{id: EA-0000001, type: enterprise-agreement, signed: {today}}}
site:
  publish_proofs: false
  pseudonymise_people: false
""",
        "licenses/holdings/windows-server.yaml": _modeline("holdings", 2)
        + f"""\
kind: holdings
holdings:
  - id: EA-WS25-USER
    cal: windows-server
    version: "2025"
    type: user
    quantity: 5
    channel: volume
    agreement: EA-0000001
    purchased: {today}
    unit_price: 42.0
    currency: EUR
    owner: IT licensing
    proof:
      - {{type: invoice, ref: INV-0001}}
""",
        "licenses/people/staff.yaml": _modeline("people", 2)
        + """\
kind: people
people:
  - {id: jane.doe, name: Jane Doe, kind: employee, status: active, department: Finance, groups: [file-users]}
""",
        "licenses/devices/workstations.yaml": _modeline("devices", 2)
        + """\
kind: devices
devices:
  - {id: PC-0001, name: Jane's workstation, kind: workstation, status: active, department: Finance}
""",
        "licenses/deployments/servers.yaml": _modeline("deployments", 2)
        + """\
kind: deployments
deployments:
  - id: file-server
    name: File server
    product: windows-server
    version: "2025"
    access:
      groups: [file-users]
""",
        "licenses/assignments/staff.yaml": _modeline("assignments", 2)
        + f"""\
kind: assignments
assignments:
  - {{id: A-0001, holding: EA-WS25-USER, person: jane.doe, since: {today}, reason: new-assignment}}
""",
        "licenses/audits/audits.yaml": _modeline("audits", 2)
        + f"""\
kind: audits
audits:
  - {{id: AUD-0001, date: {today}, auditor: IT licensing, type: internal, scope: Initial estate, result: compliant}}
""",
        "licenses/waivers/waivers.yaml": _modeline("waivers", 2)
        + f"""\
kind: waivers
waivers:
  - id: W-0001
    rule: shelfware
    records: [EA-WS25-USER]
    owner: IT licensing
    reason: An example waiver; delete it.
    expires: {later}
""",
    }


def repository_files(today: dt.date, action: str) -> dict[str, str]:
    """Every file of a new compliance repository, by its path relative to the repository."""
    files = estate_files(today)
    files.update(workflow_files(action))
    files[".gitignore"] = "".join(f"{line}\n" for line in GITIGNORE)
    files["README.md"] = f"""\
# Example Organisation: CAL compliance

Our Microsoft Client Access Licences, kept as YAML in `licenses/` and checked by calcheck.

- `calcheck check` validates the estate; `calcheck report` prints the Effective License Position.
- `calcheck site build` builds the compliance site into `site/_build/html` (install `calcheck[site]`).
- Change assignments by pull request: `.github/workflows/pull-request.yml` annotates the YAML, fails a change that
  makes the position worse than on the base branch (ratchet), summarises it, uploads SARIF and builds the site;
  `.github/workflows/pages.yml` publishes the site from `main` (Settings, Pages, Source: GitHub Actions).
- SARIF goes to code scanning; a private repository without it skips the upload without failing (set the
  repository variable `CALCHECK_SARIF` to `false` to skip it altogether).
- After upgrading calcheck, `calcheck init --upgrade .` refreshes the copies of its schemas in `schemas/`.

Created with `calcheck init` on {today}.
"""
    files.update(schema_files())
    files.update(_site_files())
    return files


def schema_files() -> dict[str, str]:
    """The installed schemas, as the repository keeps copies of them (for editors and other tools)."""
    return {
        f"schemas/{path.name}": path.read_text(encoding="utf-8") for path in sorted(schema_dir().glob("*.schema.json"))
    }


def workflow_files(action: str) -> dict[str, str]:
    """calcheck's own workflows, with the action taken from ``action`` instead of the checkout."""
    packaged = resources.files("calcheck").joinpath("_workflows")
    root = Path(str(packaged)) if packaged.is_dir() else Path(__file__).resolve().parents[2] / ".github" / "workflows"
    reference = action + ("" if PINNED.search(action) else UNPINNED_TODO)
    return {
        f".github/workflows/{path.name}": LOCAL_ACTION.sub(lambda m: m.group(1) + reference, path.read_text("utf-8"))
        for path in sorted(root.glob("*.yml"))
    }


def _site_files() -> dict[str, str]:
    packaged = resources.files("calcheck").joinpath("_site")
    root = Path(str(packaged)) if packaged.is_dir() else Path(__file__).resolve().parents[2] / "site"
    files = {"site/mkdocs.yml": (root / "mkdocs.yml").read_text(encoding="utf-8")}
    for page in sorted((root / "docs").rglob("*.md")):
        files[f"site/docs/{page.relative_to(root / 'docs').as_posix()}"] = page.read_text(encoding="utf-8")
    return files


@dataclass
class InitResult:
    """What ``init`` did: files written, files it left as they were, and files it added lines to."""

    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    extended: list[str] = field(default_factory=list)


def scaffold(target: Path, today: dt.date, action: str = DEFAULT_ACTION) -> InitResult:
    """Add what is missing from a compliance repository in ``target``; never overwrite a file.

    An estate already in ``licenses/`` is left alone as a whole (no example records join it); an existing
    ``.gitignore`` gets the lines it lacks.
    """
    result = InitResult()
    estate_exists = (target / "licenses").is_dir() and any((target / "licenses").iterdir())
    if estate_exists:
        result.kept.append("licenses/ (an estate is there)")
    for name, content in repository_files(today, action).items():
        path = target / name
        if estate_exists and name.startswith("licenses/"):
            continue
        if name == ".gitignore" and path.is_file() and not path.is_symlink():
            if _extend_gitignore(path):
                result.extended.append(name)
            else:
                result.kept.append(name)
            continue
        if path.exists() or path.is_symlink():
            result.kept.append(name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, content)
        result.written.append(name)
    return result


def _extend_gitignore(path: Path) -> bool:
    text = path.read_text(encoding="utf-8")
    present = {line.strip() for line in text.splitlines()}
    missing = [line for line in GITIGNORE if line not in present and f"/{line}" not in present]
    if missing:
        separator = "" if not text or text.endswith("\n") else "\n"
        write_text(path, text + separator + "".join(f"{line}\n" for line in missing))
    return bool(missing)


def upgrade(target: Path, action: str | None) -> InitResult:
    """Refresh the repository's copies of the schemas (and, given ``action``, the workflows) from this calcheck."""
    result = InitResult()
    files = schema_files()
    if action is not None:
        files.update(workflow_files(action))
    for name, content in files.items():
        path = target / name
        if path.is_file() and not path.is_symlink() and path.read_text(encoding="utf-8") == content:
            result.kept.append(name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, content)
        result.written.append(name)
    return result
