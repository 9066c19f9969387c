"""Scan a repository, or forecast its conflicts, and keep the figures: the one
measure-then-store for the CLI, the App's jobs and the scheduler."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pygit2

from analyzers.divergence import Progress, ScanReport
from analyzers.errors import AnalysisError, TrunkNotFoundError
from analyzers.forecast import Forecast, ForecastMemo, forecast
from analyzers.lines import place
from analyzers.refs import BranchRule, Inventory, PullHeads, PullRule, inventory, separate
from analyzers.survey import survey
from bot.errors import TrunkguardError
from bot.mirrors.promisor import fetch_objects
from bot.policy import ConfigError, default_config
from bot.review.repo_config import CONFIG_PATH, config_at
from config import defaults

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from analyzers.resolve.labels import ForecastLabels
    from bot.store import Store


@dataclass(frozen=True)
class LineChoice:
    """What the command line says of release lines, over the repository's configuration."""

    release: tuple[str, ...] | None = None  # globs that replace the configured ones
    ignore: tuple[str, ...] | None = None  # globs that replace the configured ones
    none: bool = False  # no release lines: every branch is feature work

    @property
    def overrides(self) -> bool:
        """Whether the choice departs from the repository's configuration."""
        return self.none or self.release is not None or self.ignore is not None


def trusted_rules(repo: pygit2.Repository, trunk: pygit2.Oid) -> tuple[str, ...]:
    """The resolution rules the repository trusts, as trunk's configuration has them (the
    shipped ones if it has none or an unusable one, which branch_rule tells of)."""
    try:
        return config_at(repo, repo[trunk].peel(pygit2.Commit)).resolve.trusted
    except ConfigError:
        return default_config().resolve.trusted


def branch_rule(
    repo: pygit2.Repository,
    trunk: pygit2.Oid,
    choice: LineChoice = LineChoice(),
    warn: Callable[[str], None] | None = None,
) -> BranchRule:
    """Return the release-line rule: `choice` over the `branches` section of the repository's
    configuration as trunk has it (the defaults if it has none or an unusable one, which
    `warn` is told of)."""
    try:
        kinds = config_at(repo, repo[trunk].peel(pygit2.Commit)).branches
    except ConfigError as error:
        if warn is not None:
            warn(f"{CONFIG_PATH} on trunk is ignored ({error.problem}); the defaults apply")
        kinds = default_config().branches
    rule = kinds.rule()
    if choice.none:
        return BranchRule(ignore=rule.ignore if choice.ignore is None else choice.ignore)
    return BranchRule(
        rule.release if choice.release is None else choice.release,
        rule.ignore if choice.ignore is None else choice.ignore,
        rule.tagged,
    )


def choose_branches(
    repo: pygit2.Repository,
    now: int,
    choice: LineChoice = LineChoice(),
    warn: Callable[[str], None] | None = None,
    **choose: Any,
) -> Inventory:
    """Find trunk and the branches (`choose`: inventory's options) as of `now`: release lines
    apart (see branch_rule), each branch on its base."""
    found = inventory(repo, now=now, **choose)
    if found.trunk is None:
        return found
    found = separate(repo, found, branch_rule(repo, found.trunk.target, choice, warn))
    pulls: PullRule = choose.get("pulls", PullRule())
    return place(repo, found, drop_held=pulls.open_numbers is None)


def scan_and_store(
    store: Store | None,
    name: str,
    repo: pygit2.Repository,
    now: int,
    progress: Progress | None = None,
    choice: LineChoice = LineChoice(),
    warn: Callable[[str], None] | None = None,
    **choose: Any,
) -> tuple[Inventory, ScanReport]:
    """Choose the branches (see choose_branches), scan them as of `now`, and keep the figures
    in `store` (a failure too, so that the history shows the gap)."""
    started = datetime.now(UTC)
    try:
        found = choose_branches(repo, now, choice, warn, **choose)
        report = survey(repo, found, now, progress)
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
    label: Callable[[Forecast], ForecastLabels] | None = None,
) -> tuple[Forecast, ForecastLabels | None]:
    """Forecast the conflicts of `found`'s branches based on trunk as of `now`, starting from
    the merges the store already did on this trunk, and keep the predictions and the new
    merges; with `label`, what the resolution engine says of the conflicts it labels is kept
    with them, and returned."""
    started = datetime.now(UTC)
    session: AbstractContextManager[ForecastMemo] = nullcontext(ForecastMemo())
    if store is not None:
        trunk = found.trunk
        tree = None if trunk is None else str(repo[trunk.target].peel(pygit2.Commit).tree_id)
        session = store.merge_session(tree)
    days = defaults()["forecast"]["active_days"] if active_days is None else active_days
    with session as memo:
        result = forecast(
            repo,
            found.on_trunk(),
            now,
            active_days=days,
            memo=memo,
            progress=progress,
            fetcher=fetch_objects,
        )
    labels = None if label is None or result.trunk_head is None else label(result)
    if labels is not None and not labels.whole:
        # unreadable objects, or no git for its line merge: the week's split is not told
        logger.warning(
            "some conflicts on active branches could not be labelled", extra={"repository": name}
        )
    if store is not None and result.trunk_head is not None:
        store.save_forecast(name, result, now, started, labels)
    return result, labels


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
