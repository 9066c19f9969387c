"""Scan a repository and keep the figures: the one scan-then-store, for the CLI, the App's
jobs and (later) the scheduler."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pygit2

from analyzers.divergence import Progress, ScanReport, scan
from analyzers.errors import AnalysisError
from analyzers.refs import Inventory, inventory
from bot.errors import TrunkguardError
from config import defaults

if TYPE_CHECKING:
    from bot.store import Store


def scan_and_store(
    store: Store | None,
    name: str,
    repo: pygit2.Repository,
    now: int,
    progress: Progress | None = None,
    **choose: Any,
) -> tuple[Inventory, ScanReport]:
    """Choose the branches (`choose`: inventory's options), scan them as of `now`, and keep
    the figures in `store` (a failure too, so that the history shows the gap)."""
    started = datetime.now(UTC)
    try:
        found = inventory(repo, now=now, **choose)
        report = scan(repo, found, now, progress)
    except (TrunkguardError, AnalysisError, pygit2.GitError) as error:
        if store is not None:
            store.save_failure(name, "scan", str(error), started)
        raise
    if store is not None:
        store.save_scan(name, report, started)
        store.prune(name, defaults()["store"]["keep_daily_days"], started)
    return found, report
