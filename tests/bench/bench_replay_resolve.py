"""`make bench` (resolution part): `replay --resolve` against plain `replay` (budget: at most
twice its time), on the same merges of one repository, run alternately.

Run: .venv/bin/python -m tests.bench.bench_replay_resolve [REPOSITORY]

Without a repository, a generated history of 400 merges is used, a third of them conflicted
(a changelog entry on both sides, a line both sides changed, a version both sides bumped), as
a release-line project's are; with one (a fetched mirror, say), its newest 1,500 merges.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

from tests.bench.bench_scan import TRUNKGUARD, run_timed
from tests.gitrepo import GitRepo, numbered

BUDGET = 2.0
MERGES = 400


def history(path: Path, merges: int = MERGES) -> Path:
    """A trunk of `merges` merges of short branches; every third conflicts with trunk."""
    t = GitRepo(path)
    log = "# Changelog\n\n* first\n"
    lines: dict[int, str] = {}
    version = "version=1.0.0\n"
    files = {"app.py": numbered(60, lines), "CHANGELOG.md": log, "gradle.properties": version}
    head = t.commit(files, days_ago=merges + 1, branch="main")
    for n in range(merges):
        when = merges - n
        conflicted = n % 3 == 0
        mine, theirs = 5 + n % 25, 35 + n % 25  # far apart unless the merge is to conflict
        side = {"app.py": numbered(60, {**lines, mine: f"branch {n}"})}
        trunk_line = mine if conflicted else theirs
        trunk_change = {"app.py": numbered(60, {**lines, trunk_line: f"trunk {n}"})}
        if conflicted:
            side["CHANGELOG.md"] = log.replace("\n* first", f"\n* branch {n}\n* first")
            trunk_change["CHANGELOG.md"] = log.replace("\n* first", f"\n* trunk {n}\n* first")
            side["gradle.properties"] = f"version=1.{n}.1\n"
            trunk_change["gradle.properties"] = f"version=1.{n}.2\n"
        branch = t.commit(side, days_ago=when, parents=[head])
        trunk = t.commit(trunk_change, days_ago=when - 0.3, parents=[head])
        lines = (
            {**lines, mine: f"both {n}"}
            if conflicted
            else {**lines, mine: f"branch {n}", theirs: f"trunk {n}"}
        )
        merged = {"app.py": numbered(60, lines)}
        if conflicted:
            log = log.replace("\n* first", f"\n* trunk {n}\n* branch {n}\n* first")
            merged["CHANGELOG.md"] = log
            merged["gradle.properties"] = f"version=1.{n}.2\n"
        head = t.commit(merged, days_ago=when - 0.5, parents=[trunk, branch], branch="main")
    return path


def main() -> None:
    runs = int(os.environ.get("BENCH_RUNS", "3"))
    with tempfile.TemporaryDirectory(prefix="trunkguard-bench-") as scratch:
        if len(sys.argv) > 1:
            repo, merges = sys.argv[1], 1500
        else:
            repo, merges = str(history(Path(scratch) / "history.git")), MERGES
        command = [TRUNKGUARD, "replay", repo, "--json", "--merges", str(merges)]
        plain, resolving = [], []
        report: dict[str, object] = {}
        for _ in range(runs):
            plain.append(run_timed(command)[0])
            seconds, out = run_timed([*command, "--resolve"])
            resolving.append(seconds)
            report = json.loads(out)
    ratio = statistics.median(resolving) / statistics.median(plain)
    print(f"repository: {repo if len(sys.argv) > 1 else 'generated'} ({merges} merges asked)")
    print(
        f"conflicted merges {report['conflicted_merges']}, conflicted paths "
        f"{report['conflicted_paths']}, resolved {report['resolved_paths']}"
    )
    print(f"replay            {statistics.median(plain):6.2f} s median of {runs}")
    print(f"replay --resolve  {statistics.median(resolving):6.2f} s median of {runs}")
    verdict = "within" if ratio <= BUDGET else "OVER"
    print(f"ratio {ratio:.2f}x: {verdict} the {BUDGET:.0f}x budget")


if __name__ == "__main__":
    main()
