"""Prometheus metrics: deliveries, jobs and their durations, queue depth; /metrics serves them."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry()  # trunkguard's own: no process or platform collectors twice

# Label values come from fixed sets only: a label value a client chooses (an unsigned
# request's X-GitHub-Event) would be a new series each time, kept for the process's life.
DELIVERIES = Counter(
    "trunkguard_webhook_deliveries",
    "Verified webhook deliveries answered, by event (one trunkguard knows, else other) and "
    "outcome (queued, 200, 202, 400, 503).",
    ["event", "outcome"],
    registry=REGISTRY,
)
REFUSED = Counter(
    "trunkguard_webhook_refused",
    "Requests refused or dropped before they were a verified delivery, by reason.",
    ["reason"],
    registry=REGISTRY,
)
JOBS = Counter(
    "trunkguard_jobs",
    "Jobs run, by job and outcome (done, retried, deferred, failed, given_up).",
    ["job", "outcome"],
    registry=REGISTRY,
)
JOBS_MERGED = Counter(
    "trunkguard_jobs_merged",
    "Jobs not queued because the same work already waited in the queue, by job.",
    ["job"],
    registry=REGISTRY,
)
JOB_SECONDS = Histogram(
    "trunkguard_job_duration_seconds",
    "How long a job ran.",
    ["job"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800),
    registry=REGISTRY,
)
JOB_WAIT_SECONDS = Histogram(
    "trunkguard_job_wait_seconds",
    "How long a job waited in the queue before a worker started it.",
    ["job"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800),
    registry=REGISTRY,
)


class QueueDepth(Collector):
    """The number of jobs waiting, read when scraped (from the broker, or the in-process
    queue); a reading that fails is left out rather than reported as zero."""

    def __init__(self, read: Callable[[], dict[str, int]]) -> None:
        self._read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            depths = self._read()
        except Exception:  # the broker being down must not take /metrics down with it
            return
        family = GaugeMetricFamily(
            "trunkguard_queue_depth", "Jobs waiting, by state.", labels=["state"]
        )
        for state, count in sorted(depths.items()):
            family.add_metric([state], count)
        yield family


_depth: QueueDepth | None = None


def watch_queue(read: Callable[[], dict[str, int]]) -> None:
    """Report the depth `read` returns as trunkguard_queue_depth (one reader per process)."""
    global _depth
    if _depth is not None:
        REGISTRY.unregister(_depth)
    _depth = QueueDepth(read)
    REGISTRY.register(_depth)


def exposition() -> bytes:
    """Every metric in Prometheus' text format."""
    return generate_latest(REGISTRY)
