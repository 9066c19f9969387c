"""Which trial merges git must do: where libgit2 and git may answer differently.

README: How close to git. Every decision takes path lookups on one side's (small) changes,
never a diff of the other side's history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import pygit2

from analyzers.conflicts import TREE, clashing_ranges
from analyzers.mergejobs import MergeJob

# Edits this close on both sides of a file may be aligned differently by libgit2's diff and
# git's histogram diff (hashicorp/terraform: clean for libgit2, a conflict for git). A random
# search over 12,000 small files of repeated lines found 436 such disagreements, all with
# edits at most 6 lines apart.
ALIGN_LINES = 8


def _parents(path: str) -> Iterator[str]:
    while "/" in path:
        path = path.rsplit("/", 1)[0]
        yield path


Held = tuple[pygit2.Oid, int] | None  # what a tree holds at a path: id and mode, or nothing
EditsMeet = Callable[[pygit2.Oid, pygit2.Oid, pygit2.Oid], bool]  # base, other's, side's blobs


def close_edits(repo: pygit2.Repository) -> EditsMeet:
    """Count two edits of a file as meeting where they come within ALIGN_LINES of each other:
    there libgit2's line alignment may answer otherwise than git's histogram diff."""

    def edits_meet(was: pygit2.Oid, theirs: pygit2.Oid, mine: pygit2.Oid) -> bool:
        return bool(clashing_ranges(repo, was, theirs, mine, slack=ALIGN_LINES)[0])

    return edits_meet


def held(tree: pygit2.Tree, path: str) -> Held:
    """Return what `tree` holds at `path`: its id and mode, or None."""
    try:
        entry = tree[path]
    except KeyError:
        return None
    return entry.id, entry.filemode


def _plain_file(held: Held) -> bool:
    return held is not None and held[1] & 0o170000 == 0o100000


def sides_meet(
    base: pygit2.Tree,
    changes: Mapping[str, Held],
    side: pygit2.Tree,
    other: pygit2.Tree,
    edits_meet: EditsMeet = lambda was, theirs, mine: True,
) -> bool:
    """Tell whether `side`'s changes since `base` meet `other`'s, where libgit2 and git can
    answer differently: a file both sides changed differently (git aligns its lines with the
    histogram diff, which libgit2 lacks), a rename (of a file or a directory, on either side)
    meeting a change on the other, a file/directory clash, a submodule pointer or a symlink
    changed on both sides, an identical copy that makes a rename ambiguous.

    `edits_meet(base, other's, side's)` says whether two different edits of one file count
    (by default they do).

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
            theirs = held(other, directory)
            if adding:
                # `other` moved (or deleted) the directory `side` adds to, or holds a file,
                # a symlink or a submodule where `side` needs a directory.
                clash = (theirs is None and directory in base) or (
                    theirs is not None and theirs[1] != TREE
                )
            else:
                # `side` emptied the directory (moved it, maybe) and `other` changed it.
                clash = (
                    directory not in side and theirs is not None and theirs != held(base, directory)
                )
            looked[key] = clash
        return looked[key]

    for path, mine in changes.items():
        was = held(base, path)
        theirs = held(other, path)
        if theirs != was:
            if not (_plain_file(was) and _plain_file(mine) and _plain_file(theirs)):
                # Both sides changed the path, and not both as a file's content: an add or a
                # delete (a rename's two ends), a type change, a submodule or a symlink.
                return True
            assert was is not None and mine is not None and theirs is not None
            if theirs != mine and edits_meet(was[0], theirs[0], mine[0]):
                return True  # both edited the file, differently
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
        if mine is None and (was := held(base, path)) is not None and was[0] in added:
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


def git_pair(job: MergeJob) -> tuple[str, str]:
    """Return the two commits git merges for a job (its commits, which name its trees)."""
    if job.base is not None and job.commits:
        return job.commits
    return (job.ours, job.theirs)


def goes_to_git(repo: pygit2.Repository, job: MergeJob) -> bool:
    """Tell whether git must do a trunk merge, given git (README: How close to git).

    Commits with several merge bases (libgit2 builds its virtual base differently), and every
    merge where the sides meet (sides_meet, on the branch's (small) side only): libgit2 merges
    only what no path joins.
    """
    if job.base is None:
        return True
    if not job.commits:
        return False
    base, trunk, branch = (
        repo[pygit2.Oid(hex=t)].peel(pygit2.Tree) for t in (job.base, job.ours, job.theirs)
    )
    return sides_meet(base, _tree_changes(base, branch), branch, trunk)
