"""What the jobs leave in the store: reports published, nudges posted, jobs given up on."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bot.store.engine import Database, aware, upsert
from bot.store.models import FailedJob, Nudge, Report, Repository
from bot.store.records import FailedJobRecord, PublishedReport


class JobRecords(Database):
    """Weekly reports, nudges and failed jobs."""

    def report(self, repository: str, week: str) -> PublishedReport | None:
        """Return the report published for an ISO week (e.g. 2026-W48), if any."""
        with self._errors(), Session(self.engine) as session:
            row = session.scalar(
                select(Report)
                .join(Repository, Report.repository_id == Repository.id)
                .where(Repository.name == repository, Report.week == week)
            )
            return None if row is None else PublishedReport(row.week, row.issue_number, row.digest)

    def last_report_week(self, repository: str) -> str | None:
        """Return the newest week with a published report (e.g. 2026-W48), if any."""
        with self._errors(), Session(self.engine) as session:
            return session.scalar(
                select(func.max(Report.week))
                .join(Repository, Report.repository_id == Repository.id)
                .where(Repository.name == repository)
            )

    def last_report_issue(self, repository: str) -> int | None:
        """Return the issue that holds the newest published report, if any."""
        with self._errors(), Session(self.engine) as session:
            return session.scalar(
                select(Report.issue_number)
                .join(Repository, Report.repository_id == Repository.id)
                .where(Repository.name == repository, Report.issue_number.is_not(None))
                .order_by(Report.week.desc())
                .limit(1)
            )

    def save_report(self, repository: str, published: PublishedReport, at: datetime) -> None:
        """Keep that a week's report was published (insert, or replace that week's row)."""
        values = {
            "issue_number": published.issue_number,
            "digest": published.digest,
            "published_at": at,
        }
        statement = upsert(self.engine.dialect.name, Report, ["repository_id", "week"], values)
        with self._errors(), Session(self.engine) as session, session.begin():
            repository_id = self._repository_id(session, repository, at)
            session.execute(
                statement.values(repository_id=repository_id, week=published.week, **values)
            )

    def claim_nudge(self, repository: str, number: int, head_sha: str, at: datetime) -> bool:
        """Claim the nudge of a pull request's idle stretch (its head); False if already done."""
        with self._errors(), Session(self.engine) as session, session.begin():
            repository_id = self._repository_id(session, repository, at)
            claimed = session.execute(
                upsert(self.engine.dialect.name, Nudge)
                .values(repository_id=repository_id, number=number, head_sha=head_sha, nudged_at=at)
                .returning(Nudge.id)
            ).first()
            return claimed is not None

    def release_nudge(self, repository: str, number: int, head_sha: str) -> None:
        """Give a claimed nudge back (it could not be posted), so a later run tries again."""
        with self._errors(), Session(self.engine) as session, session.begin():
            repository_id = self._repository_id(session, repository, datetime.now(UTC))
            session.execute(
                delete(Nudge).where(
                    Nudge.repository_id == repository_id,
                    Nudge.number == number,
                    Nudge.head_sha == head_sha,
                )
            )

    def save_failed_job(self, failed: FailedJobRecord, at: datetime) -> int:
        """Keep a job given up on, for `trunkguard jobs failed`; return its id."""
        with self._errors(), Session(self.engine) as session, session.begin():
            row = FailedJob(
                key=failed.key,
                name=failed.name,
                arguments=dict(failed.arguments),
                delivery=failed.delivery,
                attempts=failed.attempts,
                error=failed.error[:4000],
                failed_at=at,
            )
            session.add(row)
            session.flush()
            return row.id

    def failed_jobs(self, limit: int = 100, include_retried: bool = False) -> list[FailedJobRecord]:
        """The jobs given up on, newest first (those sent again left out unless asked for)."""
        query = select(FailedJob).order_by(FailedJob.failed_at.desc(), FailedJob.id.desc())
        if not include_retried:
            query = query.where(FailedJob.retried_at.is_(None))
        with self._errors(), Session(self.engine) as session:
            return [_failed_job(r) for r in session.scalars(query.limit(limit))]

    def failed_job(self, failed_id: int) -> FailedJobRecord | None:
        """One job given up on, by its id."""
        with self._errors(), Session(self.engine) as session:
            row = session.get(FailedJob, failed_id)
            return _failed_job(row) if row is not None else None

    def mark_failed_job_retried(self, failed_id: int, at: datetime) -> bool:
        """Note that a failed job was sent again; False if there is no such unsent one."""
        with self._errors(), self.engine.begin() as connection:
            done = connection.execute(
                update(FailedJob)
                .where(FailedJob.id == failed_id, FailedJob.retried_at.is_(None))
                .values(retried_at=at)
                .returning(FailedJob.id)
            ).first()
            return done is not None


def _failed_job(row: FailedJob) -> FailedJobRecord:
    return FailedJobRecord(
        row.key,
        row.name,
        row.arguments,
        row.delivery,
        row.attempts,
        row.error,
        row.id,
        aware(row.failed_at),
        aware(row.retried_at) if row.retried_at else None,
    )
