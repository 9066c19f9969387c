"""Compare trunkguard's merge answers with git's own, on the repository at hand."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pygit2

from analyzers.merges import parse_merge_tree
from analyzers.replay import ReplayedMerge
from bot.errors import TrunkguardError


@dataclass(frozen=True)
class Agreement:
    """How many merges got git's yes/no, and git's exact conflicted paths."""

    merges: int
    same_outcome: int
    same_paths: int
    skipped: int = 0  # merges with no answer to compare: git failed, or ours is unknown


def git_conflicts(git: str, git_dir: str, store: str, ours: str, theirs: str) -> set[str] | None:
    """Return the paths git's merge conflicts on (None: clean); git writes only into `store`."""
    env = {
        **os.environ,
        "GIT_DIR": git_dir,
        "GIT_OBJECT_DIRECTORY": store,
        "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(Path(git_dir) / "objects"),
        "LC_ALL": "C",
    }
    result = subprocess.run(
        [git, "merge-tree", "--write-tree", "-z", ours, theirs], capture_output=True, env=env
    )
    if result.returncode == 0:
        return None
    if result.returncode != 1:
        raise TrunkguardError(f"git merge-tree failed: {result.stderr.decode(errors='replace')}")
    _, staged, messages = parse_merge_tree(result.stdout)
    paths = {path for path, _, _, _ in staged}
    return paths or {p[0] for p, kind in messages if kind.startswith("CONFLICT") and p}


def replay_agreement(repo: pygit2.Repository, merges: Iterable[ReplayedMerge]) -> Agreement:
    """Redo each replayed merge with `git merge-tree` and count the agreements."""
    git = shutil.which("git")
    if git is None:
        raise TrunkguardError("--check-git needs git (2.38 or newer) on the PATH")
    store = tempfile.mkdtemp(prefix="trunkguard-check-")
    total = same_outcome = same_paths = skipped = 0
    try:
        for merge in merges:
            commit = repo[merge.commit].peel(pygit2.Commit)
            ours, theirs = (str(p) for p in commit.parent_ids)
            if merge.unknown is not None:
                skipped += 1
                continue
            try:
                theirs_paths = git_conflicts(git, repo.path, store, ours, theirs)
            except TrunkguardError:
                skipped += 1  # git itself failed on this merge
                continue
            ours_paths = {c.path for c in merge.conflicts}
            total += 1
            same_outcome += bool(ours_paths) == (theirs_paths is not None)
            same_paths += ours_paths == (theirs_paths or set())
    finally:
        shutil.rmtree(store, ignore_errors=True)
    return Agreement(total, same_outcome, same_paths, skipped)
