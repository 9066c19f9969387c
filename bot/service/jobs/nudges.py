"""The nudge job: one comment per idle stretch on each open pull request with no commit for
the configured days, naming the pull requests it holds up."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pygit2

from analyzers.trends import week_start
from bot.review.evaluation import PullRequest, exemption
from bot.review.mirror import fetch_under_lock
from bot.review.nudges import IdlePull, conflicting_pulls, nudge_body
from bot.service.job import Follow, Services, job
from bot.service.jobs.repository import repository_config
from bot.text import DAY

logger = logging.getLogger(__name__)


@job
def nudge_idle_pulls(services: Services, installation: int, repository: str) -> Follow:
    """Comment once per idle stretch on each open pull request with no commit for the
    configured days (never drafts or exempt ones), naming the pull requests it holds up."""
    client = services.client(installation)
    info = client.repository(repository)
    repo = fetch_under_lock(services.store, services.mirror_dir, client, repository, info)
    config = repository_config(repo, info.default_branch, repository)
    if not config.nudges.enabled:
        return []
    now = services.now()
    pulls = client.open_pulls(repository)
    open_numbers = frozenset(p.number for p in pulls)
    scanned = services.store.week_scan(repository, week_start(now))
    predicted = services.store.week_forecast(repository, week_start(now))
    pulls_of = {b.name: b.pulls for b in scanned.branches} if scanned else {}
    behind = {n: b.behind for b in (scanned.branches if scanned else ()) for n in b.pulls}
    pairs = predicted.pairs if predicted else ()
    for pull in pulls:
        subject = PullRequest.of(pull)
        if pull.draft or exemption(subject, config.policy, config.branches.release) is not None:
            continue
        try:
            head = repo[pygit2.Oid(hex=pull.head_sha)].peel(pygit2.Commit)
        except (KeyError, ValueError, pygit2.GitError):
            continue  # not fetched (yet): the next run sees it
        idle = now - head.commit_time
        if idle < config.nudges.idle_days * DAY:
            continue
        nudged_at = datetime.fromtimestamp(now, UTC)
        if not services.store.claim_nudge(repository, pull.number, pull.head_sha, nudged_at):
            continue  # nudged already in this idle stretch
        conflicting = conflicting_pulls(pull.number, pulls_of, pairs, open_numbers)
        body = nudge_body(IdlePull(pull.number, idle, behind.get(pull.number), conflicting))
        try:
            client.create_comment(repository, pull.number, body)
        except Exception:
            services.store.release_nudge(repository, pull.number, pull.head_sha)
            raise
        logger.info("idle pull request nudged: %s#%d", repository, pull.number)
    return []
