"""The scheduler against a real store: its plan survives restarts, a run missed while it was
down happens once, a week whose run was lost is caught up, config changes move reports."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import text

from analyzers.trends import week_name
from bot.cli.main import cli
from bot.service.report_schedule import reported_week
from bot.service.scheduler import NIGHTLY, REPORT_PREFIX, SYNC, TABLE, Scheduler
from bot.store import PublishedReport, Store


@pytest.fixture
def store(db_url):
    with Store(db_url) as opened:
        opened.upgrade()
        opened.register_installation(7, ["octo/app", "octo/lib"])
        yield opened


class Queued(list):
    """A job queue that keeps what is put into it, in order."""

    def put(self, job, delay=0.0):
        self.append(job)


def started(store, queued):
    return Scheduler(store, queued).start()


def test_the_plan_is_kept_in_the_store_across_restarts(store):
    store.set_report_schedule(
        "octo/lib", {"weekday": "fri", "time": "16:30", "timezone": "Europe/Berlin"}
    )
    queued = Queued()
    first = started(store, queued)
    plan = {p.id: p for p in first.plan()}
    first.shutdown()
    assert set(plan) == {NIGHTLY, SYNC, REPORT_PREFIX + "octo/app", REPORT_PREFIX + "octo/lib"}
    app, lib = plan[REPORT_PREFIX + "octo/app"], plan[REPORT_PREFIX + "octo/lib"]
    assert app.next_run is not None and lib.next_run is not None
    # The default is Monday 09:00 UTC; octo/lib asked for Friday 16:30 in Berlin.
    assert (app.next_run.weekday(), app.next_run.hour, app.next_run.minute) == (0, 9, 0)
    berlin = lib.next_run
    assert (berlin.weekday(), berlin.hour, berlin.minute) == (4, 16, 30)
    assert str(berlin.tzinfo) == "Europe/Berlin"
    assert plan[NIGHTLY].next_run.astimezone(UTC).hour == 2

    second = started(store, queued)
    again = {p.id: p.next_run for p in second.plan()}
    second.shutdown()
    assert again == {p.id: p.next_run for p in plan.values()}  # not recomputed, not doubled
    assert queued == []  # nothing was due


def test_a_run_missed_for_weeks_happens_once(store):
    queued = Queued()
    scheduler = Scheduler(store, queued).start()
    scheduler.shutdown()
    # Down for three weeks: the report job's next run is long past when it starts again.
    paused = Scheduler(store, queued).start(paused=True)
    paused.move(REPORT_PREFIX + "octo/app", datetime.now(UTC) - timedelta(days=22))
    paused.shutdown()
    back = Scheduler(store, queued).start()
    deadline = datetime.now(UTC) + timedelta(seconds=10)
    while not queued and datetime.now(UTC) < deadline:
        back.plan()  # waits on nothing: the jobs run on the scheduler's threads
    plan = {p.id: p.next_run for p in back.plan()}
    back.shutdown()
    reports = [j for j in queued if j.name == "weekly_report"]
    assert [j.arguments for j in reports] == [{"installation": 7, "repository": "octo/app"}]
    assert plan[REPORT_PREFIX + "octo/app"] > datetime.now(UTC)  # next week's, not a backlog


def test_a_week_whose_run_was_lost_is_caught_up_once(store):
    queued = Queued()
    Scheduler(store, queued).start().shutdown()
    # The last Monday 09:00 run was handed over but its job was lost (an in-memory queue and
    # a restart): no report is stored for the week it covers.
    now = datetime.now(UTC)
    last_slot = (now - timedelta(days=now.weekday())).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    if last_slot > now:
        last_slot -= timedelta(days=7)
    week_start = reported_week(int(last_slot.timestamp()), "mon")
    week, week_before = week_name(week_start), week_name(week_start - 7 * 86400)
    # octo/app's reports went out until the week before; octo/lib's is there; octo/web was
    # never reported (its first report comes at its next run, not at every start).
    store.register_installation(7, ["octo/web"])
    store.save_report("octo/app", PublishedReport(week_before, 4, "c" * 64), now)
    store.save_report("octo/lib", PublishedReport(week, 3, "d" * 64), now)
    scheduler = Scheduler(store, queued).start()
    scheduler.shutdown()
    assert [(j.name, j.arguments) for j in queued] == [
        ("weekly_report", {"installation": 7, "repository": "octo/app", "week": week})
    ]
    store.save_report("octo/app", PublishedReport(week, 4, "e" * 64), now)
    Scheduler(store, queued).start().shutdown()
    assert len(queued) == 1  # published now: nothing more to catch up


def test_config_changes_and_uninstalls_move_the_reports(store):
    queued = Queued()
    scheduler = Scheduler(store, queued).start()
    store.set_report_schedule("octo/app", {"weekday": "wed", "time": "07:15", "timezone": "UTC"})
    store.forget_installation(7, ["octo/lib"])
    scheduler.sync()
    plan = {p.id: p for p in scheduler.plan()}
    scheduler.shutdown()
    assert REPORT_PREFIX + "octo/lib" not in plan
    moved = plan[REPORT_PREFIX + "octo/app"].next_run
    assert (moved.weekday(), moved.hour, moved.minute) == (2, 7, 15)


def test_a_new_report_time_is_picked_up_within_a_minute_and_an_unchanged_store_costs_nothing(
    store,
):
    scheduler = Scheduler(store, Queued()).start()
    try:
        [sync] = [p for p in scheduler.plan() if p.id == SYNC]
        assert sync.trigger == "interval[0:01:00]"
        before = {p.id: p.next_run for p in scheduler.plan()}
        scheduler.sync()  # nothing changed: the plan is not touched
        assert {p.id: p.next_run for p in scheduler.plan()} == before
        store.set_report_schedule("octo/app", {"weekday": "thu", "time": "10:00",
                                               "timezone": "UTC"})  # fmt: skip
        scheduler.sync()
        moved = {p.id: p.next_run for p in scheduler.plan()}[REPORT_PREFIX + "octo/app"]
        assert (moved.weekday(), moved.hour) == (3, 10)
    finally:
        scheduler.shutdown()


def test_a_store_that_synced_every_ten_minutes_syncs_every_minute(store):
    from apscheduler.triggers.interval import IntervalTrigger

    first = Scheduler(store, Queued()).start()
    first._scheduler.reschedule_job(SYNC, trigger=IntervalTrigger(minutes=10, timezone=UTC))
    first.shutdown()
    second = Scheduler(store, Queued()).start()
    [sync] = [p for p in second.plan() if p.id == SYNC]
    second.shutdown()
    assert sync.trigger == "interval[0:01:00]"


def test_schedule_command_lists_the_plan(store, db_url):
    Scheduler(store, Queued()).start().shutdown()
    runner = CliRunner()
    table = runner.invoke(cli, ["schedule", "--db", db_url])
    assert table.exit_code == 0, table.output
    assert "weekly report of octo/app" in table.output and "nightly scan" in table.output
    listed = runner.invoke(cli, ["schedule", "--db", db_url, "--json"])
    ids = [job["id"] for job in __import__("json").loads(listed.output)]
    assert ids[0] == SYNC and set(ids) == {NIGHTLY, SYNC, "report:octo/app", "report:octo/lib"}


def stored_references(store) -> dict[str, str]:
    with store.engine.connect() as connection:
        rows = connection.execute(text(f"SELECT id, job_state FROM {TABLE}")).all()
    return {row.id: pickle.loads(row.job_state)["func"] for row in rows}


def test_jobs_an_older_store_keeps_under_bot_scheduler_load_and_run(db_url):
    """Before the service package, the scheduler was bot/scheduler.py, and APScheduler keeps
    its callables by that name: revision 0008 moves them, so the jobs still load and run."""
    with Store(db_url) as store:
        with store.engine.begin() as connection:
            command.upgrade(store._config(connection), "0007")  # the store before the move
        store.register_installation(7, ["octo/app"])
        Scheduler(store, Queued()).start().shutdown()
        paused = Scheduler(store).start(paused=True)
        paused.move(REPORT_PREFIX + "octo/app", datetime.now(UTC) - timedelta(days=1))
        paused.shutdown()
        with store.engine.begin() as connection:  # as an older trunkguard wrote them
            for row in connection.execute(text(f"SELECT id, job_state FROM {TABLE}")).all():
                state = pickle.loads(row.job_state)
                state["func"] = state["func"].replace("bot.service.scheduler:", "bot.scheduler:")
                connection.execute(
                    text(f"UPDATE {TABLE} SET job_state = :state WHERE id = :id"),
                    {"state": pickle.dumps(state, pickle.HIGHEST_PROTOCOL), "id": row.id},
                )
        assert set(stored_references(store).values()) == {
            "bot.scheduler:queue_job",
            "bot.scheduler:sync_reports",
        }

        store.upgrade()
        assert stored_references(store) == {
            NIGHTLY: "bot.service.scheduler:queue_job",
            SYNC: "bot.service.scheduler:sync_reports",
            REPORT_PREFIX + "octo/app": "bot.service.scheduler:queue_job",
        }
        queued = Queued()
        scheduler = Scheduler(store, queued).start()
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while not queued and datetime.now(UTC) < deadline:
            scheduler.plan()
        plan = {p.id: p.next_run for p in scheduler.plan()}
        scheduler.shutdown()
        assert [(j.name, j.arguments) for j in queued] == [
            ("weekly_report", {"installation": 7, "repository": "octo/app"})
        ]  # the missed run, from the job stored under the old reference
        assert plan[REPORT_PREFIX + "octo/app"] > datetime.now(UTC)

        with store.engine.begin() as connection:  # and back, for an older trunkguard
            command.downgrade(store._config(connection), "0007")
        assert set(stored_references(store).values()) == {
            "bot.scheduler:queue_job",
            "bot.scheduler:sync_reports",
        }
