"""Conflict forecast: each branch against trunk, each pair of active branches, the land order."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pygit2

from analyzers.conflicts import Conflict, relabel
from analyzers.divergence import merge_base
from analyzers.mergejobs import (
    Change,
    MergeCache,
    MergeJob,
    MergeResult,
    PairJob,
    cached,
    failed_job,
)
from analyzers.missing import Unknown
from analyzers.objects import Fetcher, Scratch, scratch_view
from analyzers.parallel import ProcessMap, default_workers
from analyzers.reach import Reach, meeting_pairs
from analyzers.refs import BranchRef, Inventory
from analyzers.trials import run_jobs
from analyzers.trunk import TrunkIndex, own_commits
from analyzers.units import DAY

# From this many merges on, worker processes pay for their start: a merge costs milliseconds
# (libgit2) to a second (git, on a branch years behind), a branch's scan far less.
MERGES_PARALLEL_FROM = 16
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class TrunkForecast:
    """What landing one branch on today's trunk would do."""

    branch: str
    head: str
    unrelated: bool
    integrated: bool
    conflicts: tuple[Conflict, ...]
    unknown: Unknown | None = None  # the merge could not be done


@dataclass(frozen=True)
class PairForecast:
    """Two active branches: where the second to land conflicts because of the first."""

    a: str
    b: str
    conflicts: tuple[Conflict, ...]
    unknown: Unknown | None = None  # the merge could not be done


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
    undecided: tuple[PairForecast, ...] = ()  # pairs whose merge could not be done
    # each paired branch's landing on trunk, as its changes to trunk's tree (pairs merge them)
    landed: Mapping[str, tuple[Change, ...]] = field(default_factory=dict)
    ages: Mapping[str, int] = field(default_factory=dict)  # of the branches in the land order

    def land_order_without(self, pairs: Iterable[tuple[str, str]]) -> tuple[LandStep, ...]:
        """The land order again, with these pairs' conflicts left out (a machine resolves
        them: they cost no one an update)."""
        dropped = {frozenset(pair) for pair in pairs}
        clashes: dict[str, dict[str, int]] = {}
        for p in self.pairs:
            if frozenset((p.a, p.b)) not in dropped:
                clashes.setdefault(p.a, {})[p.b] = len(p.conflicts)
                clashes.setdefault(p.b, {})[p.a] = len(p.conflicts)
        on_trunk = {x.branch: len(x.conflicts) for x in self.with_trunk if x.conflicts}
        active = [name for name in self.ages]
        trunk = {name: n for name, n in on_trunk.items() if name in self.ages}
        return tuple(land_order(active, dict(self.ages), clashes, trunk))

    def unknown_figures(self) -> dict[str, int]:
        """Count the merges whose outcome is unknown, by reason."""
        counts: dict[str, int] = {}
        gaps = [x.unknown for x in self.with_trunk] + [p.unknown for p in self.undecided]
        for gap in gaps:
            if gap is not None:
                counts[gap.reason] = counts.get(gap.reason, 0) + 1
        return counts


@dataclass(frozen=True)
class _Walk:
    """A branch against trunk: its own commits' count and age, and how to merge it."""

    ahead: int
    first_author_time: int | None
    job: MergeJob | None  # None: nothing to merge (integrated, or unrelated history)
    base_step: int = -1  # where the merge base joined trunk: merges ordered by it share reads


class ForecastMemo:
    """What one forecast keeps for the next one, so a rescan only merges what moved.

    `merges` is keyed by the ids merged and the engine version: it never goes stale and is
    the part a store can persist. The rest is derived from it or from commits and is kept
    only while trunk does not move.
    """

    def __init__(self, merges: MergeCache | None = None) -> None:
        self.merges: MergeCache = {} if merges is None else merges
        self.trunk: TrunkIndex | None = None
        self.walks: dict[pygit2.Oid, _Walk] = {}
        self.reach: dict[pygit2.Oid, Reach] = {}  # by branch head, for trunk's tree reach_tree
        self.reach_tree = ""


def _is_active(ref: BranchRef, head: pygit2.Commit, now: int, active_days: int) -> bool:
    return bool(ref.pulls) or head.commit_time >= now - active_days * DAY


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


def _walk(repo: pygit2.Repository, head: pygit2.Commit, trunk: TrunkIndex) -> _Walk:
    own, boundary = own_commits(repo, head.id, trunk)
    base = merge_base(boundary, trunk)
    first = min((c.author.time for c in own), default=None)
    if base is None or not own:
        return _Walk(len(own), first, None)
    if len(boundary) > 1 and len(trunk.best(boundary)) > 1:
        # Several merge bases: merge the commits over all of them, as git does.
        job = MergeJob(None, str(trunk.head), str(head.id))
    else:
        trunk_tree = repo[trunk.head].peel(pygit2.Commit).tree_id
        base_tree = repo[base].peel(pygit2.Commit).tree_id
        job = MergeJob(
            str(base_tree),
            str(trunk_tree),
            str(head.tree_id),
            commits=(str(trunk.head), str(head.id)),
        )
    return _Walk(len(own), first, job, trunk.landing[base])


def _merge_all(
    scratch: Scratch,
    jobs: Sequence[MergeJob | PairJob],
    cache: MergeCache,
    workers: int | None,
    progress: Callable[[int], None] | None,
) -> tuple[list[MergeResult], int]:
    """Return the result of every job, merging only cache misses; also how many were merged."""
    results: list[MergeResult | None] = [cached(cache, job) for job in jobs]
    missing = [i for i, r in enumerate(results) if r is None]
    if workers is None:
        workers = default_workers() if len(missing) >= MERGES_PARALLEL_FROM else 1
    todo = [jobs[i] for i in missing]
    opener_args = (scratch.git_dir, scratch.store, scratch.promisor, scratch.fetcher)
    # Small chunks when there are few merges: one far-diverged branch can take a second (git's
    # merge of years of history), and the cores should share such merges evenly. In one
    # process, one chunk: each chunk starts a git (trials.run_jobs).
    chunk = max(1, min(32, len(todo) // (4 * workers))) if workers > 1 else max(1, len(todo))
    done = ProcessMap(
        scratch, Scratch.open, opener_args, run_jobs, todo, workers, chunk, on_failure=failed_job
    )
    for i, result in zip(missing, done.results(progress), strict=True):
        if result.unknown is None:
            cache[jobs[i].key] = result
        results[i] = result
    return [r for r in results if r is not None], len(missing)


def forecast(
    repo: pygit2.Repository,
    found: Inventory,
    now: int,
    active_days: int = 30,
    memo: ForecastMemo | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
    fetcher: Fetcher | None = None,
    focus: str | None = None,
) -> Forecast:
    """Predict conflicts with trunk for every branch and between active branches, as of `now`.

    Pairs are trial-merged as git would land them: trunk+A and trunk+B over trunk. A pair whose
    changes relative to trunk share no path cannot conflict and is cleared without a merge.
    With a `memo` from an earlier forecast, only merges that involve something new are done.
    The merged trees it needs are written to a throwaway store, never into `repo`. A merge
    that lacks an object (one `fetcher` cannot bring) has an unknown outcome, said with why.
    With `focus`, only the pairs that include that branch are merged (one pull request's
    evaluation: n - 1 pairs, not n(n - 1)/2).
    """
    with scratch_view(repo, fetcher) as scratch:
        return _forecast(repo, scratch, found, now, active_days, memo, progress, workers, focus)


def _forecast(
    repo: pygit2.Repository,
    scratch: Scratch,
    found: Inventory,
    now: int,
    active_days: int,
    memo: ForecastMemo | None,
    progress: Progress | None,
    workers: int | None,
    focus: str | None = None,
) -> Forecast:
    memo = ForecastMemo() if memo is None else memo
    if found.trunk is None:
        return Forecast(found.trunk_name, None, (), (), (), (), ForecastStats(0, 0, 0, 0, 0, 0))
    if memo.trunk is None or memo.trunk.head != found.trunk.target:
        reuse = found.index is not None and found.index.head == found.trunk.target
        memo.trunk = found.index if reuse and found.index else TrunkIndex(repo, found.trunk.target)
        memo.walks.clear()
    trunk = memo.trunk
    trunk_name = found.trunk.name
    trunk_tree = str(repo[trunk.head].peel(pygit2.Commit).tree_id)

    heads = {ref.name: repo[ref.target].peel(pygit2.Commit) for ref in found.branches}
    active = {
        ref.name for ref in found.branches if _is_active(ref, heads[ref.name], now, active_days)
    }
    walks: dict[str, _Walk] = {}
    for ref in found.branches:
        head = heads[ref.name]
        walk = memo.walks.get(head.id)
        if walk is None:
            walk = _walk(repo, head, trunk)
            memo.walks[head.id] = walk
        walks[ref.name] = walk

    merging = sorted(
        (name for name, w in walks.items() if w.job is not None),
        key=lambda name: walks[name].base_step,
    )
    trunk_jobs = [walks[name].job for name in merging]
    report = None if progress is None else (lambda n: progress(n, len(trunk_jobs)))
    trunk_results, trunk_merged = _merge_all(
        scratch, [j for j in trunk_jobs if j is not None], memo.merges, workers, report
    )
    by_branch = dict(zip(merging, trunk_results, strict=True))

    with_trunk: list[TrunkForecast] = []
    for ref in found.branches:
        walk, result = walks[ref.name], by_branch.get(ref.name)
        unrelated = walk.job is None and walk.ahead > 0
        # Entries git moves aside are named after the branches, as `git merge` names them.
        conflicts = relabel(result.conflicts, trunk_name, ref.name) if result is not None else ()
        gap = result.unknown if result is not None else None
        with_trunk.append(
            TrunkForecast(ref.name, str(ref.target), unrelated, walk.ahead == 0, conflicts, gap)
        )

    # Only active branches that merge cleanly into trunk are paired, through their changes.
    landed = {
        name: by_branch[name].changes
        for name in sorted(active)
        if name in by_branch and by_branch[name].clean
    }
    trunk_root = repo[pygit2.Oid(hex=trunk_tree)].peel(pygit2.Tree)
    if memo.reach_tree != trunk_tree:
        memo.reach, memo.reach_tree = {}, trunk_tree
    reach = {}
    for name, changes in landed.items():
        key = heads[name].id
        if key not in memo.reach:
            memo.reach[key] = Reach.of(changes, trunk_root)
        reach[name] = memo.reach[key]
    names = sorted(landed)
    candidates = [(a, b) for a, b in meeting_pairs(reach) if focus is None or focus in (a, b)]
    pair_jobs = [PairJob(trunk_tree, landed[a], landed[b]) for a, b in candidates]
    pair_results, pairs_merged = _merge_all(scratch, pair_jobs, memo.merges, workers, None)

    pairs: list[PairForecast] = []
    undecided: list[PairForecast] = []
    at_risk: list[RiskPair] = []
    pair_conflicts: dict[str, dict[str, int]] = {}
    for (a, b), result in zip(candidates, pair_results, strict=True):
        if result.unknown is not None:
            undecided.append(PairForecast(a, b, (), result.unknown))
        elif result.conflicts:
            pairs.append(PairForecast(a, b, relabel(result.conflicts, a, b)))
            pair_conflicts.setdefault(a, {})[b] = len(result.conflicts)
            pair_conflicts.setdefault(b, {})[a] = len(result.conflicts)
        elif result.near:
            at_risk.append(RiskPair(a, b, result.near))

    active_merging = [n for n in sorted(active) if n in by_branch and by_branch[n].unknown is None]
    age = {name: now - (walks[name].first_author_time or now) for name in active_merging}
    trunk_conflicts = {
        name: len(by_branch[name].conflicts) for name in active_merging if by_branch[name].conflicts
    }
    order = land_order(active_merging, age, pair_conflicts, trunk_conflicts)
    stats = ForecastStats(
        branches=len(found.branches),
        active=len(active_merging),
        pairs=len(names) * (len(names) - 1) // 2,
        pairs_merged=len(candidates),
        merges_computed=trunk_merged + pairs_merged,
        cache_hits=len(trunk_jobs) + len(pair_jobs) - trunk_merged - pairs_merged,
    )
    return Forecast(
        found.trunk.name,
        str(trunk.head),
        tuple(with_trunk),
        tuple(pairs),
        tuple(at_risk),
        tuple(order),
        stats,
        tuple(undecided),
        {name: landed[name] for name in names},
        age,
    )
