"""The one place the analyzers run git: `git merge-tree --write-tree`, with the git found once."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from analyzers.errors import MergeError

# `git merge-tree --write-tree` came with git 2.38: an older git is no git for the analyzers.
MIN_VERSION = (2, 38)
_TREE = re.compile(rb"[0-9a-f]{40}([0-9a-f]{24})?\x00")  # a SHA-1 or SHA-256 id, then NUL


class GitError(MergeError):
    """git ran but gave no answer (a failed assertion in merge-ort, a missing object)."""

    def __init__(self, message: str, returncode: int, stderr: str) -> None:
        super().__init__(message)
        self.returncode = returncode
        self.stderr = stderr

    def __reduce__(self) -> tuple[type[GitError], tuple[str, int, str]]:
        """Keep the data when the error crosses to another process."""
        return (type(self), (str(self), self.returncode, self.stderr))


@dataclass(frozen=True)
class Staged:
    """One index stage git left at a conflicted path (1 base, 2 ours, 3 theirs)."""

    path: str
    stage: int
    mode: int
    blob: str


@dataclass(frozen=True)
class Message:
    """One of git's messages about the merge: the paths it names and its type."""

    paths: tuple[str, ...]
    kind: str  # "CONFLICT (contents)", "Auto-merging", ...

    @property
    def conflict(self) -> bool:
        """Whether git reports a conflict here."""
        return self.kind.startswith("CONFLICT")


@dataclass(frozen=True)
class MergeTree:
    """What `git merge-tree --write-tree` answered: the merged tree, and why it is not clean."""

    clean: bool
    tree: str  # with conflict markers in conflicted files when not clean
    staged: tuple[Staged, ...] = ()
    messages: tuple[Message, ...] = ()

    @property
    def conflicted_paths(self) -> frozenset[str]:
        """Return the conflicted files, or the paths of git's CONFLICT messages if none.

        A conflict may name no file: a directory renamed several ways ("directory rename split").
        """
        paths = {s.path for s in self.staged}
        if paths or self.clean:
            return frozenset(paths)
        return frozenset(m.paths[0] for m in self.messages if m.conflict and m.paths)


@dataclass(frozen=True)
class Git:
    """A git executable, and the version it reported."""

    path: str
    version: str  # "2.39.5"

    def merge_tree(self, ours: str, theirs: str, env: Mapping[str, str]) -> MergeTree:
        """Merge two commits in memory with `git merge-tree --write-tree -z`.

        `env` says where git reads the repository and writes the merged objects (GIT_DIR,
        GIT_OBJECT_DIRECTORY, ...); the rest of the environment is passed on, so that git in a
        partial clone can reach its promisor remote.
        """
        done = subprocess.run(
            [self.path, "merge-tree", "--write-tree", "-z", ours, theirs],
            capture_output=True,
            env={**os.environ, **env, "LC_ALL": "C"},
        )
        # git 2.39 also exits with 1, printing no tree, when it cannot start the merge at all.
        if done.returncode not in (0, 1) or not _TREE.match(done.stdout):
            stderr = done.stderr.decode(errors="replace").strip()
            raise GitError(f"git merge-tree failed: {stderr}", done.returncode, stderr)
        return parse_merge_tree(done.stdout, clean=done.returncode == 0)

    def merge_trees(
        self, merges: Sequence[tuple[str, str]], env: Mapping[str, str]
    ) -> list[MergeTree | GitError]:
        """Do several merges in one `git merge-tree --stdin -z` (one process for all).

        Each answer is a MergeTree, or the GitError of a merge git could not do; git stops at
        such a merge, and the rest go to a new process.
        """
        answers: list[MergeTree | GitError] = []
        while len(answers) < len(merges):
            todo = merges[len(answers) :]
            done = subprocess.run(
                [self.path, "merge-tree", "--stdin", "-z"],
                input="".join(f"{ours} {theirs}\n" for ours, theirs in todo).encode(),
                capture_output=True,
                env={**os.environ, **env, "LC_ALL": "C"},
            )
            finished = parse_merge_batch(done.stdout)
            answers.extend(finished[: len(todo)])
            if len(finished) < len(todo):
                # git stopped at this merge: what it said on stderr is that merge's error.
                stderr = done.stderr.decode(errors="replace").strip()
                answers.append(
                    GitError(f"git merge-tree failed: {stderr}", done.returncode, stderr)
                )
        return answers


def parse_merge_tree(out: bytes, clean: bool) -> MergeTree:
    """Read the output of `git merge-tree --write-tree -z` (git >= 2.38).

    Its fields: the tree; for a conflicted merge, "mode blob stage<TAB>path" per staged entry
    and an empty field; then per message its path count, the paths, its type and its text.
    `clean` is what git's exit status said (0: clean).
    """
    fields = out.decode("utf-8", errors="surrogateescape").split("\0")
    return _read_merge(fields, 0, clean)[0]


def parse_merge_batch(out: bytes) -> list[MergeTree]:
    """Read the output of `git merge-tree --stdin -z`: the merges git finished, in order.

    Each is its status (1: clean, 0: conflicted), then the fields of one merge, then an empty
    field; a clean merge has its tree alone. A merge cut off by git's exit is left out.
    """
    fields = out.decode("utf-8", errors="surrogateescape").split("\0")
    merges = []
    at = 0
    while at + 2 < len(fields) and fields[at] in ("0", "1"):
        clean = fields[at] == "1"
        try:
            merge, at = _read_merge(fields, at + 1, clean)
        except ValueError:
            break  # cut off within a staged entry
        # Ended by an empty field with a NUL after it (the last field follows the last NUL).
        if at >= len(fields) - 1 or fields[at] != "":
            break  # cut off: git died during this merge
        merges.append(merge)
        at += 1
    return merges


def _read_merge(fields: list[str], at: int, clean: bool) -> tuple[MergeTree, int]:
    """Read one merge's fields from `at`; return it and where its fields end."""
    tree = fields[at]
    at += 1
    if clean:
        return MergeTree(True, tree), at
    staged = []
    while at < len(fields) and fields[at]:
        info, path = fields[at].split("\t", 1)
        mode, blob, stage = info.split(" ")
        staged.append(Staged(path, int(stage), int(mode, 8), blob))
        at += 1
    at += 1  # the empty field that ends the conflicted file info
    messages = []
    while at < len(fields) and fields[at].isdigit():
        count = int(fields[at])
        paths = tuple(fields[at + 1 : at + 1 + count])
        if at + 1 + count >= len(fields):
            break
        messages.append(Message(paths, fields[at + 1 + count]))
        at += count + 3  # count, paths, type, message
    return MergeTree(False, tree, tuple(staged), tuple(messages)), at


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for part in text.split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts)


@functools.cache
def find_git() -> Git | None:
    """Return the git on the PATH, looked up once; None where there is none new enough."""
    path = shutil.which("git")
    if path is None:
        return None
    try:
        done = subprocess.run(
            [path, "--version"], capture_output=True, env={**os.environ, "LC_ALL": "C"}
        )
    except OSError:
        return None
    # "git version 2.39.5", "git version 2.39.3 (Apple Git-146)", "git version 2.41.0.windows.1"
    words = done.stdout.decode(errors="replace").split()
    version = words[2] if done.returncode == 0 and len(words) > 2 else ""
    if _version(version)[:2] < MIN_VERSION:
        return None
    return Git(path, version)
