"""The report schedule: as the store keeps it, and which week a run reports."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from analyzers.trends import week_name, week_named
from bot.policy import default_config
from bot.service.report_schedule import report_schedule, reported_week, slot_week
from tests.gitrepo import NOW


def test_the_schedule_is_what_the_config_says_and_the_defaults_without_one():
    assert report_schedule() == {"weekday": "mon", "time": "09:00", "timezone": "UTC"}
    settings = default_config().report.model_copy(
        update={"weekday": "fri", "time": "16:30", "timezone": "Europe/Berlin"}
    )
    assert report_schedule(settings) == {
        "weekday": "fri", "time": "16:30", "timezone": "Europe/Berlin",
    }  # fmt: skip


def test_a_report_early_in_the_week_covers_the_week_that_ended():
    # NOW is Thursday 28 May 2026, in ISO week 22.
    assert week_name(reported_week(NOW, "mon")) == "2026-W21"
    assert week_name(reported_week(NOW, "thu")) == "2026-W21"
    assert week_name(reported_week(NOW, "fri")) == "2026-W22"
    assert week_name(reported_week(NOW, "sun")) == "2026-W22"


def test_a_slot_reports_by_its_own_weekday_in_its_timezone():
    berlin = datetime(2026, 6, 1, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert slot_week(berlin) == week_named("2026-W22")  # a Monday run: the week that ended
    friday = datetime(2026, 5, 29, 16, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    assert slot_week(friday) == week_named("2026-W22")  # a Friday run: its own week
