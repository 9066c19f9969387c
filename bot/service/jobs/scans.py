"""Scan jobs: a repository's figures measured and kept (and when its report is due), every
installed repository's each night, and when its report is due after a push to its trunk."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from analyzers.resolve.labels import label_active
from bot.review.mirror import fetch_under_lock
from bot.service.job import Follow, Job, Services, job
from bot.service.jobs.repository import open_pulls_rule, repository_config
from bot.service.report_schedule import report_schedule
from bot.service.scanning import forecast_and_store, scan_and_store

logger = logging.getLogger(__name__)


@job
def scan_repository(services: Services, installation: int, repository: str) -> Follow:
    """Fetch a repository's mirror, scan it and forecast its conflicts (the open pull
    requests deciding which heads count), keep the figures and when its report is due; then
    nudge its idle pull requests if its config asks for that."""
    client = services.client(installation)
    info = client.repository(repository)
    repo = fetch_under_lock(services.store, services.mirror_dir, client, repository, info)
    rule = open_pulls_rule(p.number for p in client.open_pulls(repository))
    now = services.now()
    config = repository_config(repo, info.default_branch, repository)
    found, _ = scan_and_store(
        services.store, repository, repo, now, pulls=rule, trunk=info.default_branch
    )
    forecast_and_store(
        services.store,
        repository,
        repo,
        found,
        now,
        active_days=config.forecast.active_days,
        label=lambda predicted: label_active(repo, predicted, config.resolve.trusted),
    )
    services.store.set_report_schedule(repository, report_schedule(config.report))
    if not config.nudges.enabled:
        return []
    return [Job("nudge_idle_pulls", {"installation": installation, "repository": repository})]


@job
def follow_report_schedule(services: Services, installation: int, repository: str) -> Follow:
    """Keep when a repository's report is due as its config on the default branch says now (a
    push to that branch may have moved the day or time); the scheduler follows the store."""
    client = services.client(installation)
    info = client.repository(repository)
    repo = fetch_under_lock(services.store, services.mirror_dir, client, repository, info)
    config = repository_config(repo, info.default_branch, repository)
    services.store.set_report_schedule(repository, report_schedule(config.report))
    return []


@job
def nightly_scans(services: Services) -> Follow:
    """Scan every repository an installation covers (the scheduler asks for this nightly);
    forget the webhook deliveries too old to be redelivered."""
    pruned = services.store.prune_deliveries(datetime.fromtimestamp(services.now(), UTC))
    logger.info("old webhook deliveries forgotten", extra={"deliveries": pruned})
    return [
        Job("scan_repository", {"installation": r.installation, "repository": r.name})
        for r in services.store.installed_repositories()
    ]
