"""`calcheck init`: scaffold a new compliance repository that passes its check and builds its site."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path

from calcheck.core.atomic import write_text
from calcheck.core.errors import UsageError
from calcheck.estate.kinds import KINDS
from calcheck.estate.schema import schema_dir

CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2"
UPLOAD_SARIF = "github/codeql-action/upload-sarif@ff0a06e83cb2de871e5a09832bc6a81e7276941f # v3.28.18"


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
    files = estate_files(today)
    files[".github/workflows/calcheck.yml"] = f"""\
# Checks every pull request (annotations, SARIF) and every push to main.
name: Licence check

on:
  pull_request:
  push:
    branches: [main]

permissions: {{}}

jobs:
  check:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      security-events: write
    steps:
      - uses: {CHECKOUT}
        with:
          fetch-depth: 0
          persist-credentials: false
      - uses: {action}
      - if: always()
        uses: {UPLOAD_SARIF}
        with:
          sarif_file: calcheck.sarif
"""
    files[".gitignore"] = "site/_build/\n__pycache__/\n"
    files["README.md"] = f"""\
# Example Organisation: CAL compliance

Our Microsoft Client Access Licences, kept as YAML in `licenses/` and checked by calcheck.

- `calcheck check` validates the estate; `calcheck report` prints the Effective License Position.
- `calcheck site build` builds the compliance site into `site/_build/html`.
- Change assignments by pull request; the `Licence check` workflow annotates and blocks what breaks compliance.

Created with `calcheck init` on {today}.
"""
    for kind in KINDS:
        files[f"schemas/{kind}.schema.json"] = (schema_dir() / f"{kind}.schema.json").read_text(encoding="utf-8")
    files["schemas/common.schema.json"] = (schema_dir() / "common.schema.json").read_text(encoding="utf-8")
    files.update(_site_files())
    return files


def _site_files() -> dict[str, str]:
    packaged = resources.files("calcheck").joinpath("_site")
    root = Path(str(packaged)) if packaged.is_dir() else Path(__file__).resolve().parents[2] / "site"
    files = {"site/mkdocs.yml": (root / "mkdocs.yml").read_text(encoding="utf-8")}
    for page in sorted((root / "docs").rglob("*.md")):
        files[f"site/docs/{page.relative_to(root / 'docs').as_posix()}"] = page.read_text(encoding="utf-8")
    return files


def scaffold(target: Path, today: dt.date, action: str = "calcheck/calcheck@v0.1.0") -> list[Path]:
    """Write the repository skeleton into ``target``; refuse if any of its files exists already."""
    files = repository_files(today, action)
    existing = sorted(name for name in files if (target / name).exists() or (target / name).is_symlink())
    if existing:
        shown = ", ".join(existing[:5]) + (f" and {len(existing) - 5} more" if len(existing) > 5 else "")
        raise UsageError(f"{target}: would overwrite {shown}; nothing was written")
    written = []
    for name, content in files.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, content)
        written.append(path)
    return written
