"""Fixtures shared by the tests."""

from __future__ import annotations

import fnmatch
import functools
import json
import os
import socket
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

from bot.github.app import GitHubApp
from bot.github.client import retry_policy
from bot.github.webhooks import signature
from bot.service.job import Services
from bot.service.queue import InProcessQueue
from bot.service.server import create_app
from bot.store import Store
from tests.fakegithub import FakeGitHub, app_key_pair
from tests.gitrepo import NOW, GitRepo, lines


@pytest.fixture
def make_repo(tmp_path: Path):
    """Return a factory of fresh repositories under tmp_path."""
    counter = iter(range(1000))

    def make(bare: bool = True) -> GitRepo:
        return GitRepo(tmp_path / f"repo{next(counter)}", bare=bare)

    return make


@pytest.fixture
def team_repo(make_repo):
    """main; feature/old (9 days old, beside trunk); feature/new (a day old, on trunk's head)."""
    t = make_repo()
    c1 = t.commit({"a.txt": lines(5)}, days_ago=10)
    c2 = t.commit({"a.txt": lines(6)}, days_ago=5, parents=[c1], branch="main")
    t.commit({"b.txt": "b\n"}, days_ago=9, parents=[c1], branch="feature/old")
    t.commit({"a.txt": lines(7)}, days_ago=1, parents=[c2], branch="feature/new")
    return t


POSTGRES_ENV = "TRUNKGUARD_TEST_POSTGRES_URL"
REDIS_ENV = "TRUNKGUARD_TEST_REDIS_URL"
RESTART_ENV = "TRUNKGUARD_TEST_RESTART_POSTGRES"
# Where `make test` looks when the variables are unset: the servers' default local addresses,
# PostgreSQL with trust authentication (as a distribution's package sets it up for `postgres`).
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS = "redis://127.0.0.1:6379/13"
PROBE_SECONDS = 0.5  # a server that answers at all answers this fast on loopback
# The keys a broker on Redis holds for trunkguard (kombu's queue, bindings and unacked
# messages): a database holding only these may be flushed; anything else is someone's data.
OUR_KEYS = ("trunkguard*", "_kombu.binding*", "unacked", "unacked_index", "unacked_mutex")


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=PROBE_SECONDS).close()
    except OSError:
        return False
    return True


@functools.cache
def postgres_admin() -> tuple[str | None, str]:
    """Return the PostgreSQL URL the tests create their databases with, or None and why not."""
    configured = os.environ.get(POSTGRES_ENV)
    if configured:
        return configured, ""
    run = f"{POSTGRES_ENV}=postgresql://USER:PASSWORD@HOST:PORT/postgres make test runs them"
    if not _answers(5432):
        return None, f"PostgreSQL: none on 127.0.0.1:5432; start it, or {run}"
    import psycopg

    try:
        psycopg.connect(LOCAL_POSTGRES, connect_timeout=2).close()
    except psycopg.Error as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return None, f"PostgreSQL: {LOCAL_POSTGRES} refused ({first}); {run}"
    return LOCAL_POSTGRES, ""


@functools.cache
def redis_broker() -> tuple[str | None, str]:
    """Return the Redis URL the broker tests may flush, or None and why not."""
    configured = os.environ.get(REDIS_ENV)
    if configured:
        return configured, ""
    run = f"{REDIS_ENV}=redis://HOST:6379/N make test runs them (database N is flushed)"
    if not _answers(6379):
        return None, f"Redis: none on 127.0.0.1:6379; start it, or {run}"
    import redis

    client = redis.Redis.from_url(LOCAL_REDIS, socket_timeout=2, socket_connect_timeout=2)
    try:
        theirs = [
            key
            for key in client.scan_iter(count=1000)
            if not any(fnmatch.fnmatchcase(key.decode(errors="replace"), p) for p in OUR_KEYS)
        ]
    except redis.RedisError as error:
        return None, f"Redis: {LOCAL_REDIS} refused ({error}); {run}"
    finally:
        client.close()
    if theirs:
        return None, (
            f"Redis: {LOCAL_REDIS} holds keys the tests did not make ({theirs[0]!r}), "
            f"not flushed; {run}"
        )
    return LOCAL_REDIS, ""


def pytest_report_header(config):
    said = []
    for name, (url, why) in (
        ("PostgreSQL store", postgres_admin()),
        ("Redis worker", redis_broker()),
    ):
        said.append(f"{name} tests on {url}" if url else f"{name} tests skipped: {why}")
    return said


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped after (skips when there is no PostgreSQL)."""
    admin, why = postgres_admin()
    if not admin:
        pytest.skip(why)
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


@pytest.fixture
def postgres_restart():
    """Allow a test to restart this machine's PostgreSQL: in CI, or when asked, never on a
    developer's server unasked."""
    if os.environ.get("CI") != "true" and os.environ.get(RESTART_ENV) != "1":
        pytest.skip(
            "PostgreSQL restart: it restarts this machine's server, so only in CI (CI=true) "
            f"or with {RESTART_ENV}=1 make test"
        )


@pytest.fixture
def redis_url():
    """An emptied Redis database for a broker (skips when there is none to empty safely)."""
    url, why = redis_broker()
    if not url:
        pytest.skip(why)
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()  # configured but unreachable fails here: CI must not go green without it
    yield url
    client.flushdb()
    client.close()


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


# -- the App's server on loopback (tests/test_app_*.py) -----------------------------------------
SECRET = b"an App's webhook secret"


class Served:
    """trunkguard's server on loopback, its job queue and store."""

    def __init__(self, url: str, jobs: InProcessQueue, store: Store) -> None:
        self.url = url
        self.jobs = jobs
        self.store = store

    def deliver(self, event: str, payload: dict, delivery: str) -> tuple[int, dict]:
        body = json.dumps(payload).encode()
        request = urllib.request.Request(
            f"{self.url}/webhook",
            data=body,
            headers={
                "X-GitHub-Event": event,
                "X-GitHub-Delivery": delivery,
                "X-Hub-Signature-256": signature(SECRET, body),
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            status, document = answer.status, json.loads(answer.read())
        self.jobs.join()
        return status, document


@pytest.fixture
def served(tmp_path, db_url, github, keys):
    store = Store(db_url)
    store.upgrade()
    app = GitHubApp(APP_ID, keys[0], github.url, retry_policy(max_wait=5, backoff=0.01))
    services = Services(store, app.installation, tmp_path / "mirrors", clock=lambda: NOW)
    jobs = InProcessQueue(services)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = uvicorn.Server(
        uvicorn.Config(create_app(SECRET, store, jobs), host="127.0.0.1", port=port,
                       log_level="warning")
    )  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield Served(f"http://127.0.0.1:{port}", jobs, store)
    server.should_exit = True
    thread.join(timeout=10)
    jobs.close()
    store.close()
