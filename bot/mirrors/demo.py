"""A small demo repository with the branches a real team has: old, fresh, merged, conflicting."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pygit2

from bot.errors import TrunkguardError
from bot.mirrors.writer import Person, RepoWriter
from bot.text import DAY

# The file that makes a folder a demo's: only a folder holding it is ever emptied.
MARKER = ".trunkguard-demo"
# What the demo writes in its folder, and all it removes when it builds there again.
REPOSITORY, DATABASE, PAGE = "repo.git", "demo.db", "report.html"
WORK = "work"  # a clone of the repository, where `trunkguard merge` is shown
WRITTEN = (
    REPOSITORY,
    DATABASE,
    f"{DATABASE}-wal",
    f"{DATABASE}-shm",
    f"{DATABASE}.lock",
    PAGE,
    WORK,
)

TEAM = (
    Person("Grace Hopper", "grace@example.com", 60),
    Person("Linus Torvalds", "linus@example.com", -420),
    Person("Margaret Hamilton", "margaret@example.com", 0),
    Person("Ken Thompson", "ken@example.com", -300),
)
FILES = (
    "src/app.py",
    "src/billing.py",
    "src/search.py",
    "src/auth/login.py",
    "src/api/routes.py",
    "docs/guide.md",
)


class DemoFolderError(TrunkguardError):
    """A folder the demo will not write into: it holds something that is not a demo."""


def claim(folder: Path) -> None:
    """Make `folder` the demo's: create it, or clear what a previous demo wrote in it;
    refuse a file, or a folder that holds anything and is not a demo's."""
    if folder.exists() and not folder.is_dir():
        raise DemoFolderError(f"{folder} is not a folder: choose another --path")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / MARKER).is_file():
        raise DemoFolderError(
            f"{folder} is not empty and not a trunkguard demo: choose a new or empty --path"
        )
    repository = folder / REPOSITORY
    if repository.exists() and not (repository / MARKER).is_file():
        raise DemoFolderError(
            f"{repository} was not built by trunkguard demo: move it, or choose another --path"
        )
    work = folder / WORK
    if work.exists() and not (work / ".git" / MARKER).is_file():
        raise DemoFolderError(
            f"{work} was not made by trunkguard demo: move it, or choose another --path"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name in WRITTEN:
            entry = folder / name
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink(missing_ok=True)
        (folder / MARKER).write_text(
            "Built by `trunkguard demo`, which replaces what it wrote here when run again.\n",
            encoding="utf-8",
        )
    except OSError as error:
        raise DemoFolderError(f"{folder}: cannot write the demo: {error.strerror}") from error


def _lines(path: str, count: int = 40) -> list[str]:
    return [f"{path}: line {n}" for n in range(1, count + 1)]


class _Demo:
    """Keeps every file's lines so commits can edit chosen lines, like people do."""

    def __init__(self, repo: pygit2.Repository, now: int) -> None:
        self.writer = RepoWriter(repo)
        self.now = now
        self.snapshots: dict[pygit2.Oid, dict[str, list[str]]] = {}

    def commit(
        self,
        parent: pygit2.Oid | None,
        edits: dict[str, dict[int, str]],
        days_ago: float,
        author: Person,
        message: str,
        ref: str | None = None,
        extra_parent: pygit2.Oid | None = None,
        trunk_into: pygit2.Oid | None = None,
    ) -> pygit2.Oid:
        files = {p: list(lines) for p, lines in self.snapshots[parent].items()} if parent else {}
        for path, changes in edits.items():
            lines = files.setdefault(path, _lines(path))
            for number, text in changes.items():
                lines[number - 1] = text
        parents = [p for p in (parent, extra_parent) if p is not None]
        if trunk_into is not None:
            parents = [trunk_into, *parents]  # trunk merged into a branch: the branch goes first
        when = int(self.now - days_ago * DAY)
        commit_id = self.writer.commit(
            # A merge of trunk into a branch starts from the branch's tree: write every file.
            {p: "\n".join(files[p]) + "\n" for p in (files if trunk_into else edits)},
            when=when,
            parents=parents,
            author=author,
            message=message,
            ref=ref,
        )
        self.snapshots[commit_id] = files
        return commit_id


def build(path: Path, now: int) -> pygit2.Repository:
    """Build the demo repository at `path`, a new folder, with dates relative to `now`."""
    repo = pygit2.init_repository(str(path), bare=True, initial_head="main")
    (path / MARKER).write_text("Built by `trunkguard demo`.\n", encoding="utf-8")
    demo = _Demo(repo, now)
    rng = random.Random(7)

    trunk: list[pygit2.Oid] = []
    head = demo.commit(None, {p: {} for p in FILES}, 150, TEAM[0], "Initial import")
    trunk.append(head)
    trunk_edits: dict[int, tuple[str, int]] = {}
    for step in range(60):
        days_ago = 149 - step * 2.4
        path_ = FILES[step % len(FILES)]
        line = rng.randint(20, 40)
        trunk_edits[step] = (path_, line)
        edits = {path_: {line: f"{path_}: trunk change {step}"}}
        if step == 50:
            # Trunk reworks the top of billing: branches that touched it will conflict.
            edits = {"src/billing.py": {n: f"billing v2 line {n}" for n in range(1, 9)}}
        head = demo.commit(head, edits, days_ago, TEAM[step % 4], f"Trunk work {step}")
        trunk.append(head)

    def fork(days_ago: float) -> pygit2.Oid:
        # The trunk commit a branch started from, that many days ago.
        return max(
            (c for c in trunk if repo[c].peel(pygit2.Commit).commit_time <= now - days_ago * DAY),
            key=lambda c: repo[c].peel(pygit2.Commit).commit_time,
        )

    tip = fork(110)
    for n in range(3):
        tip = demo.commit(
            tip, {"src/api/grpc.py": {n + 1: f"grpc {n}"}}, 109 - n, TEAM[3], f"gRPC experiment {n}"
        )
    repo.references.create("refs/heads/experiment/grpc", tip)

    tip = fork(45)
    for n in range(12):
        tip = demo.commit(
            tip,
            {"src/billing.py": {n % 6 + 1: f"checkout redesign {n}"}},
            44 - n * 3,
            TEAM[1],
            f"Checkout redesign step {n}",
        )
    repo.references.create("refs/heads/feature/checkout-redesign", tip)

    base = fork(9)
    tip = demo.commit(
        base, {"src/billing.py": {30: "invoices: add VAT line"}}, 8, TEAM[2], "Invoices: VAT line"
    )
    tip = demo.commit(
        tip, {"src/invoices.py": {1: "invoices module"}}, 6, TEAM[2], "Invoices module"
    )
    repo.references.create("refs/heads/feature/invoices", tip)
    tip = demo.commit(
        base, {"src/billing.py": {30: "tax: rounding rule"}}, 5, TEAM[0], "Tax rounding"
    )
    repo.references.create("refs/heads/feature/tax-rounding", tip)

    tip = demo.commit(
        fork(3), {"src/search.py": {5: "search: fuzzy match"}}, 2.5, TEAM[3], "Fuzzy search"
    )
    tip = demo.commit(tip, {"src/search.py": {6: "search: ranking"}}, 0.5, TEAM[3], "Ranking")
    repo.references.create("refs/heads/feature/search", tip)

    tip = demo.commit(
        fork(1), {"src/auth/login.py": {12: "login: timeout 30s"}}, 0.8, TEAM[1], "Login timeout"
    )
    repo.references.create("refs/heads/fix/login-timeout", tip)

    tip = demo.commit(
        fork(2),
        {"docs/guide.md": {3: "Übersetzung der Anleitung"}},
        1.5,
        TEAM[2],
        "Docs: Übersetzung",
    )
    repo.references.create("refs/heads/docs/übersetzung", tip)

    # A pull request from a fork: only its refs/pull head exists here.
    tip = demo.commit(fork(4), {"src/app.py": {2: "app: dark mode"}}, 3.5, TEAM[0], "Dark mode")
    repo.references.create("refs/pull/7/head", tip)

    # Work that already landed: the branch still exists, trunk has all its commits.
    merged = demo.commit(fork(20), {"src/app.py": {3: "app: bump deps"}}, 19, TEAM[2], "Bump deps")
    repo.references.create("refs/heads/chore/deps", merged)
    head = demo.commit(
        head,
        {"src/app.py": {3: "app: bump deps"}},
        0.2,
        TEAM[0],
        "Merge chore/deps",
        extra_parent=merged,
    )

    # A conflict that was paid: the export branch changed a line that trunk then changed too
    # (trunk step 55, 17 days ago); four days later the author merged trunk in and resolved it
    # by hand, and the branch landed. `replay` tells when trunkguard would have warned.
    path_, line = trunk_edits[55]
    changed = trunk[56]  # the trunk commit of step 55
    tip = demo.commit(fork(24), {path_: {line: "export: csv column"}}, 22, TEAM[1], "CSV export")
    synced_with = fork(13)
    tip = demo.commit(
        synced_with,
        {path_: {line: "export: csv column (after trunk change 55)"}},
        13,
        TEAM[1],
        "Merge main into feature/export",
        trunk_into=tip,
    )
    assert repo[changed].peel(pygit2.Commit).commit_time <= now - 13 * DAY
    head = demo.commit(
        head,
        {path_: {line: "export: csv column (after trunk change 55)"}},
        0.1,
        TEAM[1],
        "Merge feature/export",
        extra_parent=tip,
    )

    # A release line, cut at v1.0 and receiving fixes, and a backport on its way to it (a pull
    # request from a fork): the line is shown apart, never held to feature work's age limit;
    # the backport is measured against the line.
    tip = demo.commit(
        trunk[30], {"src/auth/login.py": {7: "login: lockout fix"}}, 60, TEAM[0], "Lockout fix"
    )
    tip = demo.commit(tip, {"src/api/grpc.py": {9: "grpc: leak fix"}}, 30, TEAM[3], "Leak fix")
    repo.references.create("refs/heads/release/1.0", tip)
    tip = demo.commit(
        tip, {"src/search.py": {9: "search: escape quotes"}}, 1.2, TEAM[2], "Backport: quotes"
    )
    repo.references.create("refs/pull/12/head", tip)

    repo.references.create("refs/heads/main", head, force=True)
    repo.references.create("refs/tags/v1.0", trunk[30])
    return repo
