"""In-memory trial merges (no work tree, no checkout), by libgit2 or, where it must, by git."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import pygit2

from analyzers.conflicts import (
    GITLINK,
    TREE,
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
from analyzers.git import Git, Staged, find_git
from analyzers.mergejobs import MergeJob, MergeResult, PairJob
from analyzers.missing import READ_ERRORS, Unknown, unknown
from analyzers.objects import Entry, Scratch, apply_changes

RISK_LINES = 3  # changes this close to each other, without a textual conflict, are "at risk"
FETCH_ROUNDS = 3  # fetches of missing blobs for one merge before it is reported unknown
# git's merge (merge-ort) aligns the lines of a file with the histogram diff, which libgit2
# lacks; its patience diff comes nearest (on hashicorp/terraform, libgit2's own diff gave git's
# content conflicts in 271 of 282 trunk merges, patience in 281).
FILE_MERGE = pygit2.enums.MergeFileFlag.DIFF_PATIENCE


def run_merge(scratch: Scratch, job: MergeJob, git: Git | None) -> MergeResult:
    """Do one trial merge in memory (no work tree, no checkout); writes go to the scratch store.

    Given a git, git itself merges what libgit2 may answer differently (goes_to_git): commits
    with several merge bases, and merges where renames may meet a change on the other side.
    Every other merge is libgit2's.
    """
    repo = scratch.view
    if job.base is None:
        if git is not None:
            return _git_merge(git, scratch, job, job.ours, job.theirs)
        index = repo.merge_commits(
            pygit2.Oid(hex=job.ours), pygit2.Oid(hex=job.theirs), file_flags=FILE_MERGE
        )
    elif git is not None and job.commits and goes_to_git(repo, job):
        return _git_merge(git, scratch, job, *job.commits)
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


def _parents(path: str) -> Iterator[str]:
    while "/" in path:
        path = path.rsplit("/", 1)[0]
        yield path


Held = tuple[pygit2.Oid, int] | None  # what a tree holds at a path: id and mode, or nothing


def _held(tree: pygit2.Tree, path: str) -> Held:
    try:
        entry = tree[path]
    except KeyError:
        return None
    return entry.id, entry.filemode


def _plain_file(held: Held) -> bool:
    return held is not None and held[1] & 0o170000 == 0o100000


def renames_may_meet(
    base: pygit2.Tree,
    changes: Mapping[str, Held],
    side: pygit2.Tree,
    other: pygit2.Tree,
) -> bool:
    """Tell whether `side`'s changes since `base` may meet `other`'s where libgit2 and git
    can answer differently: a rename (of a file or a directory, on either side) meeting a
    change on the other, a file/directory clash, a submodule pointer or a symlink changed on
    both sides, an identical copy that makes a rename ambiguous.

    `changes` maps each path `side` changed to what it holds now (None: deleted). Only path
    lookups in `other` (and in `base`), none of `other`'s history: a rename on `other` shows
    as a path `side` changed that `other` no longer has (or has as something else), or as a
    directory `side` adds to that `other` no longer has; a rename on `side` as a path it
    deleted that `other` changed, or a directory it emptied that `other` changed.
    """
    looked: dict[str, bool] = {}

    def parent_clash(directory: str, adding: bool) -> bool:
        key = ("+" if adding else "-") + directory
        if key not in looked:
            theirs = _held(other, directory)
            if adding:
                # `other` moved (or deleted) the directory `side` adds to, or holds a file,
                # a symlink or a submodule where `side` needs a directory.
                clash = (theirs is None and directory in base) or (
                    theirs is not None and theirs[1] != TREE
                )
            else:
                # `side` emptied the directory (moved it, maybe) and `other` changed it.
                clash = (
                    directory not in side
                    and theirs is not None
                    and theirs != _held(base, directory)
                )
            looked[key] = clash
        return looked[key]

    for path, mine in changes.items():
        was = _held(base, path)
        theirs = _held(other, path)
        if theirs != was and not (_plain_file(was) and _plain_file(mine) and _plain_file(theirs)):
            # Both sides changed the path, and not both as a file's content: an add or a
            # delete (a rename's two ends), a type change, a submodule or a symlink.
            return True
        if mine is not None and was is None:
            if any(parent_clash(d, True) for d in _parents(path)):
                return True
        elif mine is None and any(parent_clash(d, False) for d in _parents(path)):
            return True
    return _copies_may_pair(changes, base)


def _copies_may_pair(changes: Mapping[str, Held], base: pygit2.Tree) -> bool:
    """Tell whether one side's renames may be paired more than one way (identical copies).

    A path `side` adds with the content of a path it deletes is an exact rename; when that
    content is at several deleted or added paths, git and libgit2 may pair them differently.
    """
    added: dict[pygit2.Oid, int] = {}
    for path, mine in changes.items():
        if mine is not None and path not in base:
            added[mine[0]] = added.get(mine[0], 0) + 1
    if not added:
        return False
    deleted: dict[pygit2.Oid, int] = {}
    for path, mine in changes.items():
        if mine is None and (was := _held(base, path)) is not None and was[0] in added:
            deleted[was[0]] = deleted.get(was[0], 0) + 1
    return any(count + added[blob] > 2 for blob, count in deleted.items())


def _tree_changes(base: pygit2.Tree, side: pygit2.Tree) -> dict[str, Held]:
    """What `side` holds at each path it changed since `base` (None: deleted)."""
    out: dict[str, Held] = {}
    for delta in base.diff_to_tree(side).deltas:
        if delta.status == pygit2.enums.DeltaStatus.DELETED:
            out.setdefault(delta.old_file.path, None)
        else:
            # A type change is a delete and an add of one path: the add says what is there.
            out[delta.new_file.path] = (delta.new_file.id, delta.new_file.mode)
    return out


def goes_to_git(repo: pygit2.Repository, job: MergeJob) -> bool:
    """Tell whether git must do a trunk merge, given git (README: How close to git).

    Commits with several merge bases (libgit2 builds its virtual base differently), and every
    merge where renames may meet (renames_may_meet, on the branch's (small) side only).
    """
    if job.base is None:
        return True
    if not job.commits:
        return False
    base, trunk, branch = (
        repo[pygit2.Oid(hex=t)].peel(pygit2.Tree) for t in (job.base, job.ours, job.theirs)
    )
    return renames_may_meet(base, _tree_changes(base, branch), branch, trunk)


def _git_merge(git: Git, scratch: Scratch, job: MergeJob, ours: str, theirs: str) -> MergeResult:
    """Merge two commits with git, its objects written to the scratch store.

    The result is described against `job.ours` (trunk's tree or commit), like libgit2's. The
    entries git moves aside are named `path~ours` and `path~theirs` (conflicts.OURS).
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
        renames_may_meet(trunk_tree, _held_changes(sides[i][0]), trees[i], trees[1 - i])
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
    index = repo.merge_trees(trunk_tree.id, sides[0][1], sides[1][1], file_flags=FILE_MERGE)
    conflicts = conflicts_of(repo, index)
    if conflicts or index.conflicts is not None:
        return MergeResult(conflicts or raw_conflicts(index))
    return MergeResult((), None, _near_paths(repo, trunk_tree, sides[0][0], sides[1][0]))


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
        a, b, was = ours[path], theirs[path], _held(trunk_tree, path)
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


def run_job(scratch: Scratch, job: MergeJob | PairJob) -> MergeResult:
    """Do one trial merge; a missing object makes its result unknown, not an error.

    In a partial clone, with a fetcher to reach its promisor remote, the blobs the merge needs
    are fetched into the scratch store: those of the paths both sides changed, then any other
    the merge still asks for. Where git itself fails on a merge, libgit2 answers it.
    """
    try:
        return _run_job(scratch, job)
    except Exception as error:  # noqa: BLE001 - one merge's failure must not cost the others
        return MergeResult((), unknown=Unknown(("conflicts",), failure_reason(error)))


def failure_reason(error: BaseException) -> str:
    """Say why a trial merge failed, for the merge's `unknown`."""
    text = str(error).strip()
    return f"the trial merge failed: {type(error).__name__}" + (f": {text}" if text else "")


def _run_job(scratch: Scratch, job: MergeJob | PairJob) -> MergeResult:
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
            held = _held(trunk, path)
            if held is not None and is_blob_mode(held[1]):
                out.add(str(held[0]))
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
            held = _held(tree, path)
            if held is not None and is_blob_mode(held[1]):
                out.add(str(held[0]))
    return out


def run_jobs(scratch: Scratch, jobs: Sequence[MergeJob | PairJob]) -> list[MergeResult]:
    """Do several trial merges; the unit of work handed to a worker process."""
    return [run_job(scratch, job) for job in jobs]
