"""`make bench`: time `trunkguard scan` against the obvious alternatives on a generated monorepo.

Prints medians of several runs and the ratios, measured side by side in the same run, plus the
peak memory of the scan as the number of branches grows, and checks that the figures agree.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pygit2

from tests.bench.monorepo import BENCH_DIR as BENCH_DIR
from tests.bench.monorepo import END, Shape, generated

ROOT = Path(__file__).resolve().parents[2]
NOW_ISO = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(END))
TRUNKGUARD = str(Path(sys.executable).with_name("trunkguard"))


def run_timed(command: list[str]) -> tuple[float, str]:
    """Run a command; return its wall time in seconds and its stdout."""
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed: {result.stderr[-500:]}")
    return elapsed, result.stdout


STORE = Path(tempfile.gettempdir()) / f"trunkguard-bench-{os.getpid()}.db"


def scan_command(repo: Path, *extra: str) -> list[str]:
    # Like for like with the git loop, which keeps nothing: the analysis alone.
    return [TRUNKGUARD, "scan", str(repo), "--json", "--now", NOW_ISO, "--no-store", *extra]


def stored_scan_command(repo: Path) -> list[str]:
    # As people run it by default: kept in a store (a throwaway one, not the user's).
    return [TRUNKGUARD, "scan", str(repo), "--json", "--now", NOW_ISO, "--db", f"sqlite:///{STORE}"]


def peak_rss(command: list[str]) -> int:
    """Run a command in a fresh child and return its own peak RSS in MiB."""
    probe = (
        "import resource, subprocess, sys; "
        "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", probe, *command], capture_output=True, text=True)
    return int(out.stdout) // 1024


def git_loop(repo: Path, branches: list[str], trunk: str) -> dict[str, tuple[int, int, str, int]]:
    """What a person would script with git: four commands per branch."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
        ).stdout

    out = {}
    for ref in branches:
        behind, ahead = git("rev-list", "--left-right", "--count", f"{trunk}...{ref}").split()
        base = git("merge-base", trunk, ref).strip()
        numstat = git("diff", "--numstat", "--no-renames", base, ref).splitlines()
        git("diff", "--name-only", "--no-renames", base, trunk)
        out[ref] = (int(ahead), int(behind), base, len(numstat))
    return out


def agreement(
    scan_doc: dict[str, Any], git_result: dict[str, tuple[int, int, str, int]]
) -> tuple[int, int]:
    """Count the branches of a scan whose figures equal the git loop's, of those both have."""
    by_ref = {b["ref"]: b for b in scan_doc["branches"]}
    both = [ref for ref in git_result if ref in by_ref]
    same = sum(
        (b := by_ref[ref])["ahead"] == git_result[ref][0]
        and b["behind"] == git_result[ref][1]
        and b["merge_base"] == git_result[ref][2]
        and b["files_changed"] == git_result[ref][3]
        for ref in both
    )
    return same, len(both)


def pygit2_loop(repo_path: Path, branches: list[str], trunk: str) -> None:
    """The obvious pygit2 program: ahead_behind and merge_base per branch."""
    repo = pygit2.Repository(str(repo_path))
    trunk_id = repo.references[trunk].target
    for ref in branches:
        target = repo.references[ref].target
        repo.ahead_behind(target, trunk_id)
        repo.merge_base(target, trunk_id)


def timed(fn, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    runs = int(os.environ.get("BENCH_RUNS", "5"))
    baseline_runs = int(os.environ.get("BENCH_BASELINE_RUNS", "3"))
    shape = Shape()
    repo = generated(shape)
    pygit_repo = pygit2.Repository(str(repo))
    branch_refs = sorted(r for r in pygit_repo.references if r.startswith("refs/heads/b/"))
    trunk = "refs/heads/main"
    print(
        f"repository: {shape.trunk_commits} trunk commits, {shape.files} files, "
        f"{len(branch_refs)} branches; {os.cpu_count()} cores; median of {runs} runs "
        f"(baselines: {baseline_runs})"
    )

    ours = [run_timed(scan_command(repo))[0] for _ in range(runs)]
    stored = [run_timed(stored_scan_command(repo))[0] for _ in range(runs)]
    scan_doc = json.loads(run_timed(scan_command(repo))[1])
    git_times = []
    git_result: dict[str, tuple[int, int, str, int]] = {}
    for _ in range(baseline_runs):
        started = time.perf_counter()
        git_result = git_loop(repo, branch_refs, trunk)
        git_times.append(time.perf_counter() - started)
    naive = timed(lambda: pygit2_loop(repo, branch_refs, trunk), baseline_runs)

    ours_m = statistics.median(ours)
    rows = [
        ("trunkguard scan --json --no-store (whole CLI)", ours_m),
        ("trunkguard scan --json, stored in SQLite", statistics.median(stored)),
        ("git CLI loop (4 commands a branch)", statistics.median(git_times)),
        ("pygit2 loop (ahead_behind + merge_base only)", statistics.median(naive)),
    ]
    print(f"\n{'what':48} {'median s':>9} {'x ours':>8}")
    for label, seconds in rows:
        print(f"{label:48} {seconds:9.3f} {seconds / ours_m:8.1f}")
    print(f"(ours, every run: {', '.join(f'{t:.2f}' for t in ours)})")

    same, checked = agreement(scan_doc, git_result)
    print(f"\nagreement with git (ahead, behind, merge base, files): {same}/{checked}")

    STORE.unlink(missing_ok=True)
    print("\npeak RSS of the scan as branches grow:")
    for pattern, label in (("b/00*", "100"), ("b/0[0-4]*", "500"), ("b/*", "1000")):
        rss = peak_rss(scan_command(repo, "--include", pattern))
        print(f"  {label:>5} branches: {rss} MiB")
    STORE.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
