"""Compare trunkguard's merge answers with git's own, on the repository at hand."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pygit2

from analyzers.git import GitError, find_git
from analyzers.replay import ReplayedMerge
from bot.errors import TrunkguardError


@dataclass(frozen=True)
class Agreement:
    """How many merges got git's yes/no, and git's exact conflicted paths."""

    merges: int
    same_outcome: int
    same_paths: int
    skipped: int = 0  # merges with no answer to compare: git failed, or ours is unknown


def replay_agreement(repo: pygit2.Repository, merges: Iterable[ReplayedMerge]) -> Agreement:
    """Redo each replayed merge with `git merge-tree` and count the agreements."""
    git = find_git()
    if git is None:
        raise TrunkguardError("--check-git needs git (2.38 or newer) on the PATH")
    store = tempfile.mkdtemp(prefix="trunkguard-check-")
    # git reads the repository and writes only into `store`.
    env = {
        "GIT_DIR": repo.path,
        "GIT_OBJECT_DIRECTORY": store,
        "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(Path(repo.path) / "objects"),
    }
    total = same_outcome = same_paths = skipped = 0
    try:
        for merge in merges:
            commit = repo[merge.commit].peel(pygit2.Commit)
            ours, theirs = (str(p) for p in commit.parent_ids)
            if merge.unknown is not None:
                skipped += 1
                continue
            try:
                merged = git.merge_tree(ours, theirs, env)
            except GitError:
                skipped += 1  # git itself failed on this merge
                continue
            theirs_paths = None if merged.clean else merged.conflicted_paths
            ours_paths = {c.path for c in merge.conflicts}
            total += 1
            same_outcome += bool(ours_paths) == (theirs_paths is not None)
            same_paths += ours_paths == (theirs_paths or set())
    finally:
        shutil.rmtree(store, ignore_errors=True)
    return Agreement(total, same_outcome, same_paths, skipped)
