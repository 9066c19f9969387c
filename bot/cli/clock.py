"""How the moment measured at stands against the repository's history: a --now before trunk's
newest commit is refused, a clone whose newest commit is long past is said once."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from bot.text import DAY, humane_duration

if TYPE_CHECKING:
    import pygit2

# A clone whose newest commit is older than this is stale (as report.stale_days is for a branch).
STALE_DAYS = 30


@dataclass(frozen=True)
class History:
    """When trunk's head and the newest commit on any branch were committed (None: no commit),
    and whether that newest commit is long before the moment measured."""

    trunk_time: int | None
    newest_time: int | None
    stale: bool = False
    empty: bool = False  # no commit at all


def history_of(repo: pygit2.Repository, trunk: str | None, remote: str) -> History:
    """Return when trunk's head and the newest commit of any branch were committed (None:
    no commit, or no trunk to be found)."""
    import pygit2

    from analyzers.errors import TrunkNotFoundError
    from analyzers.refs import PullHeads, PullRule, inventory

    try:
        found = inventory(repo, trunk=trunk, remote=remote, pulls=PullRule(PullHeads.NONE))
    except TrunkNotFoundError:
        return History(None, None)  # the command's own work says so (and records it)
    if found.trunk is None:
        return History(None, None, empty=True)
    times = [repo[found.trunk.target].peel(pygit2.Commit).commit_time]
    times += [repo[b.target].peel(pygit2.Commit).commit_time for b in found.branches]
    return History(times[0], max(times))


def as_of(timestamp: int) -> str:
    """Return the --now that measures as of `timestamp`, rounded up to the minute."""
    minute = -(-timestamp // 60) * 60
    return datetime.fromtimestamp(minute, UTC).strftime("%Y-%m-%dT%H:%MZ")


def given(name: str = "now") -> bool:
    """Tell whether an option was given on the command line rather than left to its default."""
    source = click.get_current_context().get_parameter_source(name)
    return source is not None and source is not click.core.ParameterSource.DEFAULT


def check_now(history: History, now: int) -> None:
    """Refuse a --now before trunk's newest commit: today's branches cannot be measured then."""
    if history.trunk_time is None or now >= history.trunk_time:
        return
    raise click.BadParameter(
        f"{as_of(now)} is before trunk's newest commit ({as_of(history.trunk_time)}): "
        f"the branches as they are now cannot be measured then; use --now "
        f"{as_of(history.trunk_time)} or later",
        param_hint="'--now'",
    )


def stale_line(history: History, now: int, explicit: bool, fetched: bool = False) -> str | None:
    """Say that the newest commit is long before the moment measured, or None if it is not."""
    newest = history.newest_time
    if newest is None or now - newest <= STALE_DAYS * DAY:
        return None
    day = datetime.fromtimestamp(newest, UTC).strftime("%Y-%m-%d")
    age = humane_duration(now - newest)
    if explicit:
        return (
            f"trunkguard: the newest commit is {age} before --now ({day}); "
            f"--now {as_of(newest)} measures as of then"
        )
    advice = "measure as of then" if fetched else "fetch, or measure as of then"
    return (
        f"trunkguard: the newest commit is {age} old ({day}): {advice} with --now {as_of(newest)}"
    )


def measured_moment(
    repo: pygit2.Repository, target: str, trunk: str | None, remote: str, now: int
) -> History:
    """Return the repository's history once --now is checked against it, saying on stderr
    once if the clone is stale (of a URL, just fetched: the repository itself is)."""
    from bot.mirrors.fetch import is_url

    history = history_of(repo, trunk, remote)
    explicit = given()
    if explicit:
        check_now(history, now)
    line = stale_line(history, now, explicit, fetched=is_url(target))
    if line is None:
        return history
    click.echo(line, err=True)
    return replace(history, stale=True)
