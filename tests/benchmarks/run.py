"""calcheck's benchmarks: each figure as a ratio against a floor measured in the same run.

    python tests/benchmarks/run.py [--workdir DIR] [--runs 5] [--commits 5000] [--style real|flow|block]

Generates (once, then reuses) estates of 10k, 100k and 300k assignments written the way admins and imports write
them (``generate.py --style real``: about 0.6 people and 0.4 devices per assignment, 300 files by department,
flow and block records mixed, comments, quoting, Unicode, optional fields, CRLF and byte-order marks), a git
repository of the 100k estate with --commits commits (merged pull requests and file renames among them) and a
100,000-row Active Directory export. Each row runs the command and its floor alternately in fresh processes
--runs times and reports the median time and the median of the paired ratios, with the machine's core count and
the versions used. ``--only TEXT`` measures only the rows whose name has TEXT ("memory": peak memory). Not part of
the test run; the work folder is left for the next run (delete it to regenerate).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
AS_OF = "2026-11-30"
CALCHECK = [sys.executable, "-m", "calcheck"]
COMPOSE = (
    "import gc, sys, yaml\nfrom pathlib import Path\ngc.disable()\n"
    "for p in sorted(Path(sys.argv[1]).rglob('*.yaml')):\n    yaml.compose(p.read_bytes(), Loader=yaml.CSafeLoader)\n"
)


ONLY: list[str] = []  # --only: the rows whose name contains one of these
SKIPPED = "not measured (--only)"


@dataclass
class Row:
    name: str
    seconds: float
    floor_name: str = ""
    floor: float | None = None
    ratio: float | None = None
    target: str = ""


def run_once(command: list[str], cwd: Path) -> float:
    """Wall time of one fresh process (output discarded; exit status 1 allowed: findings, refusals)."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise Failed(f"exit {done.returncode}: {done.stderr.decode().strip()[-300:]}")
    return elapsed


class Failed(Exception):
    """A measured command stopped with an error: its row says so, and the run goes on."""


def wanted(name: str) -> bool:
    return not ONLY or any(part in name for part in ONLY)


def paired(
    name: str,
    command: list[str],
    cwd: Path,
    floor_name: str,
    floor: list[str],
    floor_cwd: Path,
    runs: int,
    target: str,
    before: Callable[[int], object] = lambda index: None,
) -> Row:
    """The command and its floor alternately, ``runs`` times (``before(index)`` untimed before each pair): medians of
    the times and of the ratios."""
    if not wanted(name):
        return Row(name, float("nan"), floor_name, None, None, SKIPPED)
    times, floors, ratios = [], [], []
    try:
        for index in range(runs):
            before(index)
            a = run_once(command, cwd)
            b = run_once(floor, floor_cwd)
            times.append(a)
            floors.append(b)
            ratios.append(a / b)
    except (Failed, subprocess.CalledProcessError) as failed:
        row = Row(name, float("nan"), floor_name, None, None, f"{target}; FAILED: {failed}")
    else:
        median = statistics.median
        row = Row(name, median(times), floor_name, median(floors), median(ratios), target)
    print(_line(row), flush=True)  # as it comes: a long run shows its progress
    return row


def after_new_commit(
    name: str, command: list[str], repo: Path, floor_name: str, floor: list[str], runs: int, target: str
) -> Row:
    """The command in ``repo`` (a scratch copy) after one commit more each time, its cache filled by the run before."""

    def before(index: int) -> None:
        if index == 0:
            run_once(command, repo)  # fills the cache up to the current commit
        new_commit(repo, index)

    return paired(name, command, repo, floor_name, floor, repo, runs, target, before)


def warm_trend_only(
    name: str, command: list[str], repo: Path, floor_name: str, floor: list[str], runs: int, target: str
) -> Row:
    """The site build as the issue measures it: in the repository, its trend's points kept (in the repository's git
    folder, by a build just before) but every other cache cold: an empty file and history cache, no built site."""
    if not wanted(name):
        return Row(name, float("nan"), floor_name, None, None, SKIPPED)
    saved = os.environ.get("CALCHECK_CACHE_DIR")
    scratch = Path(tempfile.mkdtemp(prefix="calcheck-bench-cache-", dir=repo.parent))

    def before(index: int) -> None:
        if index == 0:
            run_once(command, repo)  # the trend's points, for this code
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(repo / "site" / "_build", ignore_errors=True)

    os.environ["CALCHECK_CACHE_DIR"] = str(scratch)
    try:
        return paired(name, command, repo, floor_name, floor, repo, runs, target, before)
    finally:
        if saved is None:
            os.environ.pop("CALCHECK_CACHE_DIR", None)
        else:
            os.environ["CALCHECK_CACHE_DIR"] = saved
        shutil.rmtree(scratch, ignore_errors=True)


def new_commit(repo: Path, index: int) -> None:
    """One commit more: an assignment of the first assignments file starts on another day."""
    path = sorted((repo / "licenses" / "assignments").glob("*.yaml"))[0]
    text = path.read_text(encoding="utf-8")
    day = f"2025-{1 + index % 12:02d}-{1 + index % 28:02d}"
    changed = re.sub(r"since: *['\"]?\d{4}-\d{2}-\d{2}['\"]?", f"since: {day}", text, count=1)
    path.write_text(changed if changed != text else text + f"# {day}\n", encoding="utf-8")
    stamp = f"2026-11-{1 + index % 28:02d}T12:00:00+00:00"
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
           "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}  # fmt: skip
    subprocess.run(["git", "commit", "-q", "-m", f"Benchmark change {index}", "--", str(path)], cwd=repo, env=env,
                   check=True, capture_output=True)  # fmt: skip


def _line(row: Row) -> str:
    shown = f"{row.floor:8.3f}" if row.floor else " " * 8
    ratio = f"{row.ratio:5.2f}x" if row.ratio else " " * 6
    return f"{row.name:46} {row.seconds:8.3f}  {shown} {ratio}  {row.floor_name:24} {row.target}"


def peak_memory(command: list[str], cwd: Path) -> tuple[int, int]:
    """Peak resident memory (bytes) of one fresh process running ``command`` (a calcheck command line), and the
    largest peak of the parsing workers it forked (pages shared with it, copied on write, are counted in both)."""
    probe = (
        "import resource, runpy, sys\n"
        f"sys.argv = {command[2:]!r}\n"
        "try:\n    runpy.run_module('calcheck', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True, check=False)
    *_, main, workers = done.stderr.strip().splitlines()
    return int(main) * 1024, int(workers) * 1024


def _mib(peaks: tuple[int, int]) -> str:
    main, worker = peaks
    return f"{main / 2**20:.0f} MiB" + (f" (a parsing worker {worker / 2**20:.0f} MiB)" if worker else "")


def one_file_changed(work: Path, estate: Path, check: list[str], floor_name: str, floor: list[str], runs: int) -> Row:
    """A warm check after one file changed (as after a pull request's one edit): on a copy, a new line each run."""
    name = "check --no-history, 100k, one file changed"
    copy = work / "estate-100k-one-file-changed"
    if not wanted(name):
        return Row(name, float("nan"), floor_name, None, None, SKIPPED)
    if not copy.is_dir():
        shutil.copytree(estate, copy)
    changed = sorted((copy / "licenses" / "assignments").glob("*.yaml"))[-1]
    with contextlib.suppress(Failed):
        run_once(check, copy)  # the cache holds every file
    edit = f'printf \'# reviewed %s\\n\' "$(date +%s%N)" >> {shlex.quote(str(changed))} && exec "$@"'
    command = ["sh", "-c", edit, "sh", *check]
    return paired(
        "check --no-history, 100k, one file changed", command, copy, floor_name, floor, copy, runs, "reported"
    )


def _generate(target: Path, size: int, style: str, commits: int = 0) -> Path:
    """The estate (and history) at ``target``, generated once: into a scratch folder first, so a run stopped half
    way leaves nothing that a later run would take for a whole estate."""
    if not target.is_dir():
        scratch = target.with_name(target.name + ".partial")
        shutil.rmtree(scratch, ignore_errors=True)
        people, devices = (size * 6 // 10, size * 4 // 10) if style == "real" else (size // 2, size // 5)
        command = [sys.executable, str(HERE / "generate.py"), str(scratch), "--assignments", str(size)]
        command += ["--people", str(people), "--devices", str(devices), "--style", style]
        if commits:
            command += ["--commits", str(commits)]
        subprocess.run(command, check=True)
        scratch.rename(target)
    return target


def ad_export(path: Path, people: int) -> Path:
    """An Active Directory export (Get-ADUser | Export-Csv) of ``people`` rows: the estate's people, some changed."""
    if path.is_file():
        return path
    with path.open("w", newline="", encoding="utf-8-sig") as stream:
        stream.write("#TYPE Microsoft.ActiveDirectory.Management.ADUser\n")
        writer = csv.writer(stream, quoting=csv.QUOTE_ALL)
        writer.writerow(["DistinguishedName", "Enabled", "Name", "SamAccountName", "UserPrincipalName", "Department"])
        for i in range(people):
            sam = f"u{i:06d}" if i % 50 else f"new{i:06d}"  # one in fifty is a starter
            enabled = "False" if i % 97 == 0 else "True"
            name = f"User {i}"
            writer.writerow([f"CN={name},OU=Staff,DC=example,DC=com", enabled, name, sam, f"{sam}@example.com", "IT 7"])
    return path


def jobs() -> int:
    """How many processes calcheck parses with here (CALCHECK_JOBS, else the cores it may use)."""
    code = "from calcheck.estate.parallel import jobs; print(jobs())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    return int(done.stdout.strip() or 1)


def _compile_calcheck() -> str:
    """Compile calcheck's modules to bytecode, as ``pip install`` does, and say so.

    The floors (``import yaml``, the composer) read the bytecode compiled when their packages were installed; a
    calcheck run from a source checkout with ``PYTHONDONTWRITEBYTECODE`` set would compile every module it imports
    on every run, which is no cost of calcheck's and over a fifth of what `validate FILE` costs.
    """
    import compileall

    import calcheck

    package = Path(calcheck.__file__).resolve().parent
    done = compileall.compile_dir(str(package), quiet=1)
    return "calcheck's bytecode compiled" if done else f"calcheck's bytecode NOT compiled ({package})"


def versions() -> str:
    import yaml

    git = subprocess.run(["git", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    names = ("calcheck", "PyYAML", "jsonschema", "jsonschema-rs", "GitPython", "mkdocs", "mkdocs-material")
    found = ", ".join(f"{name} {_version(name)}" for name in names)
    libyaml = "with libyaml" if getattr(yaml, "__with_libyaml__", False) else "WITHOUT libyaml"
    return f"{platform.python_implementation()} {platform.python_version()}; {found}; PyYAML {libyaml}; {git}"


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "calcheck-bench")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--commits", type=int, default=5000)
    parser.add_argument("--style", choices=("real", "flow", "block"), default="real")
    parser.add_argument("--skip-300k", action="store_true", help="leave out the 300k estate (faster)")
    parser.add_argument("--only", action="append", default=[], metavar="TEXT", help="only rows whose name has TEXT")
    args = parser.parse_args()
    ONLY[:] = args.only
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    runs, style = args.runs, args.style
    sizes = [10_000, 100_000] + ([] if args.skip_300k else [300_000])
    estates = {n: _generate(work / f"estate-{n // 1000}k-{style}", n, style) for n in sizes}
    repo = _generate(work / f"repo-100k-{style}-{args.commits}", 100_000, style, args.commits)
    e100k = estates[100_000]
    export = ad_export(work / "ad-100k.csv", 100_000)
    if not (repo / "site").is_dir():
        shutil.copytree(ROOT / "site", repo / "site", ignore=shutil.ignore_patterns("_build", "_generated"))

    os.environ["CALCHECK_CACHE_DIR"] = str(work / "cache")  # the warm rows' file cache (cold rows: --no-cache)
    compiled = _compile_calcheck()
    compose = [sys.executable, "-c", COMPOSE, "licenses"]
    floor = "yaml.compose, GC off"
    check = [*CALCHECK, "check", "licenses", "--as-of", AS_OF, "--no-history", "--output", os.devnull]
    one_check = [*check, "--no-cache"]  # "one check": cold, the floor of the commands that check the estate
    in_git = [*CALCHECK, "check", "licenses", "--as-of", AS_OF, "--output", os.devnull]
    history = [*CALCHECK, "history", "licenses", "--output", os.devnull]
    git_log = ["git", "log", "--name-status", "-z", "--first-parent", "--", "licenses"]
    diff = [*CALCHECK, "diff", "HEAD~100", "--path", "licenses", "--as-of", AS_OF, "--output", os.devnull]
    site = [*CALCHECK, "site", "build", "licenses", "--as-of", AS_OF]
    assign = [*CALCHECK, "assign", "H00000", "--person", "u000007", "--path", "licenses", "--as-of", AS_OF, "--dry-run", "--force"]  # fmt: skip
    importer = [*CALCHECK, "import", "people", str(export), "--path", "licenses", "--on", AS_OF, "--dry-run", "--force"]
    some_file = sorted((e100k / "licenses" / "assignments").glob("*.yaml"))[0]
    validate = [*CALCHECK, "validate", str(some_file)]
    import_yaml = [sys.executable, "-c", "import yaml"]
    rows: list[Row] = []

    def both(
        name: str, command: list[str], cwd: Path, floor_name: str, floor: list[str], targets: tuple[str, str]
    ) -> None:
        """A row cold (--no-cache) and one warm (the cache filled by a run just before), each against ``floor``."""
        rows.append(paired(f"{name}, cold", [*command, "--no-cache"], cwd, floor_name, floor, cwd, runs, targets[0]))
        if wanted(name):
            with contextlib.suppress(Failed):  # fills the cache; a failure shows in the warm row itself
                run_once(command, cwd)
        rows.append(paired(f"{name}, warm", command, cwd, floor_name, floor, cwd, runs, targets[1]))

    for n in sizes:
        rows.append(paired(f"check --no-history, {n // 1000}k, cold", one_check, estates[n], floor, compose, estates[n], runs, "<= 1.5x"))  # fmt: skip
    both("check --no-history, 100k", check, e100k, floor, compose, ("<= 1.5x", "reported"))
    rows.append(one_file_changed(work, e100k, check, floor, compose, runs))
    both(f"check with 90-day history, {args.commits} commits", in_git, repo, floor, compose, ("<= 2.0x", "reported"))
    rows.append(paired(f"history, {args.commits} commits, cold", [*history, "--no-cache"], repo, floor, compose, repo, runs, "<= 1.5x"))  # fmt: skip
    if wanted(f"history, {args.commits} commits, warm"):
        with contextlib.suppress(Failed):  # fills the history cache (a failure shows in the warm row itself)
            run_once(history, repo)
    rows.append(paired(f"history, {args.commits} commits, warm", history, repo, "git log --name-status", git_log, repo, runs, "reported"))  # fmt: skip
    both("diff HEAD~100", diff, repo, "one check (cold)", one_check, ("<= 1.5x", "<= 0.2x"))
    both("site build in the repository", site, repo, "one check (cold)", one_check, ("reported", "<= 0.5x"))
    rows.append(warm_trend_only("site build in the repository, trend kept", site, repo, "one check (cold)", one_check, runs, "<= 2.0x"))  # fmt: skip
    one_more = work / "repo-one-more"  # a scratch copy that gains a commit before each timed run
    shutil.rmtree(one_more, ignore_errors=True)
    shutil.copytree(repo, one_more, symlinks=True)
    rows.append(after_new_commit("history, after one new commit", history, one_more, "one check (cold)", one_check, runs, "<= 0.1x"))  # fmt: skip
    rows.append(after_new_commit("site build, after one new commit", site, one_more, "one check (cold)", one_check, runs, "<= 0.5x"))  # fmt: skip
    rows.append(after_new_commit("check with 90-day history, after one new commit", in_git, one_more, "check --no-history (warm)", check, runs, "reported"))  # fmt: skip
    shutil.rmtree(one_more, ignore_errors=True)
    both("assign one CAL (dry run)", assign, e100k, "one check (cold)", one_check, ("<= 1.2x", "<= 0.1x"))
    # the same estate, its files cached, but another edit each time (no kept decision answers it): a person by clock
    other = 'exec "$@" --person "$(printf "u%06d" $(( $(date +%s%N) / 1000 % 60000 )))"'
    another = ["sh", "-c", other, "sh", *[part for part in assign if part not in ("--person", "u000007")]]
    rows.append(paired("assign another CAL (dry run), files cached", another, e100k, "one check (cold)", one_check, e100k, runs, "<= 0.1x"))  # fmt: skip
    both("import people, 100k-row AD export (dry run)", importer, e100k, "one check (cold)", one_check, ("<= 2x", "reported"))  # fmt: skip
    rows.append(paired("validate FILE", validate, e100k, "python -c 'import yaml'", import_yaml, e100k, runs, "<= 2x"))
    check = one_check
    measure_memory = not ONLY or any("memory" in part for part in ONLY)
    memory = {n: peak_memory(check, estates[n]) for n in sizes} if measure_memory else {}
    import_memory = peak_memory([*importer, "--no-cache"], e100k) if measure_memory else (0, 0)  # (not a kept decision)
    print(f"calcheck benchmarks ({style} estates) on {os.cpu_count()} cores ({jobs()} parsing); {versions()}")
    print(compiled)
    print(f"medians of {runs} paired runs (command and floor alternately, fresh processes)")
    print(f"{'measure':46} {'seconds':>8}  {'floor':>8} {'ratio':>6}  {'floor is':24} target")
    for row in rows:
        if row.target != SKIPPED:
            print(_line(row))
    print(
        "peak memory: not measured (--only)"
        if not measure_memory
        else "peak memory: "
        + ", ".join(f"check {n // 1000}k {_mib(m)}" for n, m in memory.items())
        + f", import 100k {_mib(import_memory)} (targets: <= 512 MiB at 100k, <= 1.5 GiB at 300k)"
    )


if __name__ == "__main__":
    main()
