"""Refresh the reference data the tests read, from the team's shared copy beside this checkout.

    python tests/reference/refresh.py            # rewrite the files here from ../shared
    python tests/reference/refresh.py --check    # exit 1 if they differ from ../shared

The tests read only these copies, so they pass in any clean clone: the official SARIF 2.1.0 schema, the CAL rule
catalogue, and the YAML test suite's data cases (MIT licence, kept in the packed file) as one JSON file whose inputs
are base64, byte for byte.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[2] / "shared"


def packed_suite(suite: Path) -> str:
    cases: dict[str, dict[str, object]] = {}
    for case in sorted({p.parent for p in suite.rglob("in.yaml")}):
        expected = case / "in.json"
        cases[case.relative_to(suite).as_posix()] = {
            "in.yaml": base64.b64encode((case / "in.yaml").read_bytes()).decode("ascii"),
            "in.json": expected.read_text(encoding="utf-8") if expected.exists() else None,
            "error": (case / "error").exists(),
        }
    data = {"licence": (suite / "LICENSE").read_text(encoding="utf-8"), "cases": cases}
    return json.dumps(data, indent=0, sort_keys=True, ensure_ascii=False) + "\n"


def wanted() -> dict[str, str]:
    return {
        "sarif-schema-2.1.0.json": (SHARED / "reference" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"),
        "cal-rules.md": (SHARED / "domain" / "cal-rules.md").read_text(encoding="utf-8"),
        "yaml-test-suite.json": packed_suite(SHARED / "reference" / "yaml-test-suite"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only compare")
    args = parser.parse_args()
    stale = [name for name, text in wanted().items() if not (HERE / name).is_file() or (HERE / name).read_text(
        encoding="utf-8") != text]  # fmt: skip
    if args.check:
        print("\n".join(f"stale: {name}" for name in stale) or "up to date")
        return 1 if stale else 0
    for name, text in wanted().items():
        (HERE / name).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
