"""`make bench`: a GitHub-shaped mirror with 20,000 pull request heads, as `scan URL` makes one.

Times the default `scan` and `conflicts` (branches and plausibly open pull requests), the scan of
every head per thousand heads, and the git CLI loop on a sample of the same heads, side by side
in the same run, with each command's peak memory.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import time

import pygit2

from tests.bench.bench_scan import (
    BENCH_DIR,
    TRUNKGUARD,
    agreement,
    git_loop,
    peak_rss,
    run_timed,
)
from tests.gitrepo import NOW
from tests.mirrorgen import build_mirror

PULLS = 20_000
NOW_ISO = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW))
GENERATOR_VERSION = 2


def main() -> None:
    runs = int(os.environ.get("BENCH_RUNS", "5"))
    baseline_runs = int(os.environ.get("BENCH_BASELINE_RUNS", "3"))
    path = BENCH_DIR / f"mirror-v{GENERATOR_VERSION}-{PULLS}pulls.git"
    if not path.exists():
        print(f"generating {path.name} (once; kept in .bench/) ...", flush=True)
        BENCH_DIR.mkdir(exist_ok=True)
        build_mirror(path, PULLS)
        # git at its best, as in the scan benchmark: a commit-graph for its walks.
        subprocess.run(["git", "-C", str(path), "commit-graph", "write", "--reachable"], check=True)
    repo = pygit2.Repository(str(path))
    commits = sum(1 for _ in repo.walk(repo.references["refs/heads/main"].target))
    heads = sorted(r for r in repo.references if r.endswith("/head"))
    print(f"mirror: {commits} trunk commits, {len(heads)} pull request heads; median of {runs}")

    def command(verb: str, *extra: str) -> list[str]:
        return [TRUNKGUARD, verb, str(path), "--json", "--now", NOW_ISO, "--no-store", *extra]

    rows = []
    for label, cmd, count in (
        ("scan (default: plausibly open heads)", command("scan"), runs),
        ("conflicts (default)", command("conflicts"), runs),
        ("scan --pulls all", command("scan", "--pulls", "all"), baseline_runs),
    ):
        times = [run_timed(cmd)[0] for _ in range(count)]
        rows.append((label, statistics.median(times), peak_rss(cmd)))
    default_doc = json.loads(run_timed(command("scan"))[1])
    all_doc = json.loads(run_timed(command("scan", "--pulls", "all"))[1])

    sample = random.Random(2026).sample(heads, 200)
    git_times = []
    git_result: dict[str, tuple[int, int, str, int]] = {}
    for _ in range(baseline_runs):
        started = time.perf_counter()
        git_result = git_loop(path, sample, "refs/heads/main")
        git_times.append(time.perf_counter() - started)
    git_per_thousand = statistics.median(git_times) / len(sample) * 1000
    all_seconds = rows[2][1]
    ours_per_thousand = all_seconds / len(all_doc["branches"]) * 1000

    print(f"\n{'what':42} {'median s':>9} {'peak MiB':>9}")
    for label, seconds, rss in rows:
        print(f"{label:42} {seconds:9.2f} {rss:9d}")
    print(
        f"\ndefault scan: {len(default_doc['branches'])} entries "
        f"({sum(1 for b in default_doc['branches'] if b['pull_requests'])} with pull requests)"
    )
    print(
        f"every head: {len(all_doc['branches'])} entries; per thousand heads: trunkguard "
        f"{ours_per_thousand:.2f} s, git CLI loop {git_per_thousand:.2f} s "
        f"(on {len(sample)} sampled heads) -> {git_per_thousand / ours_per_thousand:.1f}x"
    )
    same, checked = agreement(all_doc, git_result)
    print(f"agreement with git on the sampled heads: {same}/{checked}")

    print("\npeak RSS of scan --pulls all as the heads grow:")
    for pattern, label in (("pull/1???", "1,000"), ("pull/1????", "10,000"), ("*", "20,000")):
        rss = peak_rss(command("scan", "--pulls", "all", "--include", pattern))
        print(f"  {label:>6} heads: {rss} MiB")


if __name__ == "__main__":
    main()
