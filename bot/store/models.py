"""Tables of the metrics store: every scan kept, named and indexed for the trend queries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SHA = String(64)  # room for SHA-256 object ids
NULLABLE_JSON = JSON(none_as_null=True)  # None is SQL NULL, not the JSON value null


class Base(DeclarativeBase):
    """Declarative base of every table."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Repository(Base):
    """A repository trunkguard has looked at (a path or a URL), and its GitHub installation."""

    __tablename__ = "repositories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(1024), unique=True)
    installation_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # When its weekly report is due, from its config: {"weekday", "time", "timezone"}.
    report_schedule: Mapped[dict[str, Any] | None] = mapped_column(NULLABLE_JSON)


class Scan(Base):
    """One run of `scan` or `conflicts` over a repository: when, how it ended, against what."""

    __tablename__ = "scans"
    __table_args__ = (Index("ix_scans_repository_measured", "repository_id", "measured_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # "scan" or "conflicts"
    status: Mapped[str] = mapped_column(String(16))  # "succeeded" or "failed"
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    measured_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # the scan's "now"
    trunk_name: Mapped[str | None] = mapped_column(String(1024))
    trunk_head: Mapped[str | None] = mapped_column(SHA)
    # a forecast whose conflicts on active branches were all labelled: the engine's rules
    labelled_with: Mapped[list[Any] | None] = mapped_column(NULLABLE_JSON)


class BranchSnapshot(Base):
    """One branch as one scan found it: every figure of `trunkguard scan --json`."""

    __tablename__ = "branch_snapshots"
    __table_args__ = (UniqueConstraint("scan_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(1024))
    ref: Mapped[str] = mapped_column(String(1024))
    head: Mapped[str] = mapped_column(SHA)
    ahead: Mapped[int]
    behind: Mapped[int]
    merge_base: Mapped[str | None] = mapped_column(SHA)
    merge_base_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    age_seconds: Mapped[int] = mapped_column(BigInteger)
    base_age_seconds: Mapped[int | None] = mapped_column(BigInteger)
    idle_seconds: Mapped[int] = mapped_column(BigInteger)
    authors: Mapped[list[Any]]
    # None where an object the figure needs is missing; `unknown` says which and why.
    files_changed: Mapped[int | None]
    lines_added: Mapped[int | None] = mapped_column(BigInteger)
    lines_deleted: Mapped[int | None] = mapped_column(BigInteger)
    trunk_files_changed: Mapped[int | None]
    overlap_files: Mapped[list[Any] | None] = mapped_column(NULLABLE_JSON)
    pull_requests: Mapped[list[Any] | None] = mapped_column(NULLABLE_JSON)
    unknown: Mapped[list[Any] | None] = mapped_column(NULLABLE_JSON)  # [{"figures", "reason"}]
    last_author: Mapped[str | None] = mapped_column(String(1024))


class PredictedConflict(Base):
    """A conflict a forecast predicted: a branch with trunk (other is None) or a pair."""

    __tablename__ = "predicted_conflicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    branch: Mapped[str] = mapped_column(String(1024))
    other: Mapped[str | None] = mapped_column(String(1024))
    head: Mapped[str] = mapped_column(SHA)
    other_head: Mapped[str | None] = mapped_column(SHA)
    trunk_head: Mapped[str] = mapped_column(SHA)
    engine_version: Mapped[int]
    conflicts: Mapped[list[Any]]  # [{"path", "kind", "ours_ranges", "theirs_ranges"}]
    # The merge could not be done: {"figures", "reason", "object"}.
    unknown: Mapped[dict[str, Any] | None] = mapped_column(NULLABLE_JSON)


class MergeCacheEntry(Base):
    """A trial merge's result, which never changes for the same ids and engine."""

    __tablename__ = "merge_cache"

    base: Mapped[str] = mapped_column(SHA, primary_key=True)
    ours: Mapped[str] = mapped_column(SHA, primary_key=True)
    theirs: Mapped[str] = mapped_column(SHA, primary_key=True)
    # analyzers.mergejobs.engine_id(): engine version, libgit2's and git's, as workers may differ.
    engine: Mapped[str] = mapped_column(String(128), primary_key=True)
    result: Mapped[dict[str, Any]]


class MergedWork(Base):
    """A merge on trunk's first-parent line and the work it brought (see analyzers.history)."""

    __tablename__ = "merged_work"
    __table_args__ = (
        UniqueConstraint("repository_id", "merge_commit"),
        Index("ix_merged_work_repository_landed", "repository_id", "landed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    merge_commit: Mapped[str] = mapped_column(SHA)
    landed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    first_commit_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lifetime_seconds: Mapped[int] = mapped_column(BigInteger)
    commits: Mapped[int]
    files_changed: Mapped[int]
    lines_added: Mapped[int | None] = mapped_column(BigInteger)
    lines_deleted: Mapped[int | None] = mapped_column(BigInteger)
    conflicted: Mapped[bool | None]  # None: the replay lacked an object
    first_warning_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PullRequest(Base):
    """A pull request as the GitHub side last saw it, with our check run and comment ids."""

    __tablename__ = "pull_requests"
    __table_args__ = (UniqueConstraint("repository_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    number: Mapped[int]
    state: Mapped[str] = mapped_column(String(16))
    head_ref: Mapped[str] = mapped_column(String(1024))
    head_sha: Mapped[str] = mapped_column(SHA)
    check_run_id: Mapped[int | None] = mapped_column(BigInteger)
    comment_id: Mapped[int | None] = mapped_column(BigInteger)
    # What was last posted (sha256 of it), so that an unchanged result costs no API call.
    check_digest: Mapped[str | None] = mapped_column(String(64))
    comment_digest: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebhookDelivery(Base):
    """A webhook delivery already handled, so that GitHub's redeliveries are not acted on twice."""

    __tablename__ = "webhook_deliveries"

    delivery_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Report(Base):
    """A weekly report published on GitHub: which issue holds it, and a digest of its text."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("repository_id", "week"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    week: Mapped[str] = mapped_column(String(8))  # ISO week, e.g. 2026-W48
    issue_number: Mapped[int | None] = mapped_column(BigInteger)
    digest: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Nudge(Base):
    """A nudge posted on an idle pull request: one per head commit, so one per idle stretch."""

    __tablename__ = "nudges"
    __table_args__ = (UniqueConstraint("repository_id", "number", "head_sha"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    number: Mapped[int]
    head_sha: Mapped[str] = mapped_column(SHA)
    comment_id: Mapped[int | None] = mapped_column(BigInteger)
    nudged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FailedJob(Base):
    """A job given up on (its tries spent, or a bug): the dead letter an operator looks at."""

    __tablename__ = "failed_jobs"
    __table_args__ = (Index("ix_failed_jobs_failed_at", "failed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    arguments: Mapped[dict[str, Any]] = mapped_column(JSON)
    delivery: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int]
    error: Mapped[str] = mapped_column(Text)
    failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    retried_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
