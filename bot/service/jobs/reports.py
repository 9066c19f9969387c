"""The weekly report job: the report built from its gathered figures, published as the
repository's report issue (edited, never posted twice for a week) and an HTML page."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime

from analyzers.trends import week_named
from bot.report.html import report_html
from bot.report.links import GITHUB, web_host
from bot.report.markdown import report_markdown
from bot.report.markdown import title as report_title
from bot.review.mirror import fetch_under_lock
from bot.service.job import Follow, Services, job
from bot.service.jobs.gather import gather_report
from bot.service.jobs.repository import open_pulls_rule, repository_config
from bot.service.report_schedule import reported_week
from bot.store import PublishedReport

logger = logging.getLogger(__name__)


@job
def weekly_report(
    services: Services, installation: int, repository: str, week: str | None = None
) -> Follow:
    """Build a repository's weekly report and publish it as its report issue (edited, never
    posted twice for a week), and as an HTML page in the report directory if one is set."""
    client = services.client(installation)
    info = client.repository(repository)
    repo = fetch_under_lock(services.store, services.mirror_dir, client, repository, info)
    pulls = client.open_pulls(repository)
    rule = open_pulls_rule(p.number for p in pulls)
    now = services.now()
    config = repository_config(repo, info.default_branch, repository)
    start = week_named(week) if week else reported_week(now, config.report.weekday)
    # The clone address comes from GitHub itself: its host is GitHub's (github.com or a GHES).
    hosts = tuple(h for h in (GITHUB, web_host(info.clone_url)) if h is not None)
    gathered = gather_report(
        services.store,
        repository,
        repo,
        now,
        start,
        hosts=hosts,
        pulls=rule,
        trunk=info.default_branch,
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
        published_at = datetime.fromtimestamp(now, UTC)
        store.save_report(repository, PublishedReport(report.week, number, digest), published_at)
    logger.info("weekly report published: %s %s in #%d", repository, report.week, number)
    return []
