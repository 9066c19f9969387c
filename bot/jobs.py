"""The work a webhook delivery asks for, as job functions, and the in-process queue that runs
them. The CLI, the server and (later) the scheduler and the Celery workers call these same
functions."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.store import Store

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """One piece of work: a job function's name and its arguments (plain data, so that a
    Celery broker can carry it later)."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    delivery: str | None = None  # the webhook delivery that asked for it, for the logs


def register_repositories(store: Store, installation: int, added: list[str]) -> None:
    """An App installation now covers these repositories."""
    store.register_installation(installation, added)


def forget_repositories(store: Store, installation: int, removed: list[str] | None) -> None:
    """An App installation no longer covers these repositories (None: any of them)."""
    store.forget_installation(installation, removed)


JOBS: dict[str, Callable[..., None]] = {
    "register_repositories": register_repositories,
    "forget_repositories": forget_repositories,
}


def _names(repositories: Any) -> list[str]:
    return [str(r["full_name"]) for r in repositories or [] if "full_name" in r]


def jobs_for(event: str, payload: Mapping[str, Any]) -> list[Job]:
    """Return the jobs a webhook delivery asks for; none for events trunkguard does not act on.

    Raises KeyError or TypeError for a payload that lacks the fields its event must have.
    """
    action = payload.get("action")
    if event == "installation":
        installation = int(payload["installation"]["id"])
        if action in ("created", "new_permissions_accepted", "unsuspend"):
            names = _names(payload.get("repositories"))
            return [Job("register_repositories", {"installation": installation, "added": names})]
        if action in ("deleted", "suspend"):
            return [Job("forget_repositories", {"installation": installation, "removed": None})]
    if event == "installation_repositories":
        installation = int(payload["installation"]["id"])
        jobs = []
        if payload.get("repositories_added"):
            added = _names(payload["repositories_added"])
            jobs.append(
                Job("register_repositories", {"installation": installation, "added": added})
            )
        if payload.get("repositories_removed"):
            removed = _names(payload["repositories_removed"])
            jobs.append(
                Job("forget_repositories", {"installation": installation, "removed": removed})
            )
        return jobs
    return []


class InProcessQueue:
    """Runs jobs one at a time on a thread of this process: the embedded default.

    A job that fails is logged with its delivery and left; the next one runs.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="trunkguard-jobs", daemon=True)
        self._thread.start()

    def put(self, job: Job) -> None:
        """Queue a job; it runs after those already queued."""
        self._jobs.put(job)

    def join(self) -> None:
        """Wait until every queued job has run."""
        self._jobs.join()

    def close(self) -> None:
        """Let the queued jobs finish, then stop the thread."""
        self._jobs.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                JOBS[job.name](self._store, **job.arguments)
            except Exception:
                assert job is not None
                logger.exception("job failed", extra={"job": job.name, "delivery": job.delivery})
            finally:
                self._jobs.task_done()
