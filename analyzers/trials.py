"""In-memory trial merges (no work tree, no checkout), by libgit2 or, where it must, by git."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import pygit2

from analyzers.conflicts import (
    Conflict,
    ConflictKind,
    clashing_ranges,
    conflicts_of,
    raw_conflicts,
    staged_conflict,
)
from analyzers.errors import MergeError
from analyzers.git import Git, Staged, find_git
from analyzers.mergejobs import MergeJob, MergeResult, PairJob
from analyzers.missing import READ_ERRORS, Unknown, unknown
from analyzers.objects import Entry, Scratch, apply_changes

RISK_LINES = 3  # changes this close to each other, without a textual conflict, are "at risk"
FETCH_ROUNDS = 3  # fetches of missing blobs for one merge before it is reported unknown


def run_merge(scratch: Scratch, job: MergeJob, git: Git | None) -> MergeResult:
    """Do one trial merge in memory (no work tree, no checkout); writes go to the scratch store.

    Given a git, git itself merges what libgit2 answers differently (README): commits with
    several merge bases (libgit2 builds its virtual base differently) and merges in which both
    sides add or delete paths, so renames, of files or of whole directories, may meet (git
    detects directory renames, libgit2 does not). Every other merge is libgit2's.
    """
    repo = scratch.view
    if job.base is None:
        if git is not None:
            return _git_merge(git, scratch, job, job.ours, job.theirs)
        index = repo.merge_commits(pygit2.Oid(hex=job.ours), pygit2.Oid(hex=job.theirs))
    elif git is not None and job.commits and _branch_renames_may_meet(repo, job):
        return _git_merge(git, scratch, job, *job.commits)
    else:
        index = repo.merge_trees(
            pygit2.Oid(hex=job.base), pygit2.Oid(hex=job.ours), pygit2.Oid(hex=job.theirs)
        )
    conflicts = conflicts_of(repo, index)
    if not conflicts and index.conflicts is not None:
        # Every entry read as a rename's trace, yet libgit2 did not merge: never call it clean.
        conflicts = raw_conflicts(index)
    if conflicts:
        return MergeResult(conflicts)
    # Writing the merged tree costs more than the merge itself: only when it will be used.
    tree = index.write_tree(repo) if job.want_tree else None
    return _clean(index.diff_to_tree(repo[pygit2.Oid(hex=job.ours)].peel(pygit2.Tree)), tree)


def _clean(diff: pygit2.Diff, tree: pygit2.Oid | str | None) -> MergeResult:
    # `diff` goes from ours (trunk) to the merge result.
    deleted = pygit2.enums.DeltaStatus.DELETED
    changes = tuple(
        (d.new_file.path, None, 0)
        if d.status == deleted
        else (d.new_file.path, str(d.new_file.id), int(d.new_file.mode))
        for d in diff.deltas
    )
    return MergeResult((), str(tree) if tree is not None else None, (), changes)


def _parents(path: str) -> Iterator[str]:
    while "/" in path:
        path = path.rsplit("/", 1)[0]
        yield path


def _renames_may_meet(
    base: pygit2.Tree,
    changes: Iterable[tuple[str, str]],
    side: pygit2.Tree,
    other: pygit2.Tree,
) -> bool:
    """Tell whether an add or a delete of `side` (a rename, maybe) meets a change of `other`.

    `changes` are `side`'s (status, path) since `base`: "A" added, "D" deleted, "M" modified.
    There libgit2 and git may answer differently: git follows a directory that disappeared on
    one side into its new place, and names rename conflicts its own way. Only path lookups.
    """
    for status, path in changes:
        if status == "A":
            if path in other or any(d in base and d not in other for d in _parents(path)):
                return True
        elif status == "D":
            if path not in other or other[path].id != base[path].id:
                return True
            for d in _parents(path):
                if d not in side and d in other and other[d].id != base[d].id:
                    return True
        elif path not in other:
            return True
    return False


def _branch_renames_may_meet(repo: pygit2.Repository, job: MergeJob) -> bool:
    """Check _renames_may_meet for a trunk merge, reading the branch's (small) side only."""
    assert job.base is not None
    base, trunk, branch = (
        repo[pygit2.Oid(hex=t)].peel(pygit2.Tree) for t in (job.base, job.ours, job.theirs)
    )
    changes = []
    moved = False
    for delta in base.diff_to_tree(branch).deltas:
        status = delta.status_char()
        moved = moved or status in "AD"
        changes.append((status, delta.new_file.path if status != "D" else delta.old_file.path))
    return moved and _renames_may_meet(base, changes, branch, trunk)


def _git_merge(git: Git, scratch: Scratch, job: MergeJob, ours: str, theirs: str) -> MergeResult:
    """Merge two commits with git, its objects written to the scratch store.

    The result is described against `job.ours` (trunk's tree or commit), like libgit2's.
    """
    merged = git.merge_tree(ours, theirs, scratch.git_env())
    repo = scratch.view
    if merged.clean:
        ours_tree = repo[pygit2.Oid(hex=job.ours)].peel(pygit2.Tree)
        tree = pygit2.Oid(hex=merged.tree)
        return _clean(ours_tree.diff_to_tree(repo[tree].peel(pygit2.Tree)), tree)
    stages: dict[str, dict[int, Staged]] = {}
    for staged in merged.staged:
        stages.setdefault(staged.path, {})[staged.stage] = staged
    conflicts = [staged_conflict(repo, p, s) for p, s in sorted(stages.items())]
    if not conflicts:
        # A conflict on no file: a directory renamed several ways ("directory rename split").
        conflicts = [
            Conflict(m.paths[0], ConflictKind.RENAME)
            for m in merged.messages
            if m.conflict and m.paths
        ]
    return MergeResult(tuple(conflicts))


def run_pair(scratch: Scratch, job: PairJob, git: Git | None) -> MergeResult:
    """Merge T+A and T+B over T, each landing built from its changes (see PairJob)."""
    repo = scratch.view
    trunk_tree = repo[pygit2.Oid(hex=job.trunk_tree)].peel(pygit2.Tree)
    sides = []
    for changes in (job.ours, job.theirs):
        entries: dict[str, Entry] = {
            path: None if blob is None else (pygit2.Oid(hex=blob), mode)
            for path, blob, mode in changes
        }
        sides.append((entries, apply_changes(repo, trunk_tree, entries)))
    trees = [repo[tree].peel(pygit2.Tree) for _, tree in sides]
    if git is not None and any(
        any(e is None or p not in trunk_tree for p, e in sides[i][0].items())
        and _renames_may_meet(
            trunk_tree, _statuses(sides[i][0], trunk_tree), trees[i], trees[1 - i]
        )
        for i in (0, 1)
    ):
        # Renames may meet: git decides, on T+A and T+B written as commits on T.
        trunk_commit = _commit(repo, trunk_tree.id, [])
        landed = [str(_commit(repo, tree, [trunk_commit])) for _, tree in sides]
        merged = _git_merge(git, scratch, MergeJob(None, str(trunk_commit), landed[1]), *landed)
        return MergeResult(
            merged.conflicts,
            None,
            () if merged.conflicts else _near_paths(repo, trunk_tree, sides[0][0], sides[1][0]),
        )
    index = repo.merge_trees(trunk_tree.id, sides[0][1], sides[1][1])
    conflicts = conflicts_of(repo, index)
    if conflicts or index.conflicts is not None:
        return MergeResult(conflicts or raw_conflicts(index))
    return MergeResult((), None, _near_paths(repo, trunk_tree, sides[0][0], sides[1][0]))


def _statuses(entries: dict[str, Entry], trunk_tree: pygit2.Tree) -> list[tuple[str, str]]:
    return [("D" if e is None else "M" if p in trunk_tree else "A", p) for p, e in entries.items()]


def _near_paths(
    repo: pygit2.Repository,
    trunk_tree: pygit2.Tree,
    ours: dict[str, Entry],
    theirs: dict[str, Entry],
) -> tuple[str, ...]:
    """Paths both landings change within a few lines of each other (no textual conflict)."""
    near = []
    for path in sorted(set(ours) & set(theirs)):
        a, b = ours[path], theirs[path]
        if a is None or b is None or a[0] == b[0] or path not in trunk_tree:
            continue
        if clashing_ranges(repo, trunk_tree[path].id, a[0], b[0], slack=RISK_LINES)[0]:
            near.append(path)
    return tuple(near)


_SIGNATURE = pygit2.Signature("trunkguard", "trunkguard@localhost", 0, 0)


def _commit(repo: pygit2.Repository, tree: pygit2.Oid, parents: list[pygit2.Oid]) -> pygit2.Oid:
    # A fixed signature and time: the same landing always gives the same commit id.
    return repo.create_commit(None, _SIGNATURE, _SIGNATURE, "landing", tree, parents)


def run_job(scratch: Scratch, job: MergeJob | PairJob) -> MergeResult:
    """Do one trial merge; a missing object makes its result unknown, not an error.

    In a partial clone, with a fetcher to reach its promisor remote, the blobs the merge needs
    are fetched into the scratch store: those of the paths both sides changed, then any other
    the merge still asks for. Where git itself fails on a merge, libgit2 answers it.
    """
    fetched: set[str] = set()
    git = find_git()
    for round_ in range(FETCH_ROUNDS + 1):
        try:
            if isinstance(job, PairJob):
                return run_pair(scratch, job, git)
            return run_merge(scratch, job, git)
        except (*READ_ERRORS, MergeError) as error:
            gap = unknown(scratch.promisor, ("conflicts",), error)
            if gap.object_id is None and not isinstance(error, MergeError):
                raise
            if gap.object_id is None:
                if git is None:
                    return MergeResult((), unknown=Unknown(gap.figures, str(error)))
                # git itself failed (git 2.39's merge-ort can fail an assertion on some
                # renames): libgit2 answers, as it does where git is not installed.
                git = None
                continue
            remote = scratch.promisor
            if remote is None or scratch.fetcher is None or round_ == FETCH_ROUNDS:
                return MergeResult((), unknown=gap)
            wanted = _needed_blobs(scratch.view, job) if round_ == 0 else set()
            if gap.object_id is not None:
                wanted.add(gap.object_id)
            wanted -= fetched
            if not wanted:
                return MergeResult((), unknown=gap)
            problem = scratch.fetcher(scratch.git_env(), remote, sorted(wanted))
            if problem is not None:
                reason = f"{gap.reason}, which did not answer: {problem}"
                return MergeResult((), unknown=Unknown(gap.figures, reason, gap.object_id))
            fetched |= wanted
    raise AssertionError("unreachable")


def _needed_blobs(repo: pygit2.Repository, job: MergeJob | PairJob) -> set[str]:
    """Blobs of the paths both sides of a merge changed: what a content merge reads."""
    if isinstance(job, PairJob):
        trunk = repo[pygit2.Oid(hex=job.trunk_tree)].peel(pygit2.Tree)
        ours = {path: blob for path, blob, _ in job.ours}
        both = [(path, ours[path], blob) for path, blob, _ in job.theirs if path in ours]
        out: set[str] = set()
        for path, a, b in both:
            out.update(x for x in (a, b) if x is not None)
            if path in trunk:
                out.add(str(trunk[path].id))
        return out
    if job.base is None:
        return set()  # commits merged by git, which fetches what it needs itself
    base, ours_tree, theirs_tree = (
        repo[pygit2.Oid(hex=t)].peel(pygit2.Tree) for t in (job.base, job.ours, job.theirs)
    )
    changed = [
        {d.new_file.path if d.status_char() != "D" else d.old_file.path for d in side.deltas}
        for side in (base.diff_to_tree(ours_tree), base.diff_to_tree(theirs_tree))
    ]
    out = set()
    for path in changed[0] & changed[1]:
        for tree in (base, ours_tree, theirs_tree):
            if path in tree:
                out.add(str(tree[path].id))
    return out


def run_jobs(scratch: Scratch, jobs: Sequence[MergeJob | PairJob]) -> list[MergeResult]:
    """Do several trial merges; the unit of work handed to a worker process."""
    return [run_job(scratch, job) for job in jobs]
