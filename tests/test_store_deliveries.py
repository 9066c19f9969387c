"""Webhook deliveries in the store: kept for de-duplication, forgotten once too old."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import bot.service.jobs.all  # noqa: F401  (registers every job function)
from bot.service.job import JOBS, Services
from bot.store import Store
from bot.store.app import KEEP_DELIVERIES_DAYS

NOW = datetime(2026, 12, 4, 3, tzinfo=UTC)


@pytest.fixture
def store(db_url):
    with Store(db_url) as opened:
        yield opened.ready()


def receive(store: Store, days_ago: float, name: str) -> None:
    assert store.record_delivery(name, "push", NOW - timedelta(days=days_ago))


def test_old_deliveries_are_forgotten_recent_ones_still_recognised(store):
    for days in (0, 2, KEEP_DELIVERIES_DAYS - 1, KEEP_DELIVERIES_DAYS + 1, 400):
        receive(store, days, f"d-{days}")
    assert store.prune_deliveries(NOW) == 2
    assert store.prune_deliveries(NOW) == 0
    # A redelivery of a kept one is still recognised; a forgotten one would be acted on.
    for days in (0, 2, KEEP_DELIVERIES_DAYS - 1):
        assert not store.record_delivery(f"d-{days}", "push", NOW)
    assert store.record_delivery(f"d-{KEEP_DELIVERIES_DAYS + 1}", "push", NOW)


def test_the_nightly_job_prunes_the_deliveries(store, tmp_path):
    receive(store, KEEP_DELIVERIES_DAYS + 5, "old")
    receive(store, 1, "new")
    services = Services(store, None, tmp_path / "mirrors", clock=NOW.timestamp)
    assert JOBS["nightly_scans"](services) == []  # no installation: nothing to scan
    assert store.record_delivery("old", "push", NOW)
    assert not store.record_delivery("new", "push", NOW)
