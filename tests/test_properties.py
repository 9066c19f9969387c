"""Random histories: every figure must equal what git itself says."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzers.divergence import scan
from analyzers.refs import inventory
from tests.gitrepo import NOW, GitRepo, assert_matches_git

OPS = ("trunk", "branch", "work", "work", "sync", "land", "crisscross", "orphan")


def build(ops: list[tuple[str, int]], path: Path) -> GitRepo:
    """Replay `ops` into a fresh repository: trunk commits, branches, syncs, landings."""
    t = GitRepo(path)
    clock = iter(range(len(ops) * 2 + 2, 0, -1))
    files = {f"f{n}.txt": f"start {n}\n" for n in range(4)}

    def edit(rng: random.Random, base: dict[str, str]) -> dict[str, str | None]:
        name = f"f{rng.randrange(6)}.txt"
        if name in base and rng.random() < 0.2:
            return {name: None}
        return {name: base.get(name, "") + f"line {rng.randrange(1000)}\n"}

    snapshots = {}

    def commit(changes, parents, branch=None):
        base = dict(snapshots[parents[0]]) if parents else {}
        for k, v in changes.items():
            if v is None:
                base.pop(k, None)
            else:
                base[k] = v
        commit_id = t.commit(changes, days_ago=next(clock) / 24, parents=parents, branch=branch)
        snapshots[commit_id] = base
        return commit_id

    trunk = commit(files, [], "main")
    everything = [trunk]
    branches: dict[str, object] = {}
    for op, seed in ops:
        rng = random.Random(seed)
        names = sorted(branches)
        if op == "trunk" or (op in ("work", "sync", "land", "crisscross") and not names):
            trunk = commit(edit(rng, snapshots[trunk]), [trunk], "main")
            everything.append(trunk)
        elif op == "branch":
            name = f"b{len(branches)}/x"
            branches[name] = commit(edit(rng, {}), [rng.choice(everything)], name)
        elif op == "orphan":
            name = f"orphan{len(branches)}"
            branches[name] = commit({"o.txt": f"{seed}\n"}, [], name)
        else:
            name = rng.choice(names)
            tip = branches[name]
            if op == "work":
                branches[name] = commit(edit(rng, snapshots[tip]), [tip], name)
            elif op == "sync":
                branches[name] = commit(edit(rng, snapshots[tip]), [tip, trunk], name)
            elif op == "land":
                trunk = commit(edit(rng, snapshots[trunk]), [trunk, tip], "main")
            else:  # criss-cross: each side merges the other's old tip
                new_branch = commit(edit(rng, snapshots[tip]), [tip, trunk], name)
                trunk = commit(edit(rng, snapshots[trunk]), [trunk, tip], "main")
                branches[name] = new_branch
            everything.append(branches[name])
            everything.append(trunk)
    return t


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 2**32)), min_size=1, max_size=30))
def test_random_histories_agree_with_git(ops):
    with tempfile.TemporaryDirectory() as tmp:
        t = build(ops, Path(tmp) / "repo.git")
        report = scan(t.repo, inventory(t.repo), NOW)
        assert len(report.branches) == len({n for n in t.repo.references if "/heads/" in n}) - 1
        assert_matches_git(t.path, report)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 2**32)), min_size=5, max_size=30))
def test_releasing_libgit2_caches_changes_no_figure(ops):
    """The scan lets libgit2's caches go every so many walks, bases and diffs (every 2,000 on
    real mirrors); here after every one, in one process and in two: the figures stay git's."""
    from unittest import mock

    import analyzers.divergence
    import analyzers.drift

    with (
        tempfile.TemporaryDirectory() as tmp,
        mock.patch.object(analyzers.divergence, "FREE_EVERY", 1),
        mock.patch.object(analyzers.drift, "FREE_EVERY", 1),
    ):
        t = build(ops, Path(tmp) / "repo.git")
        for workers in (1, 2):
            report = scan(t.repo, inventory(t.repo), NOW, workers=workers)
            assert_matches_git(t.path, report)
