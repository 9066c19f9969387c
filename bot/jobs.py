"""The job functions: the work a webhook delivery (or the CLI, the scheduler, a worker) asks
for. Each takes the services and plain-data arguments, and returns the jobs it asks for next.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pygit2

from analyzers.forecast import ForecastMemo
from analyzers.history import landed_pull
from analyzers.refs import PullHeads, PullRule
from bot.github_app import GitHubClient
from bot.mirror import app_mirror_path, fetch_mirror, remove_mirror
from bot.promisor import fetch_objects
from bot.review import NO_COMMENT, Review, review_pull_request, stored_memo
from bot.scanning import scan_and_store
from bot.store import PullRecord, Store
from config import defaults

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """One piece of work: a job function's name and its arguments (plain data, so that a
    Celery broker can carry it later)."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    delivery: str | None = None  # the webhook delivery that asked for it, for the logs
    attempt: int = 1


@dataclass(frozen=True)
class Services:
    """What job functions work with: the store, GitHub as an installation, the mirrors."""

    store: Store
    github: Callable[[int], GitHubClient] | None  # installation id -> client; None: no App
    mirror_dir: Path
    clock: Callable[[], float] = time.time  # what "now" is (tests fix it)

    def now(self) -> int:
        """Return the current time in Unix seconds."""
        return int(self.clock())

    def client(self, installation: int) -> GitHubClient:
        """Return GitHub as `installation` sees it."""
        if self.github is None:
            raise RuntimeError("no GitHub App is configured")
        return self.github(installation)


Follow = list[Job]


def register_repositories(services: Services, installation: int, added: list[str]) -> Follow:
    """An App installation now covers these repositories: note them, then scan each."""
    services.store.register_installation(installation, added)
    if services.github is None:
        return []  # no App credentials: nothing can be fetched
    arguments = [{"installation": installation, "repository": name} for name in added]
    return [Job("scan_repository", a) for a in arguments]


def forget_repositories(services: Services, installation: int, removed: list[str] | None) -> Follow:
    """An App installation no longer covers these repositories (None: any of them): unlink
    them (their figures stay) and delete their mirrors."""
    names = removed if removed is not None else services.store.repositories_of(installation)
    services.store.forget_installation(installation, removed)
    for name in names:
        try:
            remove_mirror(app_mirror_path(services.mirror_dir, name))
        except Exception:  # a bad name in a payload must not keep the others' mirrors
            logger.warning("mirror not removed", extra={"repository": name})
    return []


def _fetch(services: Services, client: GitHubClient, repository: str) -> pygit2.Repository:
    info = client.repository(repository)
    return fetch_mirror(
        app_mirror_path(services.mirror_dir, repository), info.clone_url, client.token()
    )


def scan_repository(services: Services, installation: int, repository: str) -> Follow:
    """Fetch a repository's mirror and scan it, the open pull requests deciding which heads
    count; keep the figures."""
    client = services.client(installation)
    repo = _fetch(services, client, repository)
    open_numbers = frozenset(p.number for p in client.open_pulls(repository))
    rule = PullRule(PullHeads.NONE, defaults()["pulls"]["recent_days"], open_numbers)
    scan_and_store(services.store, repository, repo, services.now(), pulls=rule)
    return []


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
    repo = _fetch(services, client, repository)
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
        repo = _fetch(services, client, repository)
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


JOBS: dict[str, Callable[..., Follow]] = {
    "register_repositories": register_repositories,
    "forget_repositories": forget_repositories,
    "scan_repository": scan_repository,
    "evaluate_pull": evaluate_pull,
    "evaluate_open_pulls": evaluate_open_pulls,
    "pull_closed": pull_closed,
}
