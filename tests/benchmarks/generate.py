"""Generate a synthetic estate of realistic shape, and optionally a git history of assignment changes.

    python tests/benchmarks/generate.py OUT --assignments 100000 [--people 50000] [--devices 20000]
                                        [--holdings 500] [--deployments 200] [--commits 5000]
                                        [--style flow|block]

Deterministic for the same arguments (seeded). People and devices are spread over departments, one file per
department and kind; assignments are one line each in a file per department; holdings over a few dozen files.
With ``--style block`` every record is written as a block mapping instead (a 'key: value' line per field).
"""

from __future__ import annotations

import argparse
import random
import subprocess
from pathlib import Path

DEPARTMENTS = 120


def _items(rows: list[str]) -> str:
    return "\n" + "\n".join(rows) + "\n" if rows else " []\n"


def estate(out: Path, assignments: int, people: int, devices: int, holdings: int, deployments: int) -> None:
    rng = random.Random(20261130)
    root = out / "licenses"
    for folder in ("people", "devices", "holdings", "deployments", "assignments", "audits"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "calcheck.yaml").write_text(
        "kind: config\norganisation: Synthetic Enterprise\naudit_interval_days: 365\n"
        "agreements:\n  - {id: EA-1, type: enterprise-agreement, signed: 2024-07-01}\n"
    )
    (root / "audits" / "audits.yaml").write_text(
        "kind: audits\naudits:\n  - {id: AUD-1, date: 2026-09-30, auditor: SAM team, type: internal, result: compliant}\n"
    )
    for dept in range(DEPARTMENTS):
        rows = [f"  - {{id: u{i:06d}, name: User {i}, kind: {'contractor' if i % 17 == 0 else 'employee'}, "
                f"status: {'departed, departed: 2026-01-31' if i % 41 == 0 else 'active'}, department: D{dept:03d}, "
                f"groups: [g{i % 40:02d}, g{(i + 20) % 40:02d}]}}"
                for i in range(dept, people, DEPARTMENTS)]  # fmt: skip
        (root / "people" / f"d{dept:03d}.yaml").write_text("kind: people\npeople:" + _items(rows))
        rows = [f"  - {{id: PC{i:06d}, kind: {'kiosk' if i % 9 == 0 else 'workstation'}, status: active, "
                f"department: D{dept:03d}, groups: [{'k0' if i % 9 == 0 else 'k1'}]}}" for i in range(dept, devices, DEPARTMENTS)]  # fmt: skip
        (root / "devices" / f"d{dept:03d}.yaml").write_text("kind: devices\ndevices:" + _items(rows))
    # Every active person reaches Windows Server and Exchange deployments through their groups, and every kiosk an
    # ERP database: the estate is mostly compliant, as a real one is, with leavers' CALs still to reclaim.
    kinds = [("windows-server", "2022", "user"), ("exchange-standard", "2019", "user"),
             ("windows-server", "2022", "device"), ("sql-server", "2022", "device")]  # fmt: skip
    kiosks = [i for i in range(devices) if i % 9 == 0]
    rows: list[tuple[int, str, str, str]] = []  # (department, kind index, subject field, subject id)
    for i in kiosks:
        rows += [(i % DEPARTMENTS, 2, "device", f"PC{i:06d}"), (i % DEPARTMENTS, 3, "device", f"PC{i:06d}")]
    for i in range(people):
        rows += [(i % DEPARTMENTS, 0, "person", f"u{i:06d}"), (i % DEPARTMENTS, 1, "person", f"u{i:06d}")]
    rows = rows[:assignments]
    for _ in range(assignments - len(rows)):  # larger estates: more CALs for the same people
        i = rng.randrange(people)
        rows.append((i % DEPARTMENTS, 0, "person", f"u{i:06d}"))
    per_kind = [sum(1 for r in rows if r[1] == k) for k in range(len(kinds))]
    share = [max(1, round(holdings * n / max(len(rows), 1))) for n in per_kind]
    share[share.index(max(share))] += holdings - sum(share)  # exactly ``holdings`` in all
    hold: list[tuple[str, int]] = []  # (holding id, kind index)
    lines = []
    for k, count in enumerate(share):
        for n in range(count):
            hid = f"H{k}{n:04d}"
            cal, version, kind = kinds[k]
            quantity = per_kind[k] // count + 10
            hold.append((hid, k))
            lines.append(f"  - {{id: {hid}, cal: {cal}, version: \"{version}\", type: {kind}, quantity: {quantity}, "
                         f"channel: volume, agreement: EA-1, purchased: 2024-08-01, sa_until: 2027-06-30, "
                         f"unit_price: 40, currency: EUR, proof: [{{type: invoice, ref: INV-{hid}}}]}}")  # fmt: skip
    for f in range(0, len(lines), 20):
        (root / "holdings" / f"h{f:04d}.yaml").write_text(
            "kind: holdings\nholdings:\n" + "\n".join(lines[f : f + 20]) + "\n"
        )
    deps = []
    for d in range(deployments):
        if d % 10 == 9:
            deps.append(f"  - {{id: dep{d:03d}, name: ERP {d}, product: sql-server, version: \"2022\", os_version: \"2022\", "
                        f"access: {{groups: [k0]}}}}")  # fmt: skip
        elif d % 2:
            deps.append(f"  - {{id: dep{d:03d}, name: Mail {d}, product: exchange-server, version: \"2019\", "
                        f"os_version: \"2022\", access: {{groups: [g{d % 40:02d}]}}}}")  # fmt: skip
        else:
            deps.append(f"  - {{id: dep{d:03d}, name: Server {d}, product: windows-server, version: \"2022\", "
                        f"access: {{groups: [g{d % 40:02d}]}}}}")  # fmt: skip
    (root / "deployments" / "all.yaml").write_text("kind: deployments\ndeployments:\n" + "\n".join(deps) + "\n")
    by_kind: dict[int, list[str]] = {}
    for hid, k in hold:
        by_kind.setdefault(k, []).append(hid)
    by_dept: dict[int, list[str]] = {}
    for number, (dept, k, field, subject) in enumerate(rows):
        holding = by_kind[k][number % len(by_kind[k])]
        by_dept.setdefault(dept, []).append(
            f"  - {{id: A{number:07d}, holding: {holding}, {field}: {subject}, since: 2024-09-02}}"
        )
    for dept, found in by_dept.items():
        (root / "assignments" / f"d{dept:03d}.yaml").write_text(
            "kind: assignments\nassignments:\n" + "\n".join(found) + "\n"
        )


def history(out: Path, commits: int, people: int) -> None:
    """A repository whose history is the estate plus ``commits`` commits that each move one CAL."""
    env = {"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "Bench",
           "GIT_COMMITTER_EMAIL": "b@x", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1", "PATH": "/usr/bin:/bin"}  # fmt: skip
    subprocess.run(["git", "init", "-q", "-b", "main", str(out)], check=True, env=env)
    files = {p.relative_to(out).as_posix(): p.read_text() for p in sorted((out / "licenses").rglob("*.yaml"))}
    stream = bytearray()
    stamp = 1_767_600_000

    def commit(message: str, changed: dict[str, str]) -> None:
        nonlocal stamp
        stamp += 3600
        stream.extend(
            f"commit refs/heads/main\ncommitter Bench <b@x> {stamp} +0000\ndata {len(message)}\n{message}\n".encode()
        )
        for path, text in changed.items():
            data = text.encode()
            stream.extend(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")
        stream.extend(b"\n")

    commit("Initial estate", files)
    rng = random.Random(5000)
    assignment_files = sorted(p for p in files if "/assignments/" in p)
    for number in range(commits):
        path = rng.choice(assignment_files)
        lines = files[path].split("\n")
        index = rng.randrange(2, len(lines) - 1)
        if "person: u" in lines[index]:
            person = f"u{rng.randrange(people):06d}"
            lines[index] = lines[index].split("person: ")[0] + f"person: {person}, since: 2026-0{1 + number % 9}-01}}"
        files[path] = "\n".join(lines)
        commit(f"Reassign a CAL ({number})", {path: files[path]})
    subprocess.run(["git", "fast-import", "--quiet"], cwd=out, input=bytes(stream), check=True, env=env)
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=out, check=True, env=env)


def _top_level_parts(body: str) -> list[str]:
    """'a: 1, b: [x, y], c: {d: e}' -> ['a: 1', 'b: [x, y]', 'c: {d: e}'] (commas inside brackets stay)."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(body):
        depth += char in "[{"
        depth -= char in "]}"
        if depth == 0 and body.startswith(", ", index):
            parts.append(body[start:index])
            start = index + 2
    return [*parts, body[start:]]


def to_block(root: Path) -> None:
    """Rewrite every one-line record '  - {a: 1, b: 2}' of the estate as a block mapping."""
    for path in sorted(root.rglob("*.yaml")):
        lines = []
        for line in path.read_text().split("\n"):
            stripped = line.lstrip(" ")
            if stripped.startswith("- {") and line.endswith("}"):
                indent = " " * (len(line) - len(stripped))
                parts = _top_level_parts(stripped[3:-1])
                lines += [f"{indent}- {parts[0]}", *(f"{indent}  {part}" for part in parts[1:])]
            else:
                lines.append(line)
        path.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--assignments", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--devices", type=int, default=20_000)
    parser.add_argument("--holdings", type=int, default=500)
    parser.add_argument("--deployments", type=int, default=200)
    parser.add_argument("--commits", type=int, default=0, help="also make a git repository with this many commits")
    parser.add_argument("--style", choices=("flow", "block"), default="flow", help="how records are written")
    args = parser.parse_args()
    if args.style == "block" and args.commits:
        parser.error("--style block makes an estate only (no --commits)")
    estate(args.out, args.assignments, args.people, args.devices, args.holdings, args.deployments)
    if args.style == "block":
        to_block(args.out / "licenses")
    if args.commits:
        history(args.out, args.commits, args.people)


if __name__ == "__main__":
    main()
