"""Words and times for people: durations, timestamps, listings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from analyzers.units import DAY as DAY  # re-exported: the one day, for bot/ too

_UNITS = (
    (365 * DAY, "year"),
    (30 * DAY, "month"),
    (7 * DAY, "week"),
    (DAY, "day"),
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


def listing(items: Sequence[str], most: int) -> str:
    """Join the first `most` items with commas and say how many more there are."""
    shown = ", ".join(items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")
