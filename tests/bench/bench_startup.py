"""`make bench`: start-up and whole-command times of `trunkguard`, side by side with 34d7d2c.

34d7d2c is the version before the real-repository and GitHub App work. It is checked out in a
worktree under .bench/ and run by this same Python with its own code first on the path, so
that both versions meet the same interpreter, libraries and repository. Prints medians of
several runs, alternating the two versions, and the ratios; peak memory is the child's own.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from tests.bench.bench_scan import NOW_ISO
from tests.bench.monorepo import BENCH_DIR, Shape, generated

ROOT = Path(__file__).resolve().parents[2]
BASELINE = "34d7d2c"
# Runs a command in a child and prints its wall time and peak RSS (KiB): the probe's own
# start-up counts in neither.
PROBE = (
    "import resource, subprocess, sys, time; "
    "started = time.perf_counter(); "
    "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE); "
    "elapsed = time.perf_counter() - started; "
    "sys.exit(done.stderr.decode()[-800:]) if done.returncode else None; "
    "print(elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


class Version:
    """A trunkguard to run: its code's folder, put first on the path."""

    def __init__(self, label: str, folder: Path) -> None:
        self.label = label
        self.folder = folder

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "bot", *args]

    def run(self, *args: str) -> tuple[float, int]:
        """Run `trunkguard ARGS`; return its wall time in seconds and peak RSS in MiB."""
        # `python -m` puts the working directory first on sys.path: run in the version's own.
        env = {**os.environ, "PYTHONPATH": str(self.folder)}
        probe = subprocess.run(
            [sys.executable, "-c", PROBE, *self.command(*args)],
            cwd=self.folder,
            env=env,
            capture_output=True,
            text=True,
        )
        if probe.returncode:
            raise RuntimeError(f"{self.label} {args[:2]} failed: {probe.stderr}")
        elapsed, rss = probe.stdout.split()
        return float(elapsed), int(rss) // 1024

    def output(self, *args: str) -> str:
        env = {**os.environ, "PYTHONPATH": str(self.folder)}
        done = subprocess.run(
            self.command(*args), cwd=self.folder, env=env, capture_output=True, text=True
        )
        if done.returncode:
            raise RuntimeError(f"{self.label} {args[:2]} failed: {done.stderr[-800:]}")
        return done.stdout


def baseline_worktree() -> Path | None:
    """Check out 34d7d2c beside the work tree (once; .bench/ is git-ignored)."""
    folder = BENCH_DIR / f"baseline-{BASELINE}"
    if not (folder / "bot" / "__main__.py").exists():
        added = subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(folder), BASELINE],
            capture_output=True,
            text=True,
        )
        if added.returncode:
            print(f"no baseline: cannot check out {BASELINE}: {added.stderr.strip()}")
            return None
    return folder


def figures(scan_json: str) -> set[tuple[object, ...]]:
    doc = json.loads(scan_json)
    keys = ("name", "ahead", "behind", "merge_base", "files_changed")
    return {tuple(b[k] for k in keys) for b in doc["branches"]}


def main() -> None:
    runs = int(os.environ.get("BENCH_RUNS", "5"))
    shape = Shape()
    repo = generated(shape)
    versions = [Version("now", ROOT)]
    folder = baseline_worktree()
    if folder is not None:
        versions.append(Version(BASELINE, folder))
    print(
        f"repository: {shape.trunk_commits} trunk commits, {shape.files} files, "
        f"{shape.branches} branches; {os.cpu_count()} cores; median of {runs} runs, "
        "the versions alternating"
    )
    scan = ("scan", str(repo), "--json", "--now", NOW_ISO, "--no-store")
    cases = [
        ("trunkguard --help", ("--help",), runs * 2),
        ("trunkguard scan --help", ("scan", "--help"), runs * 2),
        ("trunkguard scan --json --no-store", scan, runs),
        ("trunkguard scan --no-store (table)", tuple(a for a in scan if a != "--json"), runs),
    ]
    print(f"\n{'what':34} {'version':>8} {'median s':>9} {'peak MiB':>9} {'x now':>7}")
    for label, args, count in cases:
        times: dict[str, list[float]] = {v.label: [] for v in versions}
        peaks: dict[str, list[int]] = {v.label: [] for v in versions}
        for _ in range(count):
            for version in versions:
                elapsed, rss = version.run(*args)
                times[version.label].append(elapsed)
                peaks[version.label].append(rss)
        ours = statistics.median(times["now"])
        for version in versions:
            median = statistics.median(times[version.label])
            peak = max(peaks[version.label])
            print(f"{label:34} {version.label:>8} {median:9.3f} {peak:9d} {median / ours:7.2f}")
    if len(versions) == 2:
        now, before = (figures(v.output(*scan)) for v in versions)
        print(f"\nsame figures in both scans (name, ahead, behind, base, files): "
              f"{len(now & before)}/{len(now)} branches")  # fmt: skip


if __name__ == "__main__":
    main()
