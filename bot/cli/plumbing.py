"""What commands share once chosen: the repository, the store, progress bars, JSON on stdout,
notes on stderr. Each helper loads what it needs (git, the store, rich) when called."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import platformdirs

from bot.markup import visible
from bot.text import plural
from bot.urls import display_url

if TYPE_CHECKING:
    import pygit2
    from rich.progress import Progress

    from analyzers.divergence import ScanReport
    from analyzers.refs import Inventory, PullRule
    from bot.cli.clock import History
    from bot.store import Store

PROGRESS_DELAY = 0.5  # seconds of work before a progress bar is worth showing


def cache_dir() -> Path:
    """Return the user's cache directory for trunkguard (mirrors of URLs)."""
    return Path(platformdirs.user_cache_dir("trunkguard"))


def open_repo(target: str, cache: Path | None) -> pygit2.Repository:
    """Open a local repository, or the mirror of a URL (fetched again)."""
    from bot.mirrors.fetch import open_repository

    return open_repository(target, cache or cache_dir())


def repository_name(target: str) -> str:
    """Name a repository in the store: its URL without credentials, or its absolute path."""
    from bot.mirrors.fetch import is_url

    return display_url(target) if is_url(target) else str(Path(target).resolve())


def shown_target(target: str) -> str:
    """Return a repository as messages and JSON show it: a URL without credentials, a path
    as given."""
    from bot.mirrors.fetch import is_url

    return display_url(target) if is_url(target) else target


def open_store(db_url: str | None) -> Store:
    """Open the store for this command, closed when the command ends."""
    # Imported here: SQLAlchemy costs a third of a second to load, for nothing with --no-store.
    from bot.store import Store, database_url

    store = Store(database_url(db_url))
    click.get_current_context().call_on_close(store.close)
    return store.ready()


def print_json(document: Any) -> None:
    """Write a JSON document to stdout piece by piece: a scan of every pull request head of a
    big mirror is a hundred megabytes of JSON, which need never be one string in memory."""
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")


def say_left_out(found: Inventory, rule: PullRule, history: History | None = None) -> None:
    """Tell on stderr, in one line, how many pull request heads were left out and why; of a
    stale clone, that the clone is why recent ones are missing, not the rule."""
    from analyzers.refs import PullHeads
    from bot.cli.clock import as_of

    left = found.pulls_left_out
    if not left.total:
        return
    if rule.open_numbers is not None:
        why = "not in the list of open pull requests"
        hint = "--open-pulls names the open ones"
    else:
        reasons = []
        if left.in_trunk:
            reasons.append(f"{left.in_trunk:,} already in trunk")
        if left.in_line:
            reasons.append(f"{left.in_line:,} already in a release line")
        if left.inactive and rule.heads is PullHeads.NONE:
            reasons.append("--pulls none")
        elif left.inactive:
            reasons.append(f"{left.inactive:,} with no commit in {plural(rule.recent_days, 'day')}")
        why = ", ".join(reasons)
        hint = "--pulls all includes them"
        stale = history is not None and history.stale and history.newest_time is not None
        if stale and left.inactive and rule.heads is PullHeads.RECENT:
            assert history is not None and history.newest_time is not None
            why += ": the clone is stale"
            hint = f"--now {as_of(history.newest_time)} counts the recent ones as of then"
    click.echo(
        f"trunkguard: {left.total:,} of {plural(found.pulls_seen, 'pull request head')} left out "
        f"({why}); {hint}",
        err=True,
    )


def unknown_line(counts: dict[str, int], what: str = "figures") -> str | None:
    """Say in one line how many figures are unknown and why, or None if none is."""
    if not counts:
        return None
    total = sum(counts.values())
    noun = what.removesuffix("s") if total == 1 else what
    if len(counts) == 1:
        return f"trunkguard: {total:,} {noun} unknown: {visible(next(iter(counts)))}"
    reasons = "; ".join(f"{n:,}: {visible(reason)}" for reason, n in counts.items())
    return f"trunkguard: {total:,} {noun} unknown ({reasons})"


def say(line: str) -> None:
    """Tell on stderr, in one line, something the user should know (text from git made visible)."""
    click.echo(f"trunkguard: {visible(line)}", err=True)


def say_unknown(counts: dict[str, int], what: str = "figures") -> None:
    """Tell on stderr how many figures are unknown and why, if any is."""
    line = unknown_line(counts, what)
    if line:
        click.echo(line, err=True)


def say_gaps(report: ScanReport) -> None:
    """Tell on stderr what a scan could not measure: unknown figures, unreadable branches."""
    say_unknown(report.unknown_figures())
    for branch in report.unreadable:
        name, reason = visible(branch.name), visible(branch.reason)
        click.echo(f"trunkguard: branch {name} left out: {reason}", err=True)


@contextmanager
def progress(label: str, delay: float = PROGRESS_DELAY) -> Iterator[Callable[[int, int], None]]:
    """Yield a progress callback; when stderr is a terminal, a bar shows there once the work
    has taken `delay` seconds, whether or not a figure came yet, and moves (a pulse until the
    first figure, the time taken) while the work says nothing."""
    if not sys.stderr.isatty():
        yield lambda done, total: None
        return
    bar = _bar(label)
    task = bar.add_task(label, total=None)
    lock = threading.Lock()
    state = {"shown": False, "over": False}

    def show() -> None:
        with lock:
            if not state["over"]:
                bar.start()
                state["shown"] = True

    timer = _timer(delay, show)
    timer.daemon = True
    timer.start()

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    try:
        yield update
    finally:
        timer.cancel()
        with lock:
            state["over"] = True
            if state["shown"]:
                bar.stop()


_timer = threading.Timer  # tests start the bar at once with a timer of their own


def _bar(label: str) -> Progress:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
