"""The metrics store: SQLite by default, PostgreSQL at scale; one transaction per scan.

`Store` is the one object callers use; its methods live with their tables: `scans` (scans,
forecasts, weeks), `merges` (merge cache, merged work), `app` (deliveries, installations, pull
requests), `jobs` (reports, nudges, failed jobs), `lock`; `engine` opens and checks the database.
"""

from bot.store.app import AppState
from bot.store.engine import MIGRATIONS, StoreError, database_url, default_url
from bot.store.jobs import JobRecords
from bot.store.lock import Locks
from bot.store.merges import Merges
from bot.store.records import (
    FailedJobRecord,
    InstalledRepository,
    PublishedReport,
    PullRecord,
    StoredForecast,
    StoredScan,
)
from bot.store.scans import Scans


class Store(Scans, Merges, AppState, JobRecords, Locks):
    """A connection to the metrics store, checked to have the schema this trunkguard needs."""


__all__ = [
    "MIGRATIONS",
    "FailedJobRecord",
    "InstalledRepository",
    "PublishedReport",
    "PullRecord",
    "Store",
    "StoreError",
    "StoredForecast",
    "StoredScan",
    "database_url",
    "default_url",
]
