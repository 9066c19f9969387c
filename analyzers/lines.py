"""Release lines apart from feature work: how far each is from trunk, and which work is based
on one (a backport) rather than on trunk."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import pygit2

from analyzers.missing import READ_ERRORS
from analyzers.refs import BranchRef, Inventory
from analyzers.trunk import TrunkIndex, own_commits


@dataclass(frozen=True)
class ReleaseLine:
    """A long-lived release or maintenance branch, measured against trunk; times are Unix.

    `ahead` counts the line's own commits (its fixes and backports), `behind` trunk's commits
    since the line left it; `based` names the branches and pull requests based on the line
    (backports pending). `unreadable` says why the figures are missing, if they are.
    """

    name: str
    ref: str
    head: str
    ahead: int
    behind: int
    branched_time: int | None
    last_commit_time: int
    last_author: str
    based: tuple[str, ...] = ()
    unreadable: str | None = None


@dataclass(frozen=True)
class _Line:
    ref: BranchRef
    own: frozenset[pygit2.Oid]
    boundary: frozenset[pygit2.Oid]


def _line(repo: pygit2.Repository, ref: BranchRef, trunk: TrunkIndex) -> _Line:
    own, boundary = own_commits(repo, ref.target, trunk)
    return _Line(ref, frozenset(c.id for c in own), frozenset(boundary))


def infer_bases(
    repo: pygit2.Repository,
    branches: Sequence[BranchRef],
    lines: Sequence[BranchRef],
    trunk: TrunkIndex,
) -> tuple[dict[str, str], set[str]]:
    """Return the release line each branch is based on, by name (branches based on trunk are
    absent), and the branches a line already holds entirely (merged backports).

    A branch's base is the long-lived branch, trunk or a release line, from which it has the
    fewest commits of its own (a tie goes to trunk, then to the line first in `lines`). Against
    a line, they are its own commits against trunk that the line lacks (the line's own commits
    against trunk are known from one walk of each), plus the trunk commits it reaches and the
    line does not: counted on trunk's index, never by a walk of a line's whole history. A
    branch that merged a line into trunk work therefore stays on trunk.
    """
    walked = []
    for ref in lines:
        try:
            walked.append(_line(repo, ref, trunk))
        except READ_ERRORS:
            continue
    holders: dict[pygit2.Oid, list[int]] = {}
    for i, line in enumerate(walked):
        for commit_id in line.own:
            holders.setdefault(commit_id, []).append(i)
    bases: dict[str, str] = {}
    held: set[str] = set()
    if not holders:
        return bases, held
    reach = [trunk.reachable_count(line.boundary) for line in walked]
    for ref in branches:
        try:
            own, boundary = own_commits(repo, ref.target, trunk)
        except READ_ERRORS:
            continue
        shared = [0] * len(walked)
        for commit in own:
            for i in holders.get(commit.id, ()):
                shared[i] += 1
        fewest, best = len(own), None
        for i in sorted(range(len(walked)), key=lambda i: -shared[i]):
            if shared[i] == 0:
                break
            line = walked[i]
            beyond = trunk.reachable_count(boundary | line.boundary) - reach[i]
            count = len(own) - shared[i] + beyond
            if count < fewest or (count == fewest and best is not None and i < best):
                fewest, best = count, i
        if best is not None:
            bases[ref.name] = walked[best].ref.name
            if fewest == 0:
                held.add(ref.name)
    return bases, held


def release_lines(
    repo: pygit2.Repository,
    lines: Sequence[BranchRef],
    trunk: TrunkIndex,
    bases: dict[str, str],
) -> tuple[ReleaseLine, ...]:
    """Measure each release line against trunk, with the branches `bases` puts on it."""
    based: dict[str, list[str]] = {}
    for branch, line_name in sorted(bases.items()):
        based.setdefault(line_name, []).append(branch)
    measured = []
    for ref in lines:
        head = repo[ref.target].peel(pygit2.Commit)
        try:
            line = _line(repo, ref, trunk)
        except READ_ERRORS as error:
            measured.append(
                ReleaseLine(
                    ref.name,
                    ref.ref,
                    str(ref.target),
                    0,
                    0,
                    None,
                    head.commit_time,
                    head.author.name,
                    tuple(based.get(ref.name, ())),
                    str(error),
                )
            )
            continue
        fork = trunk.best(line.boundary)[0] if line.boundary else None
        measured.append(
            ReleaseLine(
                name=ref.name,
                ref=ref.ref,
                head=str(ref.target),
                ahead=len(line.own),
                behind=len(trunk) - trunk.reachable_count(line.boundary),
                branched_time=None if fork is None else repo[fork].peel(pygit2.Commit).commit_time,
                last_commit_time=head.commit_time,
                last_author=head.author.name,
                based=tuple(based.get(ref.name, ())),
            )
        )
    return tuple(measured)


def place(repo: pygit2.Repository, found: Inventory, drop_held: bool = False) -> Inventory:
    """Return `found` with the base of each branch inferred (see infer_bases) and trunk's
    index kept for the scan; without release lines, `found` itself.

    With `drop_held`, pull request heads that a release line already holds (merged backports,
    when GitHub's list of open pull requests is not known) are left out, as those in trunk are.
    """
    if found.trunk is None or not found.release_lines or not found.branches:
        return found
    trunk = found.index
    if trunk is None or trunk.head != found.trunk.target:
        trunk = TrunkIndex(repo, found.trunk.target)
    bases, held = infer_bases(repo, found.branches, found.release_lines, trunk)
    gone = {b.name for b in found.branches if b.is_pull and b.name in held} if drop_held else set()
    if not gone:
        return replace(found, index=trunk, bases=bases)
    left_out = found.pulls_left_out
    return replace(
        found,
        index=trunk,
        branches=tuple(b for b in found.branches if b.name not in gone),
        bases={name: line for name, line in bases.items() if name not in gone},
        pulls_left_out=replace(left_out, in_line=left_out.in_line + len(gone)),
    )
