"""Conflict forecast: each branch against trunk, each pair of active branches, the land order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations

import pygit2

from analyzers.divergence import merge_base, own_commits
from analyzers.merges import (
    RISK_LINES,
    Conflict,
    MergeCache,
    changed_blobs,
    clashing_ranges,
    merge_commits,
    merge_trees,
)
from analyzers.refs import BranchRef, Inventory
from analyzers.trunk import TrunkIndex

DAY = 86400
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class TrunkForecast:
    """What landing one branch on today's trunk would do."""

    branch: str
    head: str
    unrelated: bool
    integrated: bool
    conflicts: tuple[Conflict, ...]


@dataclass(frozen=True)
class PairForecast:
    """Two active branches: where the second to land conflicts because of the first."""

    a: str
    b: str
    conflicts: tuple[Conflict, ...]


@dataclass(frozen=True)
class RiskPair:
    """Two active branches changing the same lines' neighbourhood without a textual conflict."""

    a: str
    b: str
    paths: tuple[str, ...]


@dataclass(frozen=True)
class LandStep:
    """One branch in the suggested land order, and why it stands there."""

    branch: str
    reason: str


@dataclass(frozen=True)
class ForecastStats:
    """How much work the forecast did, for people tuning it and for the benchmark."""

    branches: int
    active: int
    pairs: int
    pairs_merged: int
    merges_computed: int
    cache_hits: int


@dataclass(frozen=True)
class Forecast:
    """Every conflict trunkguard predicts for a repository at one moment."""

    trunk: str
    trunk_head: str | None
    with_trunk: tuple[TrunkForecast, ...]
    pairs: tuple[PairForecast, ...]
    at_risk: tuple[RiskPair, ...]
    land_order: tuple[LandStep, ...]
    stats: ForecastStats


class _CountingCache:
    """Wraps a merge cache to count hits and misses."""

    def __init__(self, inner: MergeCache) -> None:
        self.inner = inner
        self.hits = 0
        self.misses = 0

    def merge_trees(
        self, repo: pygit2.Repository, base: pygit2.Oid, ours: pygit2.Oid, theirs: pygit2.Oid
    ) -> tuple[tuple[Conflict, ...], str | None]:
        before = len(self.inner)
        result = merge_trees(repo, base, ours, theirs, self.inner)
        self._count(before)
        return result.conflicts, result.tree

    def merge_commits(
        self, repo: pygit2.Repository, ours: pygit2.Oid, theirs: pygit2.Oid
    ) -> tuple[tuple[Conflict, ...], str | None]:
        before = len(self.inner)
        result = merge_commits(repo, ours, theirs, self.inner)
        self._count(before)
        return result.conflicts, result.tree

    def _count(self, before: int) -> None:
        if len(self.inner) > before:
            self.misses += 1
        else:
            self.hits += 1


def _is_active(ref: BranchRef, head: pygit2.Commit, now: int, active_days: int) -> bool:
    return ref.name.startswith("pull/") or head.commit_time >= now - active_days * DAY


def _changed_paths(repo: pygit2.Repository, old: pygit2.Oid, new: pygit2.Oid) -> frozenset[str]:
    old_tree = repo[old].peel(pygit2.Tree)
    return frozenset(
        d.new_file.path for d in old_tree.diff_to_tree(repo[new].peel(pygit2.Tree)).deltas
    )


def land_order(
    active: list[str],
    age: dict[str, int],
    pair_conflicts: dict[str, dict[str, int]],
    trunk_conflicts: dict[str, int],
) -> list[LandStep]:
    """Suggest an order to land the active branches that keeps conflicts fewest.

    Branches that conflict with no one go first, oldest first (every day they wait they drift).
    Then, repeatedly, the branch that conflicts with the most branches still waiting: once it
    lands, each of those updates once instead of conflicting again and again. Branches that
    conflict with trunk come last: they must be updated from trunk before anything else.
    """
    steps: list[LandStep] = []
    free = [b for b in active if b not in trunk_conflicts and not pair_conflicts.get(b)]
    for branch in sorted(free, key=lambda b: (-age[b], b)):
        steps.append(LandStep(branch, "conflicts with no other branch"))
    waiting = {b for b in active if b not in trunk_conflicts and pair_conflicts.get(b)}
    landed: list[str] = []
    while waiting:

        def blocking(b: str) -> int:
            return sum(1 for other in pair_conflicts[b] if other in waiting)

        branch = max(waiting, key=lambda b: (blocking(b), age[b], b))
        ahead_of = sorted(o for o in pair_conflicts[branch] if o in waiting)
        behind = [o for o in landed if o in pair_conflicts[branch]]
        if ahead_of:
            reason = (
                f"conflicts with {_listing(ahead_of)}: landing it first means "
                f"{'it updates' if len(ahead_of) == 1 else 'each updates'} once"
            )
        else:
            reason = f"after {_listing(behind)}: update from trunk, then land"
        steps.append(LandStep(branch, reason))
        waiting.remove(branch)
        landed.append(branch)
    for branch in sorted(trunk_conflicts, key=lambda b: (-age[b], b)):
        count = trunk_conflicts[branch]
        steps.append(
            LandStep(
                branch,
                f"conflicts with trunk on {count} file{'s' if count != 1 else ''}: "
                "update it from trunk first",
            )
        )
    return steps


def _listing(names: list[str], most: int = 3) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def forecast(
    repo: pygit2.Repository,
    found: Inventory,
    now: int,
    active_days: int = 30,
    cache: MergeCache | None = None,
    progress: Progress | None = None,
) -> Forecast:
    """Predict conflicts with trunk for every branch and between active branches, as of `now`.

    Pairs are trial-merged as git would land them: trunk+A and trunk+B over trunk. A pair whose
    changes relative to trunk share no path cannot conflict and is cleared without a merge.
    Results are cached by the ids of the trees merged, so a rescan only merges what moved.
    """
    counted = _CountingCache({} if cache is None else cache)
    if found.trunk is None:
        return Forecast(found.trunk_name, None, (), (), (), (), ForecastStats(0, 0, 0, 0, 0, 0))
    trunk = TrunkIndex(repo, found.trunk.target)
    trunk_commit = repo[found.trunk.target].peel(pygit2.Commit)
    trunk_tree = trunk_commit.tree_id

    with_trunk: list[TrunkForecast] = []
    landed_tree: dict[str, pygit2.Oid] = {}
    age: dict[str, int] = {}
    trunk_conflicts: dict[str, int] = {}
    active: list[str] = []
    for done, ref in enumerate(found.branches, start=1):
        head = repo[ref.target].peel(pygit2.Commit)
        own, boundary = own_commits(repo, ref.target, trunk)
        base = merge_base(repo, ref.target, boundary, trunk)
        if base is None or not own:
            with_trunk.append(TrunkForecast(ref.name, str(head.id), base is None, not own, ()))
            if progress is not None:
                progress(done, len(found.branches))
            continue
        if len(boundary) > 1 and trunk.dominant(boundary) is None:
            # Several merge bases: merge recursively over all of them, as git does.
            conflicts, tree = counted.merge_commits(repo, trunk_commit.id, head.id)
        else:
            base_tree = repo[base].peel(pygit2.Commit).tree_id
            conflicts, tree = counted.merge_trees(repo, base_tree, trunk_tree, head.tree_id)
        with_trunk.append(TrunkForecast(ref.name, str(head.id), False, False, conflicts))
        if _is_active(ref, head, now, active_days):
            active.append(ref.name)
            age[ref.name] = now - min(c.author.time for c in own)
            if conflicts:
                trunk_conflicts[ref.name] = len(conflicts)
            elif tree is not None:
                landed_tree[ref.name] = pygit2.Oid(hex=tree)
        if progress is not None:
            progress(done, len(found.branches))

    # The paths each landed branch changes relative to today's trunk: the prefilter's input.
    touched = {name: _changed_paths(repo, trunk_tree, tree) for name, tree in landed_tree.items()}
    names = sorted(landed_tree)
    pairs: list[PairForecast] = []
    at_risk: list[RiskPair] = []
    pair_conflicts: dict[str, dict[str, int]] = {}
    candidates = [(a, b) for a, b in combinations(names, 2) if touched[a] & touched[b]]
    for a, b in candidates:
        conflicts, _ = counted.merge_trees(repo, trunk_tree, landed_tree[a], landed_tree[b])
        if conflicts:
            pairs.append(PairForecast(a, b, conflicts))
            pair_conflicts.setdefault(a, {})[b] = len(conflicts)
            pair_conflicts.setdefault(b, {})[a] = len(conflicts)
            continue
        shared = set(touched[a] & touched[b])
        risky = tuple(
            path
            for path, base_blob, ours, theirs in changed_blobs(
                repo, trunk_tree, landed_tree[a], landed_tree[b], shared
            )
            if clashing_ranges(repo, base_blob, ours, theirs, slack=RISK_LINES)[0]
        )
        if risky:
            at_risk.append(RiskPair(a, b, risky))

    order = land_order(active, age, pair_conflicts, trunk_conflicts)
    stats = ForecastStats(
        branches=len(found.branches),
        active=len(active),
        pairs=len(names) * (len(names) - 1) // 2,
        pairs_merged=len(candidates),
        merges_computed=counted.misses,
        cache_hits=counted.hits,
    )
    return Forecast(
        found.trunk.name,
        str(trunk_commit.id),
        tuple(with_trunk),
        tuple(pairs),
        tuple(at_risk),
        tuple(order),
        stats,
    )
