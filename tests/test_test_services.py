"""`make test` finds PostgreSQL and Redis where they answer by default, and leaves alone what
is not its own; whatever it skips says why and how to run it."""

from __future__ import annotations

import pytest

from tests import conftest


@pytest.fixture
def unset(monkeypatch):
    for name in (conftest.POSTGRES_ENV, conftest.REDIS_ENV):
        monkeypatch.delenv(name, raising=False)


def test_nothing_answering_is_a_skip_that_says_how_to_run_them(unset, monkeypatch):
    monkeypatch.setattr(conftest, "_answers", lambda port: False)
    url, why = conftest.postgres_admin.__wrapped__()
    assert url is None and why.startswith("PostgreSQL: none on 127.0.0.1:5432; start it, or ")
    assert why.endswith(f"{conftest.POSTGRES_ENV}=postgresql://USER:PASSWORD@HOST:PORT/postgres "
                        "make test runs them")  # fmt: skip
    url, why = conftest.redis_broker.__wrapped__()
    assert url is None and why.startswith("Redis: none on 127.0.0.1:6379")
    assert f"{conftest.REDIS_ENV}=redis://HOST:6379/N make test runs them" in why


def test_a_variable_set_is_used_as_given(monkeypatch):
    monkeypatch.setenv(conftest.POSTGRES_ENV, "postgresql://ci@db/postgres")
    monkeypatch.setenv(conftest.REDIS_ENV, "redis://cache:6379/5")
    assert conftest.postgres_admin.__wrapped__() == ("postgresql://ci@db/postgres", "")
    assert conftest.redis_broker.__wrapped__() == ("redis://cache:6379/5", "")


class FakeRedis:
    def __init__(self, keys):
        self.keys = keys

    def scan_iter(self, count):
        return iter(self.keys)

    def close(self):
        pass


@pytest.mark.parametrize(
    "keys, usable",
    [
        ([], True),
        ([b"trunkguard", b"_kombu.binding.trunkguard", b"unacked", b"unacked_index"], True),
        ([b"trunkguard", b"session:42"], False),  # someone's data: never flushed
    ],
)
def test_redis_database_13_is_used_only_if_it_holds_nothing_else(unset, monkeypatch, keys, usable):
    import redis

    monkeypatch.setattr(conftest, "_answers", lambda port: True)
    monkeypatch.setattr(redis.Redis, "from_url", lambda url, **options: FakeRedis(keys))
    url, why = conftest.redis_broker.__wrapped__()
    if usable:
        assert (url, why) == (conftest.LOCAL_REDIS, "")
    else:
        assert url is None
        assert why.startswith(
            "Redis: redis://127.0.0.1:6379/13 holds keys the tests did not make (b'session:42'), "
            "not flushed; "
        )


@pytest.mark.parametrize(
    "env, runs",
    [({}, False), ({"CI": "true"}, True), ({conftest.RESTART_ENV: "1"}, True)],
)
def test_postgres_is_restarted_only_in_ci_or_when_asked(monkeypatch, env, runs):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv(conftest.RESTART_ENV, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    try:
        conftest.postgres_restart.__wrapped__()
    except pytest.skip.Exception as skipped:
        assert not runs
        assert str(skipped.msg) == (
            "PostgreSQL restart: it restarts this machine's server, so only in CI (CI=true) "
            f"or with {conftest.RESTART_ENV}=1 make test"
        )
    else:
        assert runs
