"""The scheduler (APScheduler 3): a nightly scan of every installed repository and each
repository's weekly report at its own time. Its jobs and their next run times live in the
store, so a restart neither loses nor repeats a run; a run missed while it was down happens
once when it is back (coalesced), not once per missed slot. It only queues jobs."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from analyzers.trends import week_name
from bot.service.job import Job, JobQueue
from bot.service.report_schedule import report_schedule, slot_week
from bot.store import InstalledRepository, Store

logger = logging.getLogger(__name__)

TABLE = "scheduled_jobs"
NIGHTLY = "nightly-scans"
SYNC = "sync-reports"
REPORT_PREFIX = "report:"
NIGHTLY_AT = (2, 0)  # UTC: when most teams sleep
SYNC_MINUTES = 1  # how soon a repository's new report time (from its config) is picked up

# The running scheduler, for the functions APScheduler calls by name. A module-level function
# is what its persistent job store can keep (a textual reference, not a bound method); moving
# or renaming one needs its stored rows migrated (as revision 0008 did for bot.scheduler).
_active: Scheduler | None = None


def queue_job(name: str, arguments: Mapping[str, Any]) -> None:
    """Queue one job function run (what each scheduled job does when it is due)."""
    if _active is None:
        raise RuntimeError("no scheduler is running")
    _active.queue(Job(name, dict(arguments)))


def sync_reports() -> None:
    """Bring the weekly report jobs in line with the store (repositories and their times)."""
    if _active is None:
        raise RuntimeError("no scheduler is running")
    _active.sync()


@dataclass(frozen=True)
class Planned:
    """A scheduled job as `trunkguard schedule` shows it."""

    id: str
    what: str
    next_run: datetime | None  # None: paused
    trigger: str


def report_trigger(schedule: Mapping[str, str] | None) -> CronTrigger:
    """The weekly trigger of a report schedule ({"weekday", "time", "timezone"}; None: the
    defaults of config/default.yml)."""
    if schedule is None:
        schedule = report_schedule()
    hour, minute = schedule["time"].split(":")
    return CronTrigger(
        day_of_week=schedule["weekday"],
        hour=int(hour),
        minute=int(minute),
        timezone=ZoneInfo(schedule["timezone"]),
    )


def _queued(job: Job) -> list[Any]:
    """The arguments of queue_job that queue `job` when it is due (as the store keeps them)."""
    return [job.name, dict(job.arguments)]


def _same(a: Any, b: CronTrigger) -> bool:
    return isinstance(a, CronTrigger) and (str(a), str(a.timezone)) == (str(b), str(b.timezone))


class _BackgroundScheduler(BackgroundScheduler):  # type: ignore[misc]
    """APScheduler's background scheduler, minus a loss at shutdown: the wake-up that stops
    its thread processes due jobs once more, hands them to executors already shut down,
    and still moves their next run time on, so the run is lost."""

    def _process_jobs(self) -> float | None:
        if self.state != STATE_RUNNING:
            return None
        return super()._process_jobs()  # type: ignore[no-any-return]


class Scheduler:
    """APScheduler with its jobs kept in the store's database; due jobs go to `jobs` (None:
    a scheduler that only reads the plan, started paused)."""

    def __init__(self, store: Store, jobs: JobQueue | None = None) -> None:
        self.store = store
        self.jobs = jobs
        self._scheduler = _BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=store.engine, tablename=TABLE)},
            executors={"default": ThreadPoolExecutor(2)},
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
            timezone=UTC,
        )
        self._synced: list[InstalledRepository] | None = None  # as at the last sync

    def start(self, paused: bool = False) -> Scheduler:
        """Start (paused: only to read the plan); add the standing jobs a new store lacks."""
        global _active
        _active = self
        self._scheduler.start(paused=paused)
        if paused:
            return self
        # Added once: re-adding would compute a new next run time and lose a missed run.
        if self._scheduler.get_job(NIGHTLY) is None:
            hour, minute = NIGHTLY_AT
            self._scheduler.add_job(
                queue_job,
                CronTrigger(hour=hour, minute=minute, timezone=UTC),
                args=_queued(Job("nightly_scans")),
                id=NIGHTLY,
                name="nightly scan of every installed repository",
            )
        every = IntervalTrigger(minutes=SYNC_MINUTES, timezone=UTC)
        synced = self._scheduler.get_job(SYNC)
        if synced is None:
            self._scheduler.add_job(
                sync_reports,
                every,
                id=SYNC,
                name="pick up report times from the repositories' configs",
            )
        elif synced.trigger.interval != every.interval:
            synced.reschedule(every)  # a store from before SYNC_MINUTES changed: no run is lost
        self.sync()
        self.catch_up()
        return self

    def catch_up(self) -> None:
        """Queue the reports of weeks whose run was lost: APScheduler notes a run as done when
        it hands the job over, so a job queued in memory and then lost to a restart would
        never be published. The store's published reports tell which weeks are missing; a
        repository with none yet gets its first at its next run, not at every start."""
        now = datetime.now(UTC)
        for job in self._scheduler.get_jobs():
            if not job.id.startswith(REPORT_PREFIX):
                continue
            if job.next_run_time is None or job.next_run_time <= now:
                continue  # about to run anyway (a missed run, coalesced)
            slot = job.trigger.get_next_fire_time(None, now - timedelta(days=7))
            if slot is None or slot > now:
                continue
            repository = job.args[1]["repository"]
            week = week_name(slot_week(slot))
            last = self.store.last_report_week(repository)
            if last is not None and last < week:  # ISO week names sort in time order
                logger.info("weekly report caught up: %s %s", repository, week)
                self.queue(Job("weekly_report", {**job.args[1], "week": week}))

    def sync(self) -> None:
        """Add, move or remove the weekly report jobs to match the installed repositories;
        nothing more than one query when they are as at the last sync (it runs each minute)."""
        installed = self.store.installed_repositories()
        if installed == self._synced:
            return
        wanted = {}
        for repository in installed:
            trigger = report_trigger(repository.report_schedule)
            wanted[REPORT_PREFIX + repository.name] = (repository, trigger)
        for job in self._scheduler.get_jobs():
            if job.id.startswith(REPORT_PREFIX) and job.id not in wanted:
                job.remove()
                logger.info("weekly report unscheduled: %s", job.id)
        for job_id, (repository, trigger) in wanted.items():
            job = self._scheduler.get_job(job_id)
            arguments = {"installation": repository.installation, "repository": repository.name}
            if job is None:
                self._scheduler.add_job(
                    queue_job,
                    trigger,
                    args=_queued(Job("weekly_report", arguments)),
                    id=job_id,
                    name=f"weekly report of {repository.name}",
                )
            elif not _same(job.trigger, trigger):
                job.reschedule(trigger)  # the config changed: the new time counts from now
            elif job.args[1] != arguments:  # moved to another installation
                job.modify(args=_queued(Job("weekly_report", arguments)))
        self._synced = installed

    def queue(self, job: Job) -> None:
        """Put a due job into the queue."""
        if self.jobs is None:
            raise RuntimeError("this scheduler only reads the plan")
        self.jobs.put(job)

    def plan(self) -> list[Planned]:
        """Every scheduled job and when it runs next, soonest first."""
        jobs = [
            Planned(job.id, job.name, job.next_run_time, str(job.trigger))
            for job in self._scheduler.get_jobs()
        ]
        far = datetime.max.replace(tzinfo=UTC)
        return sorted(jobs, key=lambda p: (p.next_run or far, p.id))

    def move(self, job_id: str, next_run: datetime) -> None:
        """Set when a job runs next (operators, and tests of missed runs)."""
        self._scheduler.modify_job(job_id, next_run_time=next_run)

    def shutdown(self) -> None:
        """Stop; the plan stays in the store for the next start."""
        global _active
        self._scheduler.shutdown(wait=True)
        if _active is self:
            _active = None


def stored_plan(store: Store) -> list[Planned]:
    """What the scheduler kept in `store` will run and when, read without running anything."""
    scheduler = Scheduler(store).start(paused=True)
    try:
        return scheduler.plan()
    finally:
        scheduler.shutdown()
