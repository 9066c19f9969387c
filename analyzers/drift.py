"""What trunk changed since each merge base: one sweep over the bases, shared by all branches."""

from __future__ import annotations

import bisect
from collections.abc import Iterable

import pygit2

from analyzers.missing import READ_ERRORS, Unknown, unknown
from analyzers.trunk import TrunkIndex

ZERO = pygit2.Oid(raw=bytes(20))
FREE_EVERY = 2000  # bases swept between releases of libgit2's caches


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


class TrunkDrift:
    """For each merge base: the paths whose content or mode differs on trunk's head.

    Visits the bases from the newest to the oldest and diffs each against the previous one, so
    the work is the sum of small steps, not one full diff per base. Rather than a path set per
    base (memory growing with branches), it keeps for each path the ranks at which "differs"
    flips, which is no more than the diffs it read. A base whose tree cannot be read (a
    damaged mirror) is skipped: its figures are unknown, the sweep goes on from the last tree read.
    """

    __slots__ = ("_rank", "_counts", "_flips", "_head_paths", "_gap")

    def __init__(
        self, repo: pygit2.Repository, trunk: TrunkIndex, bases: Iterable[pygit2.Oid]
    ) -> None:
        head = repo[trunk.head].peel(pygit2.Commit)
        head_entries = flatten_tree(head.tree)
        ordered = sorted(set(bases), key=lambda b: trunk.landing.get(b, -1), reverse=True)
        differing: set[str] = set()
        flips: dict[str, tuple[list[int], list[bool]]] = {}
        counts: list[int | None] = []
        previous = head.tree
        self._gap: Unknown | None = None
        for rank, base in enumerate(ordered):
            try:
                tree = repo[base].peel(pygit2.Tree)
                deltas = list(previous.diff_to_tree(tree).deltas)
            except READ_ERRORS as error:
                self._gap = unknown(repo, (), error)
                counts.append(None)
                continue
            for delta in deltas:
                new = delta.new_file
                # A path absent at the base has a zero id on the new side. The mode is read
                # only when the ids are equal: reading it costs more than the rest.
                at_head = head_entries.get(new.path)
                if at_head is None:
                    differs = new.id != ZERO
                else:
                    differs = new.id != at_head[0] or new.mode != at_head[1]
                if differs != (new.path in differing):
                    (differing.add if differs else differing.discard)(new.path)
                    ranks, states = flips.setdefault(new.path, ([], []))
                    ranks.append(rank)
                    states.append(differs)
            counts.append(len(differing))
            previous = tree
            if rank % FREE_EVERY == FREE_EVERY - 1:
                # libgit2 keeps the trees it read: let them go now and then (thousands of bases).
                repo.free()
        self._rank = {base: rank for rank, base in enumerate(ordered)}
        self._counts = counts
        self._flips = flips
        self._head_paths = frozenset(head_entries)

    def unknown(self, figures: tuple[str, ...]) -> Unknown:
        """Say why figures that depend on an unreadable base are unknown."""
        assert self._gap is not None
        return Unknown(figures, self._gap.reason, self._gap.object_id)

    def count(self, base: pygit2.Oid | None) -> int | None:
        """Return how many paths differ between `base` (None: the empty tree) and trunk."""
        if base is None:
            return len(self._head_paths)
        return self._counts[self._rank[base]]

    def changed(self, base: pygit2.Oid | None, paths: Iterable[str]) -> frozenset[str]:
        """Return which of `paths` differ between `base` (None: the empty tree) and trunk."""
        if base is None:
            return self._head_paths.intersection(paths)
        rank = self._rank[base]
        out = set()
        for path in paths:
            flips = self._flips.get(path)
            if flips is None:
                continue
            at = bisect.bisect_right(flips[0], rank) - 1
            if at >= 0 and flips[1][at]:
                out.add(path)
        return frozenset(out)
