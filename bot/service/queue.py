"""Running jobs: one attempt with its retries and dead letter (shared by every queue), and the
in-process queue, the embedded default with one worker thread in the server."""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime

import bot.service.jobs.all  # noqa: F401  (registers every job function)
from bot.errors import TrunkguardError, Unavailable
from bot.service import metrics
from bot.service.job import JOBS, Job, JobQueue, Services
from bot.store import FailedJobRecord, StoreError

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # a job GitHub or the database keeps refusing is tried this often
MAX_DELAY = 3600.0  # seconds: GitHub's primary rate limit resets within the hour
STORE_BACKOFF = 5.0  # seconds before the first retry when the database is unreachable


def retry_delay(job: Job, error: Exception) -> float:
    """How long to wait before trying `job` again after `error`: what GitHub asked for
    (growing with each attempt), or an exponential backoff while the database is away."""
    if isinstance(error, Unavailable) and error.retry_after is not None:
        return min(MAX_DELAY, float(error.retry_after) * job.attempt)
    return min(MAX_DELAY, STORE_BACKOFF * 2.0 ** (job.attempt - 1))


def run_job(services: Services, job: Job, jobs: JobQueue) -> str:
    """Run one job and put what it asks for next into `jobs`; return the outcome.

    A job stopped by GitHub's rate limit or outage, or by the database being unreachable,
    is queued again after a backoff, up to MAX_ATTEMPTS; then, or for a bug, it is kept in
    the store's dead letters (`trunkguard jobs failed`). A job GitHub or the repository
    refuses for good (gone, not installed) is said in one log line.
    """
    now = time.time()
    if job.not_before is not None and job.not_before > now:
        jobs.put(job, job.not_before - now)  # woken early: a broker caps how long it holds a job
        metrics.JOBS.labels(job.name, "deferred").inc()
        return "deferred"
    if job.queued_at is not None and job.attempt == 1:
        metrics.JOB_WAIT_SECONDS.labels(job.name).observe(max(0.0, now - job.queued_at))
    started = time.perf_counter()
    try:
        outcome = _attempt(services, job, jobs)
    finally:
        metrics.JOB_SECONDS.labels(job.name).observe(time.perf_counter() - started)
    metrics.JOBS.labels(job.name, outcome).inc()
    return outcome


def _attempt(services: Services, job: Job, jobs: JobQueue) -> str:
    where = {"job": job.name, "delivery": job.delivery, "attempt": job.attempt}
    try:
        follows = JOBS[job.name](services, **job.arguments) or []
    except Unavailable as error:
        if job.attempt >= MAX_ATTEMPTS:
            logger.error("job given up after %d attempts: %s", job.attempt, error, extra=where)
            _dead_letter(services, job, str(error))
            return "given_up"
        delay = retry_delay(job, error)
        logger.warning("job retried in %.0f s: %s", delay, error, extra=where)
        jobs.put(replace(job, attempt=job.attempt + 1, not_before=time.time() + delay), delay)
        return "retried"
    except TrunkguardError as error:  # said in one line, without credentials
        logger.error("job failed: %s", error, extra=where)
        return "failed"
    except Exception as error:  # a bug: the traceback is what its fixer needs
        logger.exception("job failed", extra=where)
        _dead_letter(services, job, f"{type(error).__name__}: {error}")
        return "given_up"
    for follow in follows:
        jobs.put(replace(follow, delivery=job.delivery, queued_at=time.time()), 0.0)
    return "done"


def _dead_letter(services: Services, job: Job, error: str) -> None:
    record = FailedJobRecord(
        job.key, job.name, dict(job.arguments), job.delivery, job.attempt, error
    )
    try:
        services.store.save_failed_job(record, datetime.now(UTC))
    except StoreError as store_error:  # the job itself, so that an operator can send it again
        logger.error(
            "failed job not recorded (%s): %s",
            store_error,
            job.to_message(),
            extra={"job": job.name},
        )


class InProcessQueue:
    """Runs jobs one at a time on a thread of this process (no broker: the embedded default).

    Queued jobs do not survive a restart: they are dropped and counted in the log.
    """

    def __init__(self, services: Services) -> None:
        self._services = services
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._timers: set[threading.Timer] = set()
        self._lock = threading.Lock()
        self._closing = False
        self._dropped = 0
        self._pending: set[str] = set()  # keys of the jobs queued and not started
        self._thread = threading.Thread(target=self._run, name="trunkguard-jobs", daemon=True)
        self._thread.start()

    def put(self, job: Job, delay: float = 0.0) -> None:
        """Queue a job, now or after `delay` seconds; not if the same work already waits
        unstarted (it reads GitHub when it starts, so it does this one's work too)."""
        if job.queued_at is None:
            job = replace(job, queued_at=time.time())
        if delay <= 0:
            with self._lock:
                if job.key in self._pending:
                    metrics.JOBS_MERGED.labels(job.name).inc()
                    return
                self._pending.add(job.key)
            self._jobs.put(job)
            return
        timer = threading.Timer(delay, self._due, (job,))
        timer.daemon = True
        with self._lock:
            self._timers.add(timer)
        timer.start()

    def _due(self, job: Job) -> None:
        with self._lock:
            self._timers = {t for t in self._timers if t.is_alive() and t.function is not None}
            self._pending.add(job.key)
        self._jobs.put(job)

    def depth(self) -> dict[str, int]:
        """Jobs waiting to run, and waiting for their retry time."""
        return {"queued": self._jobs.qsize(), "delayed": self.pending()}

    def pending(self) -> int:
        """How many jobs wait for their retry time."""
        with self._lock:
            return sum(1 for t in self._timers if t.is_alive())

    def join(self) -> None:
        """Wait until every queued job has run (not those waiting to be retried)."""
        self._jobs.join()

    def close(self, wait: float = 10.0) -> None:
        """Stop: the running job may finish (for up to `wait` seconds); the queued and delayed
        ones are dropped and counted in the log (this queue keeps nothing across restarts)."""
        with self._lock:
            for timer in self._timers:
                timer.cancel()
        self._closing = True
        self._jobs.put(None)
        self._thread.join(wait)
        if self._dropped:
            logger.warning("%d queued jobs dropped at shutdown", self._dropped)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                with self._lock:
                    self._pending.discard(job.key)
                if self._closing:
                    self._dropped += 1
                    continue
                run_job(self._services, job, self)
            except Exception:  # never let the worker thread die
                logger.exception("job runner failed")
            finally:
                self._jobs.task_done()
