"""Generate a synthetic estate of realistic shape, and optionally a git history of assignment changes.

    python tests/benchmarks/generate.py OUT --assignments 100000 [--people 50000] [--devices 20000]
                                        [--holdings 500] [--deployments 200] [--commits 5000]
                                        [--style real|flow|block]

Deterministic for the same arguments (seeded). People and devices are spread over departments, one file per
department and kind, and so are assignments; holdings over a few dozen files. ``--style real`` (the default)
writes every file with habits of its own, as admins and imports do (see ``realistic.py``: flow and block records
mixed, comments, blank lines, quoting, Unicode names and notes, optional fields, CRLF and byte-order marks);
``--style flow`` writes every record on one line and ``--style block`` as a block mapping (the uniform shapes
the reading fast path was first tuned on, kept for comparison).
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import realistic  # a sibling script, not a package

DEPARTMENTS = 120
REAL_DEPARTMENTS = 100  # x 3 kinds: 300 files
Records = dict[str, tuple[int, list[dict[str, Any]]]]  # assignment file -> (its habits' seed, its records)


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
    rows, hold = _rows_and_holdings(rng, assignments, people, devices, holdings, root)
    _deployments(root, deployments)
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


Row = tuple[int, int, str, str]  # (department, kind index, subject field, subject id)
# Every active person reaches Windows Server and Exchange deployments through their groups, and every kiosk an
# ERP database: the estate is mostly compliant, as a real one is, with leavers' CALs still to reclaim.
KINDS = [("windows-server", "2022", "user"), ("exchange-standard", "2019", "user"),
         ("windows-server", "2022", "device"), ("sql-server", "2022", "device"), ("core-cal-suite", None, "user")]  # fmt: skip


def _rows_and_holdings(
    rng: random.Random, assignments: int, people: int, devices: int, holdings: int, root: Path, *, suites: bool = False
) -> tuple[list[Row], list[tuple[str, int]]]:
    """Who gets which kind of CAL, and the holdings that cover them (written to holdings/).

    With ``suites``, two people in three hold a Core CAL Suite instead of a Windows Server and an Exchange CAL.
    """
    kiosks = [i for i in range(devices) if i % 9 == 0]
    rows: list[Row] = []
    for i in kiosks:
        rows += [(i % DEPARTMENTS, 2, "device", f"PC{i:06d}"), (i % DEPARTMENTS, 3, "device", f"PC{i:06d}")]
    for i in range(people):
        if suites and i % 3:
            rows.append((i % DEPARTMENTS, 4, "person", f"u{i:06d}"))
        else:
            rows += [(i % DEPARTMENTS, 0, "person", f"u{i:06d}"), (i % DEPARTMENTS, 1, "person", f"u{i:06d}")]
    rows = rows[:assignments]
    for _ in range(assignments - len(rows)):  # larger estates: more CALs for the same people
        i = rng.randrange(people)
        rows.append((i % DEPARTMENTS, 0, "person", f"u{i:06d}"))
    kinds = KINDS if suites else KINDS[:4]
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
            what = f'version: "{version}"' if version else "kind: suite"
            lines.append(f"  - {{id: {hid}, cal: {cal}, {what}, type: {kind}, quantity: {quantity}, "
                         f"channel: volume, agreement: EA-1, purchased: 2024-08-01, sa_until: 2027-06-30, "
                         f"unit_price: 40, currency: EUR, proof: [{{type: invoice, ref: INV-{hid}}}]}}")  # fmt: skip
    for f in range(0, len(lines), 20):
        (root / "holdings" / f"h{f:04d}.yaml").write_text(
            "kind: holdings\nholdings:\n" + "\n".join(lines[f : f + 20]) + "\n"
        )
    return rows, hold


def _deployments(root: Path, deployments: int) -> None:
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


def estate_real(out: Path, assignments: int, people: int, devices: int, holdings: int, deployments: int) -> Records:
    """The estate in real-world shapes; returns the assignment files' records (for the history)."""
    rng = random.Random(20261201)
    root = out / "licenses"
    for folder in ("people", "devices", "holdings", "deployments", "assignments", "audits"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "calcheck.yaml").write_text(
        '# Synthetic Enterprise: calcheck configuration\nkind: config\norganisation: "Synthétique Enterprise, S.A."\n'
        "audit_interval_days: 365\nagreements:\n  - id: EA-1\n    type: enterprise-agreement\n    signed: 2024-07-01\n"
    )
    (root / "audits" / "audits.yaml").write_text(
        "kind: audits\naudits:\n  - {id: AUD-1, date: 2026-09-30, auditor: SAM team, type: internal, result: compliant}\n"
    )
    depts = [f"{name} {n}" for n, name in enumerate(["Finance", "Logistique", "Vertrieb", "IT", "Operações"] * 20)]
    people_by_dept: dict[int, list[dict[str, Any]]] = {}
    for i in range(people):
        d = i % REAL_DEPARTMENTS
        kind = "contractor" if i % 17 == 0 else "employee"
        record: dict[str, Any] = {"id": f"u{i:06d}", "name": realistic.person_name(rng), "kind": kind}
        record["status"] = "departed" if i % 41 == 0 else ("on-leave" if i % 97 == 0 else "active")
        if record["status"] == "departed":
            record["departed"] = "2026-01-31"
        if rng.random() < 0.7:
            record["email"] = f"user{i}@example.com"
        record["department"] = depts[d]
        if rng.random() < 0.6:
            record["cost_centre"] = f"CC-{4000 + d}"
        if kind == "contractor":
            record["hours_per_week"] = rng.choice([20, 32, 40])
            record["onsite"] = rng.random() < 0.5
        record["groups"] = [f"g{i % 40:02d}", f"g{(i + 20) % 40:02d}"]
        if rng.random() < 0.05:
            record["notes"] = realistic.note(rng)
        people_by_dept.setdefault(d, []).append(record)
    devices_by_dept: dict[int, list[dict[str, Any]]] = {}
    for i in range(devices):
        d = i % REAL_DEPARTMENTS
        kiosk = i % 9 == 0
        record = {"id": f"PC{i:06d}"}
        if rng.random() < 0.5:
            record["name"] = f"{'KIOSK' if kiosk else 'WS'}-{depts[d][:3].upper()}-{i:05d}"
        record["kind"] = "kiosk" if kiosk else "workstation"
        record["status"] = "retired" if i % 53 == 0 else "active"
        if record["status"] == "retired":
            record["retired"] = "2026-02-28"
        record["department"] = depts[d]
        if rng.random() < 0.4:
            record["serial"] = f"SN{rng.randrange(10**9):09d}"
        record["groups"] = ["k0" if kiosk else "k1"]
        if rng.random() < 0.03:
            record["notes"] = realistic.note(rng)
        devices_by_dept.setdefault(d, []).append(record)
    for d in range(REAL_DEPARTMENTS):
        slug = f"d{d:03d}"
        (root / "people" / f"{slug}.yaml").write_bytes(
            realistic.render_file("people", people_by_dept.get(d, []), 3 * d)
        )
        (root / "devices" / f"{slug}.yaml").write_bytes(
            realistic.render_file("devices", devices_by_dept.get(d, []), 3 * d + 1)
        )
    rows, hold = _rows_and_holdings(rng, assignments, people, devices, holdings, root, suites=True)
    _deployments(root, deployments)
    by_kind: dict[int, list[str]] = {}
    for hid, k in hold:
        by_kind.setdefault(k, []).append(hid)
    files: Records = {}
    for number, (_, k, field, subject) in enumerate(rows):
        d = int(subject[-6:]) % REAL_DEPARTMENTS
        record = {"id": f"A{number:07d}", "holding": by_kind[k][number % len(by_kind[k])], field: subject}
        record["since"] = f"2024-{1 + number % 12:02d}-{1 + number % 28:02d}"
        if rng.random() < 0.2:
            record["reason"] = "new-assignment"
        if rng.random() < 0.04:
            record["note"] = realistic.note(rng)
        path = f"licenses/assignments/d{d:03d}.yaml"
        files.setdefault(path, (3 * d + 2, []))[1].append(record)
    for path, (seed, records) in files.items():
        (out / path).write_bytes(realistic.render_file("assignments", records, seed))
    return files


def history(out: Path, commits: int, people: int, real: Records | None = None) -> None:
    """A repository whose history is the estate plus ``commits`` commits that each move one CAL.

    With ``real`` (the real-style estate's assignment records), files are written again with their own habits
    after each change; one commit in fourteen comes through a merged pull request, and one in a thousand renames
    an assignments file, as reorganisations do.
    """
    env = {"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "Bench",
           "GIT_COMMITTER_EMAIL": "b@x", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1", "PATH": "/usr/bin:/bin"}  # fmt: skip
    subprocess.run(["git", "init", "-q", "-b", "main", str(out)], check=True, env=env)
    files = {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted((out / "licenses").rglob("*.yaml"))}
    stream = bytearray()
    stamp = 1_767_600_000
    mark = 0

    def commit(
        message: str, changed: dict[str, bytes], ref: str = "main", merge: int | None = None, start: int | None = None
    ) -> int:
        """A commit on ``ref`` (a new branch starts at ``start``; ``merge``: the other parent) changing files."""
        nonlocal stamp, mark
        stamp += 3600
        mark += 1
        stream.extend(
            f"commit refs/heads/{ref}\nmark :{mark}\ncommitter Bench <b@x> {stamp} +0000\n"
            f"data {len(message.encode())}\n{message}\n".encode()
        )
        if start is not None:
            stream.extend(f"from :{start}\n".encode())
        if merge is not None:
            stream.extend(f"merge :{merge}\n".encode())
        for path, data in changed.items():
            if data.startswith(b"\0rename "):
                old = data[len(b"\0rename ") :].decode()
                stream.extend(f'R "{old}" "{path}"\n'.encode())
            else:
                stream.extend(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")
        stream.extend(b"\n")
        return mark

    head = commit("Initial estate", files)
    rng = random.Random(5000)
    assignment_files = sorted(p for p in files if "/assignments/" in p)
    for number in range(commits):
        path = rng.choice(assignment_files)
        if real is not None and number % 1000 == 999:  # a reorganisation renames a file
            renamed = path.replace(".yaml", f"-{number}.yaml")
            real[renamed] = real.pop(path)
            files[renamed] = files.pop(path)
            assignment_files[assignment_files.index(path)] = renamed
            head = commit(f"Reorganise: {path} -> {renamed}", {renamed: b"\0rename " + path.encode()})
            continue
        if real is not None:
            seed, records = real[path]
            candidates = [r for r in records if "person" in r]
            record = rng.choice(candidates)
            record["person"] = f"u{rng.randrange(people):06d}"
            record["since"] = f"2026-0{1 + number % 9}-01"
            files[path] = realistic.render_file("assignments", records, seed)
        else:
            lines = files[path].decode().split("\n")
            index = rng.randrange(2, len(lines) - 1)
            if "person: u" in lines[index]:
                person = f"u{rng.randrange(people):06d}"
                lines[index] = (
                    lines[index].split("person: ")[0] + f"person: {person}, since: 2026-0{1 + number % 9}-01}}"
                )
            files[path] = "\n".join(lines).encode()
        if real is not None and number % 14 == 13:  # through a pull request: a branch commit, then its merge
            branch = commit(f"Reassign a CAL ({number})", {path: files[path]}, ref=f"pr{number}", start=head)
            head = commit(
                f"Merge pull request #{number} from team/reassign-{number}\n\nReassign a CAL ({number})",
                {path: files[path]},
                merge=branch,
            )
        else:
            head = commit(f"Reassign a CAL ({number})", {path: files[path]})
    subprocess.run(["git", "fast-import", "--quiet"], cwd=out, input=bytes(stream), check=True, env=env)
    shutil.rmtree(out / "licenses")  # the first version's files: a renamed one would stay behind, untracked
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
    parser.add_argument(
        "--style", choices=("real", "flow", "block"), default="real", help="how records are written (default: real)"
    )
    args = parser.parse_args()
    if args.style == "block" and args.commits:
        parser.error("--style block makes an estate only (no --commits)")
    sizes = (args.assignments, args.people, args.devices, args.holdings, args.deployments)
    real = estate_real(args.out, *sizes) if args.style == "real" else None
    if real is None:
        estate(args.out, *sizes)
    if args.style == "block":
        to_block(args.out / "licenses")
    if args.commits:
        history(args.out, args.commits, args.people, real)


if __name__ == "__main__":
    main()
