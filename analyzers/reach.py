"""Which landings can collide, found without a trial merge: the pair prefilter."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pygit2

from analyzers.mergejobs import Change


@dataclass(frozen=True)
class Reach:
    """What a landing can collide with: the paths it changes, and directories it adds to or
    deletes from (git moves a file added to a directory the other side moved away)."""

    paths: frozenset[str]
    adds_under: frozenset[str]
    deletes_under: frozenset[str]
    under: frozenset[str]  # every directory holding a changed path

    @classmethod
    def of(cls, changes: Iterable[Change], trunk_tree: pygit2.Tree) -> Reach:
        """Describe a landing by its changes to trunk's tree."""
        adds: set[str] = set()
        deletes: set[str] = set()
        under: set[str] = set()
        paths = set()
        for path, blob, _ in changes:
            paths.add(path)
            parts = path.split("/")[:-1]
            above = {"/".join(parts[: i + 1]) for i in range(len(parts))}
            under |= above
            if blob is None:
                deletes |= above
            elif path not in trunk_tree:
                adds |= above
        return cls(frozenset(paths), frozenset(adds), frozenset(deletes), frozenset(under))


def meeting_pairs(reach: Mapping[str, Reach]) -> list[tuple[str, str]]:
    """Return the pairs (a < b) whose landings meet, sorted: they change a path in common,
    one adds under a directory the other deletes from, or one has a file (or a submodule)
    where the other has a directory. Any other pair cannot conflict.

    Through indexes of who changes, adds under and deletes under what: the work grows with
    the landings' sizes and the pairs that meet, not with every pair of branches.
    """
    by_path: dict[str, list[str]] = {}
    by_deleted_dir: dict[str, list[str]] = {}
    by_dir: dict[str, list[str]] = {}
    for name, r in reach.items():
        for path in r.paths:
            by_path.setdefault(path, []).append(name)
        for directory in r.deletes_under:
            by_deleted_dir.setdefault(directory, []).append(name)
        for directory in r.under:
            by_dir.setdefault(directory, []).append(name)
    pairs: set[tuple[str, str]] = set()
    for names in by_path.values():
        pairs.update((a, b) for a in names for b in names if a < b)
    for name, r in reach.items():
        for directory in r.adds_under:
            pairs.update(_ordered(name, other) for other in by_deleted_dir.get(directory, ()))
        for path in r.paths:
            pairs.update(_ordered(name, other) for other in by_dir.get(path, ()))
    return sorted(pair for pair in pairs if pair[0] != pair[1])


def _ordered(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)
