"""Inventory of a repository's refs: which one is trunk, which ones are branches."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

import pygit2

from analyzers.errors import TrunkNotFoundError
from analyzers.missing import READ_ERRORS
from analyzers.trunk import TrunkIndex, own_commits
from analyzers.units import DAY

HEADS = "refs/heads/"
REMOTES = "refs/remotes/"
PULLS = "refs/pull/"


class PullHeads(StrEnum):
    """Which pull request heads (`refs/pull/N/head`) count when GitHub's list is not known."""

    RECENT = "recent"  # with a commit in the last `recent_days` days, not in trunk yet
    ALL = "all"
    NONE = "none"


@dataclass(frozen=True)
class PullRule:
    """How to choose pull request heads: GitHub's list of open ones decides where it is known."""

    heads: PullHeads = PullHeads.RECENT
    recent_days: int = 30
    open_numbers: frozenset[int] | None = None


@dataclass(frozen=True)
class BranchRule:
    """Which branches are release lines (long-lived by design) and which are left out.

    `release` and `ignore` are globs of branch names; with `tagged`, a branch whose head
    carries a version tag (v1.2.3, 2.0) is a release line too. The defaults are trunkguard's
    config (config/default.yml); this empty rule makes every branch feature work.
    """

    release: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    tagged: bool = False


@dataclass(frozen=True)
class BranchRef:
    """A branch: its display name, the full ref it was read from, the commit it points to, and
    the pull requests whose head it is."""

    name: str
    ref: str
    target: pygit2.Oid
    pulls: tuple[int, ...] = ()

    @property
    def is_pull(self) -> bool:
        """Whether this is a pull request head with no branch of its own in the repository."""
        return self.ref.startswith(PULLS)


@dataclass(frozen=True)
class PullsLeftOut:
    """Pull request heads not analysed, and why: how many, for the one-line notice."""

    in_trunk: int = 0
    inactive: int = 0
    not_open: int = 0
    in_line: int = 0  # merged into a release line (a backport)

    @property
    def total(self) -> int:
        """How many pull request heads were left out."""
        return self.in_trunk + self.inactive + self.not_open + self.in_line


@dataclass(frozen=True)
class Inventory:
    """The trunk and the branches to analyse, each resolved to a commit.

    `index` is trunk's history when choosing pull request heads needed it, for reuse. Release
    lines are apart from `branches`; `bases` (see analyzers.lines.place) names the release
    line each branch based on one is on.
    """

    trunk: BranchRef | None
    trunk_name: str
    branches: tuple[BranchRef, ...]
    pulls_seen: int = 0
    pulls_left_out: PullsLeftOut = PullsLeftOut()
    index: TrunkIndex | None = field(default=None, compare=False, repr=False)
    release_lines: tuple[BranchRef, ...] = ()
    ignored: int = 0  # branches the rule's `ignore` globs left out
    bases: Mapping[str, str] = field(default_factory=dict)  # branch: the release line it is on

    def on_trunk(self) -> Inventory:
        """Return this inventory without the branches based on a release line."""
        if not self.bases:
            return self
        kept = tuple(b for b in self.branches if b.name not in self.bases)
        return replace(self, branches=kept, bases={})


def pull_number(ref: str) -> int | None:
    """Return N for `refs/pull/N/head`, else None."""
    if ref.startswith(PULLS) and ref.endswith("/head"):
        number = ref[len(PULLS) : -len("/head")]
        if number.isdigit():
            return int(number)
    return None


def display_name(ref: str, remote: str | None) -> str | None:
    """Return the name people use for a ref, or None if it is not a branch.

    `remote` is the remote whose tracking branches count; None in a bare repository, where
    `refs/remotes/*` are stray refs someone pushed, not the state of a remote (git itself
    treats `refs/heads/*` as the truth there).
    """
    if ref.startswith(HEADS):
        return ref[len(HEADS) :]
    if remote is not None:
        prefix = f"{REMOTES}{remote}/"
        if ref.startswith(prefix):
            name = ref[len(prefix) :]
            return None if name == "HEAD" else name
    number = pull_number(ref)
    return None if number is None else f"pull/{number}"


_VERSION_TAG = re.compile(r"v?[0-9]+(\.[0-9]+)+([.+-][0-9A-Za-z.+-]*)?")


def is_bare(repo: pygit2.Repository) -> bool:
    """Tell whether a repository is bare by git's rules, not libgit2's.

    libgit2 reads a repository without `core.bare` as having a work tree (the folder above
    it); git calls it bare unless its folder is a `.git` inside a work tree (or a linked work
    tree), as `git rev-parse --is-bare-repository` says.
    """
    try:
        return bool(repo.config.get_bool("core.bare"))
    except (KeyError, pygit2.GitError, ValueError):
        pass
    folder = Path(repo.path)
    # A linked work tree's git folder (.git/worktrees/NAME) names the common one.
    return folder.name != ".git" and not (folder / "commondir").exists()


def version_tagged(repo: pygit2.Repository) -> frozenset[pygit2.Oid]:
    """Return the commits that a version tag (v1.2.3, 2.0.1-rc1) points to."""
    tagged = set()
    for name in repo.references.iterator(pygit2.enums.ReferenceFilter.TAGS):
        if _VERSION_TAG.fullmatch(name.name[len("refs/tags/") :]):
            target = _peel(name)
            if target is not None:
                tagged.add(target)
    return frozenset(tagged)


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


def _trunk_candidates(repo: pygit2.Repository, name: str | None, remote: str | None) -> list[str]:
    """List full ref names to try for trunk, best first."""
    if name is not None:
        if name.startswith("refs/"):
            return [name]
        if remote is None:
            return [f"{HEADS}{name}"]
        return [f"{HEADS}{name}", f"{REMOTES}{remote}/{name}", f"{REMOTES}{name}"]
    candidates = []
    if remote is not None:
        # In a working clone HEAD is whatever is checked out; the remote's HEAD is the trunk.
        remote_head = _symbolic_target(repo, f"{REMOTES}{remote}/HEAD")
        if remote_head:
            candidates.append(remote_head)
    head = _symbolic_target(repo, "HEAD")
    if head:
        candidates.append(head)
    for fallback in ("main", "master"):
        candidates.append(f"{HEADS}{fallback}")
        if remote is not None:
            candidates.append(f"{REMOTES}{remote}/{fallback}")
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
    pulls: PullRule = PullRule(),
    now: int | None = None,
    lines: BranchRule = BranchRule(),
) -> Inventory:
    """Find trunk and the branches of a repository.

    Local branches and `remote`'s tracking branches of the same name are one branch (the
    remote-tracking ref wins: it is what the team shares); a bare repository has no
    remote-tracking branches. Tags and other remotes are ignored. A pull request head that
    equals a branch's head is that branch, with the pull request's number; pull request heads
    with one commit are one entry. Which heads count follows `pulls` (as of `now`, for
    `PullHeads.RECENT`). Branches that `lines` names release lines are kept apart, those it
    ignores are left out. An empty repository gives no trunk and no branches; a named trunk
    that does not exist, or a repository with commits but no recognisable trunk, raises
    TrunkNotFoundError.
    """
    tracked = None if is_bare(repo) else remote
    branch_refs: list[tuple[str, pygit2.Reference]] = []
    pull_refs: list[tuple[int, pygit2.Reference]] = []
    for reference in repo.references.iterator():
        number = pull_number(reference.name)
        if number is not None:
            pull_refs.append((number, reference))
        elif display_name(reference.name, tracked) is not None:
            branch_refs.append((reference.name, reference))

    trunk_ref: BranchRef | None = None
    for candidate in _trunk_candidates(repo, trunk, tracked):
        target = _peel_commit(repo, candidate)
        if target is not None:
            trunk_name = display_name(candidate, tracked) or candidate
            trunk_ref = BranchRef(trunk_name, candidate, target)
            break
    if trunk_ref is None:
        if trunk is not None:
            raise TrunkNotFoundError(f"trunk '{trunk}' is not a branch of this repository", trunk)
        if branch_refs or pull_refs:
            raise TrunkNotFoundError(
                "cannot tell which branch is trunk (no HEAD, main or master); name it with --trunk"
            )
        head = _symbolic_target(repo, "HEAD")
        unborn = display_name(head, tracked) if head else None
        return Inventory(trunk=None, trunk_name=unborn or "main", branches=())

    by_name: dict[str, BranchRef] = {}
    for ref_name, reference in sorted(branch_refs, key=lambda r: _ref_rank(r[0])):
        name = display_name(ref_name, tracked)
        assert name is not None
        if name == trunk_ref.name or name in by_name:
            continue
        target = _peel(reference)
        if target is not None:
            by_name[name] = BranchRef(name, ref_name, target)

    index: TrunkIndex | None = None
    if pull_refs and pulls.heads is PullHeads.RECENT and pulls.open_numbers is None:
        index = TrunkIndex(repo, trunk_ref.target)
    chosen, left_out = _choose_pulls(repo, pull_refs, pulls, trunk_ref, index, now)
    by_head: dict[pygit2.Oid, list[str]] = {}
    for branch in by_name.values():
        by_head.setdefault(branch.target, []).append(branch.name)
    heads_of_pulls: dict[pygit2.Oid, list[int]] = {}
    for number, target in chosen:
        heads_of_pulls.setdefault(target, []).append(number)
    for target, numbers in heads_of_pulls.items():
        numbers.sort(reverse=True)
        owners = by_head.get(target)
        if owners:
            # A pull request from a branch of this repository: one piece of work.
            for owner in owners:
                by_name[owner] = BranchRef(owner, by_name[owner].ref, target, tuple(numbers))
        elif target != trunk_ref.target:
            name = f"pull/{numbers[0]}"
            by_name[name] = BranchRef(name, f"{PULLS}{numbers[0]}/head", target, tuple(numbers))

    kept = [
        b
        for b in by_name.values()
        if (not include or _matches(b.name, include)) and not _matches(b.name, exclude)
    ]
    branches = tuple(sorted(kept, key=lambda b: b.name))
    found = Inventory(trunk_ref, trunk_ref.name, branches, len(pull_refs), left_out, index)
    return separate(repo, found, lines)


def separate(repo: pygit2.Repository, found: Inventory, lines: BranchRule) -> Inventory:
    """Move the release lines of `found`'s branches apart, and leave out those `lines`
    ignores. Pull request heads are never release lines."""
    if not lines.release and not lines.ignore and not lines.tagged:
        return found
    tagged = version_tagged(repo) if lines.tagged else frozenset()
    branches, release, ignored = [], list(found.release_lines), found.ignored
    for branch in found.branches:
        if not branch.is_pull and _matches(branch.name, lines.ignore):
            ignored += 1
        elif not branch.is_pull and (
            _matches(branch.name, lines.release) or branch.target in tagged
        ):
            release.append(branch)
        else:
            branches.append(branch)
    return replace(
        found,
        branches=tuple(branches),
        release_lines=tuple(sorted(release, key=lambda b: b.name)),
        ignored=ignored,
    )


def _peel(reference: pygit2.Reference) -> pygit2.Oid | None:
    try:
        return reference.peel(pygit2.Commit).id
    except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
        return None


def _choose_pulls(
    repo: pygit2.Repository,
    pull_refs: list[tuple[int, pygit2.Reference]],
    rule: PullRule,
    trunk_ref: BranchRef,
    index: TrunkIndex | None,
    now: int | None,
) -> tuple[list[tuple[int, pygit2.Oid]], PullsLeftOut]:
    """Return the pull request heads that count, and how many were left out and why."""
    if rule.open_numbers is not None:
        chosen = [(n, t) for n, r in pull_refs if n in rule.open_numbers and (t := _peel(r))]
        return chosen, PullsLeftOut(not_open=len(pull_refs) - len(chosen))
    if rule.heads is PullHeads.NONE:
        return [], PullsLeftOut(inactive=len(pull_refs))
    chosen = []
    in_trunk = inactive = 0
    cutoff = (now or 0) - rule.recent_days * DAY
    trunk_tree: pygit2.Tree | None = None
    for number, reference in pull_refs:
        target = _peel(reference)
        if target is None:
            continue
        if rule.heads is PullHeads.RECENT:
            assert index is not None
            if target in index:
                in_trunk += 1
                continue
            commit = repo[target]
            assert isinstance(commit, pygit2.Commit)
            if now is not None and commit.commit_time < cutoff:
                inactive += 1
                continue
            if trunk_tree is None:
                trunk_tree = repo[trunk_ref.target].peel(pygit2.Tree)
            if _content_on_trunk(repo, commit, index, trunk_tree):
                in_trunk += 1
                continue
        chosen.append((number, target))
    return chosen, PullsLeftOut(in_trunk=in_trunk, inactive=inactive)


def _content_on_trunk(
    repo: pygit2.Repository, head: pygit2.Commit, index: TrunkIndex, trunk_tree: pygit2.Tree
) -> bool:
    """Tell whether trunk already holds every change of `head` since it left trunk.

    So it is for a pull request that was squash-merged or rebased onto trunk: its own commits
    never reach trunk, its content does. Tree lookups only: no blob is read.
    """
    try:
        own, boundary = own_commits(repo, head.id, index)
        if len(boundary) != 1:
            return False
        base = repo[next(iter(boundary))].peel(pygit2.Tree)
        deltas = base.diff_to_tree(head.tree).deltas
        for delta in deltas:
            path = delta.new_file.path
            wanted = None if delta.status_char() == "D" else delta.new_file.id
            have = trunk_tree[path].id if path in trunk_tree else None
            if wanted != have:
                return False
        return bool(own)
    except READ_ERRORS:
        return False


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
