"""The GitHub App's state in the store: webhook deliveries, installations, pull requests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.store.engine import Database, upsert
from bot.store.models import PullRequest, Repository, WebhookDelivery
from bot.store.records import InstalledRepository, PullRecord

# How long a delivery's id is kept to recognise a redelivery. Only deliveries of the past
# 3 days can be redelivered (7 on GitHub Enterprise Server; "Redelivering webhooks",
# docs.github.com), by hand or by a script; a month covers that with room to spare.
KEEP_DELIVERIES_DAYS = 30


class AppState(Database):
    """Deliveries handled, the repositories each installation covers, pull requests seen."""

    def record_delivery(self, delivery_id: str, event: str, received: datetime) -> bool:
        """Keep a webhook delivery's id; False if it was already kept (a redelivery)."""
        row = {"delivery_id": delivery_id, "event": event, "received_at": received}
        # RETURNING tells whether the row went in: psycopg's rowcount does not, here.
        statement = (
            upsert(self.engine.dialect.name, WebhookDelivery)
            .values(**row)
            .returning(WebhookDelivery.delivery_id)
        )
        with self._errors(), self._one_writer, self.engine.begin() as connection:
            return connection.execute(statement).first() is not None

    def forget_delivery(self, delivery_id: str) -> None:
        """Drop a delivery's id (its jobs could not be queued), so that a redelivery is acted on."""
        with self._errors(), self.engine.begin() as connection:
            connection.execute(
                delete(WebhookDelivery).where(WebhookDelivery.delivery_id == delivery_id)
            )

    def prune_deliveries(self, now: datetime, keep_days: int = KEEP_DELIVERIES_DAYS) -> int:
        """Forget the deliveries received more than `keep_days` before `now`; return how many."""
        cutoff = now - timedelta(days=keep_days)
        with self._errors(), self._one_writer, self.engine.begin() as connection:
            deleted = connection.execute(
                delete(WebhookDelivery).where(WebhookDelivery.received_at < cutoff)
            )
            return int(deleted.rowcount)

    def register_installation(self, installation_id: int, repositories: Sequence[str]) -> None:
        """Note that an App installation covers these repositories (by full name)."""
        if not repositories:
            return
        now = datetime.now(UTC)
        with self._errors(), Session(self.engine) as session, session.begin():
            for name in repositories:
                self._repository_id(session, name, now)
            session.execute(
                update(Repository)
                .where(Repository.name.in_(list(repositories)))
                .values(installation_id=installation_id)
            )

    def forget_installation(self, installation_id: int, repositories: Sequence[str] | None) -> int:
        """Unlink repositories from an installation (all of them if None); their figures stay.

        Returns how many repositories were unlinked.
        """
        statement = update(Repository).where(Repository.installation_id == installation_id)
        if repositories is not None:
            statement = statement.where(Repository.name.in_(list(repositories)))
        with self._errors(), self.engine.begin() as connection:
            return int(connection.execute(statement.values(installation_id=None)).rowcount)

    def repositories_of(self, installation_id: int) -> list[str]:
        """Return the repositories an App installation covers, by name."""
        with self._errors(), Session(self.engine) as session:
            return list(
                session.scalars(
                    select(Repository.name)
                    .where(Repository.installation_id == installation_id)
                    .order_by(Repository.name)
                )
            )

    def installation_of(self, repository: str) -> int | None:
        """Return the App installation that covers a repository, if any."""
        with self._errors(), Session(self.engine) as session:
            return session.scalar(
                select(Repository.installation_id).where(Repository.name == repository)
            )

    def installed_repositories(self) -> list[InstalledRepository]:
        """Return every repository an App installation covers, with its report schedule."""
        with self._errors(), Session(self.engine) as session:
            rows = session.execute(
                select(Repository.name, Repository.installation_id, Repository.report_schedule)
                .where(Repository.installation_id.is_not(None))
                .order_by(Repository.name)
            ).all()
            return [InstalledRepository(name, int(i), schedule) for name, i, schedule in rows]

    def set_report_schedule(self, repository: str, schedule: dict[str, str]) -> None:
        """Keep when a repository's weekly report is due (weekday, time, timezone)."""
        with self._errors(), Session(self.engine) as session, session.begin():
            repository_id = self._repository_id(session, repository, datetime.now(UTC))
            session.execute(
                update(Repository)
                .where(Repository.id == repository_id)
                .values(report_schedule=schedule)
            )

    def pull_request(self, repository: str, number: int) -> PullRecord | None:
        """Return what was last posted on a pull request, if anything."""
        with self._errors(), Session(self.engine) as session:
            row = session.scalar(
                select(PullRequest)
                .join(Repository, PullRequest.repository_id == Repository.id)
                .where(Repository.name == repository, PullRequest.number == number)
            )
            return None if row is None else _pull_record(row)

    def pull_requests(self, repository: str, state: str = "open") -> list[PullRecord]:
        """Return the pull requests of a repository last seen in `state`, by number."""
        with self._errors(), Session(self.engine) as session:
            rows = session.scalars(
                select(PullRequest)
                .join(Repository, PullRequest.repository_id == Repository.id)
                .where(Repository.name == repository, PullRequest.state == state)
                .order_by(PullRequest.number)
            )
            return [_pull_record(row) for row in rows]

    def save_pull_request(self, repository: str, record: PullRecord) -> None:
        """Keep what was posted on a pull request (insert, or replace the earlier row)."""
        now = datetime.now(UTC)
        values = {
            "state": record.state,
            "head_ref": record.head_ref,
            "head_sha": record.head_sha,
            "check_run_id": record.check_run_id,
            "comment_id": record.comment_id,
            "check_digest": record.check_digest,
            "comment_digest": record.comment_digest,
            "updated_at": now,
        }
        statement = upsert(
            self.engine.dialect.name, PullRequest, ["repository_id", "number"], values
        )
        with self._errors(), Session(self.engine) as session, session.begin():
            repository_id = self._repository_id(session, repository, now)
            session.execute(
                statement.values(repository_id=repository_id, number=record.number, **values)
            )


def _pull_record(row: PullRequest) -> PullRecord:
    return PullRecord(
        row.number,
        row.state,
        row.head_ref,
        row.head_sha,
        row.check_run_id,
        row.comment_id,
        row.check_digest,
        row.comment_digest,
    )
