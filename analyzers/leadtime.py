"""When the forecast would first have warned of a conflict that a real merge then paid."""

from __future__ import annotations

from dataclasses import dataclass

import pygit2

from analyzers.mergejobs import MergeCache, MergeJob, MergeResult, cached
from analyzers.missing import READ_ERRORS
from analyzers.objects import Scratch
from analyzers.trials import run_job

CHAIN_LIMIT = 5000  # commits of one side's first-parent line looked at, newest first


@dataclass(frozen=True)
class FirstWarning:
    """The earliest moment the forecast would have flagged a merge's conflicted paths.

    At `time` the two sides stood at `ours` and `theirs`, whose trial merge conflicts on
    exactly the paths the real merge did; a second earlier they stood at `before_ours` and
    `before_theirs`, whose merge does not.
    """

    time: int
    ours: str
    theirs: str
    before_ours: str
    before_theirs: str


@dataclass(frozen=True)
class _Side:
    """One parent's first-parent line since the merge base: commits, oldest first, with the
    moment each existed (a commit exists no earlier than its parent), and where it started."""

    start: pygit2.Oid
    commits: list[pygit2.Oid]
    times: list[int]

    def at(self, moment: int) -> pygit2.Oid:
        """Return where this side stood at `moment`."""
        current = self.start
        for commit, time in zip(self.commits, self.times, strict=True):
            if time > moment:
                break
            current = commit
        return current


def _side(repo: pygit2.Repository, tip: pygit2.Oid, bases: set[pygit2.Oid], since: int) -> _Side:
    line: list[pygit2.Commit] = []
    commit = repo[tip].peel(pygit2.Commit)
    while commit.id not in bases and len(line) < CHAIN_LIMIT:
        line.append(commit)
        # A first-parent line that never meets the base (it forked from a side commit) stops
        # where its commits are older than the base.
        if not commit.parent_ids or commit.commit_time < since:
            break
        commit = repo[commit.parent_ids[0]].peel(pygit2.Commit)
    line.reverse()
    start = line[0].parent_ids[0] if line and line[0].parent_ids else tip
    times: list[int] = []
    for c in line:
        times.append(max(c.commit_time, times[-1] if times else c.commit_time))
    return _Side(start, [c.id for c in line], times)


def first_warning(
    repo: pygit2.Repository,
    scratch: Scratch,
    merge: pygit2.Commit,
    paths: frozenset[str],
    cache: MergeCache,
) -> FirstWarning | None:
    """Find when the forecast, run then, would first have flagged `paths` for `merge`.

    The moments are those at which either side gained a commit; the answer is the one from
    which on the trial merge of the two sides conflicts on exactly those paths, found by
    galloping and bisection from the merge backwards (a few trial merges, cached): the moment
    before it, the sides' merge does not. None when it cannot be told (an object is missing).
    """
    try:
        ours, theirs = merge.parent_ids
        base = repo.merge_base(ours, theirs)
        bases = set() if base is None else {base}
        since = min((repo[b].peel(pygit2.Commit).commit_time for b in bases), default=0)
        sides = [_side(repo, parent, bases, since) for parent in (ours, theirs)]
        moments = sorted({time for side in sides for time in side.times})
    except READ_ERRORS:
        return None

    def outcome(moment: int) -> MergeResult:
        job = MergeJob(None, str(sides[0].at(moment)), str(sides[1].at(moment)))
        result = cached(cache, job)
        if result is None:
            result = run_job(scratch, job)
            if result.unknown is None:
                cache[job.key] = result
        return result

    def flags(moment: int) -> bool:
        result = outcome(moment)
        return result.unknown is None and {c.path for c in result.conflicts} == paths

    hi = len(moments) - 1
    if hi < 0 or not flags(moments[hi]):
        return None
    lo, step = hi - 1, 1
    while lo >= 0 and flags(moments[lo]):
        hi, step = lo, step * 2
        lo = hi - step
    lo = max(lo, -1)
    while hi - lo > 1:
        middle = (lo + hi) // 2
        if flags(moments[middle]):
            hi = middle
        else:
            lo = middle
    moment = moments[hi]
    return FirstWarning(
        moment,
        str(sides[0].at(moment)),
        str(sides[1].at(moment)),
        str(sides[0].at(moment - 1)),
        str(sides[1].at(moment - 1)),
    )
