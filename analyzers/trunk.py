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
        """Count trunk commits reachable from any of `tips` (each a trunk commit).

        With j the newest first-parent step reached, the ancestors are those of `chain[j]`
        (`reach[j]` of them) plus those that joined trunk after step j. A commit's ancestors
        never joined later than it did, so the walk only visits commits that joined after the
        newest step reached so far: the side commits between the tips and trunk's main line.
        """
        tips = list(tips)
        position, landing, parents = self.position, self.landing, self.parents
        j = max((position[t] for t in tips if t in position), default=-1)
        seen: set[pygit2.Oid] = set()
        stack = [t for t in tips if landing[t] > j]
        while stack:
            current = stack.pop()
            if current in seen or landing[current] <= j:
                continue
            step = position.get(current)
            if step is not None:
                j = step  # on the main line: everything older is counted by reach[j]
                continue
            seen.add(current)
            stack.extend(parents[current])
        return (self.reach[j] if j >= 0 else 0) + sum(1 for c in seen if landing[c] > j)

    def is_ancestor(self, a: pygit2.Oid, b: pygit2.Oid) -> bool:
        """Tell whether trunk commit `a` is `b` or an ancestor of it (walks side commits only)."""
        position, landing, parents = self.position, self.landing, self.parents
        step = landing[a]
        seen: set[pygit2.Oid] = set()
        stack = [b]
        while stack:
            current = stack.pop()
            if current == a or position.get(current, -1) >= step:
                return True  # chain[step] has `a` among its ancestors
            if current in seen or landing[current] < step:
                continue
            seen.add(current)
            stack.extend(parents[current])
        return False

    def best(self, tips: Iterable[pygit2.Oid]) -> list[pygit2.Oid]:
        """Return the tips that are no ancestor of another tip: git's merge bases, if the tips
        are where a branch's own commits meet trunk. Newest first."""
        tips = sorted(set(tips), key=lambda t: self.landing[t], reverse=True)
        return [
            t
            for i, t in enumerate(tips)
            if not any(self.is_ancestor(t, other) for other in tips[:i] + tips[i + 1 :])
        ]


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
