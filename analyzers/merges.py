"""In-memory trial merges (no work tree, no checkout): conflicted paths, kinds and line ranges."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import pygit2

from analyzers.errors import AnalysisError
from analyzers.missing import READ_ERRORS, Unknown, unknown
from analyzers.objects import Entry, Scratch, apply_changes

# Bump when a change to this module can change a merge's answer: cached results then expire.
ENGINE_VERSION = 1
RISK_LINES = 3  # changes this close to each other, without a textual conflict, are "at risk"
GIT = shutil.which("git")


class MergeError(AnalysisError):
    """A trial merge could not be done."""


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
    unknown: Unknown | None = None  # the merge could not be done: an object is missing

    @property
    def clean(self) -> bool:
        """Whether the merge is known to have no conflict."""
        return not self.conflicts and self.unknown is None


@dataclass(frozen=True)
class MergeJob:
    """One trial merge of `theirs` into `ours`, as hex ids, so that it can cross processes.

    With a `base` tree, the three are trees (and `commits` the two commits they come from,
    for git, when git must do the merge). Without one, they are commits, merged over all their
    merge bases as git does (recursively, for criss-cross histories).
    """

    base: str | None
    ours: str
    theirs: str
    want_tree: bool = False
    commits: tuple[str, str] | None = None

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
    if result is not None and result.unknown is not None:
        return None  # a missing object may have arrived since
    if result is None or not isinstance(job, MergeJob):
        return result
    if job.want_tree and result.clean and result.tree is None:
        return None
    return result


def run_merge(scratch: Scratch, job: MergeJob, use_git: bool = True) -> MergeResult:
    """Do one trial merge in memory (no work tree, no checkout); writes go to the scratch store.

    Where git is installed, git itself merges what libgit2 answers differently (README):
    commits with several merge bases (libgit2 builds its virtual base differently) and merges
    in which both sides add or delete paths, so renames, of files or of whole directories,
    may meet (git detects directory renames, libgit2 does not). Every other merge is libgit2's.
    """
    repo = scratch.view
    if job.base is None:
        if GIT is not None and use_git:
            return _git_merge(scratch, job, job.ours, job.theirs)
        index = repo.merge_commits(pygit2.Oid(hex=job.ours), pygit2.Oid(hex=job.theirs))
    elif GIT is not None and use_git and job.commits and _branch_renames_may_meet(repo, job):
        return _git_merge(scratch, job, *job.commits)
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
    tree = index.write_tree(repo) if job.want_tree else None
    return _clean(
        repo, job, index.diff_to_tree(repo[pygit2.Oid(hex=job.ours)].peel(pygit2.Tree)), tree
    )


def _clean(
    repo: pygit2.Repository, job: MergeJob, diff: pygit2.Diff, tree: pygit2.Oid | None
) -> MergeResult:
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


def _git_merge(scratch: Scratch, job: MergeJob, ours: str, theirs: str) -> MergeResult:
    """Merge two commits with `git merge-tree --write-tree` (git >= 2.38), objects to scratch.

    The result is described against `job.ours` (trunk's tree or commit), like libgit2's.
    """
    assert GIT is not None
    result = subprocess.run(
        [GIT, "merge-tree", "--write-tree", "-z", ours, theirs],
        capture_output=True,
        env={**os.environ, **scratch.git_env(), "LC_ALL": "C"},
    )
    if result.returncode not in (0, 1):
        raise MergeError(f"git merge-tree failed: {result.stderr.decode(errors='replace').strip()}")
    repo = scratch.view
    tree, staged, messages = parse_merge_tree(result.stdout)
    if result.returncode == 0:
        ours_tree = repo[pygit2.Oid(hex=job.ours)].peel(pygit2.Tree)
        return _clean(repo, job, ours_tree.diff_to_tree(repo[tree].peel(pygit2.Tree)), tree)
    stages: dict[str, dict[int, tuple[int, pygit2.Oid]]] = {}
    for path, stage, mode, blob in staged:
        stages.setdefault(path, {})[stage] = (mode, blob)
    conflicts = [_staged_conflict(repo, p, s) for p, s in sorted(stages.items())]
    if not conflicts:
        # A conflict on no file: a directory renamed several ways ("directory rename split").
        conflicts = [
            Conflict(paths[0], ConflictKind.RENAME)
            for paths, kind in messages
            if kind.startswith("CONFLICT") and paths
        ]
    return MergeResult(tuple(conflicts))


def parse_merge_tree(
    out: bytes,
) -> tuple[pygit2.Oid, list[tuple[str, int, int, pygit2.Oid]], list[tuple[list[str], str]]]:
    """Read `git merge-tree --write-tree -z` (git >= 2.38): tree, staged entries, messages.

    Staged entries are (path, stage, mode, blob); messages are (paths, type).
    """
    fields = out.decode("utf-8", errors="surrogateescape").split("\0")
    tree = pygit2.Oid(hex=fields[0])
    staged = []
    at = 1
    while at < len(fields) and fields[at]:
        info, path = fields[at].split("\t", 1)
        mode, blob, stage = info.split(" ")
        staged.append((path, int(stage), int(mode, 8), pygit2.Oid(hex=blob)))
        at += 1
    at += 1  # the empty field that ends the conflicted file info
    messages = []
    while at < len(fields) and fields[at].isdigit():
        count = int(fields[at])
        paths = fields[at + 1 : at + 1 + count]
        kind = fields[at + 1 + count]
        messages.append((paths, kind))
        at += count + 3  # count, paths, type, message
    return tree, staged, messages


def _staged_conflict(
    repo: pygit2.Repository, path: str, stages: dict[int, tuple[int, pygit2.Oid]]
) -> Conflict:
    """Describe a conflict from git's index stages (1 base, 2 ours, 3 theirs) at one path."""
    base, ours, theirs = stages.get(1), stages.get(2), stages.get(3)
    if ours is None or theirs is None:
        return Conflict(path, ConflictKind.MODIFY_DELETE if base else ConflictKind.RENAME)
    if base is None:
        return Conflict(path, ConflictKind.ADD_ADD)
    if ours[1] == theirs[1] and ours[0] != theirs[0]:
        return Conflict(path, ConflictKind.MODE)
    for _, blob_id in (base, ours, theirs):
        blob = repo[blob_id]
        if isinstance(blob, pygit2.Blob) and blob.is_binary:
            return Conflict(path, ConflictKind.BINARY)
    ours_ranges, theirs_ranges = clashing_ranges(repo, base[1], ours[1], theirs[1])
    return Conflict(path, ConflictKind.CONTENT, ours_ranges, theirs_ranges)


def run_pair(scratch: Scratch, job: PairJob, use_git: bool = True) -> MergeResult:
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
    if (
        GIT is not None
        and use_git
        and any(
            any(e is None or p not in trunk_tree for p, e in sides[i][0].items())
            and _renames_may_meet(
                trunk_tree, _statuses(sides[i][0], trunk_tree), trees[i], trees[1 - i]
            )
            for i in (0, 1)
        )
    ):
        # Renames may meet: git decides, on T+A and T+B written as commits on T.
        trunk_commit = _commit(repo, trunk_tree.id, [])
        landed = [str(_commit(repo, tree, [trunk_commit])) for _, tree in sides]
        merged = _git_merge(scratch, MergeJob(None, str(trunk_commit), landed[1]), *landed)
        return MergeResult(
            merged.conflicts,
            None,
            () if merged.conflicts else _near_paths(repo, trunk_tree, sides[0][0], sides[1][0]),
        )
    index = repo.merge_trees(trunk_tree.id, sides[0][1], sides[1][1])
    conflicts = conflicts_of(repo, index)
    if conflicts or index.conflicts is not None:
        return MergeResult(conflicts or _raw_conflicts(index))
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


def _raw_conflicts(index: pygit2.Index) -> tuple[Conflict, ...]:
    assert index.conflicts is not None
    return tuple(
        Conflict(str(next(e.path for e in entry if e is not None)), ConflictKind.RENAME)
        for entry in index.conflicts
    )


FETCH_ROUNDS = 3  # fetches of missing blobs for one merge before it is reported unknown


def run_job(scratch: Scratch, job: MergeJob | PairJob) -> MergeResult:
    """Do one trial merge; a missing object makes its result unknown, not an error.

    In a partial clone, with a fetcher to reach its promisor remote, the blobs the merge needs
    are fetched into the scratch store: those of the paths both sides changed, then any other
    the merge still asks for. Where git itself fails on a merge, libgit2 answers it.
    """
    fetched: set[str] = set()
    use_git = True
    for round_ in range(FETCH_ROUNDS + 1):
        try:
            if isinstance(job, PairJob):
                return run_pair(scratch, job, use_git)
            return run_merge(scratch, job, use_git)
        except (*READ_ERRORS, MergeError) as error:
            gap = unknown(scratch.promisor, ("conflicts",), error)
            if gap.object_id is None and not isinstance(error, MergeError):
                raise
            if gap.object_id is None:
                if not use_git:
                    return MergeResult((), unknown=Unknown(gap.figures, str(error)))
                # git itself failed (git 2.39's merge-ort can fail an assertion on some
                # renames): libgit2 answers, as it does where git is not installed.
                use_git = False
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


def failed_job(job: MergeJob | PairJob, reason: str) -> MergeResult:
    """The result of a merge whose worker process died twice: unknown, with the reason."""
    return MergeResult((), unknown=Unknown(("conflicts",), reason))


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
    """Paths where only one side (1: ours, 2: theirs) holds `source`'s content or file name."""
    name = str(source.path).rsplit("/", 1)[-1]
    out = []
    for entry in entries:
        present = [i for i, e in enumerate(entry) if e is not None]
        held = entry[side]
        if present == [side] and held is not None and held.path != source.path:
            if held.id == source.id or str(held.path).rsplit("/", 1)[-1] == name:
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
    only: dict[int, list[str]] = {1: [], 2: []}  # paths that only one side has, and no base
    for entry in entries:
        for side in (1, 2):
            if (present := entry[side]) is not None:
                held[side][present.id] = present.path
                if entry[0] is None and entry[3 - side] is None:
                    only[side].append(str(present.path))

    def moved(side: int, path: str | os.PathLike[str]) -> bool:
        # `path` left `side`, which has a file of the same name (or a single file) only it adds.
        name = str(path).rsplit("/", 1)[-1]
        targets = [q for q in only[side] if q.rsplit("/", 1)[-1] == name] or (
            only[side] if len(only[side]) == 1 else []
        )
        renamed.update(targets)
        return bool(targets)

    # First find the rename sources git does not record, and so the targets that are renames.
    sources = set()
    for ancestor, ours, theirs in entries:
        path = next(e.path for e in (ours, theirs, ancestor) if e is not None)
        if (
            ancestor is not None
            and path not in renamed
            and (
                (ours is None and theirs is None)
                or (ours is None and held[1].get(ancestor.id, path) != path)
                or (theirs is None and held[2].get(ancestor.id, path) != path)
                or (ours is None and theirs is not None and moved(1, path))
                or (theirs is None and ours is not None and moved(2, path))
            )
        ):
            # Gone from a side that holds its content, or a file of its name, under another
            # conflicted name: a rename's source, which git records at the new name only (two
            # files renamed to one name, a renamed file the other side changed).
            sources.add(path)
    for ancestor, ours, theirs in entries:
        path = next(e.path for e in (ours, theirs, ancestor) if e is not None)
        if path in sources:
            continue
        kind = ConflictKind.RENAME if path in renamed else _kind(repo, ancestor, ours, theirs)
        if kind is ConflictKind.CONTENT and ancestor and ours and theirs:
            ours_ranges, theirs_ranges = clashing_ranges(repo, ancestor.id, ours.id, theirs.id)
            out.append(Conflict(path, kind, ours_ranges, theirs_ranges))
        else:
            out.append(Conflict(path, kind))
    return tuple(sorted(out, key=lambda c: c.path))
