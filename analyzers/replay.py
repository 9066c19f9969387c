"""Redo trunk's recorded merges in memory: which would have conflicted, and on which paths."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import pygit2

from analyzers.conflicts import Conflict
from analyzers.leadtime import FirstWarning, first_warning
from analyzers.mergejobs import MergeCache, MergeJob, cached
from analyzers.missing import Unknown
from analyzers.objects import Fetcher, scratch_view
from analyzers.trials import run_job
from analyzers.trunk import TrunkIndex


class MergeDirection(StrEnum):
    """Which way a merge went: work landing on trunk, or trunk brought into a branch."""

    INTO_TRUNK = "into trunk"
    TRUNK_INTO_BRANCH = "trunk into branch"
    OTHER = "other"


@dataclass(frozen=True)
class ReplayedMerge:
    """One recorded merge, redone.

    `matches_recorded` tells, for a clean merge, whether the recorded tree is the automatic
    result (False: someone changed more in the merge commit); None when it conflicted.
    For a merge that conflicted, `first_warning` is when the forecast would first have flagged
    the same paths.
    """

    commit: str
    time: int
    direction: MergeDirection
    conflicts: tuple[Conflict, ...]
    matches_recorded: bool | None
    first_warning: FirstWarning | None = None
    unknown: Unknown | None = None  # the merge could not be redone

    @property
    def lead_time_seconds(self) -> int | None:
        """How long before the merge the forecast would have warned."""
        return None if self.first_warning is None else self.time - self.first_warning.time


@dataclass(frozen=True)
class ReplayReport:
    """The last merges reachable from trunk, newest first."""

    trunk_head: str
    merges: tuple[ReplayedMerge, ...]

    def rate(self, direction: MergeDirection) -> tuple[int, int]:
        """Return (conflicted, total) for merges in one direction, of those redone."""
        chosen = [m for m in self.merges if m.direction is direction and m.unknown is None]
        return sum(1 for m in chosen if m.conflicts), len(chosen)

    def unknown_figures(self) -> dict[str, int]:
        """Count the merges that could not be redone, by reason."""
        counts: dict[str, int] = {}
        for merge in self.merges:
            if merge.unknown is not None:
                counts[merge.unknown.reason] = counts.get(merge.unknown.reason, 0) + 1
        return counts

    def lead_times(self) -> list[int]:
        """Every conflicted merge's lead time that could be told, in seconds."""
        return [m.lead_time_seconds for m in self.merges if m.lead_time_seconds is not None]


def replay(
    repo: pygit2.Repository,
    trunk_head: pygit2.Oid,
    limit: int,
    cache: MergeCache | None = None,
    progress: Callable[[int, int], None] | None = None,
    fetcher: Fetcher | None = None,
) -> ReplayReport:
    """Redo the last `limit` two-parent merges reachable from trunk (octopus merges skipped).

    For each that conflicted, find when the forecast would first have warned (its lead time).
    """
    trunk = TrunkIndex(repo, trunk_head)
    order = pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.TIME
    chosen: list[pygit2.Commit] = []
    for commit in repo.walk(trunk_head, order):
        if len(commit.parent_ids) == 2:
            chosen.append(commit)
            if len(chosen) == limit:
                break
    merges = []
    cache = {} if cache is None else cache
    with scratch_view(repo, fetcher) as scratch:
        for done, commit in enumerate(chosen, start=1):
            ours, theirs = commit.parent_ids
            job = MergeJob(None, str(ours), str(theirs), want_tree=True)
            result = cached(cache, job)
            if result is None:
                result = run_job(scratch, job)
                if result.unknown is None:
                    cache[job.key] = result
            if commit.id in trunk.position:
                direction = MergeDirection.INTO_TRUNK
            elif theirs in trunk.position:
                direction = MergeDirection.TRUNK_INTO_BRANCH
            else:
                direction = MergeDirection.OTHER
            matches = None if not result.clean else result.tree == str(commit.tree_id)
            warning = None
            if result.conflicts:
                paths = frozenset(c.path for c in result.conflicts)
                warning = first_warning(repo, scratch, commit, paths, cache)
            merges.append(
                ReplayedMerge(
                    str(commit.id),
                    commit.commit_time,
                    direction,
                    result.conflicts,
                    matches,
                    warning,
                    result.unknown,
                )
            )
            if progress is not None:
                progress(done, len(chosen))
    return ReplayReport(str(trunk_head), tuple(merges))
