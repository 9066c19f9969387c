"""Weekly trends over plain records: how old open work is, how often work lands, how it went."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from analyzers.history import History
from analyzers.units import WEEK as WEEK  # re-exported: the week the trends count in


@dataclass(frozen=True)
class OpenWork:
    """A piece of work with its first own commit, and when it landed (None: still open)."""

    first_commit_at: int
    landed_at: int | None


@dataclass(frozen=True)
class WeekFigures:
    """One ISO week's figures; None where nothing tells.

    `source` says where the open-branch figures come from: "scans" (the week's last stored
    scan) or "history" (work that was open then, as mined from git, and today's branches that
    already existed; branches deleted without landing are not seen).
    """

    week: str
    start: int
    source: str
    open_branches: int
    median_age_seconds: int | None
    p90_age_seconds: int | None
    over_limit: int
    landings: int
    merges: int
    median_lifetime_seconds: int | None
    conflicts_at_merge: int
    conflicts_paid: int  # merges that conflicted, either way: landings and trunk into branches
    median_lead_time_seconds: int | None  # of the conflicts paid: how early a warning was
    predicted_conflicts: int | None


def week_start(moment: int) -> int:
    """Return the Monday 00:00 UTC that starts the ISO week holding `moment`."""
    day = datetime.fromtimestamp(moment, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return int((day - timedelta(days=day.weekday())).timestamp())


def week_name(start: int) -> str:
    """Return the ISO week's name, e.g. 2026-W21."""
    year, week, _ = datetime.fromtimestamp(start, UTC).isocalendar()
    return f"{year}-W{week:02d}"


def week_named(name: str) -> int:
    """Return the start of the ISO week named like 2026-W48; ValueError for another name."""
    year, separator, week = name.upper().partition("-W")
    if not separator or not (year.isdigit() and week.isdigit()):
        raise ValueError(f"not an ISO week name: {name!r}")
    return int(datetime.fromisocalendar(int(year), int(week), 1).replace(tzinfo=UTC).timestamp())


def _p90(values: Sequence[int]) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]  # nearest rank


def _median(values: Sequence[int]) -> int | None:
    return int(statistics.median(values)) if values else None


def weekly_trends(
    now: int,
    weeks: int,
    limit_seconds: int,
    history: History,
    open_work: Sequence[OpenWork],
    scanned_ages: Mapping[int, Sequence[int]],
    predicted: Mapping[int, int],
) -> tuple[WeekFigures, ...]:
    """Figures for the `weeks` ISO weeks up to the one holding `now`, oldest first.

    `scanned_ages` and `predicted` are keyed by week start: the ages of the open branches in
    the week's last stored scan, and the conflicts its last stored forecast predicted.
    """
    current = week_start(now)
    out = []
    for n in range(weeks - 1, -1, -1):
        start = current - n * WEEK
        end = min(start + WEEK, now)
        if start in scanned_ages:
            source, ages = "scans", list(scanned_ages[start])
        else:
            source = "history"
            ages = [
                end - w.first_commit_at
                for w in open_work
                if w.first_commit_at <= end and (w.landed_at is None or w.landed_at > end)
            ]
        landed = [w for w in history.merged if start <= w.landed_at < end]
        paid = [p for p in history.paid if start <= p.merged_at < end]
        out.append(
            WeekFigures(
                week=week_name(start),
                start=start,
                source=source,
                open_branches=len(ages),
                median_age_seconds=_median(ages),
                p90_age_seconds=_p90(ages),
                over_limit=sum(1 for age in ages if age > limit_seconds),
                landings=sum(1 for t in history.landings if start <= t < end),
                merges=sum(1 for t in history.merge_landings if start <= t < end),
                median_lifetime_seconds=_median([w.lifetime_seconds for w in landed]),
                conflicts_at_merge=sum(1 for w in landed if w.conflicted),
                conflicts_paid=len(paid),
                median_lead_time_seconds=_median(
                    [p.lead_time_seconds for p in paid if p.lead_time_seconds is not None]
                ),
                predicted_conflicts=predicted.get(start),
            )
        )
    return tuple(out)
