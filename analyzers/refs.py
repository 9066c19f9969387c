"""Inventory of a repository's refs: which one is trunk, which ones are branches."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

import pygit2

from analyzers.errors import TrunkNotFoundError

HEADS = "refs/heads/"
REMOTES = "refs/remotes/"
PULLS = "refs/pull/"


@dataclass(frozen=True)
class BranchRef:
    """A branch: its display name, the full ref it was read from and the commit it points to."""

    name: str
    ref: str
    target: pygit2.Oid


@dataclass(frozen=True)
class Inventory:
    """The trunk and the branches to analyse, each resolved to a commit."""

    trunk: BranchRef | None
    trunk_name: str
    branches: tuple[BranchRef, ...]


def display_name(ref: str, remote: str) -> str | None:
    """Return the name people use for a ref, or None if it is not a branch."""
    if ref.startswith(HEADS):
        return ref[len(HEADS) :]
    prefix = f"{REMOTES}{remote}/"
    if ref.startswith(prefix):
        name = ref[len(prefix) :]
        return None if name == "HEAD" else name
    if ref.startswith(PULLS) and ref.endswith("/head"):
        number = ref[len(PULLS) : -len("/head")]
        return f"pull/{number}" if number.isdigit() else None
    return None


def _peel_commit(repo: pygit2.Repository, ref: str) -> pygit2.Oid | None:
    """Return the commit a ref points to (through tags and symbolic refs), or None."""
    try:
        commit = repo.lookup_reference(ref).peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
        return None
    return commit.id


def _symbolic_target(repo: pygit2.Repository, ref: str) -> str | None:
    try:
        reference = repo.lookup_reference(ref)
    except (KeyError, pygit2.InvalidSpecError):
        return None
    target = reference.target
    return target if isinstance(target, str) else None


def _trunk_candidates(repo: pygit2.Repository, name: str | None, remote: str) -> list[str]:
    """List full ref names to try for trunk, best first."""
    if name is not None:
        if name.startswith("refs/"):
            return [name]
        return [f"{HEADS}{name}", f"{REMOTES}{remote}/{name}", f"{REMOTES}{name}"]
    candidates = []
    # In a working clone HEAD is whatever is checked out; the remote's HEAD is the shared trunk.
    remote_head = _symbolic_target(repo, f"{REMOTES}{remote}/HEAD")
    if remote_head:
        candidates.append(remote_head)
    head = _symbolic_target(repo, "HEAD")
    if head:
        candidates.append(head)
    for fallback in ("main", "master"):
        candidates += [f"{HEADS}{fallback}", f"{REMOTES}{remote}/{fallback}"]
    return candidates


def _matches(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def inventory(
    repo: pygit2.Repository,
    *,
    trunk: str | None = None,
    remote: str = "origin",
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> Inventory:
    """Find trunk and the branches of a repository.

    Local branches and `remote`'s tracking branches of the same name are one branch (the
    remote-tracking ref wins: it is what the team shares). Tags and other remotes are ignored.
    An empty repository gives no trunk and no branches; a named trunk that does not exist, or
    a repository with commits but no recognisable trunk, raises TrunkNotFoundError.
    """
    ref_names = [r for r in repo.references if display_name(r, remote) is not None]
    trunk_ref: BranchRef | None = None
    for candidate in _trunk_candidates(repo, trunk, remote):
        target = _peel_commit(repo, candidate)
        if target is not None:
            trunk_name = display_name(candidate, remote) or candidate
            trunk_ref = BranchRef(trunk_name, candidate, target)
            break
    if trunk_ref is None:
        if trunk is not None:
            raise TrunkNotFoundError(f"trunk '{trunk}' is not a branch of this repository", trunk)
        if ref_names:
            raise TrunkNotFoundError(
                "cannot tell which branch is trunk (no HEAD, main or master); name it with --trunk"
            )
        head = _symbolic_target(repo, "HEAD")
        unborn = display_name(head, remote) if head else None
        return Inventory(trunk=None, trunk_name=unborn or "main", branches=())

    by_name: dict[str, BranchRef] = {}
    for ref in sorted(ref_names, key=_ref_rank):
        name = display_name(ref, remote)
        assert name is not None
        if name == trunk_ref.name or name in by_name:
            continue
        if include and not _matches(name, include):
            continue
        if _matches(name, exclude):
            continue
        target = _peel_commit(repo, ref)
        if target is not None:
            by_name[name] = BranchRef(name, ref, target)
    branches = tuple(sorted(by_name.values(), key=lambda b: b.name))
    return Inventory(trunk=trunk_ref, trunk_name=trunk_ref.name, branches=branches)


def _ref_rank(ref: str) -> tuple[int, str]:
    # Remote-tracking refs first, so that they win the de-duplication by name.
    return (0 if ref.startswith(REMOTES) else 1, ref)


def check_glob(pattern: str) -> str | None:
    """Return why a glob pattern is unusable, or None if it is fine."""
    if not pattern:
        return "an empty pattern matches nothing"
    depth = 0
    for char in pattern:
        if char == "[":
            depth += 1
        elif char == "]" and depth:
            depth -= 1
    if depth:
        return "'[' is not closed by ']'"
    return None
