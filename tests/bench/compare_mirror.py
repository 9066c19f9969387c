"""Compare every trunk merge trunkguard forecasts on a mirror with `git merge-tree`.

    python -m tests.bench.compare_mirror /work/.mirror/rails+rails/repo [...] [--json out.json]

For every branch (`refs/heads/*`; trunk is the branch HEAD names) trunkguard's answer for
landing it on trunk (through the forecast API, as `trunkguard conflicts` computes it) is
compared with `git merge-tree --write-tree --name-only -z TRUNK BRANCH`, run on the branch
names (so that a file moved aside is named `path~branch`, as git merge names it): the same
yes/no, and the same set of conflicted paths. git writes its objects into a throwaway store,
never into the mirror. Unrelated histories are left out (git refuses to merge them; trunkguard
says "unrelated"). Also told: how many trunk merges trunkguard sends to git.

git's answers are kept in a cache file (keyed by the two commits), so that a second run, of
other code, only times trunkguard.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pygit2

from analyzers import trials
from analyzers.forecast import ForecastMemo, forecast
from analyzers.objects import scratch_view
from analyzers.refs import BranchRef, Inventory

CACHE = Path(tempfile.gettempdir()) / "trunkguard-git-merge-tree-answers.json"


def git_answer(git_dir: str, store: str, ours: str, theirs: str) -> tuple[bool, list[str]] | str:
    """git merge-tree's yes/no and conflicted paths; a string when git gives no answer."""
    env = {
        **os.environ,
        "LC_ALL": "C",
        "GIT_DIR": git_dir,
        "GIT_OBJECT_DIRECTORY": store,
        "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(Path(git_dir) / "objects"),
    }
    done = subprocess.run(
        ["git", "merge-tree", "--write-tree", "--name-only", "-z", ours, theirs],
        capture_output=True,
        env=env,
    )
    if done.returncode not in (0, 1):
        return done.stderr.decode(errors="replace").strip() or f"exit {done.returncode}"
    fields = done.stdout.decode("utf-8", errors="surrogateescape").split("\0")
    paths = []
    at = 1
    while at < len(fields) and fields[at]:
        paths.append(fields[at])
        at += 1
    at += 1
    named = []
    while at < len(fields) and fields[at].isdigit():
        count = int(fields[at])
        if fields[at + 1 + count].startswith("CONFLICT"):
            named.extend(fields[at + 1 : at + 1 + count][:1])
        at += count + 3
    conflicted = done.returncode == 1
    return conflicted, sorted(set(paths or named)) if conflicted else []


def _goes_to_git(view: pygit2.Repository, job: trials.MergeJob) -> bool:
    try:
        routing = importlib.import_module("analyzers.routing")
    except ImportError:
        # The code before issue 17: commits with several merge bases, and renames.
        return job.base is None or bool(job.commits and trials._branch_renames_may_meet(view, job))
    return bool(routing.goes_to_git(view, job))


def compare(path: str, cache: dict[str, object], workers: int | None) -> dict[str, object]:
    repo = pygit2.Repository(path)
    trunk_ref = repo.lookup_reference("HEAD").target
    assert isinstance(trunk_ref, str)
    short = trunk_ref.removeprefix("refs/heads/")
    trunk = BranchRef(short, trunk_ref, repo.references[trunk_ref].peel(pygit2.Commit).id)
    branches = []
    for ref in sorted(
        repo.references.iterator(pygit2.enums.ReferenceFilter.BRANCHES), key=lambda r: r.name
    ):
        if ref.name == trunk_ref:
            continue
        try:
            target = ref.peel(pygit2.Commit).id
        except (KeyError, pygit2.GitError, ValueError):
            continue
        branches.append(BranchRef(ref.name.removeprefix("refs/heads/"), ref.name, target))
    found = Inventory(trunk, short, tuple(branches))
    memo = ForecastMemo()
    started = time.perf_counter()
    # focus on no branch: no pairs, only the trunk merges
    result = forecast(repo, found, int(time.time()), memo=memo, workers=workers, focus="\0")
    seconds = time.perf_counter() - started
    heads = {b.name: b.target for b in branches}
    store = tempfile.mkdtemp(prefix="trunkguard-compare-")
    rows = []
    to_git = 0
    try:
        with scratch_view(repo) as scratch:
            for x in result.with_trunk:
                if x.integrated or x.unrelated:
                    continue
                job = memo.walks[heads[x.branch]].job
                assert job is not None
                sent = _goes_to_git(scratch.view, job)
                to_git += sent
                key = f"{trunk.target} {x.head}"
                if key not in cache:
                    cache[key] = git_answer(path, store, short, x.branch)
                answer = cache[key]
                ours = sorted(c.path for c in x.conflicts)
                row: dict[str, object] = {
                    "branch": x.branch,
                    "trunkguard": ours if x.unknown is None else f"unknown: {x.unknown.reason}",
                    "git": answer,
                    "sent_to_git": sent,
                }
                if isinstance(answer, str):
                    row["agree"] = None
                else:
                    conflicted, paths = answer
                    row["same_yes_no"] = x.unknown is None and bool(ours) == conflicted
                    row["agree"] = x.unknown is None and ours == paths
                rows.append(row)
    finally:
        shutil.rmtree(store, ignore_errors=True)
    answered = [r for r in rows if r["agree"] is not None]
    return {
        "mirror": path,
        "trunk": short,
        "merges": len(rows),
        "git_answered": len(answered),
        "same_yes_no": sum(1 for r in answered if r["same_yes_no"]),
        "same_paths": sum(1 for r in answered if r["agree"]),
        "sent_to_git": to_git,
        "forecast_seconds": round(seconds, 1),
        "disagree": [r for r in rows if r["agree"] is False],
        "git_failed": [r for r in rows if r["agree"] is None],
    }


def _difference(ours: object, git: object) -> str:
    if isinstance(ours, str):
        return f"trunkguard {ours}"
    assert isinstance(ours, list) and isinstance(git, (list, tuple))
    conflicted, paths = git
    only_ours = sorted(set(ours) - set(paths))
    only_git = sorted(set(paths) - set(ours))
    return (
        f"trunkguard {'conflict' if ours else 'clean'}, git {'conflict' if conflicted else 'clean'}"
        f"; only trunkguard: {only_ours[:5]}{'…' if len(only_ours) > 5 else ''}"
        f"; only git: {only_git[:5]}{'…' if len(only_git) > 5 else ''}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mirrors", nargs="+")
    parser.add_argument("--json", help="write every figure and disagreement here")
    parser.add_argument("--cache", default=str(CACHE), help="git's answers, kept between runs")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    cache_path = Path(args.cache)
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    out = []
    for mirror in args.mirrors:
        summary = compare(mirror, cache, args.workers)
        cache_path.write_text(json.dumps(cache))
        out.append(summary)
        n = summary["git_answered"] or 1
        print(
            f"{mirror}: {summary['merges']} trunk merges; same yes/no "
            f"{summary['same_yes_no']}/{summary['git_answered']} "
            f"({100 * summary['same_yes_no'] / n:.1f} %), same path set "
            f"{summary['same_paths']}/{summary['git_answered']} "
            f"({100 * summary['same_paths'] / n:.1f} %); sent to git {summary['sent_to_git']} "
            f"({100 * summary['sent_to_git'] / (summary['merges'] or 1):.1f} %); "
            f"forecast {summary['forecast_seconds']} s"
            + (f"; git failed on {len(summary['git_failed'])}" if summary["git_failed"] else ""),
            flush=True,
        )
        for row in summary["disagree"][:15]:
            print(f"  {row['branch']}: {_difference(row['trunkguard'], row['git'])}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    sys.exit(main())
