"""In-memory trial merges (no work tree, no checkout), by libgit2 or, where it must, by git."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pygit2

from analyzers.conflicts import (
    GITLINK,
    Conflict,
    ConflictKind,
    clashing_ranges,
    conflicts_of,
    is_blob_mode,
    neutral_labels,
    raw_conflicts,
    staged_conflict,
)
from analyzers.errors import MergeError
from analyzers.git import Git, GitError, MergeTree, Staged, find_git
from analyzers.mergejobs import Change, MergeJob, MergeResult, PairJob
from analyzers.missing import READ_ERRORS, Unknown, unknown
from analyzers.objects import Entry, Scratch, apply_changes
from analyzers.routing import Held, close_edits, git_pair, goes_to_git, held, sides_meet

RISK_LINES = 3  # changes this close to each other, without a textual conflict, are "at risk"
FETCH_ROUNDS = 3  # fetches of missing blobs for one merge before it is reported unknown
# git's merge (merge-ort) aligns the lines of a file with the histogram diff, which libgit2
# lacks; its patience diff comes nearest (on hashicorp/terraform, libgit2's own diff gave git's
# content conflicts in 271 of 282 trunk merges, patience in 281).
FILE_MERGE = pygit2.enums.MergeFileFlag.DIFF_PATIENCE


def run_merge(
    scratch: Scratch, job: MergeJob, git: Git | None, by_git: bool | None = None
) -> MergeResult:
    """Do one trial merge in memory (no work tree, no checkout); writes go to the scratch store.

    Given a git, git itself merges what libgit2 may answer differently (goes_to_git): commits
    with several merge bases, and merges where the two sides' changes meet. Every other merge
    is libgit2's. `by_git` is that choice where the caller made it already.
    """
    repo = scratch.view
    if git is not None and (goes_to_git(repo, job) if by_git is None else by_git):
        return _git_result(scratch, job, git.merge_tree(*git_pair(job), scratch.git_env()))
    if job.base is None:
        index = repo.merge_commits(
            pygit2.Oid(hex=job.ours), pygit2.Oid(hex=job.theirs), file_flags=FILE_MERGE
        )
    else:
        index = repo.merge_trees(
            pygit2.Oid(hex=job.base),
            pygit2.Oid(hex=job.ours),
            pygit2.Oid(hex=job.theirs),
            file_flags=FILE_MERGE,
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


def _git_result(scratch: Scratch, job: MergeJob, merged: MergeTree) -> MergeResult:
    """Describe git's merge of a job's commits, its objects written to the scratch store.

    The result is described against `job.ours` (trunk's tree or commit), like libgit2's. The
    entries git moves aside are named `path~ours` and `path~theirs` (conflicts.OURS).
    """
    ours, theirs = git_pair(job)
    repo = scratch.view
    if merged.clean:
        ours_tree = repo[pygit2.Oid(hex=job.ours)].peel(pygit2.Tree)
        tree = pygit2.Oid(hex=merged.tree)
        return _clean(ours_tree.diff_to_tree(repo[tree].peel(pygit2.Tree)), tree)
    stages: dict[str, dict[int, Staged]] = {}
    for staged in merged.staged:
        stages.setdefault(staged.path, {})[staged.stage] = staged
    aside: dict[str, ConflictKind] = {}
    for message in merged.messages:
        kind = _ASIDE.get(message.kind)
        if kind is not None:
            for path in message.paths:
                aside.setdefault(path, kind)
    conflicts = [
        Conflict(p, aside[p]) if p in aside else staged_conflict(repo, p, s)
        for p, s in sorted(stages.items())
    ]
    if not conflicts:
        # A conflict on no file: a directory renamed several ways ("directory rename split").
        conflicts = [
            Conflict(m.paths[0], ConflictKind.RENAME)
            for m in merged.messages
            if m.conflict and m.paths
        ]
    return MergeResult(neutral_labels(conflicts, ours, theirs))


# git's messages about an entry it moved aside to `path~LABEL`, by their type.
_ASIDE = {
    "CONFLICT (file/directory)": ConflictKind.FILE_DIRECTORY,
    "CONFLICT (distinct modes)": ConflictKind.DISTINCT_TYPES,
}


def run_pair(
    scratch: Scratch, job: PairJob, git: Git | None, landed: Landed | None = None
) -> MergeResult:
    """Merge T+A and T+B over T, each landing built from its changes (see PairJob).

    Given a git, git merges where the two landings meet (routing.sides_meet; edits of a file
    only where close), on T+A and T+B written as commits on T. `landed`: the landings, where
    the caller built them (with git's answer, where it asked for it).
    """
    repo = scratch.view
    landed = landed or _land(repo, job)
    trunk_tree, sides = landed.trunk_tree, landed.sides
    if git is not None and landed.meet:
        ours, theirs = landed.commits(repo)
        answer = landed.answer or git.merge_tree(ours, theirs, scratch.git_env())
        merged = _git_result(scratch, MergeJob(None, ours, theirs), answer)
        return MergeResult(
            merged.conflicts,
            None,
            () if merged.conflicts else _near_paths(repo, trunk_tree, sides[0][0], sides[1][0]),
        )
    index = repo.merge_trees(trunk_tree.id, sides[0][1], sides[1][1], file_flags=FILE_MERGE)
    conflicts = conflicts_of(repo, index)
    if conflicts or index.conflicts is not None:
        return MergeResult(conflicts or raw_conflicts(index))
    return MergeResult((), None, _near_paths(repo, trunk_tree, sides[0][0], sides[1][0]))


@dataclass(eq=False)
class Landed:
    """Two landings on trunk's tree (T+A, T+B), whether their changes meet, and git's merge of
    them where it was asked already (run_jobs)."""

    trunk_tree: pygit2.Tree
    sides: tuple[tuple[dict[str, Entry], pygit2.Oid], ...]  # each side's changes and tree
    meet: bool
    answer: MergeTree | None = None
    failed: GitError | None = None  # git's failure on them, where it was asked already
    written: tuple[str, str] | None = None  # the commits, once written

    def commits(self, repo: pygit2.Repository) -> tuple[str, str]:
        """Write T+A and T+B as commits on T, for git (the same ids every time)."""
        if self.written is None:
            trunk_commit = _commit(repo, self.trunk_tree.id, [])
            ours, theirs = (str(_commit(repo, tree, [trunk_commit])) for _, tree in self.sides)
            self.written = (ours, theirs)
        return self.written


def _land(repo: pygit2.Repository, job: PairJob) -> Landed:
    trunk_tree = repo[pygit2.Oid(hex=job.trunk_tree)].peel(pygit2.Tree)
    sides = []
    for changes in (job.ours, job.theirs):
        entries = _entries(changes)
        sides.append((entries, apply_changes(repo, trunk_tree, entries)))
    trees = [repo[tree].peel(pygit2.Tree) for _, tree in sides]
    held_changes = [_held_changes(entries) for entries, _ in sides]
    # Both directions: a rename on either side shows only from the other's changes. Edits of
    # one file meet only when close: pairs are few, so reading their files costs little, and
    # a pair git merges costs more than libgit2's.
    # The files both edited are the same both ways round: their edits are read once.
    edits_meet = close_edits(repo)
    meet = any(
        sides_meet(trunk_tree, held_changes[i], trees[i], trees[1 - i], edits)
        for i, edits in ((0, edits_meet), (1, _never))
    )
    return Landed(trunk_tree, tuple(sides), meet)


def _never(*_: object) -> bool:
    return False


def _entries(changes: tuple[Change, ...]) -> dict[str, Entry]:
    return {
        path: None if blob is None else (pygit2.Oid(hex=blob), mode) for path, blob, mode in changes
    }


def _held_changes(entries: dict[str, Entry]) -> dict[str, Held]:
    return {p: None if e is None else (e[0], int(e[1])) for p, e in entries.items()}


def _near_paths(
    repo: pygit2.Repository,
    trunk_tree: pygit2.Tree,
    ours: dict[str, Entry],
    theirs: dict[str, Entry],
) -> tuple[str, ...]:
    """Paths both landings change within a few lines of each other (no textual conflict)."""
    near = []
    for path in sorted(set(ours) & set(theirs)):
        a, b, was = ours[path], theirs[path], held(trunk_tree, path)
        if a is None or b is None or a[0] == b[0] or was is None:
            continue
        if not all(is_blob_mode(mode) for mode in (a[1], b[1], was[1])):
            continue  # a directory, or a submodule, on one side: no lines to be near
        if clashing_ranges(repo, was[0], a[0], b[0], slack=RISK_LINES)[0]:
            near.append(path)
    return tuple(near)


_SIGNATURE = pygit2.Signature("trunkguard", "trunkguard@localhost", 0, 0)


def _commit(repo: pygit2.Repository, tree: pygit2.Oid, parents: list[pygit2.Oid]) -> pygit2.Oid:
    # A fixed signature and time: the same landing always gives the same commit id.
    return repo.create_commit(None, _SIGNATURE, _SIGNATURE, "landing", tree, parents)


# What the caller knows of a job: for a trunk merge, whether git must do it, git's answer or
# its failure; for a pair, its landings (built once: their trees and commits are a good share
# of its cost).
Route = bool | MergeTree | GitError | Landed | None


def run_job(scratch: Scratch, job: MergeJob | PairJob, by_git: Route = None) -> MergeResult:
    """Do one trial merge; a missing object makes its result unknown, not an error.

    In a partial clone, with a fetcher to reach its promisor remote, the blobs the merge needs
    are fetched into the scratch store: those of the paths both sides changed, then any other
    the merge still asks for. Where git itself fails on a merge, libgit2 answers it.
    `by_git`: for a trunk merge, whether git must do it, or git's answer, where known; for a
    pair, its landings (run_pair).
    """
    try:
        if isinstance(by_git, MergeTree) and isinstance(job, MergeJob):
            return _git_result(scratch, job, by_git)
        return _run_job(scratch, job, by_git)
    except Exception as error:  # noqa: BLE001 - one merge's failure must not cost the others
        return MergeResult((), unknown=Unknown(("conflicts",), failure_reason(error)))


def failure_reason(error: BaseException) -> str:
    """Say why a trial merge failed, for the merge's `unknown`."""
    text = str(error).strip()
    return f"the trial merge failed: {type(error).__name__}" + (f": {text}" if text else "")


def _run_job(scratch: Scratch, job: MergeJob | PairJob, by_git: Route) -> MergeResult:
    fetched: set[str] = set()
    git = find_git()
    # git failed on it already (run_jobs): go on from that failure, not from asking again.
    failed = by_git.failed if isinstance(by_git, Landed) else by_git
    pending = failed if isinstance(failed, GitError) else None
    for round_ in range(FETCH_ROUNDS + 1):
        try:
            if pending is not None:
                error, pending = pending, None
                raise error
            if isinstance(job, PairJob):
                return run_pair(scratch, job, git, by_git if isinstance(by_git, Landed) else None)
            by = True if isinstance(by_git, GitError) else by_git
            return run_merge(scratch, job, git, by if isinstance(by, bool) else None)
        except (*READ_ERRORS, MergeError) as error:
            gap = unknown(scratch.promisor, ("conflicts",), error)
            if gap.object_id is None and not isinstance(error, MergeError):
                return MergeResult((), unknown=gap)  # unreadable, but nothing to fetch
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
        # Submodule pointers name commits of another repository: never fetched, never read.
        ours = {path: blob for path, blob, mode in job.ours if mode != GITLINK}
        both = [
            (path, ours[path], blob)
            for path, blob, mode in job.theirs
            if path in ours and mode != GITLINK
        ]
        out: set[str] = set()
        for path, a, b in both:
            out.update(x for x in (a, b) if x is not None)
            entry = held(trunk, path)
            if entry is not None and is_blob_mode(entry[1]):
                out.add(str(entry[0]))
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
            entry = held(tree, path)
            if entry is not None and is_blob_mode(entry[1]):
                out.add(str(entry[0]))
    return out


def run_jobs(scratch: Scratch, jobs: Sequence[MergeJob | PairJob]) -> list[MergeResult]:
    """Do several trial merges; the unit of work handed to a worker process.

    The merges git must do (goes_to_git, and pairs whose landings meet) go to one git process
    together (Git.merge_trees): a process each would cost more than most merges.
    """
    git = find_git()
    repo = scratch.view
    routes: dict[int, Route] = {}
    asked: dict[int, tuple[str, str]] = {}
    for index, job in enumerate(jobs):
        if git is None:
            break
        try:
            if isinstance(job, MergeJob):
                routes[index] = goes_to_git(repo, job)
                if routes[index]:
                    asked[index] = git_pair(job)
            else:
                routes[index] = landed = _land(repo, job)
                if landed.meet:
                    asked[index] = landed.commits(repo)
        except Exception:  # noqa: BLE001 - the merge alone says why (run_job)
            continue
    if git is not None and asked:
        answers = git.merge_trees(list(asked.values()), scratch.git_env())
        for index, answer in zip(asked, answers, strict=True):
            route = routes[index]
            if isinstance(route, Landed):
                if isinstance(answer, MergeTree):
                    route.answer = answer
                else:
                    route.failed = answer
            else:
                routes[index] = answer  # git's answer, or its failure (run_job goes on from it)
    return [run_job(scratch, job, routes.get(index)) for index, job in enumerate(jobs)]
