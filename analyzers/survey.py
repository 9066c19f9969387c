"""The scan of a whole repository: feature work measured against its base, trunk or the
release line it is based on, and release lines measured apart."""

from __future__ import annotations

from dataclasses import replace

import pygit2

from analyzers.divergence import BranchReport, Progress, ScanReport, scan
from analyzers.lines import place, release_lines
from analyzers.refs import BranchRef, Inventory
from analyzers.trunk import TrunkIndex


def survey(
    repo: pygit2.Repository,
    found: Inventory,
    now: int,
    progress: Progress | None = None,
    workers: int | None = None,
) -> ScanReport:
    """Scan `found` as of `now`: each branch against its base (`found.bases`, inferred here if
    `found` has release lines and no bases yet), and its release lines against trunk."""
    if found.trunk is None or not found.release_lines:
        return scan(repo, found, now, progress, workers)
    head = found.trunk.target
    if not found.bases:
        found = place(repo, found)
    trunk = found.index
    if trunk is None or trunk.head != head:
        trunk = TrunkIndex(repo, head)
    report = scan(repo, found.on_trunk(), now, progress, workers, trunk)
    branches: list[BranchReport] = list(report.branches)
    unreadable = list(report.unreadable)
    for line in found.release_lines:
        on_line = tuple(b for b in found.branches if found.bases.get(b.name) == line.name)
        if not on_line:
            continue
        measured = scan(repo, Inventory(line, line.name, on_line), now, workers=1)
        branches.extend(
            replace(b, base=line.name, age_seconds=_backport_age(repo, b, line, now))
            for b in measured.branches
        )
        unreadable.extend(measured.unreadable)
    lines = release_lines(repo, found.release_lines, trunk, dict(found.bases))
    return replace(
        report,
        branches=tuple(sorted(branches, key=lambda b: b.name)),
        unreadable=tuple(unreadable),
        release_lines=lines,
    )


def _backport_age(repo: pygit2.Repository, branch: BranchReport, line: BranchRef, now: int) -> int:
    """The age of work on a release line, from the *commit* time of its oldest own commit.

    Work on a line is mostly cherry-picked, and a cherry-pick keeps the author time of the
    original, often years old: there the commit time says when the backport began (on trunk
    the author time is right, since a rebase rewrites the commit time instead).
    """
    if branch.integrated:
        return 0
    walker = repo.walk(pygit2.Oid(hex=branch.head), pygit2.enums.SortMode.NONE)
    walker.hide(line.target)
    oldest = min((c.commit_time for c in walker), default=now)
    return max(0, now - oldest)
