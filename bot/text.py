"""Words and times for people: durations, timestamps, listings."""

from __future__ import annotations

from datetime import UTC, datetime

DAY = 86400  # seconds

_UNITS = (
    (365 * 86400, "year"),
    (30 * 86400, "month"),
    (7 * 86400, "week"),
    (86400, "day"),
    (3600, "hour"),
    (60, "minute"),
    (1, "second"),
)


def humane_duration(seconds: int) -> str:
    """Say a duration the way people do: '9 days', '3 hours', '2 months'."""
    if seconds < 60:
        return "under a minute"
    for size, unit in _UNITS:
        # Switch to the larger unit only once it reads as 2 or more, so 10 days is not "1 week".
        count = seconds // size
        if count >= 2 or size == 60:
            return f"{count} {unit}s" if count != 1 else f"1 {unit}"
    raise AssertionError("unreachable")


def iso_time(timestamp: int | None) -> str | None:
    """Format Unix seconds as ISO 8601 UTC, e.g. 2026-11-24T20:28:37Z."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
