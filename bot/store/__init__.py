"""The metrics store: SQLite by default, PostgreSQL at scale; one transaction per scan."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import (
    Engine,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from analyzers.divergence import BranchReport, ScanReport
from analyzers.forecast import Forecast
from analyzers.history import MergedWork as MergedWorkRecord
from analyzers.merges import ENGINE_VERSION, Conflict, ConflictKind, MergeKey, MergeResult
from analyzers.missing import Unknown
from analyzers.trends import week_start
from bot.errors import Unavailable
from bot.store.migrations import HEAD
from bot.store.models import (
    BranchSnapshot,
    FailedJob,
    MergeCacheEntry,
    MergedWork,
    Nudge,
    PredictedConflict,
    PullRequest,
    Report,
    Repository,
    Scan,
    WebhookDelivery,
)

logger = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"


class StoreError(Unavailable):
    """The database cannot be used: unreachable, wrong schema, read-only, full."""


def default_url() -> str:
    """Return the default database: a SQLite file in the user's data directory."""
    folder = Path(platformdirs.user_data_dir("trunkguard"))
    return f"sqlite:///{folder / 'trunkguard.db'}"


def database_url(option: str | None) -> str:
    """Pick the database: --db, else TRUNKGUARD_DATABASE_URL, else the default SQLite file."""
    return option or os.environ.get("TRUNKGUARD_DATABASE_URL") or default_url()


def _engine_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise StoreError(f"'{url}' is not a database URL (e.g. sqlite:///path.db)") from error
    if parsed.drivername in ("postgresql", "postgres"):
        # psycopg 3 is the driver we install; SQLAlchemy's default for the bare name is psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername.split("+")[0] not in ("sqlite", "postgresql"):
        raise StoreError(f"unsupported database '{parsed.drivername}': use sqlite or postgresql")
    return parsed


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets scans read while another writes; concurrent writers wait instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _describe(error: SQLAlchemyError, shown: str) -> str:
    text = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    lowered = text.lower()
    if "readonly" in lowered or "read-only" in lowered or "read only" in lowered:
        return f"the database {shown} is read-only: {text}"
    if "disk is full" in lowered or "no space left" in lowered:
        return f"the disk holding {shown} is full: {text}"
    return f"database {shown}: {text}"


class Store:
    """A connection to the metrics store, checked to have the schema this trunkguard needs."""

    def __init__(self, url: str) -> None:
        self.url = _engine_url(url)
        self.shown = make_url(url).render_as_string(hide_password=True)
        if self.url.drivername.startswith("sqlite") and self.url.database:
            try:
                Path(self.url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise StoreError(f"cannot create {self.url.database}: {error}") from error
        # pre_ping: after a database restart or failover, a pooled connection that died is
        # replaced on its next use instead of failing one request per dead connection.
        self.engine: Engine = create_engine(self.url, pool_pre_ping=True)
        # SQLite takes one writer at a time and makes the others sleep and retry, up to 100 ms
        # a try: the webhook's threads queue on a lock instead (PostgreSQL needs none).
        self._one_writer: AbstractContextManager[Any] = nullcontext()
        if self.url.drivername.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
            self._one_writer = threading.Lock()

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except DBAPIError as error:
            raise StoreError(_describe(error, self.shown)) from error
        except SQLAlchemyError as error:
            raise StoreError(_describe(error, self.shown)) from error

    def _config(self, connection: Any) -> Any:
        # Alembic is imported only to migrate: loading it costs more than a whole scan's writes.
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        return config

    def revisions(self) -> tuple[str | None, str]:
        """Return the database's schema revision (None: no schema yet) and this code's."""
        with self._errors(), self.engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None, HEAD
            current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return current, HEAD

    def upgrade(self) -> tuple[str | None, str]:
        """Bring the schema to this code's revision; return the revisions before and after."""
        from alembic import command

        before, head = self.revisions()
        self._refuse_newer(before)
        with self._errors(), self.engine.begin() as connection:
            command.upgrade(self._config(connection), "head")
        return before, head

    def _refuse_newer(self, current: str | None) -> None:
        if current is None:
            return
        from alembic.script import ScriptDirectory
        from alembic.util import CommandError

        try:
            known = ScriptDirectory.from_config(self._config(None)).get_revision(current)
        except CommandError:
            known = None
        if known is None:
            raise StoreError(
                f"the database {self.shown} has schema revision {current}, newer than "
                "this trunkguard knows: upgrade trunkguard"
            )

    def ready(self) -> Store:
        """Check the schema: create it in a new database, refuse one that is behind or newer."""
        current, head = self.revisions()
        if current == head:
            return self
        self._refuse_newer(current)
        with self._errors(), self.engine.connect() as connection:
            has_tables = bool(inspect(connection).get_table_names())
        if current is None and not has_tables:
            logger.info("creating the store", extra={"database": self.shown})
            self.upgrade()
            return self
        raise StoreError(
            f"the database {self.shown} has schema revision {current or 'none'}, this "
            f"trunkguard needs {head}: run `trunkguard db upgrade`"
        )

    def _repository_id(self, session: Session, name: str, now: datetime) -> int:
        # Two scans of a new repository at once must not create it twice: insert or keep.
        values = {"name": name, "created_at": now}
        dialect = self.engine.dialect.name
        statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(Repository)
        session.execute(statement.values(**values).on_conflict_do_nothing(index_elements=["name"]))
        found = session.scalar(select(Repository.id).where(Repository.name == name))
        assert found is not None
        return found

    def _add_scan(
        self,
        session: Session,
        repository: str,
        kind: str,
        started: datetime,
        measured: datetime,
        **outcome: Any,
    ) -> int:
        """Add the row of one run (status, trunk or error in `outcome`); return its id."""
        finished = datetime.now(UTC)
        scan = Scan(
            repository_id=self._repository_id(session, repository, finished),
            kind=kind,
            started_at=started,
            finished_at=finished,
            measured_at=measured,
            **{"status": "succeeded", **outcome},
        )
        session.add(scan)
        session.flush()
        return scan.id

    def save_scan(self, repository: str, report: ScanReport, started: datetime) -> int:
        """Store a scan and all its branches in one transaction; return the scan's id."""
        with self._errors(), Session(self.engine) as session, session.begin():
            scan_id = self._add_scan(
                session,
                repository,
                "scan",
                started,
                _utc(report.now),
                trunk_name=report.trunk.name,
                trunk_head=report.trunk.head,
            )
            rows = [_snapshot(scan_id, b) for b in report.branches]
            if rows:
                session.execute(insert(BranchSnapshot), rows)
            return scan_id

    def prune(self, repository: str, keep_daily_days: int, now: datetime) -> int:
        """Thin scans older than `keep_daily_days` to the last one of each ISO week.

        Returns how many scans were removed (their branches and conflicts go with them).
        """
        cutoff = now.timestamp() - keep_daily_days * 86400
        with self._errors(), Session(self.engine) as session, session.begin():
            rows = session.execute(
                select(Scan.id, Scan.kind, Scan.measured_at)
                .join(Repository, Repository.id == Scan.repository_id)
                .where(Repository.name == repository)
                .order_by(Scan.measured_at, Scan.id)
            ).all()
            last_of_week: dict[tuple[str, tuple[int, int]], int] = {}
            for scan_id, kind, measured in rows:
                last_of_week[(kind, _week(_aware(measured)))] = scan_id
            keep = set(last_of_week.values())
            doomed = [
                scan_id
                for scan_id, _, measured in rows
                if _aware(measured).timestamp() < cutoff and scan_id not in keep
            ]
            if doomed:
                session.execute(delete(BranchSnapshot).where(BranchSnapshot.scan_id.in_(doomed)))
                session.execute(delete(Scan).where(Scan.id.in_(doomed)))
            return len(doomed)

    def _last_scan_of_each_week(
        self, session: Session, repository: str, kind: str
    ) -> dict[int, int]:
        rows = session.execute(
            select(Scan.id, Scan.measured_at)
            .join(Repository, Repository.id == Scan.repository_id)
            .where(Repository.name == repository, Scan.kind == kind, Scan.status == "succeeded")
            .order_by(Scan.measured_at, Scan.id)
        ).all()
        last: dict[int, int] = {}
        for scan_id, measured in rows:
            last[week_start(int(_aware(measured).timestamp()))] = scan_id
        return last

    def weekly_ages(self, repository: str) -> dict[int, list[int]]:
        """Ages of the open branches in each ISO week's last scan, keyed by week start."""
        with self._errors(), Session(self.engine) as session:
            last = self._last_scan_of_each_week(session, repository, "scan")
            ages: dict[int, list[int]] = {week: [] for week in last}
            by_scan = {scan_id: week for week, scan_id in last.items()}
            rows = session.execute(
                select(BranchSnapshot.scan_id, BranchSnapshot.age_seconds).where(
                    BranchSnapshot.scan_id.in_(list(by_scan)), BranchSnapshot.ahead > 0
                )
            )
            for scan_id, age in rows:
                ages[by_scan[scan_id]].append(age)
            return ages

    def weekly_predicted(self, repository: str) -> dict[int, int]:
        """Conflicts predicted by each ISO week's last forecast, keyed by week start."""
        with self._errors(), Session(self.engine) as session:
            last = self._last_scan_of_each_week(session, repository, "conflicts")
            counts = dict(
                session.execute(
                    select(PredictedConflict.scan_id, func.count())
                    .where(
                        PredictedConflict.scan_id.in_(list(last.values())),
                        PredictedConflict.unknown.is_(None),
                    )
                    .group_by(PredictedConflict.scan_id)
                ).all()
            )
            return {week: counts.get(scan_id, 0) for week, scan_id in last.items()}

    def save_forecast(
        self, repository: str, forecast: Forecast, now: int, started: datetime
    ) -> int:
        """Store a forecast's predicted conflicts in one transaction; return the scan's id."""
        heads = {x.branch: x.head for x in forecast.with_trunk}
        assert forecast.trunk_head is not None
        with self._errors(), Session(self.engine) as session, session.begin():
            scan_id = self._add_scan(
                session,
                repository,
                "conflicts",
                started,
                _utc(now),
                trunk_name=forecast.trunk,
                trunk_head=forecast.trunk_head,
            )
            common = {
                "scan_id": scan_id,
                "trunk_head": forecast.trunk_head,
                "engine_version": ENGINE_VERSION,
            }
            rows = [
                {
                    **common,
                    "branch": x.branch,
                    "other": None,
                    "head": x.head,
                    "other_head": None,
                    "conflicts": [_conflict(c) for c in x.conflicts],
                    "unknown": None if x.unknown is None else _unknown(x.unknown),
                }
                for x in forecast.with_trunk
                if x.conflicts or x.unknown
            ] + [
                {
                    **common,
                    "branch": p.a,
                    "other": p.b,
                    "head": heads[p.a],
                    "other_head": heads[p.b],
                    "conflicts": [_conflict(c) for c in p.conflicts],
                    "unknown": None if p.unknown is None else _unknown(p.unknown),
                }
                for p in (*forecast.pairs, *forecast.undecided)
            ]
            if rows:
                session.execute(insert(PredictedConflict), rows)
            return scan_id

    def merge_cache(self, trunk_tree: str) -> dict[MergeKey, MergeResult]:
        """Load the cached merges a forecast on `trunk_tree` can use (this engine version)."""
        with self._errors(), Session(self.engine) as session:
            rows = session.execute(
                select(MergeCacheEntry).where(
                    MergeCacheEntry.engine_version == ENGINE_VERSION,
                    (MergeCacheEntry.ours == trunk_tree) | (MergeCacheEntry.base == trunk_tree),
                )
            ).scalars()
            return {
                (r.base, r.ours, r.theirs, r.engine_version): _result_from_json(r.result)
                for r in rows
            }

    def add_to_merge_cache(self, entries: dict[MergeKey, MergeResult]) -> None:
        """Keep new merge results; a result for the same key never changes, so a clash is kept."""
        if not entries:
            return
        rows = [
            {
                "base": k[0],
                "ours": k[1],
                "theirs": k[2],
                "engine_version": k[3],
                "result": _result_to_json(v),
            }
            for k, v in entries.items()
        ]
        dialect = self.engine.dialect.name
        statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(MergeCacheEntry)
        with self._errors(), self.engine.begin() as connection:
            connection.execute(statement.on_conflict_do_nothing(), rows)

    def save_merged_work(self, repository: str, merged: Sequence[MergedWorkRecord]) -> int:
        """Keep mined merged work; a merge already kept is left as it is. Return how many new."""
        if not merged:
            return 0
        dialect = self.engine.dialect.name
        with self._errors(), Session(self.engine) as session, session.begin():
            repository_id = self._repository_id(session, repository, datetime.now(UTC))
            before = session.scalar(
                select(func.count())
                .select_from(MergedWork)
                .where(MergedWork.repository_id == repository_id)
            )
            rows = [
                {
                    "repository_id": repository_id,
                    "merge_commit": w.merge_commit,
                    "landed_at": _time(w.landed_at),
                    "first_commit_at": _time(w.first_commit_at),
                    "lifetime_seconds": w.lifetime_seconds,
                    "commits": w.commits,
                    "files_changed": w.files_changed,
                    "lines_added": w.lines_added,
                    "lines_deleted": w.lines_deleted,
                    "conflicted": w.conflicted,
                    "first_warning_at": _time(w.first_warning_at),
                }
                for w in merged
            ]
            statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(MergedWork)
            session.execute(statement.on_conflict_do_nothing(), rows)
            after = session.scalar(
                select(func.count())
                .select_from(MergedWork)
                .where(MergedWork.repository_id == repository_id)
            )
            return int(after or 0) - int(before or 0)

    def record_delivery(self, delivery_id: str, event: str, received: datetime) -> bool:
        """Keep a webhook delivery's id; False if it was already kept (a redelivery)."""
        dialect = self.engine.dialect.name
        insert_into = (pg_insert if dialect == "postgresql" else sqlite_insert)(WebhookDelivery)
        row = {"delivery_id": delivery_id, "event": event, "received_at": received}
        # RETURNING tells whether the row went in: psycopg's rowcount does not, here.
        statement = (
            insert_into.values(**row)
            .on_conflict_do_nothing()
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

    @contextmanager
    def lock(self, name: str, wait: float = 600.0) -> Iterator[None]:
        """Hold the lock called `name` across every process using this store, waiting up to
        `wait` seconds for it: a PostgreSQL advisory lock (let go when its holder's
        connection ends, so a killed worker never leaves it held), or a file lock beside a
        SQLite database (whose users all share its machine)."""
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        if self.engine.dialect.name == "postgresql":
            with self._errors(), self.engine.connect() as connection:
                connection.execute(text(f"SET lock_timeout = {int(wait * 1000)}"))
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
                connection.commit()
                try:
                    yield
                finally:
                    try:
                        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                        connection.execute(text("RESET lock_timeout"))
                        connection.commit()
                    except DBAPIError:  # the connection died: so did the lock
                        connection.invalidate()
            return
        folder = Path(self.url.database or ".").expanduser().parent / ".trunkguard-locks"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{key & 0xFFFFFFFFFFFF:012x}.lock", "a+b") as handle:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise StoreError(f"lock {name}: not had within {wait:.0f} s") from None
                    time.sleep(0.02)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

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
        dialect = self.engine.dialect.name
        with self._errors(), Session(self.engine) as session, session.begin():
            repository_id = self._repository_id(session, repository, now)
            statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(PullRequest)
            session.execute(
                statement.values(
                    repository_id=repository_id, number=record.number, **values
                ).on_conflict_do_update(index_elements=["repository_id", "number"], set_=values)
            )

    def week_scan(self, repository: str, week: int) -> StoredScan | None:
        """Return the last scan stored in the ISO week starting at `week`, with its branches."""
        with self._errors(), Session(self.engine) as session:
            scan_id = self._last_scan_of_each_week(session, repository, "scan").get(week)
            if scan_id is None:
                return None
            scan = session.get(Scan, scan_id)
            assert scan is not None
            rows = session.scalars(
                select(BranchSnapshot)
                .where(BranchSnapshot.scan_id == scan_id)
                .order_by(BranchSnapshot.name)
            )
            branches = tuple(_branch(row) for row in rows)
            measured = int(_aware(scan.measured_at).timestamp())
            return StoredScan(measured, scan.trunk_name or "", branches)

    def week_forecast(self, repository: str, week: int) -> StoredForecast | None:
        """Return the conflicts predicted by the last forecast stored in the ISO week at `week`."""
        with self._errors(), Session(self.engine) as session:
            scan_id = self._last_scan_of_each_week(session, repository, "conflicts").get(week)
            if scan_id is None:
                return None
            scan = session.get(Scan, scan_id)
            assert scan is not None
            rows = session.scalars(
                select(PredictedConflict)
                .where(PredictedConflict.scan_id == scan_id, PredictedConflict.unknown.is_(None))
                .order_by(PredictedConflict.branch, PredictedConflict.other)
            )
            with_trunk: dict[str, tuple[str, ...]] = {}
            pairs: list[tuple[str, str, tuple[str, ...]]] = []
            for row in rows:
                paths = tuple(sorted({c["path"] for c in row.conflicts}))
                if row.other is None:
                    with_trunk[row.branch] = paths
                else:
                    pairs.append((row.branch, row.other, paths))
            measured = int(_aware(scan.measured_at).timestamp())
            return StoredForecast(measured, with_trunk, tuple(pairs))

    def set_report_schedule(self, repository: str, schedule: dict[str, str]) -> None:
        """Keep when a repository's weekly report is due (weekday, time, timezone)."""
        with self._errors(), Session(self.engine) as session, session.begin():
            repository_id = self._repository_id(session, repository, datetime.now(UTC))
            session.execute(
                update(Repository)
                .where(Repository.id == repository_id)
                .values(report_schedule=schedule)
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
        dialect = self.engine.dialect.name
        with self._errors(), Session(self.engine) as session, session.begin():
            repository_id = self._repository_id(session, repository, at)
            statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(Report)
            session.execute(
                statement.values(
                    repository_id=repository_id, week=published.week, **values
                ).on_conflict_do_update(index_elements=["repository_id", "week"], set_=values)
            )

    def claim_nudge(self, repository: str, number: int, head_sha: str, at: datetime) -> bool:
        """Claim the nudge of a pull request's idle stretch (its head); False if already done."""
        dialect = self.engine.dialect.name
        with self._errors(), Session(self.engine) as session, session.begin():
            repository_id = self._repository_id(session, repository, at)
            statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(Nudge)
            claimed = session.execute(
                statement.values(
                    repository_id=repository_id, number=number, head_sha=head_sha, nudged_at=at
                )
                .on_conflict_do_nothing()
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

    def save_failure(self, repository: str, kind: str, error: str, started: datetime) -> int:
        """Record a scan that failed, with its error text, so that the history shows the gap."""
        with self._errors(), Session(self.engine) as session, session.begin():
            return self._add_scan(
                session, repository, kind, started, started, status="failed", error=error
            )


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


def _failed_job(row: FailedJob) -> FailedJobRecord:
    return FailedJobRecord(
        row.key,
        row.name,
        row.arguments,
        row.delivery,
        row.attempts,
        row.error,
        row.id,
        _aware(row.failed_at),
        _aware(row.retried_at) if row.retried_at else None,
    )


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every time stored here is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _week(moment: datetime) -> tuple[int, int]:
    year, week, _ = moment.isocalendar()
    return year, week


def _utc(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _time(timestamp: int | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)


def _snapshot(scan_id: int, b: BranchReport) -> dict[str, Any]:
    return {
        "scan_id": scan_id,
        "name": b.name,
        "ref": b.ref,
        "head": b.head,
        "ahead": b.ahead,
        "behind": b.behind,
        "merge_base": b.merge_base,
        "merge_base_time": _time(b.merge_base_time),
        "age_seconds": b.age_seconds,
        "base_age_seconds": b.base_age_seconds,
        "idle_seconds": b.idle_seconds,
        "authors": list(b.authors),
        "files_changed": b.files_changed,
        "lines_added": b.lines_added,
        "lines_deleted": b.lines_deleted,
        "trunk_files_changed": b.trunk_files_changed,
        "overlap_files": None if b.overlap_files is None else list(b.overlap_files),
        "pull_requests": list(b.pulls) or None,
        "unknown": [_unknown(gap) for gap in b.unknown] or None,
        "last_author": b.last_author,
    }


def _branch(row: BranchSnapshot) -> BranchReport:
    return BranchReport(
        name=row.name,
        ref=row.ref,
        head=row.head,
        ahead=row.ahead,
        behind=row.behind,
        merge_base=row.merge_base,
        merge_base_time=None
        if row.merge_base_time is None
        else int(_aware(row.merge_base_time).timestamp()),
        age_seconds=row.age_seconds,
        base_age_seconds=row.base_age_seconds,
        idle_seconds=row.idle_seconds,
        authors=tuple(row.authors),
        files_changed=row.files_changed,
        lines_added=row.lines_added,
        lines_deleted=row.lines_deleted,
        trunk_files_changed=row.trunk_files_changed,
        overlap_files=None if row.overlap_files is None else tuple(row.overlap_files),
        pulls=tuple(row.pull_requests or ()),
        unknown=tuple(
            Unknown(tuple(g["figures"]), g["reason"], g.get("object")) for g in row.unknown or ()
        ),
        last_author=row.last_author,
    )


def _unknown(gap: Unknown) -> dict[str, Any]:
    return {"figures": list(gap.figures), "reason": gap.reason, "object": gap.object_id}


def _conflict(conflict: Conflict) -> dict[str, Any]:
    return {
        "path": conflict.path,
        "kind": str(conflict.kind),
        "ours_ranges": [list(r) for r in conflict.ours_ranges],
        "theirs_ranges": [list(r) for r in conflict.theirs_ranges],
    }


def _result_to_json(result: MergeResult) -> dict[str, Any]:
    return {
        "conflicts": [_conflict(c) for c in result.conflicts],
        "tree": result.tree,
        "near": list(result.near),
        "changes": [list(change) for change in result.changes],
    }


def _result_from_json(data: dict[str, Any]) -> MergeResult:
    conflicts = tuple(
        Conflict(
            c["path"],
            ConflictKind(c["kind"]),
            tuple((a, b) for a, b in c["ours_ranges"]),
            tuple((a, b) for a, b in c["theirs_ranges"]),
        )
        for c in data["conflicts"]
    )
    changes = tuple((path, blob, mode) for path, blob, mode in data["changes"])
    return MergeResult(conflicts, data["tree"], tuple(data["near"]), changes)
