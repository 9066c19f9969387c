"""`make bench` (forecast part): `trunkguard conflicts` against `git merge-tree` on every pair.

Cold runs use a fresh copy of the generated repository each time, because a forecast writes
the merged trees it needs into the object database and a second run would find them there.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import pygit2

from analyzers.forecast import ForecastMemo, forecast
from analyzers.refs import inventory
from tests.bench.bench_scan import NOW_ISO, TRUNKGUARD, run_timed
from tests.bench.monorepo import END, generated
from tests.gitrepo import as_named, git_merge_tree

ACTIVE_DAYS = 7  # about 200 active branches in the generated repository


def fresh_copy(source: Path, into: Path) -> Path:
    target = into / source.name
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    return target


def main() -> None:
    runs = int(os.environ.get("BENCH_RUNS", "5"))
    sample = int(os.environ.get("BENCH_GIT_SAMPLE", "150"))
    source = generated()
    scratch = Path(tempfile.mkdtemp(prefix="trunkguard-bench-"))
    try:
        command = [
            TRUNKGUARD,
            "conflicts",
            "--no-store",  # like for like with git merge-tree, which keeps nothing
            "--json",
            "--now",
            NOW_ISO,
            "--active-days",
            str(ACTIVE_DAYS),
        ]
        cold = []
        doc = {}
        for _ in range(runs):
            repo_path = fresh_copy(source, scratch)
            seconds, out = run_timed([*command[:2], str(repo_path), *command[2:]])
            cold.append(seconds)
            doc = json.loads(out)
        stats = doc["stats"]
        trunk_merges = sum(
            1 for x in doc["with_trunk"] if not x["integrated"] and not x["unrelated"]
        )
        print(
            f"\nforecast: {stats['branches']} branches, {stats['active']} active "
            f"(--active-days {ACTIVE_DAYS}), {stats['pairs']} pairs, "
            f"{stats['pairs_merged']} trial-merged after the prefilter, "
            f"{len(doc['pairs'])} conflicting, {len(doc['at_risk'])} at risk; "
            f"{sum(1 for x in doc['with_trunk'] if x['conflicts'])} branches conflict with trunk"
        )

        # Incremental: one active branch moves; the memo of the previous forecast is reused.
        repo_path = fresh_copy(source, scratch)
        repo = pygit2.Repository(str(repo_path))
        found = inventory(repo)
        memo = ForecastMemo()
        forecast(repo, found, END, active_days=ACTIVE_DAYS, memo=memo)
        rng = random.Random(7)
        active = [
            x["branch"]
            for x in doc["with_trunk"]
            if x["branch"] in {s["branch"] for s in doc["land_order"]}
        ]
        incremental = []
        for n in range(runs):
            name = rng.choice(active)
            ref = repo.references[f"refs/heads/{name}"]
            head = repo[ref.target].peel(pygit2.Commit)
            path = next(p for p in _paths(head.tree) if p.endswith(".py"))
            blob = repo.create_blob(head.tree[path].data + f"# moved {n}\n".encode())
            builder = pygit2.IndexEntry(path, blob, pygit2.enums.FileMode.BLOB)
            index = pygit2.Index()
            index.read_tree(head.tree)
            index.add(builder)
            tree = index.write_tree(repo)
            sig = pygit2.Signature("bench", "bench@example.com", END - 60, 0)
            moved = repo.create_commit(None, sig, sig, "move", tree, [head.id])
            ref.set_target(moved)
            found = inventory(repo)
            started = time.perf_counter()
            result = forecast(repo, found, END, active_days=ACTIVE_DAYS, memo=memo)
            incremental.append(time.perf_counter() - started)
            last_merged = result.stats.merges_computed

        # git merge-tree on a sample of pairs (trunk+A and trunk+B, each a commit on trunk).
        trunk_id = repo.references["refs/heads/main"].target
        trunk_tree = repo[trunk_id].peel(pygit2.Commit).tree_id
        clean = sorted(
            x["branch"] for x in doc["with_trunk"] if x["branch"] in active and not x["conflicts"]
        )
        landed = {}
        sig = pygit2.Signature("bench", "bench@example.com", END, 0)
        for name in clean:
            head = repo.references[f"refs/heads/{name}"].target
            merged = repo.merge_commits(trunk_id, head).write_tree(repo)
            landed[name] = str(repo.create_commit(None, sig, sig, "landed", merged, [trunk_id]))
        all_pairs = [(a, b) for i, a in enumerate(clean) for b in clean[i + 1 :]]
        predicted = {(p["a"], p["b"]): {c["path"] for c in p["conflicts"]} for p in doc["pairs"]}
        chosen = rng.sample(all_pairs, min(sample, len(all_pairs)))
        # Add every conflicting pair we predict to the sample, so agreement covers them too.
        chosen += [p for p in predicted if p not in chosen and p[0] in landed and p[1] in landed]
        per_merge = []
        agree = 0
        for a, b in chosen:
            started = time.perf_counter()
            conflicted, paths = git_merge_tree(repo_path, landed[a], landed[b])
            per_merge.append(time.perf_counter() - started)
            paths = as_named(paths, {landed[a]: a, landed[b]: b})  # git labels by commit id
            agree += predicted.get((a, b), set()) == (paths if conflicted else set())
        trunk_sample = rng.sample(
            [x for x in doc["with_trunk"] if not x["integrated"] and not x["unrelated"]], 100
        )
        trunk_agree = 0
        per_trunk_merge = []
        for x in trunk_sample:
            started = time.perf_counter()
            # By name, as the forecast labels what git moves aside (`path~branch`).
            conflicted, paths = git_merge_tree(repo_path, "main", x["branch"])
            per_trunk_merge.append(time.perf_counter() - started)
            trunk_agree += {c["path"] for c in x["conflicts"]} == (paths if conflicted else set())
        assert trunk_tree

        git_each = statistics.median(per_merge)
        git_trunk_each = statistics.median(per_trunk_merge)
        git_total = git_trunk_each * trunk_merges + git_each * stats["pairs"]
        ours = statistics.median(cold)
        print(f"\n{'what':58} {'median s':>9} {'x ours':>8}")
        print(f"{'trunkguard conflicts --json, cold (whole command)':58} {ours:9.3f} {1:8.1f}")
        print(
            f"{'git merge-tree, every trunk merge and pair (scaled)':58} {git_total:9.1f} "
            f"{git_total / ours:8.1f}"
        )
        print(
            f"{'  (git merge-tree: one pair merge, one trunk merge)':58} "
            f"{git_each * 1000:6.1f}ms {git_trunk_each * 1000:6.1f}ms"
        )
        print(
            f"{'incremental forecast after one branch moves':58} "
            f"{statistics.median(incremental):9.3f}"
        )
        print(
            f"(cold, every run: {', '.join(f'{t:.2f}' for t in cold)}; incremental: "
            f"{', '.join(f'{t:.3f}' for t in incremental)}; last incremental merged "
            f"{last_merged})"
        )
        print(
            f"\nagreement with git merge-tree (yes/no and path set): pairs {agree}/{len(chosen)} "
            f"(a random sample plus every predicted conflict), trunk merges "
            f"{trunk_agree}/{len(trunk_sample)}"
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _paths(tree: pygit2.Tree, prefix: str = ""):
    for entry in tree:
        if entry.type == pygit2.enums.ObjectType.TREE:
            yield from _paths(entry, f"{prefix}{entry.name}/")
        else:
            yield f"{prefix}{entry.name}"


if __name__ == "__main__":
    main()
