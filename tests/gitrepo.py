"""Helpers that build real git repositories with fixed authors and clocks, and ask git itself."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pygit2

from analyzers.objects import apply_changes
from bot.mirrors.writer import FILE, Content, Person, RepoWriter

DAY = 86400
NOW = 1_780_000_000  # 2026-05-28T20:26:40Z: every test clock counts back from here
# Who git itself commits as in tests that run git in a work tree, whatever the machine's config.
IDENTITY = {
    "GIT_AUTHOR_NAME": "Ada",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}
ADA = Person("Ada Lovelace", "ada@example.com")
BOB = Person("Bob Kahn", "bob@example.com", 120)
GITLINK = 0o160000
SYMLINK = 0o120000


class Gitlink(str):
    """A submodule pointer (mode 160000): the id of a commit in another repository."""


class GitRepo:
    """A repository under construction: commits at chosen days before NOW, branches by name."""

    def __init__(self, path: Path, bare: bool = True) -> None:
        self.path = path
        self.repo = pygit2.init_repository(str(path), bare=bare, initial_head="main")
        self.writer = RepoWriter(self.repo)

    def commit(
        self,
        files: Mapping[str, Content | Gitlink],
        *,
        days_ago: float,
        parents: Sequence[pygit2.Oid] = (),
        branch: str | None = None,
        author: Person = ADA,
        message: str = "change",
        committed_days_ago: float | None = None,
    ) -> pygit2.Oid:
        """Commit `files` over the first parent; move refs/heads/`branch` to it if given."""
        committed = None if committed_days_ago is None else int(NOW - committed_days_ago * DAY)
        if any(isinstance(content, Gitlink) for content in files.values()):
            return self._commit_with_gitlinks(
                files, int(NOW - days_ago * DAY), committed, parents, branch, author, message
            )
        return self.writer.commit(
            files,
            when=int(NOW - days_ago * DAY),
            committed=committed,
            parents=parents,
            author=author,
            message=message,
            ref=f"refs/heads/{branch}" if branch else None,
        )

    def _commit_with_gitlinks(
        self,
        files: Mapping[str, Content | Gitlink],
        when: int,
        committed: int | None,
        parents: Sequence[pygit2.Oid],
        branch: str | None,
        author: Person,
        message: str,
    ) -> pygit2.Oid:
        # RepoWriter writes blobs only: a gitlink names a commit this repository never holds.
        entries = {}
        for path, content in files.items():
            if isinstance(content, Gitlink):
                entries[path] = (pygit2.Oid(hex=str(content)), GITLINK)
            elif content is None:
                entries[path] = None
            else:
                data, mode = content if isinstance(content, tuple) else (content, FILE)
                raw = data.encode() if isinstance(data, str) else data
                entries[path] = (self.repo.create_blob(raw), mode)
        base = self.repo[parents[0]].peel(pygit2.Commit).tree if parents else None
        tree = apply_changes(self.repo, base, entries)
        commit_id = self.repo.create_commit(
            None,
            author.at(when),
            author.at(committed if committed is not None else when),
            message,
            tree,
            list(parents),
        )
        if branch:
            self.repo.references.create(f"refs/heads/{branch}", commit_id, force=True)
        return commit_id

    def ref(self, name: str, target: pygit2.Oid) -> None:
        """Point a full ref name at a commit."""
        self.repo.references.create(name, target, force=True)

    def git(self, *args: str) -> str:
        """Run git itself in this repository and return its output."""
        return git(self.path, *args)


def git(path: Path, *args: str) -> str:
    """Run git in `path` with a clean, fixed environment and return stdout."""
    env = {"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(path), "LC_ALL": "C", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        ["git", "-C", str(path), *args], capture_output=True, text=True, env=env, check=True
    )
    return result.stdout


def lines(count: int, label: str = "line") -> str:
    """Return a text file of `count` numbered lines."""
    return "".join(f"{label} {n}\n" for n in range(1, count + 1))


def numbered(n: int = 40, changes: dict[int, str] | None = None) -> str:
    """Return a file of `n` lines "line k", with the lines `changes` names replaced."""
    out = [f"line {k}" for k in range(1, n + 1)]
    for k, text in (changes or {}).items():
        out[k - 1] = text
    return "\n".join(out) + "\n"


def assert_matches_git(path: Path, report) -> None:
    """Check every branch's git-derived figures against git's own commands."""
    trunk = report.trunk.head
    for b in report.branches:
        behind, ahead = git(
            path, "rev-list", "--left-right", "--count", f"{trunk}...{b.head}"
        ).split()
        assert (b.ahead, b.behind) == (int(ahead), int(behind)), b.name
        try:
            bases = set(git(path, "merge-base", "--all", trunk, b.head).split())
        except subprocess.CalledProcessError:
            bases = set()
        if not bases:
            assert b.merge_base is None, b.name
            continue
        assert b.merge_base in bases, b.name
        numstat = git(path, "diff", "--numstat", "--no-renames", b.merge_base, b.head).splitlines()
        added = sum(int(r.split("\t")[0]) for r in numstat if not r.startswith("-"))
        deleted = sum(int(r.split("\t")[1]) for r in numstat if not r.startswith("-"))
        assert (b.files_changed, b.lines_added, b.lines_deleted) == (
            len(numstat),
            added,
            deleted,
        ), b.name
        trunk_files = git(path, "diff", "--name-only", "--no-renames", b.merge_base, trunk).split(
            "\n"
        )
        trunk_files = {f for f in trunk_files if f}
        assert b.trunk_files_changed == len(trunk_files), b.name
        branch_files = git(path, "diff", "--name-only", "--no-renames", b.merge_base, b.head).split(
            "\n"
        )
        assert set(b.overlap_files) == trunk_files & {f for f in branch_files if f}, b.name


class GitCrashed(Exception):
    """git itself failed an internal assertion: it gives no answer to compare with."""


def git_merge_tree(path: Path, ours: str, theirs: str) -> tuple[bool, set[str]]:
    """Ask git whether merging two commits conflicts, and on which paths.

    The paths are the conflicted files; a conflict on no file (a directory renamed several
    ways) is named by the paths of git's CONFLICT messages.
    """
    env = {"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(path), "LC_ALL": "C", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [
            "git",
            "-C",
            str(path),
            "merge-tree",
            "--write-tree",
            "-z",
            "--allow-unrelated-histories",
            ours,
            theirs,
        ],
        capture_output=True,
        env=env,
    )
    if result.returncode not in (0, 1) and b"Assertion" in result.stderr:
        raise GitCrashed(result.stderr.decode(errors="replace").strip())
    assert result.returncode in (0, 1), result.stderr
    fields = result.stdout.decode().split("\0")
    at, files = 1, set()
    while fields[at]:
        files.add(fields[at].split("\t", 1)[1])
        at += 1
    at += 1
    named = set()
    while at < len(fields) and fields[at].isdigit():
        count = int(fields[at])
        if fields[at + 1 + count].startswith("CONFLICT"):
            named.update(fields[at + 1 : at + 1 + count][:1])
        at += count + 3
    conflicted = result.returncode == 1
    return conflicted, (files or named) if conflicted else set()


def as_named(paths: set[str], names: Mapping[str, str]) -> set[str]:
    """Rename git's labels in paths it moved aside (`conf~<commit id>`) to branch names, as
    git labels them when merging branch names: "/" becomes "_" (`conf~feature_x`)."""
    out = set()
    for path in paths:
        for label, name in names.items():
            head, sep, tail = path.rpartition(f"~{label}")
            if sep and not tail:
                path = f"{head}~{name.replace('/', '_')}"
        out.add(path)
    return out


def git_landed(t: GitRepo, trunk_head: str, branch_head: str) -> str:
    """Land a branch on trunk as git would (git merge-tree), as a commit whose parent is trunk."""
    import pygit2

    tree = git(t.path, "merge-tree", "--write-tree", trunk_head, branch_head).split()[0]
    sig = pygit2.Signature("t", "t@example.com", NOW, 0)
    trunk = pygit2.Oid(hex=trunk_head)
    return str(t.repo.create_commit(None, sig, sig, "landed", pygit2.Oid(hex=tree), [trunk]))
