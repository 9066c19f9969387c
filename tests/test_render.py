"""Durations and documents people and machines read."""

from __future__ import annotations

import pytest

from bot.text import humane_duration, iso_time, listing


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


@pytest.mark.parametrize(
    ("items", "most", "text"),
    [
        ([], 3, ""),
        (["a"], 3, "a"),
        (["a", "b", "c"], 3, "a, b, c"),
        (["a", "b", "c", "d", "e"], 3, "a, b, c and 2 more"),
        (["#1", "#2"], 1, "#1 and 1 more"),
    ],
)
def test_listing_names_the_first_and_counts_the_rest(items, most, text):
    assert listing(items, most) == text
