"""Generate a synthetic estate of realistic shape, and optionally a git history of assignment changes.

    python tests/benchmarks/generate.py OUT --assignments 100000 [--people 50000] [--devices 20000]
                                        [--holdings 500] [--deployments 200] [--commits 5000]

Deterministic for the same arguments (seeded). People and devices are spread over departments, one file per
department and kind; assignments are one line each in a file per department; holdings over a few dozen files.
"""

from __future__ import annotations

import argparse
import random
import subprocess
from pathlib import Path

DEPARTMENTS = 120
CALS = [("windows-server", "2022", "user"), ("windows-server", "2025", "user"), ("exchange-standard", "2019", "user"),
        ("rds", "2022", "user"), ("windows-server", "2022", "device"), ("sql-server", "2022", "device"),
        ("exchange-enterprise", "2019", "user")]  # fmt: skip


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
                f"groups: [g{i % 40:02d}, g{(i * 7) % 40:02d}]}}"
                for i in range(dept, people, DEPARTMENTS)]  # fmt: skip
        (root / "people" / f"d{dept:03d}.yaml").write_text("kind: people\npeople:\n" + "\n".join(rows) + "\n")
        rows = [f"  - {{id: PC{i:06d}, kind: {'kiosk' if i % 9 == 0 else 'workstation'}, status: active, "
                f"department: D{dept:03d}, groups: [k{i % 10}]}}" for i in range(dept, devices, DEPARTMENTS)]  # fmt: skip
        (root / "devices" / f"d{dept:03d}.yaml").write_text("kind: devices\ndevices:\n" + "\n".join(rows) + "\n")
    per_cal = max(10, 2 * assignments // holdings)
    hold = []
    for h in range(holdings):
        cal, version, kind = CALS[h % len(CALS)]
        hold.append((f"H{h:04d}", cal, version, kind))
    for f in range(0, holdings, 20):
        rows = [f"  - {{id: {hid}, cal: {cal}, version: \"{version}\", type: {kind}, quantity: {per_cal}, "
                f"channel: volume, agreement: EA-1, purchased: 2024-08-01, sa_until: 2027-06-30, unit_price: 40, "
                f"currency: EUR, proof: [{{type: invoice, ref: INV-{hid}}}]}}" for hid, cal, version, kind in hold[f : f + 20]]  # fmt: skip
        (root / "holdings" / f"h{f:04d}.yaml").write_text("kind: holdings\nholdings:\n" + "\n".join(rows) + "\n")
    deps = []
    for d in range(deployments):
        product, version, extra = [("windows-server", "2022", ""), ("exchange-server", "2019", ', os_version: "2022"'),
                                   ("sql-server", "2022", ', os_version: "2022"')][d % 3]  # fmt: skip
        access = "{everyone: true}" if d % 50 == 0 else f"{{groups: [g{d % 40:02d}], devices: []}}"
        if product == "sql-server":
            access = f"{{groups: [k{d % 10}]}}"
        deps.append(f"  - {{id: dep{d:03d}, name: Deployment {d}, product: {product}, version: \"{version}\"{extra}, access: {access}}}")
    (root / "deployments" / "all.yaml").write_text("kind: deployments\ndeployments:\n" + "\n".join(deps) + "\n")
    by_dept: dict[int, list[str]] = {}
    user_holdings = [h for h in hold if h[3] == "user"]
    device_holdings = [h for h in hold if h[3] == "device"]
    for a in range(assignments):
        if a % 5 == 4:
            subject = rng.randrange(devices)
            holding = device_holdings[a % len(device_holdings)][0]
            row = f"  - {{id: A{a:07d}, holding: {holding}, device: PC{subject:06d}, since: 2024-09-02}}"
        else:
            subject = rng.randrange(people)
            holding = user_holdings[a % len(user_holdings)][0]
            row = f"  - {{id: A{a:07d}, holding: {holding}, person: u{subject:06d}, since: 2024-09-02}}"
        by_dept.setdefault(subject % DEPARTMENTS, []).append(row)
    for dept, rows in by_dept.items():
        (root / "assignments" / f"d{dept:03d}.yaml").write_text("kind: assignments\nassignments:\n" + "\n".join(rows) + "\n")


def history(out: Path, commits: int) -> None:
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
        stream.extend(f"commit refs/heads/main\ncommitter Bench <b@x> {stamp} +0000\ndata {len(message)}\n{message}\n".encode())
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
            person = f"u{rng.randrange(10_000):06d}"
            lines[index] = lines[index].split("person: ")[0] + f"person: {person}, since: 2026-0{1 + number % 9}-01}}"
        files[path] = "\n".join(lines)
        commit(f"Reassign a CAL ({number})", {path: files[path]})
    subprocess.run(["git", "fast-import", "--quiet"], cwd=out, input=bytes(stream), check=True, env=env)
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=out, check=True, env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--assignments", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--devices", type=int, default=20_000)
    parser.add_argument("--holdings", type=int, default=500)
    parser.add_argument("--deployments", type=int, default=200)
    parser.add_argument("--commits", type=int, default=0, help="also make a git repository with this many commits")
    args = parser.parse_args()
    estate(args.out, args.assignments, args.people, args.devices, args.holdings, args.deployments)
    if args.commits:
        history(args.out, args.commits)


if __name__ == "__main__":
    main()
