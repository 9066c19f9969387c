"""Branch age and divergence from trunk, for every branch of a repository."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass

import pygit2

from analyzers.refs import BranchRef, Inventory
from analyzers.trunk import TrunkIndex

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class TrunkReport:
    """Trunk as scanned: its name, the ref it was read from and its head commit."""

    name: str
    ref: str
    head: str | None
    commits: int


@dataclass(frozen=True)
class BranchReport:
    """Age and divergence of one branch against trunk; times are Unix seconds."""

    name: str
    ref: str
    head: str
    ahead: int
    behind: int
    merge_base: str | None
    merge_base_time: int | None
    age_seconds: int
    base_age_seconds: int | None
    idle_seconds: int
    authors: tuple[str, ...]
    files_changed: int
    lines_added: int
    lines_deleted: int
    trunk_files_changed: int
    overlap_files: tuple[str, ...]

    @property
    def integrated(self) -> bool:
        """Whether trunk already has every commit of the branch."""
        return self.ahead == 0


@dataclass(frozen=True)
class ScanReport:
    """Every branch of one repository against its trunk, at one moment."""

    trunk: TrunkReport
    now: int
    branches: tuple[BranchReport, ...]


@dataclass(frozen=True)
class _BranchSide:
    """What one branch walk and one branch diff give, before trunk's side is known."""

    ref: BranchRef
    ahead: int
    behind: int
    merge_base: pygit2.Oid | None
    first_author_time: int | None
    head_time: int
    authors: tuple[str, ...]
    files_changed: int
    lines_added: int
    lines_deleted: int
    paths: frozenset[str]


def own_commits(
    repo: pygit2.Repository, head: pygit2.Oid, trunk: TrunkIndex
) -> tuple[list[pygit2.Commit], set[pygit2.Oid]]:
    """Return the commits of `head` that trunk lacks, and the trunk commits where they stop."""
    own: list[pygit2.Commit] = []
    boundary: set[pygit2.Oid] = set()
    seen: set[pygit2.Oid] = set()
    stack = [head]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        if current in trunk:
            boundary.add(current)
            continue
        commit = repo[current]
        assert isinstance(commit, pygit2.Commit)
        own.append(commit)
        stack.extend(commit.parent_ids)
    return own, boundary


def merge_base(
    repo: pygit2.Repository, head: pygit2.Oid, boundary: set[pygit2.Oid], trunk: TrunkIndex
) -> pygit2.Oid | None:
    """Return the best common ancestor of `head` and trunk, None for unrelated histories."""
    if not boundary:
        return None
    if len(boundary) == 1:
        return next(iter(boundary))
    best = trunk.dominant(boundary)
    if best is not None:
        return best
    # Several boundary commits and none descends from all: let libgit2 choose, as git would.
    return repo.merge_base(head, trunk.head)


def _authors(commits: Sequence[pygit2.Commit]) -> tuple[str, ...]:
    by_email: Counter[str] = Counter()
    name_of: dict[str, str] = {}
    for commit in commits:
        email = commit.author.email.lower()
        by_email[email] += 1
        name_of.setdefault(email, commit.author.name)
    ranked = sorted(by_email, key=lambda e: (-by_email[e], name_of[e]))
    return tuple(name_of[e] for e in ranked)


def branch_diff(
    repo: pygit2.Repository, base: pygit2.Oid | None, head: pygit2.Commit
) -> tuple[int, int, int, frozenset[str]]:
    """Return files changed, lines added, lines deleted and touched paths since `base`.

    Renames are detected as `git diff` does by default; the touched paths hold both names of a
    rename, because a change to either name on trunk overlaps with it.
    """
    base_tree = repo[base].peel(pygit2.Tree) if base is not None else None
    if base_tree is None:
        diff = head.tree.diff_to_tree(swap=True)
    else:
        diff = base_tree.diff_to_tree(head.tree)
    diff.find_similar()
    stats = diff.stats
    paths: set[str] = set()
    for delta in diff.deltas:
        paths.add(delta.new_file.path)
        paths.add(delta.old_file.path)
    return stats.files_changed, stats.insertions, stats.deletions, frozenset(paths)


def _branch_side(repo: pygit2.Repository, ref: BranchRef, trunk: TrunkIndex) -> _BranchSide:
    head = repo[ref.target]
    assert isinstance(head, pygit2.Commit)
    own, boundary = own_commits(repo, ref.target, trunk)
    base = merge_base(repo, ref.target, boundary, trunk)
    behind = len(trunk) - trunk.reachable_count(boundary)
    files, added, deleted, paths = branch_diff(repo, base, head)
    return _BranchSide(
        ref=ref,
        ahead=len(own),
        behind=behind,
        merge_base=base,
        first_author_time=min((c.author.time for c in own), default=None),
        head_time=head.commit_time,
        authors=_authors(own),
        files_changed=files,
        lines_added=added,
        lines_deleted=deleted,
        paths=paths,
    )


def flatten_tree(tree: pygit2.Tree, prefix: str = "") -> dict[str, tuple[pygit2.Oid, int]]:
    """Map every non-tree path under `tree` to its object id and file mode."""
    out: dict[str, tuple[pygit2.Oid, int]] = {}
    for entry in tree:
        path = f"{prefix}{entry.name}"
        if entry.type == pygit2.enums.ObjectType.TREE:
            subtree = entry if isinstance(entry, pygit2.Tree) else entry.peel(pygit2.Tree)
            out.update(flatten_tree(subtree, f"{path}/"))
        else:
            out[path] = (entry.id, entry.filemode)
    return out


def trunk_changes(
    repo: pygit2.Repository,
    trunk_head: pygit2.Commit,
    interest: Mapping[pygit2.Oid, Set[str]],
    order: TrunkIndex,
) -> dict[pygit2.Oid, tuple[int, frozenset[str]]]:
    """For each merge base: how many paths differ from trunk's head, and which of `interest`.

    Visits the merge bases from the newest to the oldest and diffs each against the previous
    one, keeping the set of paths that differ from trunk's head up to date: the work is the
    sum of small steps instead of one full-tree diff per base, whatever the number of branches.
    """
    head_entries = flatten_tree(trunk_head.tree)
    differing: set[str] = set()
    out: dict[pygit2.Oid, tuple[int, frozenset[str]]] = {}
    previous = trunk_head.tree
    deleted = pygit2.enums.DeltaStatus.DELETED
    for base in sorted(interest, key=lambda b: order.landing.get(b, -1), reverse=True):
        tree = repo[base].peel(pygit2.Tree)
        for delta in previous.diff_to_tree(tree).deltas:
            new = delta.new_file
            entry = None if delta.status == deleted else (new.id, new.mode)
            if entry == head_entries.get(new.path):
                differing.discard(new.path)
            else:
                differing.add(new.path)
        out[base] = (len(differing), frozenset(differing.intersection(interest[base])))
        previous = tree
    return out


def _report(
    side: _BranchSide, now: int, trunk_files: int, overlap: frozenset[str], base_time: int | None
) -> BranchReport:
    first = side.first_author_time
    return BranchReport(
        name=side.ref.name,
        ref=side.ref.ref,
        head=str(side.ref.target),
        ahead=side.ahead,
        behind=side.behind,
        merge_base=str(side.merge_base) if side.merge_base is not None else None,
        merge_base_time=base_time,
        age_seconds=max(0, now - first) if first is not None else 0,
        base_age_seconds=max(0, now - base_time) if base_time is not None else None,
        idle_seconds=max(0, now - side.head_time),
        authors=side.authors,
        files_changed=side.files_changed,
        lines_added=side.lines_added,
        lines_deleted=side.lines_deleted,
        trunk_files_changed=trunk_files,
        overlap_files=tuple(sorted(overlap)),
    )


def scan(
    repo: pygit2.Repository, found: Inventory, now: int, progress: Progress | None = None
) -> ScanReport:
    """Measure every branch of `found` against its trunk as of `now` (Unix seconds)."""
    if found.trunk is None:
        return ScanReport(TrunkReport(found.trunk_name, "", None, 0), now, ())
    trunk_head = repo[found.trunk.target]
    assert isinstance(trunk_head, pygit2.Commit)
    trunk = TrunkIndex(repo, trunk_head.id)
    total = len(found.branches)
    sides: list[_BranchSide] = []
    for done, ref in enumerate(found.branches, start=1):
        sides.append(_branch_side(repo, ref, trunk))
        if progress is not None:
            progress(done, total)

    interest: dict[pygit2.Oid, set[str]] = defaultdict(set)
    for side in sides:
        if side.merge_base is not None:
            interest[side.merge_base].update(side.paths)
    changes = trunk_changes(repo, trunk_head, interest, trunk)
    trunk_paths: frozenset[str] | None = None

    reports = []
    for side in sides:
        if side.merge_base is None:
            # Unrelated histories: everything on trunk is "changed since" the empty tree.
            if trunk_paths is None:
                trunk_paths = frozenset(flatten_tree(trunk_head.tree))
            reports.append(_report(side, now, len(trunk_paths), side.paths & trunk_paths, None))
            continue
        count, touched = changes[side.merge_base]
        base_commit = repo[side.merge_base]
        assert isinstance(base_commit, pygit2.Commit)
        overlap = side.paths & touched
        reports.append(_report(side, now, count, overlap, base_commit.commit_time))
    trunk_report = TrunkReport(found.trunk.name, found.trunk.ref, str(trunk_head.id), len(trunk))
    return ScanReport(trunk_report, now, tuple(reports))
