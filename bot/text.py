"""Words and times for people: durations, timestamps, listings."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from analyzers.units import DAY as DAY  # re-exported: the one day, for bot/ too

_UNITS = (
    (365 * DAY, "year"),
    # A twelfth of that year, so that no count of months reaches the next unit's 2: the day
    # before "2 years" is "23 months", never "24 months".
    (365 * DAY // 12, "month"),
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


def plural(count: int, word: str, words: str | None = None) -> str:
    """Say a count with its noun: '1 commit', '2 commits', '0 branches' (given 'branches')."""
    many = words if words is not None else word + "s"
    return f"{count:,} {word if count == 1 else many}"


def line_ranges(ranges: Sequence[tuple[int, int]]) -> str:
    """Join 1-based line ranges one way, merged and never from line 0: '1-3, 6, 8-10'."""
    merged: list[list[int]] = []
    # git reports an insertion before the first line as line 0: that is line 1 to a reader.
    for a, b in sorted((max(a, 1), max(a, b, 1)) for a, b in ranges):
        if merged and a <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in merged)


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Return a sort key that orders digits by value: 'stable-2.2' before 'stable-2.10'."""
    parts = re.split(r"(\d+)", name)
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts if p)


_CLASHES = {
    "file/directory": "file on one side, directory on the other",
    "distinct types": "a different kind of entry on each side: file, symlink or submodule",
}


def clash_place(path: str, kind: str) -> tuple[str, str | None]:
    """Return where a conflict is and, for a clash of kinds, what clashed there.

    git moves one side's entry aside to `path~LABEL` when a file meets a directory: that name
    is a placeholder, so people are shown the path it stands for, and why.
    """
    note = _CLASHES.get(kind)
    if note is None:
        return path, None
    head, tilde, label = path.rpartition("~")
    if tilde and head and label and "/" not in label:
        return head, note
    return path, note
