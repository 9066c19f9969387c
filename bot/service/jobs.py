"""The job functions: the work a webhook delivery (or the CLI, the scheduler, a worker) asks
for. Each takes the services and plain-data arguments, and returns the jobs it asks for next.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pygit2

from analyzers.forecast import ForecastMemo
from analyzers.history import landed_pull
from analyzers.refs import PullHeads, PullRule
from analyzers.trends import WEEK, week_named, week_start
from bot.github.client import GitHubClient
from bot.mirrors.fetch import app_mirror_path, remove_mirror
from bot.mirrors.promisor import fetch_objects
from bot.policy import ConfigError, RepositoryConfig, default_config
from bot.report.html import report_html
from bot.report.markdown import report_markdown
from bot.report.markdown import title as report_title
from bot.review.evaluation import PullRequest, exemption
from bot.review.mirror import fetch_under_lock
from bot.review.nudges import IdlePull, conflicting_pulls, nudge_body
from bot.review.pull import NO_COMMENT, Review, read_config, review_pull_request, stored_memo
from bot.service.gather import gather_report
from bot.service.scanning import forecast_and_store, scan_and_store
from bot.store import PublishedReport, PullRecord, Store
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
    not_before: float | None = None  # Unix time before which it must not run (a retry's wait)
    queued_at: float | None = None  # when it was queued, for the wait a worker measures

    @property
    def key(self) -> str:
        """What makes two jobs the same work (a redelivery, a duplicate): its name and
        arguments, not its delivery, attempt or timing."""
        what = json.dumps([self.name, self.arguments], sort_keys=True, default=str)
        return hashlib.sha256(what.encode()).hexdigest()[:32]

    def to_message(self) -> dict[str, Any]:
        """The job as plain JSON data, for a broker."""
        return {
            "name": self.name,
            "arguments": dict(self.arguments),
            "delivery": self.delivery,
            "attempt": self.attempt,
            "not_before": self.not_before,
            "queued_at": self.queued_at,
        }

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> Job:
        """The job a broker carried (see to_message)."""
        return cls(
            str(message["name"]),
            dict(message.get("arguments") or {}),
            message.get("delivery"),
            int(message.get("attempt") or 1),
            message.get("not_before"),
            message.get("queued_at"),
        )


@dataclass(frozen=True)
class Services:
    """What job functions work with: the store, GitHub as an installation, the mirrors."""

    store: Store
    github: Callable[[int], GitHubClient] | None  # installation id -> client; None: no App
    mirror_dir: Path
    clock: Callable[[], float] = time.time  # what "now" is (tests fix it)
    report_dir: Path | None = None  # where weekly HTML reports are written (None: not written)
    # Pull requests one job reviews when trunk moves; the rest go to other jobs, which other
    # workers can take (0: all in one job, as the one thread of the embedded queue would).
    spread: int = 0

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


def scan_repository(services: Services, installation: int, repository: str) -> Follow:
    """Fetch a repository's mirror, scan it and forecast its conflicts (the open pull
    requests deciding which heads count), keep the figures and when its report is due; then
    nudge its idle pull requests if its config asks for that."""
    client = services.client(installation)
    info = client.repository(repository)
    repo = fetch_under_lock(services.store, services.mirror_dir, client, repository, info)
    open_numbers = frozenset(p.number for p in client.open_pulls(repository))
    rule = PullRule(PullHeads.NONE, defaults()["pulls"]["recent_days"], open_numbers)
    now = services.now()
    config = _config(repo, info.default_branch, repository)
    found, _ = scan_and_store(
        services.store, repository, repo, now, pulls=rule, trunk=info.default_branch
    )
    forecast_and_store(
        services.store, repository, repo, found, now, active_days=config.forecast.active_days
    )
    report = config.report
    services.store.set_report_schedule(
        repository,
        {"weekday": report.weekday, "time": report.time, "timezone": report.timezone},
    )
    if not config.nudges.enabled:
        return []
    return [Job("nudge_idle_pulls", {"installation": installation, "repository": repository})]


def _config(repo: pygit2.Repository, branch: str, repository: str) -> RepositoryConfig:
    """The repository's config; the defaults (and a log line) when its file is unusable, since
    scheduled work must go on (its pull requests' checks say what is wrong)."""
    try:
        return read_config(repo, branch)
    except ConfigError as error:
        logger.warning(
            "config unusable, defaults used: %s", error, extra={"repository": repository}
        )
        return default_config()


def nightly_scans(services: Services) -> Follow:
    """Scan every repository an installation covers (the scheduler asks for this nightly)."""
    return [
        Job("scan_repository", {"installation": r.installation, "repository": r.name})
        for r in services.store.installed_repositories()
    ]


def reported_week(now: int, weekday: str) -> int:
    """The ISO week a scheduled report covers: the current one when it is published late in
    the week (Friday to Sunday), else the week that just ended."""
    current = week_start(now)
    return current if weekday in ("fri", "sat", "sun") else current - WEEK


def weekly_report(
    services: Services, installation: int, repository: str, week: str | None = None
) -> Follow:
    """Build a repository's weekly report and publish it as its report issue (edited, never
    posted twice for a week), and as an HTML page in the report directory if one is set."""
    client = services.client(installation)
    info = client.repository(repository)
    repo = fetch_under_lock(services.store, services.mirror_dir, client, repository, info)
    pulls = client.open_pulls(repository)
    rule = PullRule(PullHeads.NONE, defaults()["pulls"]["recent_days"], frozenset(
        p.number for p in pulls))  # fmt: skip
    now = services.now()
    config = _config(repo, info.default_branch, repository)
    start = week_named(week) if week else reported_week(now, config.report.weekday)
    gathered = gather_report(
        services.store, repository, repo, now, start, pulls=rule, trunk=info.default_branch
    )
    report, settings = gathered.report, gathered.config.report
    logins = {p.number: p.author for p in pulls}
    if services.report_dir is not None:
        page = services.report_dir / repository / f"{report.week}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(report_html(report, logins), encoding="utf-8")
    body = report_markdown(report, logins)
    digest = hashlib.sha256(body.encode()).hexdigest()
    store = services.store
    with store.lock(f"report:{repository}"):  # two runs at once must not open two issues
        published = store.report(repository, report.week)
        if published is not None and published.digest == digest:
            return []  # asked again (a retry, a restart): the issue already says this
        per_week = settings.issue == "weekly"
        title = report_title(report, per_week)
        number = (
            (published.issue_number if published else None)
            if per_week
            else store.last_report_issue(repository)
        )
        if number is None:
            number = client.create_issue(repository, title, body, settings.label)
        else:
            client.edit_issue(repository, number, title, body)
        store.save_report(repository, PublishedReport(report.week, number, digest), _utc(now))
    logger.info("weekly report published: %s %s in #%d", repository, report.week, number)
    return []


def nudge_idle_pulls(services: Services, installation: int, repository: str) -> Follow:
    """Comment once per idle stretch on each open pull request with no commit for the
    configured days (never drafts or exempt ones), naming the pull requests it holds up."""
    client = services.client(installation)
    info = client.repository(repository)
    repo = fetch_under_lock(services.store, services.mirror_dir, client, repository, info)
    config = _config(repo, info.default_branch, repository)
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
        if pull.draft or exemption(subject, config.policy) is not None:
            continue
        try:
            head = repo[pygit2.Oid(hex=pull.head_sha)].peel(pygit2.Commit)
        except (KeyError, ValueError, pygit2.GitError):
            continue  # not fetched (yet): the next run sees it
        idle = now - head.commit_time
        if idle < config.nudges.idle_days * 86400:
            continue
        if not services.store.claim_nudge(repository, pull.number, pull.head_sha, _utc(now)):
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


def _utc(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


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


JOBS: dict[str, Callable[..., Follow]] = {
    "register_repositories": register_repositories,
    "forget_repositories": forget_repositories,
    "scan_repository": scan_repository,
    "evaluate_pull": evaluate_pull,
    "evaluate_open_pulls": evaluate_open_pulls,
    "pull_closed": pull_closed,
    "nightly_scans": nightly_scans,
    "weekly_report": weekly_report,
    "nudge_idle_pulls": nudge_idle_pulls,
}
