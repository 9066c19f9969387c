"""The store's engine: the one upsert, on SQLite and on PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.store import Store
from bot.store.engine import upsert
from bot.store.migrations import HEAD
from bot.store.models import Repository, WebhookDelivery

AT = datetime(2026, 12, 4, 12, tzinfo=UTC)
PROCESSES = 4  # a new store opened by this many processes at once (the machine has 2 cores)


@pytest.fixture
def store(db_url):
    with Store(db_url) as opened:
        yield opened.ready()


@pytest.mark.parametrize(("name", "dialect"), [("sqlite", sqlite), ("postgresql", postgresql)])
def test_upsert_speaks_each_dialect(name, dialect):
    keep = str(upsert(name, Repository, ["name"]).compile(dialect=dialect.dialect()))
    assert "ON CONFLICT (name) DO NOTHING" in keep
    replace = upsert(name, Repository, ["name"], {"installation_id": 7})
    sql = str(replace.compile(dialect=dialect.dialect()))
    assert "ON CONFLICT (name) DO UPDATE SET installation_id" in sql
    assert "ON CONFLICT DO NOTHING" in str(
        upsert(name, WebhookDelivery).compile(dialect=dialect.dialect())
    )


def test_upsert_keeps_or_updates_the_row_there(store):
    dialect = store.engine.dialect.name
    row = {"name": "octo/cat", "created_at": AT}
    with Session(store.engine) as session, session.begin():
        session.execute(upsert(dialect, Repository, ["name"]).values(**row, installation_id=1))
        # A clash with nothing to update keeps the row as it was.
        session.execute(upsert(dialect, Repository, ["name"]).values(**row, installation_id=2))
    with Session(store.engine) as session:
        assert session.scalars(select(Repository.installation_id)).all() == [1]
    with Session(store.engine) as session, session.begin():
        update = {"installation_id": 3}
        session.execute(upsert(dialect, Repository, ["name"], update).values(**row, **update))
    with Session(store.engine) as session:
        assert session.scalars(select(Repository.installation_id)).all() == [3]


def test_upsert_returns_only_rows_that_went_in(store):
    statement = (
        upsert(store.engine.dialect.name, WebhookDelivery)
        .values(delivery_id="d-1", event="push", received_at=AT)
        .returning(WebhookDelivery.delivery_id)
    )
    with store.engine.begin() as connection:
        assert connection.execute(statement).all() == [("d-1",)]
        assert connection.execute(statement).all() == []


def test_upsert_takes_many_rows(store):
    rows = [{"name": name, "created_at": AT} for name in ("a/b", "c/d", "a/b")]
    with store.engine.begin() as connection:
        connection.execute(upsert(store.engine.dialect.name, Repository, ["name"]), rows)
    with Session(store.engine) as session:
        assert session.scalars(select(Repository.name).order_by(Repository.name)).all() == [
            "a/b",
            "c/d",
        ]


def test_processes_opening_a_new_store_at_once_all_succeed(db_url):
    # Each process waits for the same moment, then creates the schema or finds it made.
    code = (
        "import sys, time; from bot.store import Store; "
        "time.sleep(max(0.0, float(sys.argv[2]) - time.time())); "
        "Store(sys.argv[1]).ready()"
    )
    start = str(time.time() + 2.0)
    runs = [
        subprocess.Popen([sys.executable, "-c", code, db_url, start], stderr=subprocess.PIPE)
        for _ in range(PROCESSES)
    ]
    errors = [run.communicate(timeout=120)[1].decode() for run in runs]
    assert [run.returncode for run in runs] == [0] * PROCESSES, errors
    with Store(db_url) as store:
        assert store.revisions() == (HEAD, HEAD)
