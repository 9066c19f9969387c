"""A job (a job function's name and plain-data arguments), the services job functions work
with, the one protocol of a queue jobs are put into, and the registry of job functions."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from bot.github.client import GitHubClient
    from bot.store import Store


@dataclass(frozen=True)
class Job:
    """One piece of work: a job function's name and its arguments (plain data, so that a
    Celery broker can carry it later)."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    delivery: str | None = None  # the webhook delivery that asked for it, for the logs
    attempt: int = 1
    not_before: float | None = None  # Unix time before which it must not run (a retry's wait)
    queued_at: float | None = None  # when it was queued, for the wait a worker measures

    @property
    def key(self) -> str:
        """What makes two jobs the same work (a redelivery, a duplicate): its name and
        arguments, not its delivery, attempt or timing."""
        what = json.dumps([self.name, self.arguments], sort_keys=True, default=str)
        return hashlib.sha256(what.encode()).hexdigest()[:32]

    def to_message(self) -> dict[str, Any]:
        """The job as plain JSON data, for a broker."""
        return {
            "name": self.name,
            "arguments": dict(self.arguments),
            "delivery": self.delivery,
            "attempt": self.attempt,
            "not_before": self.not_before,
            "queued_at": self.queued_at,
        }

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> Job:
        """The job a broker carried (see to_message)."""
        return cls(
            str(message["name"]),
            dict(message.get("arguments") or {}),
            message.get("delivery"),
            int(message.get("attempt") or 1),
            message.get("not_before"),
            message.get("queued_at"),
        )


@dataclass(frozen=True)
class Services:
    """What job functions work with: the store, GitHub as an installation, the mirrors."""

    store: Store
    github: Callable[[int], GitHubClient] | None  # installation id -> client; None: no App
    mirror_dir: Path
    clock: Callable[[], float] = time.time  # what "now" is (tests fix it)
    report_dir: Path | None = None  # where weekly HTML reports are written (None: not written)
    # Pull requests one job reviews when trunk moves; the rest go to other jobs, which other
    # workers can take (0: all in one job, as the one thread of the embedded queue would).
    spread: int = 0

    def now(self) -> int:
        """Return the current time in Unix seconds."""
        return int(self.clock())

    def client(self, installation: int) -> GitHubClient:
        """Return GitHub as `installation` sees it."""
        if self.github is None:
            raise RuntimeError("no GitHub App is configured")
        return self.github(installation)


Follow = list[Job]  # what a job function returns: the jobs it asks for next


class JobQueue(Protocol):
    """Where jobs are put: the in-process queue or Celery's broker; the server, the scheduler
    and the runner (for retries and follow-ups) put into it."""

    def put(self, job: Job, delay: float = 0.0) -> None:
        """Queue `job` to run now, or after `delay` seconds."""


JobFunction = Callable[..., Follow]
F = TypeVar("F", bound=JobFunction)

# Job functions by name. The names are stored outside the code (broker messages, the store's
# failed jobs), so a job function keeps its name once released.
JOBS: dict[str, JobFunction] = {}


def job(function: F) -> F:
    """Register a job function under its name (bot.service.jobs.all imports every one)."""
    name = function.__name__
    if JOBS.setdefault(name, function) is not function:
        raise ValueError(f"two job functions are named {name}")
    return function
