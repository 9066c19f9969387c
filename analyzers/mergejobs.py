"""Trial merges as records that cross processes and caches: jobs, results and their keys."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import MutableMapping
from dataclasses import dataclass

import pygit2

from analyzers.conflicts import Conflict
from analyzers.git import find_git
from analyzers.missing import Unknown

# Bump when a change to the trial merges can change a merge's answer: cached results then expire.
ENGINE_VERSION = 3

Change = tuple[str, str | None, int]  # path, blob id (None: deleted), file mode
MergeKey = tuple[str, str, str, str]  # the ids merged, and engine_id()


@functools.cache
def engine_id() -> str:
    """Name what answers merges here: "2 libgit2 1.7.2 git 2.39.5" ("git none" without git).

    Part of every cache key: workers whose git or libgit2 differ may answer a merge differently
    (README), so they never share answers.
    """
    git = find_git()
    version = git.version if git is not None else "none"
    return f"{ENGINE_VERSION} libgit2 {pygit2.LIBGIT2_VERSION} git {version}"


@dataclass(frozen=True)
class MergeResult:
    """The outcome of one trial merge.

    `tree` is the merged tree when the merge is clean and the job asked for it; `changes` is
    what a clean merge changes relative to `ours` (cheaper than a tree, and all a later pair
    merge needs); `near` holds the paths that both sides changed within a few
    lines of each other without conflicting.
    """

    conflicts: tuple[Conflict, ...]
    tree: str | None = None
    near: tuple[str, ...] = ()
    changes: tuple[Change, ...] = ()
    unknown: Unknown | None = None  # the merge could not be done: an object is missing

    @property
    def clean(self) -> bool:
        """Whether the merge is known to have no conflict."""
        return not self.conflicts and self.unknown is None


@dataclass(frozen=True)
class MergeJob:
    """One trial merge of `theirs` into `ours`, as hex ids, so that it can cross processes.

    With a `base` tree, the three are trees (and `commits` the two commits they come from,
    for git, when git must do the merge). Without one, they are commits, merged over all their
    merge bases as git does (recursively, for criss-cross histories).
    """

    base: str | None
    ours: str
    theirs: str
    want_tree: bool = False
    commits: tuple[str, str] | None = None

    @property
    def key(self) -> MergeKey:
        """The cache key: the ids merged and the engine."""
        return (self.base or "", self.ours, self.theirs, engine_id())


@dataclass(frozen=True)
class PairJob:
    """Land two branches on trunk and merge the results: T+A and T+B over T.

    Each landing is given by its changes relative to trunk's tree: small to keep and to cache,
    and enough to rebuild T+A by rewriting only the subtrees the changes touch.
    """

    trunk_tree: str
    ours: tuple[Change, ...]
    theirs: tuple[Change, ...]

    @property
    def key(self) -> MergeKey:
        """The cache key: trunk's tree, each landing's digest and the engine."""
        return (self.trunk_tree, _digest(self.ours), _digest(self.theirs), engine_id())


MergeCache = MutableMapping[MergeKey, MergeResult]


def _digest(changes: tuple[Change, ...]) -> str:
    return hashlib.sha1(repr(changes).encode(), usedforsecurity=False).hexdigest()


def cached(cache: MergeCache, job: MergeJob | PairJob) -> MergeResult | None:
    """Return the cached result of `job` if it answers everything the job asks."""
    result = cache.get(job.key)
    if result is not None and result.unknown is not None:
        return None  # a missing object may have arrived since
    if result is None or not isinstance(job, MergeJob):
        return result
    if job.want_tree and result.clean and result.tree is None:
        return None
    return result


def failed_job(job: MergeJob | PairJob, reason: str) -> MergeResult:
    """The result of a merge whose worker process died twice: unknown, with the reason."""
    return MergeResult((), unknown=Unknown(("conflicts",), reason))
