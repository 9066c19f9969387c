"""Branch age and divergence from trunk, for every branch of a repository."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pygit2

from analyzers.drift import TrunkDrift
from analyzers.lines import ReleaseLine
from analyzers.missing import READ_ERRORS, Unknown, unknown
from analyzers.parallel import ProcessMap, default_workers
from analyzers.refs import BranchRef, Inventory
from analyzers.trunk import TrunkIndex, own_commits

Progress = Callable[[int, int], None]
GITLINK = 0o160000  # a submodule pointer
ADDED, DELETED = pygit2.enums.DeltaStatus.ADDED, pygit2.enums.DeltaStatus.DELETED
PARALLEL_FROM = 200  # below this many branches, starting processes costs more than it saves
FREE_EVERY = 2000  # branches walked between releases of libgit2's caches


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
    files_changed: int | None
    lines_added: int | None
    lines_deleted: int | None
    trunk_files_changed: int | None
    overlap_files: tuple[str, ...] | None
    pulls: tuple[int, ...] = ()
    unknown: tuple[Unknown, ...] = ()  # figures that are None, and why
    last_author: str | None = None  # who made the head commit
    base: str | None = None  # the release line measured against; None: trunk

    @property
    def integrated(self) -> bool:
        """Whether trunk already has every commit of the branch."""
        return self.ahead == 0


@dataclass(frozen=True)
class Unreadable:
    """A branch left out because its commits cannot be read."""

    name: str
    reason: str


@dataclass(frozen=True)
class ScanReport:
    """Every branch of one repository against its trunk, at one moment."""

    trunk: TrunkReport
    now: int
    branches: tuple[BranchReport, ...]
    unreadable: tuple[Unreadable, ...] = ()
    release_lines: tuple[ReleaseLine, ...] = ()  # apart from the branches (analyzers.survey)

    def unknown_figures(self) -> dict[str, int]:
        """Count the figures that are unknown, by reason."""
        counts: dict[str, int] = {}
        for branch in self.branches:
            for gap in branch.unknown:
                counts[gap.reason] = counts.get(gap.reason, 0) + len(gap.figures)
        return counts


@dataclass(frozen=True)
class _BranchWalk:
    """What the walk of one branch's own commits gives."""

    ref: BranchRef
    ahead: int
    behind: int
    merge_base: pygit2.Oid | None
    first_author_time: int | None
    head_time: int
    authors: tuple[str, ...]
    head_author: str


@dataclass(frozen=True)
class BranchDiff:
    """Size of a branch's change since its merge base, and every path it touches.

    A missing object leaves figures None: a missing blob the line counts, a missing tree all.
    """

    files_changed: int | None
    lines_added: int | None
    lines_deleted: int | None
    paths: frozenset[str] | None
    unknown: Unknown | None = None


def merge_base(boundary: set[pygit2.Oid], trunk: TrunkIndex) -> pygit2.Oid | None:
    """Return the best common ancestor of a branch and trunk, None for unrelated histories.

    `boundary` is where the branch's own commits meet trunk. With several best ancestors
    (criss-cross merges) the one that joined trunk last is given: one of git's merge bases.
    """
    if not boundary:
        return None
    if len(boundary) == 1:
        return next(iter(boundary))
    return trunk.best(boundary)[0]


def _authors(commits: Sequence[pygit2.Commit]) -> tuple[str, ...]:
    by_email: Counter[str] = Counter()
    name_of: dict[str, str] = {}
    for commit in commits:
        email = commit.author.email.lower()
        by_email[email] += 1
        name_of.setdefault(email, commit.author.name)
    ranked = sorted(by_email, key=lambda e: (-by_email[e], name_of[e]))
    return tuple(name_of[e] for e in ranked)


def branch_diff(repo: pygit2.Repository, base: pygit2.Oid | None, head: pygit2.Oid) -> BranchDiff:
    """Measure the change from `base` (None: the empty tree) to `head`.

    Without rename detection, as `git diff --no-renames`: git's and libgit2's similarity
    heuristics disagree on small files, and exact figures matter more; a move counts under both
    names, which is also what the overlap with trunk needs.
    """
    try:
        head_tree = repo[head].peel(pygit2.Tree)
        if base is None:
            diff = head_tree.diff_to_tree(swap=True)
        else:
            diff = repo[base].peel(pygit2.Tree).diff_to_tree(head_tree)
        paths = frozenset(delta.new_file.path for delta in diff.deltas)
    except READ_ERRORS as error:
        figures = ("files_changed", "lines_added", "lines_deleted", "overlap_files")
        return BranchDiff(None, None, None, None, unknown(repo, figures, error))
    try:
        stats = diff.stats  # reads the blobs: line counts need their content
    except READ_ERRORS as error:
        gap = unknown(repo, ("lines_added", "lines_deleted"), error)
        return BranchDiff(len(paths), None, None, paths, gap)
    # A submodule bump is one changed path and no lines: libgit2 (like git) counts the
    # "Subproject commit <id>" line it writes for each side, never the submodule's content.
    added = stats.insertions
    deleted = stats.deletions
    for delta in diff.deltas:
        added -= delta.new_file.mode == GITLINK and delta.status != DELETED
        deleted -= delta.old_file.mode == GITLINK and delta.status != ADDED
    return BranchDiff(stats.files_changed, added, deleted, paths)


_diffed = 0  # diffs this process did, to release libgit2's caches now and then


def _diff_many(repo: pygit2.Repository, jobs: Sequence[tuple[str | None, str]]) -> list[BranchDiff]:
    global _diffed
    _diffed += len(jobs)
    if _diffed >= FREE_EVERY:
        _diffed = 0
        repo.free()
    # Commit ids travel as hex strings: they cross process boundaries.
    return [
        branch_diff(repo, pygit2.Oid(hex=base) if base else None, pygit2.Oid(hex=head))
        for base, head in jobs
    ]


def _diff_failed(job: tuple[str | None, str], reason: str) -> BranchDiff:
    figures = ("files_changed", "lines_added", "lines_deleted", "overlap_files")
    return BranchDiff(None, None, None, None, Unknown(figures, reason))


def _walk(repo: pygit2.Repository, ref: BranchRef, trunk: TrunkIndex) -> _BranchWalk:
    head = repo[ref.target].peel(pygit2.Commit)
    own, boundary = own_commits(repo, ref.target, trunk)
    return _BranchWalk(
        ref=ref,
        ahead=len(own),
        behind=len(trunk) - trunk.reachable_count(boundary),
        merge_base=merge_base(boundary, trunk),
        first_author_time=min((c.author.time for c in own), default=None),
        head_time=head.commit_time,
        authors=_authors(own),
        head_author=head.author.name,
    )


def _report(
    walk: _BranchWalk, diff: BranchDiff, now: int, drift: TrunkDrift, base_time: int | None
) -> BranchReport:
    first = walk.first_author_time
    gaps = [diff.unknown] if diff.unknown is not None else []
    trunk_files = drift.count(walk.merge_base)
    overlap = None if diff.paths is None else drift.changed(walk.merge_base, diff.paths)
    if trunk_files is None:
        gaps.append(drift.unknown(("trunk_files_changed", "overlap_files")))
        overlap = None
    return BranchReport(
        name=walk.ref.name,
        ref=walk.ref.ref,
        head=str(walk.ref.target),
        ahead=walk.ahead,
        behind=walk.behind,
        merge_base=str(walk.merge_base) if walk.merge_base is not None else None,
        merge_base_time=base_time,
        age_seconds=max(0, now - first) if first is not None else 0,
        base_age_seconds=max(0, now - base_time) if base_time is not None else None,
        idle_seconds=max(0, now - walk.head_time),
        authors=walk.authors,
        files_changed=diff.files_changed,
        lines_added=diff.lines_added,
        lines_deleted=diff.lines_deleted,
        trunk_files_changed=trunk_files,
        overlap_files=None if overlap is None else tuple(sorted(overlap)),
        pulls=walk.ref.pulls,
        unknown=tuple(gaps),
        last_author=walk.head_author,
    )


def scan(
    repo: pygit2.Repository,
    found: Inventory,
    now: int,
    progress: Progress | None = None,
    workers: int | None = None,
    trunk: TrunkIndex | None = None,
) -> ScanReport:
    """Measure every branch of `found` against its trunk as of `now` (Unix seconds).

    The branch diffs, which read blobs, run in `workers` processes (default: one per core)
    while this process works out trunk's side. `trunk` reuses an index of trunk's history.
    """
    if found.trunk is None:
        return ScanReport(TrunkReport(found.trunk_name, "", None, 0), now, ())
    if trunk is None or trunk.head != found.trunk.target:
        trunk = found.index
    if trunk is None or trunk.head != found.trunk.target:
        trunk = TrunkIndex(repo, found.trunk.target)
    total = len(found.branches)
    walks = []
    unreadable = []
    for done, ref in enumerate(found.branches, start=1):
        try:
            walks.append(_walk(repo, ref, trunk))
        except READ_ERRORS as error:
            # Without its commits a branch has no figure to give: name it and go on.
            unreadable.append(Unreadable(ref.name, unknown(repo, (), error).reason))
        if progress is not None:
            progress(done, 2 * total)
        if done % FREE_EVERY == 0:
            # libgit2 keeps what the walks read, beyond its object cache's limit: let it go
            # now and then, so that tens of thousands of heads do not pile it up.
            repo.free()
    total = len(walks)

    # Diffs from nearby merge bases read the same objects: in that order, caches serve them.
    def base_step(i: int) -> int:
        base = walks[i].merge_base
        return -1 if base is None else trunk.landing[base]

    order = sorted(range(total), key=base_step)
    jobs = [
        (str(walks[i].merge_base) if walks[i].merge_base else None, str(walks[i].ref.target))
        for i in order
    ]
    if workers is None:
        workers = default_workers() if total >= PARALLEL_FROM else 1
    diffs = ProcessMap(
        repo, pygit2.Repository, (repo.path,), _diff_many, jobs, workers, on_failure=_diff_failed
    )
    drift = TrunkDrift(repo, trunk, (w.merge_base for w in walks if w.merge_base is not None))
    diffed = diffs.iter_results(
        None if progress is None else lambda n: progress(total + n, 2 * total)
    )
    # Each diff becomes its report as it arrives: a diff's path set can be large, a report's
    # overlap small, and tens of thousands of heads must not hold every path set at once.
    by_walk: dict[int, BranchReport] = {}
    for i, diff in zip(order, diffed, strict=True):
        walk = walks[i]
        base_time = None
        if walk.merge_base is not None:
            base_time = repo[walk.merge_base].peel(pygit2.Commit).commit_time
        by_walk[i] = _report(walk, diff, now, drift, base_time)
    reports = [by_walk[i] for i in range(total)]
    repo.free()  # what libgit2 kept of this scan's reads serves nothing after it
    trunk_head = str(found.trunk.target)
    return ScanReport(
        TrunkReport(found.trunk.name, found.trunk.ref, trunk_head, len(trunk)),
        now,
        tuple(reports),
        tuple(unreadable),
    )
