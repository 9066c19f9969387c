"""In-memory trial merges (no work tree, no checkout): conflicted paths, kinds and line ranges."""

from __future__ import annotations

import hashlib
import os
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import pygit2

from analyzers.objects import Entry, apply_changes

# Bump when a change to this module can change a merge's answer: cached results then expire.
ENGINE_VERSION = 1
RISK_LINES = 3  # changes this close to each other, without a textual conflict, are "at risk"

Range = tuple[int, int]


class ConflictKind(StrEnum):
    """Why git would stop on a path."""

    CONTENT = "content"
    ADD_ADD = "add/add"
    MODIFY_DELETE = "modify/delete"
    RENAME = "rename"
    BINARY = "binary"
    MODE = "mode"


@dataclass(frozen=True)
class Conflict:
    """One conflicted path; for content conflicts, the clashing line ranges on each side."""

    path: str
    kind: ConflictKind
    ours_ranges: tuple[Range, ...] = ()
    theirs_ranges: tuple[Range, ...] = ()


@dataclass(frozen=True)
class MergeResult:
    """The outcome of one trial merge.

    `tree` is the merged tree when the merge is clean and the job asked for it; `changes` is
    what a clean merge changes relative to `ours` (cheaper than a tree, and all a later pair
    merge needs); `near` holds the paths that both sides changed within a few
    lines of each other without conflicting.
    """

    conflicts: tuple[Conflict, ...]
    tree: str | None = None
    near: tuple[str, ...] = ()
    changes: tuple[Change, ...] = ()

    @property
    def clean(self) -> bool:
        """Whether the merge has no conflict."""
        return not self.conflicts


@dataclass(frozen=True)
class MergeJob:
    """One trial merge of `theirs` into `ours`, as hex ids, so that it can cross processes.

    With a `base` tree, the three are trees. Without one, they are commits, merged over all
    their merge bases as git does (recursively, for criss-cross histories).
    """

    base: str | None
    ours: str
    theirs: str
    want_tree: bool = False

    @property
    def key(self) -> MergeKey:
        """The cache key: the ids merged and the engine version."""
        return (self.base or "", self.ours, self.theirs, ENGINE_VERSION)


@dataclass(frozen=True)
class PairJob:
    """Land two branches on trunk and merge the results: T+A and T+B over T.

    Each landing is given by its changes relative to trunk's tree: small to keep and to cache,
    and enough to rebuild T+A by rewriting only the subtrees the changes touch.
    """

    trunk_tree: str
    ours: tuple[Change, ...]
    theirs: tuple[Change, ...]

    @property
    def key(self) -> MergeKey:
        """The cache key: trunk's tree, each landing's digest and the engine version."""
        return (self.trunk_tree, _digest(self.ours), _digest(self.theirs), ENGINE_VERSION)


Change = tuple[str, str | None, int]  # path, blob id (None: deleted), file mode
MergeKey = tuple[str, str, str, int]
MergeCache = MutableMapping[MergeKey, MergeResult]


def _digest(changes: tuple[Change, ...]) -> str:
    return hashlib.sha1(repr(changes).encode(), usedforsecurity=False).hexdigest()


def cached(cache: MergeCache, job: MergeJob | PairJob) -> MergeResult | None:
    """Return the cached result of `job` if it answers everything the job asks."""
    result = cache.get(job.key)
    if result is None or not isinstance(job, MergeJob):
        return result
    if job.want_tree and result.clean and result.tree is None:
        return None
    return result


def run_merge(repo: pygit2.Repository, job: MergeJob) -> MergeResult:
    """Do one trial merge in memory (no work tree, no checkout)."""
    if job.base is None:
        index = repo.merge_commits(pygit2.Oid(hex=job.ours), pygit2.Oid(hex=job.theirs))
    else:
        index = repo.merge_trees(
            pygit2.Oid(hex=job.base), pygit2.Oid(hex=job.ours), pygit2.Oid(hex=job.theirs)
        )
    conflicts = conflicts_of(repo, index)
    if not conflicts and index.conflicts is not None:
        # Every entry read as a rename's trace, yet libgit2 did not merge: never call it clean.
        conflicts = _raw_conflicts(index)
    if conflicts:
        return MergeResult(conflicts)
    # Writing the merged tree costs more than the merge itself: only when it will be used.
    tree = str(index.write_tree(repo)) if job.want_tree else None
    ours_tree = repo[pygit2.Oid(hex=job.ours)].peel(pygit2.Tree)
    deleted = pygit2.enums.DeltaStatus.DELETED
    changes = tuple(
        (d.new_file.path, None, 0)
        if d.status == deleted
        else (d.new_file.path, str(d.new_file.id), int(d.new_file.mode))
        for d in index.diff_to_tree(ours_tree).deltas
    )
    return MergeResult((), tree, (), changes)


def run_pair(repo: pygit2.Repository, job: PairJob) -> MergeResult:
    """Merge T+A and T+B over T, each landing built from its changes (see PairJob)."""
    trunk_tree = repo[pygit2.Oid(hex=job.trunk_tree)].peel(pygit2.Tree)
    sides = []
    for changes in (job.ours, job.theirs):
        entries: dict[str, Entry] = {
            path: None if blob is None else (pygit2.Oid(hex=blob), mode)
            for path, blob, mode in changes
        }
        sides.append((entries, apply_changes(repo, trunk_tree, entries)))
    index = repo.merge_trees(trunk_tree.id, sides[0][1], sides[1][1])
    conflicts = conflicts_of(repo, index)
    if conflicts or index.conflicts is not None:
        return MergeResult(conflicts or _raw_conflicts(index))
    near = []
    for path in sorted(set(sides[0][0]) & set(sides[1][0])):
        ours, theirs = sides[0][0][path], sides[1][0][path]
        if ours is None or theirs is None or ours[0] == theirs[0] or path not in trunk_tree:
            continue
        base = trunk_tree[path].id
        if clashing_ranges(repo, base, ours[0], theirs[0], slack=RISK_LINES)[0]:
            near.append(path)
    return MergeResult((), None, tuple(near))


def _raw_conflicts(index: pygit2.Index) -> tuple[Conflict, ...]:
    assert index.conflicts is not None
    return tuple(
        Conflict(str(next(e.path for e in entry if e is not None)), ConflictKind.RENAME)
        for entry in index.conflicts
    )


def run_jobs(repo: pygit2.Repository, jobs: Sequence[MergeJob | PairJob]) -> list[MergeResult]:
    """Do several trial merges; the unit of work handed to a worker process."""
    return [run_pair(repo, j) if isinstance(j, PairJob) else run_merge(repo, j) for j in jobs]


def _hunks(repo: pygit2.Repository, old: pygit2.Oid, new: pygit2.Oid) -> list[tuple[Range, Range]]:
    """Return each change from blob `old` to blob `new` as (old range, new range), 1-based."""
    old_blob, new_blob = repo[old], repo[new]
    assert isinstance(old_blob, pygit2.Blob) and isinstance(new_blob, pygit2.Blob)
    patch = pygit2.Patch.create_from(old_blob, new_blob, context_lines=0)
    out = []
    for hunk in patch.hunks:
        # A pure insertion or deletion has an empty range on one side: pin it to its position.
        old_range = (hunk.old_start, hunk.old_start + max(hunk.old_lines, 1) - 1)
        new_range = (hunk.new_start, hunk.new_start + max(hunk.new_lines, 1) - 1)
        out.append((old_range, new_range))
    return out


def _near(a: Range, b: Range, slack: int) -> bool:
    return a[0] <= b[1] + slack and b[0] <= a[1] + slack


def clashing_ranges(
    repo: pygit2.Repository, base: pygit2.Oid, ours: pygit2.Oid, theirs: pygit2.Oid, slack: int = 1
) -> tuple[tuple[Range, ...], tuple[Range, ...]]:
    """Return the line ranges of ours and of theirs whose changes touch the same base lines.

    Adjacent changes count (slack 1), as they do for git's merge.
    """
    ours_hunks = _hunks(repo, base, ours)
    theirs_hunks = _hunks(repo, base, theirs)
    ours_out: set[Range] = set()
    theirs_out: set[Range] = set()
    for o_base, o_new in ours_hunks:
        for t_base, t_new in theirs_hunks:
            if _near(o_base, t_base, slack):
                ours_out.add(o_new)
                theirs_out.add(t_new)
    return tuple(sorted(ours_out)), tuple(sorted(theirs_out))


def _kind(
    repo: pygit2.Repository,
    ancestor: pygit2.IndexEntry | None,
    ours: pygit2.IndexEntry | None,
    theirs: pygit2.IndexEntry | None,
) -> ConflictKind:
    present = [e for e in (ancestor, ours, theirs) if e is not None]
    if len({e.path for e in present}) > 1:
        return ConflictKind.RENAME
    if ours is None or theirs is None:
        return ConflictKind.MODIFY_DELETE
    if ancestor is None:
        return ConflictKind.ADD_ADD
    if ours.id == theirs.id and ours.mode != theirs.mode:
        return ConflictKind.MODE
    for entry in present:
        blob = repo[entry.id]
        if isinstance(blob, pygit2.Blob) and blob.is_binary:
            return ConflictKind.BINARY
    return ConflictKind.CONTENT


def _one_sided(
    entries: list[tuple[pygit2.IndexEntry | None, ...]], side: int, source: pygit2.IndexEntry
) -> list[str]:
    """Paths where only one side (1: ours, 2: theirs) holds `source`'s exact content."""
    out = []
    for entry in entries:
        present = [i for i, e in enumerate(entry) if e is not None]
        held = entry[side]
        if present == [side] and held is not None and held.path != source.path:
            if held.id == source.id:
                out.append(str(held.path))
    return out


def conflicts_of(repo: pygit2.Repository, index: pygit2.Index) -> tuple[Conflict, ...]:
    """Describe every conflict a merge left in `index`, sorted by path, named as git names them.

    libgit2 leaves a rename conflict as one-sided entries: the old path with only the ancestor,
    the new path(s) with only one side. git records rename/delete at the new path alone,
    rename/rename (one file renamed two ways) at the old path and both new ones, and two files
    renamed to one name at that name alone.
    """
    if index.conflicts is None:
        return ()
    entries = list(index.conflicts)
    renamed: set[str | os.PathLike[str]] = set()
    out = []
    for ancestor, ours, theirs in entries:
        if ours is None and theirs is None:
            assert ancestor is not None
            to_ours = _one_sided(entries, 1, ancestor)
            to_theirs = _one_sided(entries, 2, ancestor)
            if to_ours and to_theirs:
                renamed.update([ancestor.path, *to_ours, *to_theirs])
            continue
    held: dict[int, dict[pygit2.Oid, str | os.PathLike[str]]] = {1: {}, 2: {}}
    for entry in entries:
        for side in (1, 2):
            if (present := entry[side]) is not None:
                held[side][present.id] = present.path
    for ancestor, ours, theirs in entries:
        path = next(e.path for e in (ours, theirs, ancestor) if e is not None)
        if ours is None and theirs is None and path not in renamed:
            continue
        if (
            path not in renamed
            and ancestor is not None
            and (
                (ours is None and held[1].get(ancestor.id, path) != path)
                or (theirs is None and held[2].get(ancestor.id, path) != path)
            )
        ):
            # Gone from a side that holds its content under another conflicted name: a rename's
            # source, which git records at the new name only (two files renamed to one name,
            # a rename of a file the other side changed).
            continue
        kind = ConflictKind.RENAME if path in renamed else _kind(repo, ancestor, ours, theirs)
        if kind is ConflictKind.CONTENT and ancestor and ours and theirs:
            ours_ranges, theirs_ranges = clashing_ranges(repo, ancestor.id, ours.id, theirs.id)
            out.append(Conflict(path, kind, ours_ranges, theirs_ranges))
        else:
            out.append(Conflict(path, kind))
    return tuple(sorted(out, key=lambda c: c.path))
