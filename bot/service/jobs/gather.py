"""The weekly report's figures: today's measured and stored, trunk's history mined, the week's
stored figures read. Apart from the job that publishes the report (bot.service.jobs.reports),
so that `trunkguard report` and `trends` load no GitHub or web library."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pygit2

from analyzers.divergence import Progress, ScanReport
from analyzers.history import History, PaidConflict, history
from analyzers.refs import Inventory
from analyzers.survey import survey
from analyzers.trends import WEEK, OpenWork, WeekFigures, week_start, weekly_trends
from analyzers.trunk import TrunkIndex
from bot.errors import TrunkguardError
from bot.mirrors.promisor import fetch_objects
from bot.policy import RepositoryConfig
from bot.report.links import GITHUB, github_home
from bot.report.weekly import TREND_WEEKS, PaidResolution, WeeklyReport, build_report
from bot.review.repo_config import config_at
from bot.service.scanning import forecast_and_store, scan_and_store
from bot.text import DAY
from config import defaults

if TYPE_CHECKING:
    from bot.store import Store


class ReportError(TrunkguardError):
    """A report that cannot be made: a week in the future, a repository without commits."""


def limit_days(config: RepositoryConfig | None = None) -> int:
    """Days after which a branch is over the limit: the failing age, else the warning age."""
    if config is not None:
        age = config.policy.age
        chosen = age.fail_days or age.warn_days
        if chosen is not None:
            return chosen
    return int(defaults()["policy"]["age"]["fail_days"])


def mine_weeks(
    repo: pygit2.Repository,
    found: Inventory,
    now: int,
    weeks: int,
    scanned: dict[int, list[int]],
    predicted: dict[int, int],
    limit: int,
    report: ScanReport | None = None,
    progress: Progress | None = None,
) -> tuple[tuple[WeekFigures, ...], History]:
    """Mine trunk's history and today's branches into weekly figures up to the week of `now`
    (weeks with a stored scan use it); also return the history mined."""
    assert found.trunk is not None
    index = TrunkIndex(repo, found.trunk.target)
    if report is None:
        report = survey(repo, found, now)
    mined = history(
        repo, index, week_start(now) - weeks * WEEK, progress=progress, fetcher=fetch_objects
    )
    open_work = [OpenWork(w.first_commit_at, w.landed_at) for w in mined.merged]
    open_work += [OpenWork(report.now - b.age_seconds, None) for b in report.branches if b.ahead]
    figures = weekly_trends(now, weeks, limit * DAY, mined, open_work, scanned, predicted)
    return figures, mined


def kept_trends(
    store: Store,
    name: str,
    repo: pygit2.Repository,
    found: Inventory,
    now: int,
    weeks: int,
    limit: int,
    report: ScanReport | None = None,
    progress: Progress | None = None,
) -> tuple[tuple[WeekFigures, ...], History]:
    """Weekly figures from the store's scans and forecasts, the weeks before them mined from
    trunk's history; the merged work mined is kept in the store."""
    scanned, predicted = store.weekly_ages(name), store.weekly_predicted(name)
    figures, mined = mine_weeks(
        repo, found, now, weeks, scanned, predicted, limit, report, progress
    )
    store.save_merged_work(name, mined.merged)
    return figures, mined


@dataclass(frozen=True)
class Gathered:
    """A week's report, and the repository configuration it followed."""

    report: WeeklyReport
    config: RepositoryConfig


def gather_report(
    store: Store,
    name: str,
    repo: pygit2.Repository,
    now: int,
    week: int | None = None,
    progress: Progress | None = None,
    hosts: tuple[str, ...] = (GITHUB,),
    **choose: Any,
) -> Gathered:
    """Build the report of the ISO week starting at `week` (default: the week of `now`); it
    links to the repository if its remote is on one of the GitHub `hosts`.

    Today's scan is stored first (and, for the current week, today's forecast), so that the
    report is read from stored figures like any other week's; trunk's history fills the weeks
    before the first stored scan, and the merged work it finds is kept too.
    """
    current = week_start(now)
    start = current if week is None else week
    if start > current:
        raise ReportError("that week has not begun yet")
    found, today = scan_and_store(store, name, repo, now, **choose)
    if found.trunk is None:
        raise ReportError(f"{name}: the repository has no commits yet")
    config = config_at(repo, repo[found.trunk.target].peel(pygit2.Commit))
    if start == current:
        days = config.forecast.active_days
        from analyzers.resolve.labels import label_active

        trusted = config.resolve.trusted
        forecast_and_store(
            store, name, repo, found, now, None, days, lambda x: label_active(repo, x, trusted)
        )
    end = min(start + WEEK - 1, now)
    limit = limit_days(config)
    weeks, mined = kept_trends(store, name, repo, found, end, TREND_WEEKS, limit, today, progress)
    scanned = store.week_scan(name, start)
    predicted = store.week_forecast(name, start)
    settings = config.report
    report = build_report(
        name,
        weeks,
        now,
        mined.paid,
        None if scanned is None else scanned.branches,
        None if scanned is None else scanned.measured_at,
        None if predicted is None else predicted.with_trunk,
        () if predicted is None else predicted.pairs,
        None if predicted is None else predicted.measured_at,
        limit_days=limit,
        stale_days=settings.stale_days,
        idle_days=config.nudges.idle_days,
        mention_authors=settings.mention_authors,
        home=github_home(None if Path(name).exists() else name, _origin(repo), hosts),
        release_lines=today.release_lines,
        resolutions=paid_resolutions(repo, mined.paid, weeks[0].start, config.resolve.trusted),
        forecast_split=None if predicted is None else predicted.labelled,
    )
    return Gathered(report, config)


def paid_resolutions(
    repo: pygit2.Repository, paid: Sequence[PaidConflict], since: int, rules: tuple[str, ...]
) -> list[PaidResolution]:
    """What the resolution engine (`rules`) says of each path paid since `since`,
    from what the person who merged met: the merge's two parents and their merge base."""
    from analyzers.conflicts import Conflict, ConflictKind
    from analyzers.resolve.labels import label_merges
    from analyzers.resolve.records import NeedsPerson, Resolved

    recent = [p for p in paid if p.merged_at >= since]
    asked = [(p.merge_commit, [Conflict(x, ConflictKind.CONTENT) for x in p.paths]) for p in recent]
    said = label_merges(repo, asked, rules)
    out = []
    for p in recent:
        for path in p.paths:
            outcome = said.get((p.merge_commit, path))
            if isinstance(outcome, Resolved):
                out.append(PaidResolution(p.merge_commit, p.merged_at, path, outcome.rule))
            elif isinstance(outcome, NeedsPerson):
                level = outcome.grade.level
                out.append(PaidResolution(p.merge_commit, p.merged_at, path, None, level))
    return out


def _origin(repo: pygit2.Repository) -> str | None:
    """The URL of the remote named origin, if there is one."""
    names = list(repo.remotes.names())
    return repo.remotes["origin"].url if "origin" in names else None
