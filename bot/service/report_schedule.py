"""A repository's weekly report schedule: as the store keeps it, and the week a run reports."""

from __future__ import annotations

from datetime import datetime

from analyzers.trends import WEEK, week_start
from bot.policy import ReportSettings, default_config

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # as datetime.weekday() counts


def report_schedule(settings: ReportSettings | None = None) -> dict[str, str]:
    """Return when a report is due, as the store keeps it: {"weekday", "time", "timezone"} of
    a repository's report settings (None: those of config/default.yml)."""
    if settings is None:
        settings = default_config().report
    return {"weekday": settings.weekday, "time": settings.time, "timezone": settings.timezone}


def reported_week(now: int, weekday: str) -> int:
    """The ISO week a scheduled report covers: the current one when it is published late in
    the week (Friday to Sunday), else the week that just ended."""
    current = week_start(now)
    return current if weekday in WEEKDAYS[4:] else current - WEEK


def slot_week(slot: datetime) -> int:
    """The ISO week the report run due at `slot` (in its schedule's timezone) covers."""
    return reported_week(int(slot.timestamp()), WEEKDAYS[slot.weekday()])
