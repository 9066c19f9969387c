"""Review one pull request: bring its mirror up to date, measure it, post the verdict (one
check run, one comment kept up to date). The App's jobs and `pr-check` both call
`review_pull_request`."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import pygit2
from cachetools import LRUCache, cached

from analyzers.errors import AnalysisError
from analyzers.forecast import ForecastMemo
from bot.github.client import GitHubClient, GitHubError, GitHubUnavailable
from bot.github.records import OpenPull
from bot.mirrors.fetch import app_mirror_path
from bot.policy import ConfigError, RepositoryConfig
from bot.review.evaluation import Evaluation
from bot.review.findings import Conclusion
from bot.review.measure import TRUNKS_KEPT, figures
from bot.review.mirror import fetch_under_lock
from bot.review.publish import post_check_run, publish
from bot.review.repo_config import config_failure, read_config
from bot.review.resolution import is_release_line
from bot.store import Store

logger = logging.getLogger(__name__)


class Outcome(StrEnum):
    """How a review ended."""

    POSTED = "posted"  # a new check run and/or comment change went to GitHub
    UNCHANGED = "unchanged"  # the same result as last time: nothing posted
    NOT_OPEN = "not open"  # closed or gone before we got to it
    HEAD_MOVED = "head moved"  # pushed to while we looked: the push's own event reviews it
    GONE = "commit gone"  # a "Re-run" of an older commit the mirror does not have


@dataclass(frozen=True)
class Review:
    """What one review found and did."""

    outcome: Outcome
    number: int
    head_sha: str | None = None
    evaluation: Evaluation | None = None
    comment: str | None = None  # "created", "edited", "deleted" or None


def review_pull_request(
    client: GitHubClient,
    store: Store,
    mirror_dir: Path,
    full_name: str,
    number: int,
    now: int | None = None,
    open_pulls: list[OpenPull] | None = None,
    memo: ForecastMemo | None = None,
    fetch: bool = True,
    force: bool = False,
    head: str | None = None,
) -> Review:
    """Review pull request `number` of `full_name`: fetch the mirror, measure, post (`head`:
    at that commit, before its newest, as a "Re-run" of that commit's check suite asks)."""
    now = int(datetime.now(UTC).timestamp()) if now is None else now
    open_pulls = client.open_pulls(full_name) if open_pulls is None else open_pulls
    pull = next((p for p in open_pulls if p.number == number), None)
    if pull is None:
        return Review(Outcome.NOT_OPEN, number)
    older = head if head is not None and head != pull.head_sha else None

    def post(evaluation: Evaluation, config: RepositoryConfig | None) -> Review:
        if older is not None:
            post_check_run(client, full_name, older, evaluation)
            return Review(Outcome.POSTED, number, older, evaluation)
        done = publish(client, store, full_name, pull, evaluation, config, force)
        outcome = Outcome.POSTED if done.posted else Outcome.UNCHANGED
        return Review(outcome, number, pull.head_sha, evaluation, done.comment)

    path = app_mirror_path(mirror_dir, full_name)
    if fetch or not path.exists():
        repo = fetch_under_lock(store, mirror_dir, client, full_name)
    else:
        repo = pygit2.Repository(str(path))
    newest = repo.references.get(f"refs/pull/{number}/head")
    if older is not None:
        if not _has_commit(repo, older):
            # Pushed over (a fork's force-push): no ref holds it any more, so it cannot be
            # measured; whoever pressed "Re-run" is told so on that commit, not left waiting.
            logger.info("re-run commit gone", extra={"repository": full_name, "pull": number})
            gone = Evaluation(
                Conclusion.NEUTRAL,
                "Not measured: this commit is no longer in the pull request",
                f"The pull request's head moved on to `{pull.head_sha[:10]}`, whose check is "
                "current; this older commit is no longer fetched with it.",
                (),
                (),
            )
            post_check_run(client, full_name, older, gone)
            return Review(Outcome.GONE, number, older, gone)
    elif newest is None or str(newest.target) != pull.head_sha:
        # Pushed (or deleted) between GitHub's answer and our fetch: that push sends its own
        # event, which reviews the new head; posting on either head now would be a guess.
        logger.info("head moved", extra={"repository": full_name, "pull": number})
        return Review(Outcome.HEAD_MOVED, number, pull.head_sha)
    default = repo.head.shorthand if not repo.head_is_unborn else pull.base_ref
    try:
        config = read_config(repo, default)
    except ConfigError as error:
        return post(config_failure(error), None)
    if memo is None:
        memo = stored_memo(store, repo, pull.base_ref)
    try:
        with store.merge_session(memo=memo):
            at = pygit2.Oid(hex=older) if older is not None else None
            measured = figures(
                repo,
                pull,
                open_pulls,
                config,
                memo,
                now,
                at,
                lambda: _may_push(client, full_name, pull, default, open_pulls, config),
            )
    except AnalysisError as error:
        failure = Evaluation(
            Conclusion.NEUTRAL, f"Not measured: {error}"[:1000], str(error), (), ()
        )
        return post(failure, config)
    if measured is None:
        return Review(Outcome.HEAD_MOVED, number, pull.head_sha)
    _, _, verdict = measured
    return post(verdict, config)


def _has_commit(repo: pygit2.Repository, sha: str) -> bool:
    try:
        return isinstance(repo.get(sha), pygit2.Commit)
    except (ValueError, KeyError):
        return False


_MEMOS: LRUCache[tuple[str, str], ForecastMemo] = LRUCache(maxsize=TRUNKS_KEPT)


def stored_memo(store: Store, repo: pygit2.Repository, base: str) -> ForecastMemo:
    """Start from the merges already done on this trunk tree: the store's merge cache, read
    once per mirror and trunk tree and then kept in this process (its entries never go
    stale), as the reviews of one push to trunk come here in parts."""
    reference = repo.references.get(f"refs/heads/{base}")
    if reference is None:
        return ForecastMemo()
    return _memo(store, repo.path, str(reference.peel(pygit2.Commit).tree_id))


@cached(_MEMOS, key=lambda store, path, tree: (path, tree), lock=threading.Lock())
def _memo(store: Store, path: str, tree: str) -> ForecastMemo:
    return store.merge_memo(tree)


def _may_push(
    client: GitHubClient,
    full_name: str,
    pull: OpenPull,
    default: str,
    others: list[OpenPull],
    config: RepositoryConfig,
) -> bool:
    """Whether the App may push a resolution to the pull request's branch: `contents: write`,
    and the branch in this repository (never its default branch nor a release line) or in a
    fork that allows edits by maintainers, and no other open pull request with the same head
    (a press could not tell them apart). A question GitHub refuses is a no: the button is
    left off, the review goes on (GitHub unavailable: the job is tried again, as for any
    call)."""
    if any(p.head_sha == pull.head_sha and p.number != pull.number for p in others):
        return False
    try:
        if not client.can_push():
            return False
        if pull.fork is None:
            return pull.head_ref != default and not is_release_line(pull.head_ref, config)
        if not pull.fork:
            return False  # the fork is deleted
        # the pulls list leaves maintainer_can_modify out: only a fork's pull request asks
        return client.pull_target(full_name, pull.number).maintainer_can_modify
    except GitHubUnavailable:
        raise
    except GitHubError as error:
        logger.warning(
            "could not tell whether the App may push",
            extra={"repository": full_name, "pull": pull.number, "error": str(error)},
        )
        return False
