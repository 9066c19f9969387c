"""The "Resolve conflicts" button's merge: the base merged into a pull request's head as git
merges it, each conflicted path resolved by the engine, written as one merge commit."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

import pygit2

from analyzers.git import find_git
from analyzers.objects import Entry, apply_changes
from analyzers.resolve.engine import SHIPPED, resolve
from analyzers.resolve.records import Resolved
from bot.policy import RepositoryConfig

TRAILER = "Resolved-by: trunkguard"  # marks the merge commits the button pushes, for people
# In the App's own mirror, a ref per merge commit the button pushed: how trunkguard knows its
# own (a fork can copy the trailer, never write a ref into trunkguard's mirror).
PUSHED = "refs/trunkguard/resolved/"


def is_release_line(branch: str, config: RepositoryConfig) -> bool:
    """Whether `branch` is a release line by the configuration's globs, which trunkguard
    never pushes a resolution to. (A line known only by a version tag on its head is not
    told: the App's mirror fetches no tags.)"""
    return any(fnmatch.fnmatchcase(branch, glob) for glob in config.branches.release)


def pushed_by_trunkguard(repo: pygit2.Repository, commit: str) -> bool:
    """Whether `commit` is a merge commit the "Resolve conflicts" button pushed."""
    return repo.references.get(PUSHED + commit) is not None


REGULAR = (0o100644, 0o100755)


@dataclass(frozen=True)
class ResolutionMerge:
    """The merge commit written into the mirror, or why there is none."""

    commit: str | None
    resolved: tuple[tuple[str, str], ...] = ()  # path, rule
    problem: str = ""
    path: str = ""  # the path the problem is at, if one


def resolution_merge(
    repo: pygit2.Repository,
    head: str,
    base: str,
    base_name: str,
    author: pygit2.Signature,
    rules: Sequence[str] = SHIPPED,
) -> ResolutionMerge:
    """Merge `base` into `head` with git (merge-ort, as `git merge` would), resolve every path
    it leaves conflicted with the engine (`rules`: the repository's trusted ones), and write
    the merge commit (parents: head, then base) into `repo`. Nothing is written to any
    branch."""
    git = find_git()
    if git is None:
        return ResolutionMerge(None, problem="no git on the server")
    merged = git.merge_tree(head, base, {"GIT_DIR": repo.path})
    stages: dict[str, dict[int, tuple[int, str]]] = {}
    for staged in merged.staged:
        stages.setdefault(staged.path, {})[staged.stage] = (staged.mode, staged.blob)
    if not merged.clean and not stages:
        return ResolutionMerge(None, problem="git's merge has a conflict on no file (a rename)")
    changes: dict[str, Entry] = {}
    resolved = []
    for path, by_stage in sorted(stages.items()):
        ours, theirs, was = by_stage.get(2), by_stage.get(3), by_stage.get(1)
        if ours is None or theirs is None or ours[0] != theirs[0] or ours[0] not in REGULAR:
            return ResolutionMerge(None, problem="a conflict needs a person now", path=path)
        outcome = resolve(
            path,
            None if was is None else _data(repo, was[1]),
            _data(repo, ours[1]),
            _data(repo, theirs[1]),
            rules,
        )
        if not isinstance(outcome, Resolved) or outcome.content is None:
            return ResolutionMerge(None, problem="a conflict needs a person now", path=path)
        changes[path] = (repo.create_blob(outcome.content), ours[0])
        resolved.append((path, outcome.rule))
    tree = repo[pygit2.Oid(hex=merged.tree)].peel(pygit2.Tree)
    final = apply_changes(repo, tree, changes) if changes else tree.id
    lines = [f"Merge {base_name} into this branch, conflicts resolved by trunkguard", ""]
    lines += [f"- {path}: {rule}" for path, rule in resolved]
    message = "\n".join([*lines, "", TRAILER, ""])
    parents = [pygit2.Oid(hex=head), pygit2.Oid(hex=base)]
    commit = repo.create_commit(None, author, author, message, final, parents)
    return ResolutionMerge(str(commit), tuple(resolved))


def _data(repo: pygit2.Repository, blob: str) -> bytes:
    found = repo[pygit2.Oid(hex=blob)]
    assert isinstance(found, pygit2.Blob)
    return found.data
