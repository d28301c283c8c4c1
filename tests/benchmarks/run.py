"""calcheck's benchmarks: each figure as a ratio against a floor measured in the same run.

    python tests/benchmarks/run.py [--workdir /tmp/calcheck-bench] [--runs 3] [--commits 5000]

Generates (once, then reuses) synthetic estates of 10k, 100k and 300k assignments (and the 100k one with every
record written as a block mapping) and a git repository of the 100k estate with 5,000 commits of assignment
changes, then times fresh processes (best of --runs) and prints a table with the machine's core count and the
versions used. Not part of the test run.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
AS_OF = "2026-11-30"
SIZES = (10_000, 100_000, 300_000)
CALCHECK = [sys.executable, "-m", "calcheck"]


@dataclass
class Row:
    name: str
    seconds: float
    floor_name: str = ""
    floor: float | None = None
    target: str = ""

    @property
    def ratio(self) -> float | None:
        return None if not self.floor else self.seconds / self.floor


def timed(command: list[str], cwd: Path, runs: int) -> float:
    """Best wall time of ``runs`` fresh processes (output discarded; exit status 1 allowed: findings)."""
    best = math.inf
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        elapsed = time.perf_counter() - start
        if done.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(command)} failed: {done.stderr.decode()[-2000:]}")
        best = min(best, elapsed)
    return best


def peak_memory(command: list[str], cwd: Path) -> int:
    """Peak resident memory (bytes) of one fresh process running ``command``."""
    probe = (
        "import resource, runpy, sys\n"
        f"sys.argv = {command[2:]!r}\n"
        "try:\n    runpy.run_module('calcheck', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True, check=False)
    return int(done.stderr.strip().splitlines()[-1]) * 1024


def generate(workdir: Path, commits: int) -> dict[str, Path]:
    made = {}
    for size in SIZES:
        # The directory grows with the estate (50k people and 20k devices at 100k assignments), as it does in life.
        target = workdir / f"estate-{size // 1000}k-scaled"
        if not (target / "licenses").is_dir():
            command = [
                sys.executable,
                str(HERE / "generate.py"),
                str(target),
                "--assignments",
                str(size),
                "--people",
                str(size // 2),
                "--devices",
                str(size // 5),
            ]
            subprocess.run(command, check=True)
        made[f"{size // 1000}k"] = target
    block = workdir / "estate-100k-block"  # the same estate, every record a block mapping
    if not (block / "licenses").is_dir():
        subprocess.run([sys.executable, str(HERE / "generate.py"), str(block), "--style", "block"], check=True)
    made["100k-block"] = block
    repo = workdir / f"repo-100k-{commits}"
    if not (repo / ".git").is_dir():
        subprocess.run(
            [
                sys.executable,
                str(HERE / "generate.py"),
                str(repo),
                "--assignments",
                "100000",
                "--commits",
                str(commits),
            ],
            check=True,
        )
    made["repo"] = repo
    site = made["100k"] / "site"
    if not site.is_dir():
        shutil.copytree(ROOT / "site", site, ignore=shutil.ignore_patterns("_build"))
    return made


def floor_compose(estate: Path, runs: int) -> float:
    script = (
        "import gc, sys, yaml\nfrom pathlib import Path\ngc.disable()\n"
        "for p in sorted(Path(sys.argv[1]).rglob('*.yaml')):\n    yaml.compose(p.read_bytes(), Loader=yaml.CSafeLoader)\n"
    )
    return timed([sys.executable, "-c", script, "licenses"], estate, runs)


def file_walk(repo: Path, runs: int) -> float:
    script = (
        "from pathlib import Path\nfrom calcheck.git.repo import GitRepo\nr = GitRepo(Path('.'))\n"
        "r.log('licenses', r.resolve('HEAD'))\n"
    )
    return timed([sys.executable, "-c", script], repo, runs)


def page_generation(estate: Path, runs: int) -> float:
    script = (
        "import datetime as dt\nfrom pathlib import Path\nfrom calcheck.site import build\n"
        "build.generate(Path('licenses'), build.SitePaths.of(Path('site/mkdocs.yml')), dt.date(2026, 11, 30))\n"
    )
    return timed([sys.executable, "-c", script], estate, runs)


def fitted_exponent(points: list[tuple[int, float]]) -> float:
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(t) for _, t in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum((x - mean_x) ** 2 for x in xs)


def versions() -> str:
    import yaml

    git = subprocess.run(["git", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    names = ("calcheck", "PyYAML", "jsonschema", "jsonschema-rs", "GitPython", "mkdocs", "mkdocs-material")
    found = ", ".join(f"{name} {metadata.version(name)}" for name in names)
    libyaml = "with libyaml" if getattr(yaml, "__with_libyaml__", False) else "WITHOUT libyaml"
    return f"{platform.python_implementation()} {platform.python_version()}; {found}; PyYAML {libyaml}; {git}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/calcheck-bench"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--commits", type=int, default=5000)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    made = generate(args.workdir, args.commits)
    check = [*CALCHECK, "check", "licenses", "--as-of", AS_OF, "--no-history", "--output", os.devnull]
    e100k, repo = made["100k"], made["repo"]
    rows: list[Row] = []
    compose = floor_compose(e100k, args.runs)
    check_100k = timed(check, e100k, args.runs)
    rows.append(Row("check, 100k assignments", check_100k, "yaml.compose, GC off", compose, "<= 1.5x, < 3.5 s"))
    block = made["100k-block"]
    rows.append(
        Row(
            "check, 100k, block-style records",
            timed(check, block, args.runs),
            "yaml.compose, GC off",
            floor_compose(block, args.runs),
            "<= 1.5x",
        )
    )
    git_log = timed(["git", "log", "--name-status", "-z", "--first-parent", "--", "licenses"], repo, args.runs)
    rows.append(
        Row(
            f"history file walk, {args.commits} commits",
            file_walk(repo, args.runs),
            "git log --name-status",
            git_log,
            "<= 3.0x",
        )
    )
    history = timed([*CALCHECK, "history", "--output", os.devnull], repo, args.runs)
    rows.append(
        Row(f"history (record level), {args.commits} commits", history, "yaml.compose, GC off", compose, "< 5 s")
    )
    in_git = timed([*CALCHECK, "check", "--as-of", AS_OF, "--output", os.devnull], repo, args.runs)
    rows.append(
        Row(f"check with 90-day history, {args.commits} commits", in_git, "check, 100k", check_100k, "reported")
    )
    rev_check = timed(
        [*CALCHECK, "check", "--rev", "HEAD", "--as-of", AS_OF, "--no-history", "-o", os.devnull], repo, args.runs
    )
    diff = timed(
        [*CALCHECK, "diff", "HEAD~100", "HEAD", "--as-of", AS_OF, "--no-history", "-o", os.devnull], repo, args.runs
    )
    rows.append(Row("diff of two revisions, 100k", diff, "check --rev of one", rev_check, "<= 2.5x"))
    pages = page_generation(e100k, args.runs)
    rows.append(Row("site page generation, 100k", pages, "check, 100k", check_100k, "<= 2.0x"))
    site = timed([*CALCHECK, "site", "build", "licenses", "--as-of", AS_OF], e100k, 1)
    rows.append(Row("site build with MkDocs, 100k (total)", site, target="reported"))
    import_yaml = timed([sys.executable, "-c", "import yaml"], e100k, max(args.runs, 5))
    rows.append(
        Row(
            "start-up: calcheck --version",
            timed([*CALCHECK, "--version"], e100k, max(args.runs, 5)),
            "python -c 'import yaml'",
            import_yaml,
            "<= 1.5x",
        )
    )
    scaling = [(size, timed(check, made[f"{size // 1000}k"], args.runs if size < 300_000 else 1)) for size in SIZES]
    memory = peak_memory(check, e100k)
    print(f"calcheck benchmarks on {os.cpu_count()} cores; {versions()}")
    print(f"{'measure':44} {'seconds':>8}  {'floor':>8} {'ratio':>6}  {'floor is':26} target")
    for row in rows:
        floor = f"{row.floor:8.3f}" if row.floor else " " * 8
        ratio = f"{row.ratio:5.2f}x" if row.ratio else " " * 6
        print(f"{row.name:44} {row.seconds:8.3f}  {floor} {ratio}  {row.floor_name:26} {row.target}")
    print(
        "scaling (check): "
        + ", ".join(f"{n // 1000}k {t:.2f} s" for n, t in scaling)
        + f"; fitted exponent {fitted_exponent(scaling):.2f} (target <= 1.1; people = assignments / 2)"
    )
    print(f"peak memory, check of 100k: {memory / 2**20:.0f} MiB (target <= 1024 MiB)")


if __name__ == "__main__":
    main()
