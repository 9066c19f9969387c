"""Durations and documents people and machines read."""

from __future__ import annotations

import pytest

from bot.text import humane_duration, iso_time


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "under a minute"),
        (59, "under a minute"),
        (60, "1 minute"),
        (119, "1 minute"),
        (7200, "2 hours"),
        (36 * 3600, "36 hours"),
        (9 * 86400, "9 days"),
        (13 * 86400, "13 days"),
        (14 * 86400, "2 weeks"),
        (45 * 86400, "6 weeks"),
        (70 * 86400, "2 months"),
        (800 * 86400, "2 years"),
    ],
)
def test_humane_duration(seconds, text):
    assert humane_duration(seconds) == text


def test_iso_time():
    assert iso_time(1_780_000_000) == "2026-05-28T20:26:40Z"
    assert iso_time(None) is None
