"""Work that already reached trunk: what each merge brought, how long it lived, if it conflicted."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import pygit2

from analyzers.leadtime import first_warning
from analyzers.mergejobs import MergeCache, MergeJob, MergeResult, cached
from analyzers.missing import READ_ERRORS
from analyzers.objects import Fetcher, Scratch, scratch_view
from analyzers.trials import run_job
from analyzers.trunk import TrunkIndex


def lead_time(merged_at: int, first_warning_at: int | None) -> int | None:
    """Seconds from the forecast's first warning to the merge it warned of (None: no warning)."""
    return None if first_warning_at is None else max(0, merged_at - first_warning_at)


@dataclass(frozen=True)
class MergedWork:
    """The commits one merge on trunk's first-parent line brought in (its second parent's own).

    `conflicted` says whether merging the two parents conflicts (the replay of that merge).
    """

    merge_commit: str
    landed_at: int
    first_commit_at: int
    commits: int
    files_changed: int
    lines_added: int | None  # None: the repository lacks the blobs (partial clone)
    lines_deleted: int | None
    conflicted: bool | None  # None: the merge could not be redone (an object is missing)
    first_warning_at: int | None = None  # for a conflicted merge: the forecast's first warning

    @property
    def lifetime_seconds(self) -> int:
        """From the first own commit (author time) to the landing (merge commit time)."""
        return max(0, self.landed_at - self.first_commit_at)

    @property
    def lead_time_seconds(self) -> int | None:
        """How long before the landing the forecast would have warned of its conflict."""
        return lead_time(self.landed_at, self.first_warning_at)


@dataclass(frozen=True)
class PaidConflict:
    """A recorded merge that conflicted, either way (trunk into a branch, or a landing), and
    when the forecast would first have warned of it (None: could not be told)."""

    merge_commit: str
    merged_at: int
    first_warning_at: int | None
    summary: str = ""  # the merge commit's subject line
    paths: tuple[str, ...] = ()  # the paths it conflicted on

    @property
    def lead_time_seconds(self) -> int | None:
        """How long before the merge the forecast would have warned."""
        return lead_time(self.merged_at, self.first_warning_at)


@dataclass(frozen=True)
class History:
    """Trunk's history since a moment: merged work, and every landing on the first-parent line.

    `landings` are the commit times of trunk's first-parent commits: merges and, where a
    project squashes or rebases, the landed commits themselves. `paid` are the merges that
    conflicted: the landings, and the merges of trunk into the branches they brought.
    """

    merged: tuple[MergedWork, ...]
    landings: tuple[int, ...]
    merge_landings: tuple[int, ...]
    paid: tuple[PaidConflict, ...] = ()


def history(
    repo: pygit2.Repository,
    trunk: TrunkIndex,
    since: int,
    cache: MergeCache | None = None,
    progress: Callable[[int, int], None] | None = None,
    fetcher: Fetcher | None = None,
) -> History:
    """Mine trunk's first-parent history from its head back to `since` (Unix seconds).

    A merge that conflicts gets the moment the forecast would first have warned of it.
    """
    recent: list[tuple[int, pygit2.Commit]] = []
    for step in range(len(trunk.chain) - 1, -1, -1):
        commit = repo[trunk.chain[step]].peel(pygit2.Commit)
        if commit.commit_time < since:
            break
        recent.append((step, commit))
    recent.reverse()
    wanted = {i for i, c in recent if len(c.parent_ids) >= 2}
    brought: dict[int, list[pygit2.Oid]] = defaultdict(list)
    for commit_id, step in trunk.landing.items():
        if step in wanted and commit_id != trunk.chain[step]:
            brought[step].append(commit_id)

    merged = []
    paid: list[PaidConflict] = []
    cache = {} if cache is None else cache
    with scratch_view(repo, fetcher) as scratch:
        for done, (step, merge) in enumerate(((i, c) for i, c in recent if i in wanted), 1):
            own = [repo[c].peel(pygit2.Commit) for c in brought[step]]
            result, warned = _redo(repo, scratch, merge, cache)
            if result.conflicts:
                paid.append(_paid(merge, result, warned))
            for commit in own:
                if len(commit.parent_ids) == 2:  # trunk merged into the branch, say
                    side, side_warned = _redo(repo, scratch, commit, cache)
                    if side.conflicts:
                        paid.append(_paid(commit, side, side_warned))
            merged.append(_merged_work(repo, merge, own, result, warned))
            if progress is not None:
                progress(done, len(wanted))
    landings = tuple(c.commit_time for _, c in recent)
    merge_landings = tuple(c.commit_time for i, c in recent if i in wanted)
    paid.sort(key=lambda p: p.merged_at)
    return History(tuple(merged), landings, merge_landings, tuple(paid))


def _paid(merge: pygit2.Commit, result: MergeResult, warned: int | None) -> PaidConflict:
    subject = merge.message.split("\n", 1)[0].strip()
    paths = tuple(sorted({c.path for c in result.conflicts}))
    return PaidConflict(str(merge.id), merge.commit_time, warned, subject, paths)


def _redo(
    repo: pygit2.Repository, scratch: Scratch, merge: pygit2.Commit, cache: MergeCache
) -> tuple[MergeResult, int | None]:
    """Redo a recorded merge; if it conflicts, find when the forecast would first have warned."""
    job = MergeJob(None, str(merge.parent_ids[0]), str(merge.parent_ids[1]))
    result = cached(cache, job)
    if result is None:
        result = run_job(scratch, job)
        if result.unknown is None:
            cache[job.key] = result
    warned = None
    if result.conflicts:
        paths = frozenset(c.path for c in result.conflicts)
        warning = first_warning(repo, scratch, merge, paths, cache)
        warned = None if warning is None else warning.time
    return result, warned


def landed_pull(
    repo: pygit2.Repository,
    landing: pygit2.Oid,
    head: pygit2.Oid,
    cache: MergeCache | None = None,
    fetcher: Fetcher | None = None,
) -> MergedWork:
    """Describe a pull request that landed as `landing` (a merge, squash or rebase commit on
    trunk) from its last head `head`: its own commits are those of `head` that trunk lacked
    just before it landed; it conflicted if merging `head` there conflicts."""
    commit = repo[landing].peel(pygit2.Commit)
    if not commit.parent_ids:
        raise ValueError(f"{landing} has no parent: nothing landed on a trunk")
    before = repo[commit.parent_ids[0]].peel(pygit2.Commit)
    walker = repo.walk(head, pygit2.enums.SortMode.NONE)
    walker.hide(before.id)
    own = list(walker)
    cache = {} if cache is None else cache
    with scratch_view(repo, fetcher) as scratch:
        if len(commit.parent_ids) >= 2 and commit.parent_ids[1] == head:
            result, warned = _redo(repo, scratch, commit, cache)
        else:
            job = MergeJob(None, str(before.id), str(head))
            result = cached(cache, job) or run_job(scratch, job)
            warned = None
    return _merged_work(repo, commit, own, result, warned)


def _merged_work(
    repo: pygit2.Repository,
    landing: pygit2.Commit,
    own: list[pygit2.Commit],
    result: MergeResult,
    warned: int | None,
) -> MergedWork:
    """What `landing` brought to trunk (its diff from its first parent) from `own` commits."""
    before = repo[landing.parent_ids[0]].peel(pygit2.Commit)
    diff = before.tree.diff_to_tree(landing.tree)
    stats: tuple[int, int | None, int | None]
    try:
        stats = (diff.stats.files_changed, diff.stats.insertions, diff.stats.deletions)
    except READ_ERRORS:
        stats = (len(diff), None, None)  # line counts need blobs this repository lacks
    return MergedWork(
        merge_commit=str(landing.id),
        landed_at=landing.commit_time,
        first_commit_at=min((c.author.time for c in own), default=landing.commit_time),
        commits=len(own),
        files_changed=stats[0],
        lines_added=stats[1],
        lines_deleted=stats[2],
        conflicted=None if result.unknown else bool(result.conflicts),
        first_warning_at=warned,
    )
