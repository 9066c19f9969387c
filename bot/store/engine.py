"""The store's database: its URL, engine and errors, the schema checks, and the one upsert."""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self, overload

import platformdirs
from sqlalchemy import Connection, Engine, Insert, create_engine, event, inspect, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from bot.errors import Unavailable
from bot.store.migrations import HEAD
from bot.store.models import Base, Repository
from bot.urls import mask_url

logger = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"
# The PostgreSQL advisory lock that creating or upgrading the schema takes ("tg-schem"): a
# fixed key, so that every trunkguard of every version agrees on it.
SCHEMA_LOCK = int.from_bytes(b"tg-schem", "big")
WAL_TRIES = 200  # times 50 ms: how long a new SQLite store waits to switch to WAL


class StoreError(Unavailable):
    """The database cannot be used: unreachable, wrong schema, read-only, full."""


def default_url() -> str:
    """Return the default database: a SQLite file in the user's data directory."""
    folder = Path(platformdirs.user_data_dir("trunkguard"))
    return f"sqlite:///{folder / 'trunkguard.db'}"


def database_url(option: str | None) -> str:
    """Pick the database: --db, else TRUNKGUARD_DATABASE_URL, else the default SQLite file."""
    return option or os.environ.get("TRUNKGUARD_DATABASE_URL") or default_url()


def stored_nowhere(url: str) -> bool:
    """Tell whether a database URL names a SQLite file that does not exist yet."""
    database = _sqlite_file(_engine_url(url)) if url.startswith("sqlite") else None
    return database is not None and not database.exists()


def upsert(
    dialect: str,
    table: type[Base],
    keys: Sequence[str] | None = None,
    update: Mapping[str, Any] | None = None,
) -> Insert:
    """Return an INSERT into `table` that on a clash over `keys` sets `update` or keeps the row."""
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
    if update:
        return statement.on_conflict_do_update(index_elements=keys, set_=dict(update))
    return statement.on_conflict_do_nothing(index_elements=keys)


def aware(stored: datetime) -> datetime:
    """Return a stored time with its zone (SQLite hands them back naive; all are UTC)."""
    return stored if stored.tzinfo else stored.replace(tzinfo=UTC)


@overload
def moment(timestamp: int) -> datetime: ...
@overload
def moment(timestamp: int | None) -> datetime | None: ...
def moment(timestamp: int | None) -> datetime | None:
    """Return a Unix time as a UTC datetime to store (None stays None)."""
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)


def _engine_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # their text holds the URL whole: not chained
        raise StoreError(
            f"'{mask_url(url)}' is not a database URL (e.g. sqlite:///path.db)"
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        # psycopg 3 is the driver we install; SQLAlchemy's default for the bare name is psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername.split("+")[0] not in ("sqlite", "postgresql"):
        raise StoreError(f"unsupported database '{parsed.drivername}': use sqlite or postgresql")
    return parsed


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")  # concurrent writers wait instead of failing
    # WAL lets scans read while another writes. Switching a new file to it needs the file to
    # itself, and SQLite says "locked" at once rather than wait (processes opening a new store
    # together meet this): try again for a while, as busy_timeout does for writes.
    for attempt in range(WAL_TRIES):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == WAL_TRIES - 1:
                raise
            time.sleep(0.05)
    cursor.close()


def _describe(error: SQLAlchemyError, shown: str) -> str:
    text = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    lowered = text.lower()
    if "readonly" in lowered or "read-only" in lowered or "read only" in lowered:
        return f"the database {shown} is read-only: {text}"
    if "disk is full" in lowered or "no space left" in lowered:
        return f"the disk holding {shown} is full: {text}"
    return f"database {shown}: {text}"


class Database:
    """A connection to the metrics store, checked to have the schema this trunkguard needs."""

    def __init__(self, url: str) -> None:
        self.url = _engine_url(url)
        self.shown = mask_url(make_url(url).render_as_string(hide_password=True))
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

    def __enter__(self) -> Self:
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

    def _repository_id(self, session: Session, name: str, now: datetime) -> int:
        # Two scans of a new repository at once must not create it twice: insert or keep.
        statement = upsert(self.engine.dialect.name, Repository, ["name"])
        session.execute(statement.values(name=name, created_at=now))
        found = session.scalar(select(Repository.id).where(Repository.name == name))
        assert found is not None
        return found

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
            return _revision(connection), HEAD

    def upgrade(self) -> tuple[str | None, str]:
        """Bring the schema to this code's revision; return the revisions before and after."""
        with self._schema_lock() as connection:
            before = _revision(connection)
            self._refuse_newer(before)
            self._migrate(connection)
        return before, HEAD

    def _migrate(self, connection: Connection) -> None:
        from alembic import command

        if connection.in_transaction():
            connection.rollback()  # what was read to decide ends here
        with self._errors(), connection.begin():
            command.upgrade(self._config(connection), "head")

    @contextmanager
    def _schema_lock(self) -> Iterator[Connection]:
        """Yield a connection held under the one lock that creating or upgrading the schema
        takes, so that two processes opening a new store never both create its tables."""
        with self._errors(), self.engine.connect() as connection:
            if self.engine.dialect.name == "postgresql":
                # Session-level: it outlives the migration's transaction, and dies with the
                # connection if this process does.
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK})
                connection.commit()
                try:
                    yield connection
                finally:
                    try:
                        connection.rollback()
                        connection.execute(
                            text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK}
                        )
                        connection.commit()
                    except DBAPIError:  # the connection died: so did the lock
                        connection.invalidate()
                return
            with self._file_lock():
                yield connection

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        """Hold `<database>.lock` beside a SQLite file (an in-memory database needs none)."""
        database = _sqlite_file(self.url)
        if database is None:
            yield
            return
        lock = database.with_name(database.name + ".lock")
        try:
            handle = open(lock, "a+b")
        except OSError as error:
            raise StoreError(f"cannot create {lock}: {error.strerror}") from error
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # let go by the kernel if this process dies
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

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

    def ready(self) -> Self:
        """Check the schema: create it in a new database, refuse one that is behind or newer."""
        current, head = self.revisions()
        if current == head:
            return self
        self._refuse_newer(current)
        # Another process may be creating the schema right now: look again under its lock.
        with self._schema_lock() as connection:
            current = _revision(connection)
            if current == head:
                return self
            self._refuse_newer(current)
            has_tables = bool(inspect(connection).get_table_names())
            if current is None and not has_tables:
                logger.info("creating the store", extra={"database": self.shown})
                self._migrate(connection)
                return self
        raise StoreError(
            f"the database {self.shown} has schema revision {current or 'none'}, this "
            f"trunkguard needs {head}: run `trunkguard db upgrade`"
        )


def _revision(connection: Connection) -> str | None:
    """Return the schema revision a connection's database is at (None: no schema yet)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return None if current is None else str(current)


def _sqlite_file(url: URL) -> Path | None:
    """Return the file of a SQLite URL, or None for an in-memory database."""
    database = url.database or ""
    if url.query.get("uri") == "true":
        if url.query.get("mode") == "memory" or database.startswith("file::memory:"):
            return None
        database = database.removeprefix("file:")
    if database in ("", ":memory:"):
        return None
    return Path(database).expanduser()
