"""`trunkguard merge`: git's merge in a work tree, then the engine on what git left conflicted."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from analyzers.git import find_git
from analyzers.resolve.engine import resolve
from analyzers.resolve.records import Resolved
from bot.errors import RepositoryError, TrunkguardError
from bot.policy import ConfigError, default_config, load_config
from bot.review.repo_config import CONFIG_PATH

# A conflicted path's content is read into memory to resolve it: beyond this, a person's.
MAX_RESOLVED_BYTES = 8 * 1024 * 1024
REGULAR_FILES = (0o100644, 0o100755)


class MergeRefused(TrunkguardError):
    """The work tree is not in a state to merge, or git would not merge."""


@dataclass(frozen=True)
class LeftPath:
    """A conflicted path the engine did not resolve: why, and how hard it is."""

    path: str
    reason: str
    grade: str = ""


@dataclass
class WorkTreeMerge:
    """What `trunkguard merge` did: git's merge, what the engine resolved and what is left."""

    branch: str
    into: str  # the current branch, or "HEAD" when detached
    up_to_date: bool = False
    fast_forward: bool = False
    resolved: list[tuple[str, str]] = field(default_factory=list)  # path, rule
    left: list[LeftPath] = field(default_factory=list)
    committed: str | None = None  # the merge commit, with --commit

    @property
    def conflicted(self) -> int:
        """How many paths git's merge left conflicted."""
        return len(self.resolved) + len(self.left)


class _Git:
    """git run in one work tree, with its output as text."""

    def __init__(self, top: Path) -> None:
        git = find_git()
        if git is None:
            raise MergeRefused("no git found on the PATH (git 2.38 or newer)")
        self.path, self.top = git.path, top

    def run(
        self, *args: str, check: bool = True, stdin: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        done = subprocess.run(
            [self.path, *args],
            cwd=self.top,
            input=stdin,
            capture_output=True,
            env={**os.environ, "LC_ALL": "C"},
        )
        if check and done.returncode != 0:
            raise MergeRefused(f"git {args[0]} failed: {_first_line(done.stderr)}")
        return done

    def text(self, *args: str) -> str:
        return self.run(*args).stdout.decode("utf-8", errors="surrogateescape").strip()


def _first_line(stderr: bytes) -> str:
    lines = stderr.decode("utf-8", errors="replace").strip().splitlines()
    return lines[-1] if lines else "no message"


def work_tree_top(directory: Path) -> Path:
    """Return the top of the work tree holding `directory`."""
    git = find_git()
    if git is None:
        raise MergeRefused("no git found on the PATH (git 2.38 or newer)")
    done = subprocess.run(
        [git.path, "rev-parse", "--show-toplevel"], cwd=directory, capture_output=True, text=True
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise RepositoryError(f"{directory} is not in a git work tree")
    return Path(done.stdout.strip())


def default_trunk(top: Path) -> str:
    """Return the trunk to merge: origin's HEAD, else main or master (local, then origin's)."""
    git = _Git(top)
    remote_head = git.run("symbolic-ref", "-q", "refs/remotes/origin/HEAD", check=False)
    if remote_head.returncode == 0:
        return remote_head.stdout.decode("utf-8", errors="surrogateescape").strip()
    for name in ("main", "master"):
        for ref in (f"refs/heads/{name}", f"refs/remotes/origin/{name}"):
            if git.run("rev-parse", "-q", "--verify", ref, check=False).returncode == 0:
                return ref
    raise MergeRefused("no trunk found (origin's HEAD, main, master): name the branch to merge")


def _trusted(git: _Git) -> tuple[str, ...]:
    """The rules the repository trusts, as the current branch's .github/trunkguard.yml says
    (the shipped ones where it has none or one that cannot be used)."""
    shown = git.run("show", f"HEAD:{CONFIG_PATH}", check=False)
    try:
        config = load_config(shown.stdout) if shown.returncode == 0 else default_config()
    except ConfigError:
        config = default_config()
    return config.resolve.trusted


def merge_into_work_tree(
    top: Path, branch: str, rules: Sequence[str] | None, commit: bool
) -> WorkTreeMerge:
    """Merge `branch` into the work tree's current branch as git does, then resolve what the
    engine resolves (`rules`; None: those the repository trusts); what is left keeps git's
    conflict markers (diff3 style).

    Refuses a work tree with uncommitted changes or a merge in progress. Commits only when
    `commit` is set and nothing is left; never fast-forwards without it.
    """
    git = _Git(top)
    if git.run("rev-parse", "-q", "--verify", "MERGE_HEAD", check=False).returncode == 0:
        raise MergeRefused("a merge is in progress: finish it (git commit) or git merge --abort")
    if git.text("status", "--porcelain", "--untracked-files=no"):
        raise MergeRefused("the work tree has uncommitted changes: commit or stash them first")
    if git.run("rev-parse", "-q", "--verify", f"{branch}^{{commit}}", check=False).returncode:
        raise MergeRefused(f"no branch or commit named {branch!r}")
    into = git.text("rev-parse", "--abbrev-ref", "HEAD")
    report = WorkTreeMerge(branch, into)
    head = git.text("rev-parse", "HEAD")
    options = [] if commit else ["--no-ff"]  # without --commit, not even a fast-forward
    merged = git.run(
        "-c",
        "merge.conflictStyle=diff3",
        "merge",
        "--no-commit",
        "--no-edit",
        *options,
        branch,
        check=False,
    )
    unmerged = _unmerged(git)
    if merged.returncode != 0 and not unmerged:
        raise MergeRefused(f"git merge refused: {_first_line(merged.stderr)}")
    if git.run("rev-parse", "-q", "--verify", "MERGE_HEAD", check=False).returncode != 0:
        # Nothing to commit: already up to date, or a fast-forward (with --commit).
        report.up_to_date = git.text("rev-parse", "HEAD") == head
        report.fast_forward = not report.up_to_date
        return report
    chosen = _trusted(git) if rules is None else rules
    for path, stages in sorted(unmerged.items()):
        _resolve_path(git, report, path, stages, chosen)
    if commit and not report.left:
        message_file = top / git.text("rev-parse", "--git-path", "MERGE_MSG")
        message = message_file.read_text(errors="surrogateescape")
        if report.resolved:
            message += "\nResolved by trunkguard:\n" + "".join(
                f"  {path}: {rule}\n" for path, rule in report.resolved
            )
        git.run(
            "commit",
            "--cleanup=strip",
            "-F",
            "-",
            stdin=message.encode("utf-8", errors="surrogateescape"),
        )
        report.committed = git.text("rev-parse", "HEAD")
    return report


def _unmerged(git: _Git) -> dict[str, dict[int, tuple[int, str]]]:
    """The paths git left conflicted: stage (1 base, 2 ours, 3 theirs) to mode and blob."""
    out: dict[str, dict[int, tuple[int, str]]] = {}
    listing = git.run("ls-files", "-u", "-z").stdout.decode("utf-8", errors="surrogateescape")
    for entry in filter(None, listing.split("\0")):
        info, path = entry.split("\t", 1)
        mode, blob, stage = info.split(" ")
        out.setdefault(path, {})[int(stage)] = (int(mode, 8), blob)
    return out


def _resolve_path(
    git: _Git,
    report: WorkTreeMerge,
    path: str,
    stages: dict[int, tuple[int, str]],
    rules: Sequence[str],
) -> None:
    base, ours, theirs = stages.get(1), stages.get(2), stages.get(3)
    if ours is None or theirs is None:
        report.left.append(LeftPath(path, "one side deleted the file, the other changed it"))
        return
    if any(s is not None and s[0] not in REGULAR_FILES for s in (base, ours, theirs)):
        report.left.append(LeftPath(path, "a symlink or a submodule changed on both sides"))
        return
    if ours[0] != theirs[0]:
        report.left.append(LeftPath(path, "the sides set different file modes"))
        return
    stages_of = (base, ours, theirs)
    sizes = [int(git.text("cat-file", "-s", s[1])) for s in stages_of if s]
    if max(sizes) > MAX_RESOLVED_BYTES:
        report.left.append(LeftPath(path, "too large to resolve here"))
        return
    contents = [
        git.run("cat-file", "blob", s[1]).stdout if s else None for s in (base, ours, theirs)
    ]
    outcome = resolve(path, contents[0], contents[1], contents[2], rules)
    if isinstance(outcome, Resolved) and outcome.content is not None:
        (git.top / path).write_bytes(outcome.content)
        git.run("add", "--", path)
        report.resolved.append((path, outcome.rule))
    elif isinstance(outcome, Resolved):
        report.left.append(LeftPath(path, "the resolution deletes the file: a person decides"))
    else:
        report.left.append(LeftPath(path, outcome.reason, str(outcome.grade)))
