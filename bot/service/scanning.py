"""Scan a repository, or forecast its conflicts, and keep the figures: the one
measure-then-store for the CLI, the App's jobs and the scheduler."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pygit2

from analyzers.divergence import Progress, ScanReport, scan
from analyzers.errors import AnalysisError, TrunkNotFoundError
from analyzers.forecast import Forecast, ForecastMemo, forecast
from analyzers.refs import Inventory, PullHeads, PullRule, inventory
from bot.errors import TrunkguardError
from bot.mirrors.promisor import fetch_objects
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


def forecast_and_store(
    store: Store | None,
    name: str,
    repo: pygit2.Repository,
    found: Inventory,
    now: int,
    progress: Progress | None = None,
    active_days: int | None = None,
) -> Forecast:
    """Forecast the conflicts of `found`'s branches as of `now`, starting from the merges the
    store already did on this trunk, and keep the predictions and the new merges."""
    started = datetime.now(UTC)
    session: AbstractContextManager[ForecastMemo] = nullcontext(ForecastMemo())
    if store is not None:
        trunk = found.trunk
        tree = None if trunk is None else str(repo[trunk.target].peel(pygit2.Commit).tree_id)
        session = store.merge_session(tree)
    days = defaults()["forecast"]["active_days"] if active_days is None else active_days
    with session as memo:
        result = forecast(
            repo, found, now, active_days=days, memo=memo, progress=progress, fetcher=fetch_objects
        )
    if store is not None and result.trunk_head is not None:
        store.save_forecast(name, result, now, started)
    return result


def same_trunk(repo: pygit2.Repository, trunk: str | None, remote: str = "origin") -> bool:
    """Tell whether `trunk` (None: not named) is the trunk found without naming one."""
    if trunk is None:
        return True
    branches_only = PullRule(PullHeads.NONE)
    try:
        found = inventory(repo, remote=remote, pulls=branches_only).trunk
    except TrunkNotFoundError:
        return True  # no trunk without naming one: the one named is the repository's
    chosen = inventory(repo, trunk=trunk, remote=remote, pulls=branches_only).trunk
    return found is None or chosen is None or found.ref == chosen.ref
