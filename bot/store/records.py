"""What the store hands back and takes: frozen records, free of SQLAlchemy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from analyzers.divergence import BranchReport


@dataclass(frozen=True)
class FailedJobRecord:
    """A job given up on: what it was, how often it was tried and the last error."""

    key: str
    name: str
    arguments: dict[str, Any]
    delivery: str | None
    attempts: int
    error: str
    id: int | None = None
    failed_at: datetime | None = None
    retried_at: datetime | None = None


@dataclass(frozen=True)
class StoredScan:
    """A stored scan: when it measured, trunk's name, and the branches as they were."""

    measured_at: int
    trunk: str
    branches: tuple[BranchReport, ...]


@dataclass(frozen=True)
class StoredForecast:
    """A stored forecast: branches in conflict with trunk, and pairs of branches in conflict,
    each with the paths (merges whose outcome was unknown left out)."""

    measured_at: int
    with_trunk: dict[str, tuple[str, ...]]
    pairs: tuple[tuple[str, str, tuple[str, ...]], ...]
    # of the conflicted paths on active branches: how many a machine resolves, how many need
    # a person (None: the forecast was not labelled whole)
    labelled: tuple[int, int] | None = None


@dataclass(frozen=True)
class InstalledRepository:
    """A repository an App installation covers, and when its report is due (None: not known
    yet, the defaults apply)."""

    name: str
    installation: int
    report_schedule: dict[str, str] | None


@dataclass(frozen=True)
class PublishedReport:
    """A week's report as published: the issue holding it and a digest of its text."""

    week: str
    issue_number: int | None
    digest: str


@dataclass(frozen=True)
class PullRecord:
    """A pull request as trunkguard last saw it, and what it last posted there."""

    number: int
    state: str
    head_ref: str
    head_sha: str
    check_run_id: int | None = None
    comment_id: int | None = None
    check_digest: str | None = None
    comment_digest: str | None = None
