"""Fixtures shared by the tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.fakegithub import FakeGitHub, app_key_pair
from tests.gitrepo import GitRepo


@pytest.fixture
def make_repo(tmp_path: Path):
    """Return a factory of fresh repositories under tmp_path."""
    counter = iter(range(1000))

    def make(bare: bool = True) -> GitRepo:
        return GitRepo(tmp_path / f"repo{next(counter)}", bare=bare)

    return make


POSTGRES_ENV = "TRUNKGUARD_TEST_POSTGRES_URL"


def pytest_report_header(config):
    said = []
    for name, env in (("PostgreSQL store", POSTGRES_ENV), ("Redis worker", REDIS_ENV)):
        if os.environ.get(env):
            said.append(f"{name} tests on {os.environ[env]}")
        else:
            said.append(f"{name} tests skipped: set {env} (.ci/run does) to run them")
    return said


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped after (skips when PostgreSQL is not set)."""
    admin = os.environ.get(POSTGRES_ENV)
    if not admin:
        pytest.skip(f"PostgreSQL: {POSTGRES_ENV} is not set")
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"trunkguard_test_{uuid.uuid4().hex[:12]}"
    # Configured but unreachable is a failure, not a skip: CI must not go green without it.
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty database: a SQLite file, or a new PostgreSQL database dropped after."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    with postgres_database() as url:
        yield url


@pytest.fixture
def postgres_url():
    """A fresh, empty PostgreSQL database."""
    with postgres_database() as url:
        yield url


REDIS_ENV = "TRUNKGUARD_TEST_REDIS_URL"


@pytest.fixture
def redis_url():
    """An emptied Redis database for a broker (skips when Redis is not set or reachable)."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"Redis: {REDIS_ENV} is not set (.ci/run sets it)")
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()  # configured but unreachable fails here: CI must not go green without it
    yield url
    client.flushdb()


@pytest.fixture(autouse=True)
def private_dirs(tmp_path, monkeypatch):
    """Keep every test's default store and mirror cache out of the user's own directories."""
    monkeypatch.setenv("TRUNKGUARD_DATABASE_URL", f"sqlite:///{tmp_path / 'default-store.db'}")
    monkeypatch.setenv("TRUNKGUARD_CACHE_DIR", str(tmp_path / "cache"))


APP_ID = 4242  # the fake GitHub's App


@pytest.fixture(scope="module")
def keys():
    return app_key_pair()


@pytest.fixture
def github(tmp_path, keys):
    fake = FakeGitHub(tmp_path / "github", APP_ID, keys[1])
    fake.start()
    yield fake
    fake.stop()
