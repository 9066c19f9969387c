"""Celery workers on a Redis broker: the same jobs, run by any number of processes.

Messages are acknowledged only when their job has run, so that a worker killed mid-job has
the job redone by another once the broker's visibility timeout has passed (minutes, not the
hour Celery's Redis transport waits by default). Jobs are idempotent (what was posted is
kept in the store, and the same pull request is published by one worker at a time), so a
job run twice posts nothing twice.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

import redis
from celery import Celery

from bot.service import metrics
from bot.service.job import Job, Services
from bot.service.queue import run_job

logger = logging.getLogger(__name__)

QUEUE = "trunkguard"
TASK = "trunkguard.run_job"
PENDING = "trunkguard:pending:"  # + a job's key: the same work waits in the queue


class CeleryQueue:
    """Hands jobs to the broker: what the server and the scheduler put jobs into when
    TRUNKGUARD_BROKER_URL is set."""

    def __init__(self, app: Celery) -> None:
        self.app = app
        visibility_timeout = app.conf.broker_transport_options.get("visibility_timeout", 3600)
        # The broker holds a delayed job only while its worker holds the message: never
        # longer than the visibility timeout, or a second worker would be handed it too.
        self.max_countdown = float(visibility_timeout / 2)
        self.pending_seconds = int(visibility_timeout)
        self.redis = redis.Redis.from_url(app.conf.broker_url)

    def put(self, job: Job, delay: float = 0.0) -> None:
        """Send a job to the broker, to run now or after `delay` seconds; not if the same
        work already waits there unstarted (raises redis' or kombu's errors when the broker
        cannot be reached)."""
        now = time.time()
        if job.queued_at is None:
            job = replace(job, queued_at=now)
        marked = False
        if delay <= 0:
            # A burst (ten pushes to trunk in a minute) is one review: the job that waits
            # reads GitHub when it starts, so it does the later ones' work too. The mark
            # expires, so a job lost with its message does not hold the key for long.
            marked = bool(self.redis.set(PENDING + job.key, now, nx=True, ex=self.pending_seconds))
            if not marked:
                metrics.JOBS_MERGED.labels(job.name).inc()
                return
        if delay > self.max_countdown:  # wakes early, then waits again (see run_job)
            job = replace(job, not_before=now + delay)
        countdown = min(max(delay, 0.0), self.max_countdown) or None
        try:
            self.app.send_task(
                TASK,
                args=[job.to_message()],
                queue=QUEUE,
                countdown=countdown,
                task_id=f"{job.key}-{job.attempt}-{int(now * 1000)}",
                retry=True,
                retry_policy={"max_retries": 2, "interval_start": 0.1, "interval_step": 0.2},
            )
        except Exception:
            if marked:
                self.redis.delete(PENDING + job.key)
            raise

    def started(self, job: Job) -> None:
        """A worker starts `job`: the same work asked for from now on must run again."""
        try:
            self.redis.delete(PENDING + job.key)
        except redis.RedisError:  # the mark expires by itself
            logger.warning("pending mark not cleared", extra={"job": job.name})

    def depth(self) -> dict[str, int]:
        """Jobs waiting in the broker, and those handed to a worker but not yet done."""
        with self.app.connection_for_write() as connection:
            client = connection.default_channel.client
            return {"queued": int(client.llen(QUEUE)), "unacked": int(client.hlen("unacked"))}


def celery_app(broker_url: str, visibility_timeout: int = 300) -> Celery:
    """The Celery app trunkguard's workers, server and scheduler share."""
    app = Celery("trunkguard", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,  # acknowledged once run: a killed worker's job is redone
        task_reject_on_worker_lost=True,
        # run_job handles every failure of a job itself; what still escapes is the broker
        # failing to take its follow-ups, and then the whole job is better done again.
        task_acks_on_failure_or_timeout=False,
        worker_prefetch_multiplier=1,  # a worker holds one job beyond the one it runs
        task_default_queue=QUEUE,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": visibility_timeout,
            # look for messages of dead workers every 5 s, not every 100 s
            "unacked_restore_interval": 5,
            "unacked_restore_throttle": 1,
        },
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        worker_enable_remote_control=False,  # no pidbox queues nobody reads
    )
    return app


_services: Services | None = None
_queue: CeleryQueue | None = None


def serve_jobs(app: Celery, services: Services) -> CeleryQueue:
    """Register the task that runs jobs with `services` in this (worker) process."""
    global _services, _queue
    _services = services
    _queue = CeleryQueue(app)

    @app.task(name=TASK, acks_late=True)  # type: ignore[untyped-decorator]
    def run(message: dict[str, Any]) -> str:
        assert _services is not None and _queue is not None
        try:
            job = Job.from_message(message)
        except (KeyError, TypeError, ValueError):  # not ours, or from another version
            logger.error("message dropped: not a job", extra={"message": str(message)[:500]})
            return "dropped"
        _queue.started(job)
        return run_job(_services, job, _queue)

    return _queue
