"""Trial merges, in one import: records and keys, conflicts, the merges, and the git behind them.

The parts live by concern: `mergejobs` (jobs, results, cache keys), `conflicts` (kinds and
clashing line ranges), `trials` (the merges themselves) and `git` (`git merge-tree`).
"""

from analyzers.conflicts import Conflict, ConflictKind, Range, clashing_ranges, conflicts_of
from analyzers.errors import MergeError
from analyzers.git import Git, GitError, MergeTree, find_git, parse_merge_tree
from analyzers.mergejobs import (
    ENGINE_VERSION,
    Change,
    MergeCache,
    MergeJob,
    MergeKey,
    MergeResult,
    PairJob,
    cached,
    engine_id,
    failed_job,
)
from analyzers.trials import (
    FETCH_ROUNDS,
    RISK_LINES,
    run_job,
    run_jobs,
    run_merge,
    run_pair,
)

__all__ = [
    "ENGINE_VERSION",
    "FETCH_ROUNDS",
    "RISK_LINES",
    "Change",
    "Conflict",
    "ConflictKind",
    "Git",
    "GitError",
    "MergeCache",
    "MergeError",
    "MergeJob",
    "MergeKey",
    "MergeResult",
    "MergeTree",
    "PairJob",
    "Range",
    "cached",
    "clashing_ranges",
    "conflicts_of",
    "engine_id",
    "failed_job",
    "find_git",
    "parse_merge_tree",
    "run_job",
    "run_jobs",
    "run_merge",
    "run_pair",
]
