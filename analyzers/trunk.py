"""One walk of trunk's history, shared by every branch: membership, ancestry counts."""

from __future__ import annotations

from collections.abc import Iterable

import pygit2


class TrunkIndex:
    """Trunk's commits, each with the first-parent step at which it joined trunk.

    `landing[c] = i` means commit c is an ancestor of `chain[i]` (the i-th commit of trunk's
    first-parent history, oldest first) but not of `chain[i - 1]`. Hence the ancestors of
    `chain[j]` are exactly the commits with `landing <= j`, `reach[j]` counts them, and "behind"
    for a branch forked from a first-parent commit is a subtraction instead of a walk.
    """

    __slots__ = ("head", "parents", "chain", "position", "landing", "reach")

    def __init__(self, repo: pygit2.Repository, head: pygit2.Oid) -> None:
        parents: dict[pygit2.Oid, list[pygit2.Oid]] = {}
        for commit in repo.walk(head, pygit2.enums.SortMode.NONE):
            parents[commit.id] = commit.parent_ids
        chain = [head]
        while parents[chain[-1]]:
            chain.append(parents[chain[-1]][0])
        chain.reverse()

        landing: dict[pygit2.Oid, int] = {}
        reach: list[int] = []
        for i, commit_id in enumerate(chain):
            stack = [commit_id]
            while stack:
                current = stack.pop()
                if current in landing:
                    continue
                landing[current] = i
                stack.extend(parents[current])
            reach.append(len(landing))

        self.head = head
        self.parents = parents
        self.chain = chain
        self.position = {commit_id: i for i, commit_id in enumerate(chain)}
        self.landing = landing
        self.reach = reach

    def __len__(self) -> int:
        return len(self.parents)

    def __contains__(self, commit_id: object) -> bool:
        return commit_id in self.landing

    def reachable_count(self, tips: Iterable[pygit2.Oid]) -> int:
        """Count trunk commits reachable from any of `tips` (each a trunk commit)."""
        tips = list(tips)
        j = max((self.position[t] for t in tips if t in self.position), default=-1)
        count = self.reach[j] if j >= 0 else 0
        landing, parents = self.landing, self.parents
        seen: set[pygit2.Oid] = set()
        stack = [t for t in tips if landing[t] > j]
        while stack:
            current = stack.pop()
            if current in seen or landing[current] <= j:
                continue
            seen.add(current)
            count += 1
            stack.extend(parents[current])
        return count

    def dominant(self, tips: Iterable[pygit2.Oid]) -> pygit2.Oid | None:
        """Return the one tip that descends from all others, if the index can tell cheaply."""
        tips = list(tips)
        on_chain = [t for t in tips if t in self.position]
        if not on_chain:
            return None
        best = max(on_chain, key=self.position.__getitem__)
        j = self.position[best]
        if all(self.landing[t] <= j for t in tips):
            return best
        return None
