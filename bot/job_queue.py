"""The in-process job queue: the embedded default, one worker thread in the server."""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import replace

from bot.errors import TrunkguardError
from bot.github_app import GitHubUnavailable
from bot.jobs import JOBS, Job, Services

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # a job GitHub keeps refusing (rate limit, 5xx) is tried this often
MAX_DELAY = 3600.0  # seconds: GitHub's primary rate limit resets within the hour


class InProcessQueue:
    """Runs jobs one at a time on a thread of this process.

    A job stopped by GitHub's rate limit or outage is queued again after the wait GitHub
    asked for; any other failure is logged with its delivery, and the next job runs.
    """

    def __init__(self, services: Services) -> None:
        self._services = services
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._timers: set[threading.Timer] = set()
        self._lock = threading.Lock()
        self._closing = False
        self._dropped = 0
        self._thread = threading.Thread(target=self._run, name="trunkguard-jobs", daemon=True)
        self._thread.start()

    def put(self, job: Job, delay: float = 0.0) -> None:
        """Queue a job, now or after `delay` seconds."""
        if delay <= 0:
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
        self._jobs.put(job)

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
                if self._closing:
                    self._dropped += 1
                    continue
                for follow in JOBS[job.name](self._services, **job.arguments) or []:
                    self.put(replace(follow, delivery=job.delivery))
            except GitHubUnavailable as error:
                assert job is not None
                if job.attempt >= MAX_ATTEMPTS:
                    logger.error("job given up: %s", error, extra={"job": job.name})
                else:
                    delay = min(MAX_DELAY, error.retry_after * job.attempt)
                    logger.warning("job retried in %.0f s: %s", delay, error)
                    self.put(replace(job, attempt=job.attempt + 1), delay)
            except TrunkguardError as error:  # said in one line, without credentials
                assert job is not None
                logger.error("job failed: %s", error, extra={"job": job.name})
            except Exception:  # a bug: the traceback is what its fixer needs
                assert job is not None
                logger.exception("job failed", extra={"job": job.name, "delivery": job.delivery})
            finally:
                self._jobs.task_done()
