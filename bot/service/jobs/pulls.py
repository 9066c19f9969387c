"""Pull request jobs: one reviewed, every open one reviewed (trunk moved), one commit reviewed
again (a "Re-run"), and one closed (its landed work recorded, the ones it may have conflicted
with reviewed again)."""

from __future__ import annotations

import logging

import pygit2

from analyzers.forecast import ForecastMemo
from analyzers.history import landed_pull
from bot.mirrors.promisor import fetch_objects
from bot.review.mirror import fetch_under_lock
from bot.review.publish import NO_COMMENT
from bot.review.pull import Review, review_pull_request, stored_memo
from bot.service.job import Follow, Job, Services, job
from bot.store import PullRecord

logger = logging.getLogger(__name__)


@job
def evaluate_pull(services: Services, installation: int, repository: str, number: int) -> Follow:
    """Review one pull request: fetch, measure, post its check run and comment."""
    review = review_pull_request(
        services.client(installation),
        services.store,
        services.mirror_dir,
        repository,
        number,
        services.now(),
    )
    _log(repository, review)
    return []


@job
def evaluate_open_pulls(
    services: Services,
    installation: int,
    repository: str,
    numbers: list[int] | None = None,
    heads: list[str] | None = None,
    force: bool = False,
) -> Follow:
    """Review every open pull request of a repository (trunk moved), or those with these
    numbers or head commits; one fetch and one list of open pull requests for all. An
    unchanged result is not posted again unless `force` (a "Re-run" asked for it)."""
    client = services.client(installation)
    open_pulls = client.open_pulls(repository)
    chosen = [
        p
        for p in open_pulls
        if (numbers is None or p.number in numbers) and (heads is None or p.head_sha in heads)
    ]
    if not chosen:
        return []
    if services.spread and numbers is None and heads is None and len(chosen) > services.spread:
        # Trunk moved: every open pull request of the repository, in parts for many workers.
        where = {"installation": installation, "repository": repository, "force": force}
        parts = [chosen[i : i + services.spread] for i in range(0, len(chosen), services.spread)]
        return [
            Job("evaluate_open_pulls", {**where, "numbers": [p.number for p in part]})
            for part in parts
        ]
    repo = fetch_under_lock(services.store, services.mirror_dir, client, repository)
    now = services.now()
    memos: dict[str, ForecastMemo] = {}  # one per base: its trunk index and merges shared
    for pull in chosen:
        if pull.base_ref not in memos:
            memos[pull.base_ref] = stored_memo(services.store, repo, pull.base_ref)
        memo = memos[pull.base_ref]
        review = review_pull_request(
            client,
            services.store,
            services.mirror_dir,
            repository,
            pull.number,
            now,
            open_pulls,
            memo,
            fetch=False,
            force=force,
        )
        _log(repository, review)
    return []


@job
def rerun_commit(
    services: Services,
    installation: int,
    repository: str,
    head_sha: str,
    numbers: list[int] | None = None,
    force: bool = True,
) -> Follow:
    """Review the commit whose check suite asked for it (the "Re-run" buttons: `force`, a new
    check run), in the pull requests with these numbers or with it as their head; a commit
    older than a pull request's newest head is reviewed as it was, not the newest head."""
    client = services.client(installation)
    open_pulls = client.open_pulls(repository)
    chosen = [
        p
        for p in open_pulls
        if (p.number in numbers if numbers else p.head_sha == head_sha)
        # A suite requested for a head pushed over since: that push's own event reviews it.
        and (force or p.head_sha == head_sha)
    ]
    now = services.now()
    for done, pull in enumerate(chosen):
        review = review_pull_request(
            client,
            services.store,
            services.mirror_dir,
            repository,
            pull.number,
            now,
            open_pulls,
            fetch=done == 0,  # one fetch for all
            force=force,
            head=head_sha,
        )
        _log(repository, review)
    if not chosen:
        logger.info("re-run of a commit no open pull request has: %s", repository)
    return []


@job
def pull_closed(
    services: Services,
    installation: int,
    repository: str,
    number: int,
    head_ref: str,
    head_sha: str,
    merge_commit: str | None,
) -> Follow:
    """A pull request closed: note it; if it landed, record the landed work and its lifetime;
    then review again the open pull requests that had something to act on (it may have been
    what they conflicted with)."""
    store = services.store
    last = store.pull_request(repository, number)
    store.save_pull_request(
        repository,
        PullRecord(
            number,
            "closed",
            head_ref,
            head_sha,
            last.check_run_id if last else None,
            last.comment_id if last else None,
            last.check_digest if last else None,
            last.comment_digest if last else None,
        ),
    )
    if merge_commit:
        client = services.client(installation)
        repo = fetch_under_lock(services.store, services.mirror_dir, client, repository)
        try:
            work = landed_pull(repo, pygit2.Oid(hex=merge_commit), pygit2.Oid(hex=head_sha),
                               fetcher=fetch_objects)  # fmt: skip
        except (KeyError, ValueError, pygit2.GitError) as error:
            logger.warning("landed work not recorded: %s", error, extra={"repository": repository})
        else:
            store.save_merged_work(repository, [work])
    noted = [
        p.number
        for p in store.pull_requests(repository)
        if p.comment_digest not in (None, NO_COMMENT) and p.number != number
    ]
    if not noted:
        return []
    arguments = {"installation": installation, "repository": repository, "numbers": noted}
    return [Job("evaluate_open_pulls", arguments)]


def _log(repository: str, review: Review) -> None:
    conclusion = review.evaluation.conclusion if review.evaluation else None
    logger.info(
        "pull request reviewed: %s#%d %s (%s)",
        repository,
        review.number,
        review.outcome,
        conclusion,
    )
