"""The `trunkguard` command line: parse, call the analyzers, format."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
import platformdirs
import pygit2
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from analyzers.divergence import ScanReport
from analyzers.divergence import scan as scan_repository
from analyzers.errors import AnalysisError, WorkerError
from analyzers.forecast import Forecast, forecast
from analyzers.refs import Inventory, PullHeads, PullRule, check_glob, inventory
from analyzers.replay import replay
from analyzers.trends import week_named
from bot.cli.render import (
    forecast_payload,
    forecast_text,
    policy_lines,
    replay_payload,
    replay_text,
    scan_payload,
    scan_table,
    trends_payload,
    trends_table,
    unknown_line,
)
from bot.errors import TrunkguardError
from bot.mirrors import demo as demo_repo
from bot.mirrors.fetch import is_url, open_repository
from bot.mirrors.promisor import fetch_objects
from bot.service.gather import limit_days, mine_weeks
from bot.service.scanning import forecast_and_store, scan_and_store
from bot.text import humane_duration
from config import defaults

if TYPE_CHECKING:
    from bot.service.settings import AppCredentials, Settings
    from bot.store import Store

F = TypeVar("F", bound=Callable[..., Any])
logger = logging.getLogger(__name__)
PROGRESS_DELAY = 0.5  # seconds of silence before a progress bar is worth showing


def _parse_now(ctx: click.Context, param: click.Parameter, value: str | None) -> int:
    if value is None:
        return int(time.time())
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"'{value}' is not an ISO 8601 date, e.g. 2026-11-24T09:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _check_globs(ctx: click.Context, param: click.Parameter, value: Sequence[str]) -> list[str]:
    for pattern in value:
        problem = check_glob(pattern)
        if problem:
            raise click.BadParameter(f"bad glob '{pattern}': {problem}")
    return list(value)


def _apply(command: F, options: list[Callable[[F], F]]) -> F:
    for option in reversed(options):
        command = option(command)
    return command


def repository_options(command: F) -> F:
    """Add the options of every command that reads a repository."""
    return _apply(
        command,
        [
            click.argument("target", metavar="PATH_OR_URL"),
            click.option(
                "--trunk",
                metavar="NAME",
                help="Trunk branch (default: the remote's HEAD, HEAD, main or master).",
            ),
            click.option(
                "--remote",
                default="origin",
                show_default=True,
                help="Remote whose tracking branches count as branches.",
            ),
            click.option(
                "--cache-dir",
                type=click.Path(path_type=Path),
                envvar="TRUNKGUARD_CACHE_DIR",
                help="Where mirrors of URLs are kept (env TRUNKGUARD_CACHE_DIR).",
            ),
            click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout."),
        ],
    )


def branch_options(command: F) -> F:
    """Add the options of every command that looks at branches as of a moment."""
    return _apply(
        command,
        [
            click.option(
                "--now",
                metavar="ISO8601",
                callback=_parse_now,
                help="Measure ages as of this moment (default: now).",
            ),
            click.option(
                "--include",
                metavar="GLOB",
                multiple=True,
                callback=_check_globs,
                help="Only branches matching GLOB (repeatable).",
            ),
            click.option(
                "--exclude",
                metavar="GLOB",
                multiple=True,
                callback=_check_globs,
                help="Skip branches matching GLOB (repeatable).",
            ),
        ],
    )


def _parse_open_pulls(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> frozenset[int] | None:
    if value is None:
        return None
    text = value
    if value.startswith("@"):
        try:
            text = Path(value[1:]).read_text(encoding="utf-8")
        except OSError as error:
            raise click.BadParameter(f"cannot read {value[1:]}: {error.strerror}") from None
    numbers = text.replace(",", " ").split()
    bad = [n for n in numbers if not n.lstrip("#").isdigit()]
    if bad:
        raise click.BadParameter(f"'{bad[0]}' is not a pull request number")
    return frozenset(int(n.lstrip("#")) for n in numbers)


def pull_options(command: F) -> F:
    """Add the options that choose which pull request heads (refs/pull/N/head) count."""
    return _apply(
        command,
        [
            click.option(
                "--pulls",
                "pull_heads",
                type=click.Choice([p.value for p in PullHeads]),
                default=PullHeads.RECENT.value,
                show_default=True,
                help="Pull request heads to analyse when the open ones are not known: recent "
                "(not in trunk, with a commit in the last --pull-days days), all, or none.",
            ),
            click.option(
                "--pull-days",
                type=click.IntRange(min=1),
                default=lambda: defaults()["pulls"]["recent_days"],
                show_default="30, from config/default.yml",
                help="How recent a pull request head's last commit must be for --pulls recent.",
            ),
            click.option(
                "--open-pulls",
                metavar="N,N,…|@FILE",
                callback=_parse_open_pulls,
                help="The open pull requests' numbers (or a file of them): only those heads "
                "count, whatever --pulls says.",
            ),
        ],
    )


def _pull_rule(pull_heads: str, pull_days: int, open_pulls: frozenset[int] | None) -> PullRule:
    return PullRule(PullHeads(pull_heads), pull_days, open_pulls)


def _say_left_out(found: Inventory, rule: PullRule) -> None:
    """Tell on stderr, in one line, how many pull request heads were left out and why."""
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
        if left.inactive and rule.heads is PullHeads.NONE:
            reasons.append("--pulls none")
        elif left.inactive:
            reasons.append(f"{left.inactive:,} with no commit in {rule.recent_days} days")
        why = ", ".join(reasons)
        hint = "--pulls all includes them"
    click.echo(
        f"trunkguard: {left.total:,} of {found.pulls_seen:,} pull request heads left out "
        f"({why}); {hint}",
        err=True,
    )


def _print_json(document: Any) -> None:
    """Write a JSON document to stdout piece by piece: a scan of every pull request head of a
    big mirror is a hundred megabytes of JSON, which need never be one string in memory."""
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")


def _say_gaps(report: ScanReport) -> None:
    """Tell on stderr what a scan could not measure: unknown figures, unreadable branches."""
    line = unknown_line(report.unknown_figures())
    if line:
        click.echo(line, err=True)
    for branch in report.unreadable:
        click.echo(f"trunkguard: branch {branch.name} left out: {branch.reason}", err=True)


_db_option = click.option(
    "--db",
    "db_url",
    metavar="URL",
    envvar="TRUNKGUARD_DATABASE_URL",
    help="Metrics store (env TRUNKGUARD_DATABASE_URL; default: a SQLite file in your data "
    "directory), e.g. postgresql://user@host/trunkguard.",
)


def store_options(command: F) -> F:
    """Add the options of every command that keeps its results in the metrics store."""
    return _apply(
        command,
        [
            _db_option,
            click.option("--no-store", is_flag=True, help="Do not keep the results."),
        ],
    )


def _open_store(db_url: str | None) -> Store:
    """Open the store for this command, closed when the command ends."""
    # Imported here: SQLAlchemy costs a third of a second to load, for nothing with --no-store.
    from bot.store import Store, database_url

    store = Store(database_url(db_url))
    click.get_current_context().call_on_close(store.close)
    return store.ready()


def repository_name(target: str) -> str:
    """Name a repository in the store: its URL, or its absolute path."""
    return target if is_url(target) else str(Path(target).resolve())


def _open(target: str, cache_dir: Path | None) -> pygit2.Repository:
    return open_repository(target, cache_dir or Path(platformdirs.user_cache_dir("trunkguard")))


@contextmanager
def _progress(label: str, enabled: bool) -> Iterator[Callable[[int, int], None]]:
    """Yield a progress callback that shows a bar on stderr once the work takes a moment."""
    started = time.monotonic()
    bar: Progress | None = None
    task = None

    def update(done: int, total: int) -> None:
        nonlocal bar, task
        if not enabled:
            return
        if bar is None:
            if time.monotonic() - started < PROGRESS_DELAY:
                return
            bar = Progress(
                TextColumn(label),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            bar.start()
            task = bar.add_task(label, total=total)
        assert task is not None
        bar.update(task, completed=done, total=total)

    try:
        yield update
    finally:
        if bar is not None:
            bar.stop()


class ErrorTranslatingGroup(click.Group):
    """Turns errors into one line on stderr and exit status 1; TRUNKGUARD_DEBUG=1 shows more."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (TrunkguardError, AnalysisError) as error:
            raise click.ClickException(str(error)) from error
        except pygit2.GitError as error:
            raise click.ClickException(f"git error: {error}") from error
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as error:
            if os.environ.get("TRUNKGUARD_DEBUG"):
                raise
            logger.debug("unexpected error", exc_info=True)
            # An error from a worker process reads as it would have in this one.
            kind, message = (
                (error.type_name, error.message)
                if isinstance(error, WorkerError)
                else (type(error).__name__, str(error))
            )
            raise click.ClickException(
                f"internal error: {kind}: {message} "
                "(a bug: please report it; TRUNKGUARD_DEBUG=1 shows the traceback)"
            ) from error


@click.group(cls=ErrorTranslatingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="trunkguard")
def cli() -> None:
    """trunkguard keeps teams on short-lived branches.

    It measures how old every branch is and how far it has drifted from trunk.

    \b
    Examples:
      trunkguard scan .
      trunkguard scan https://example.com/org/app.git --json
      trunkguard demo
    """


@cli.command()
@repository_options
@branch_options
@pull_options
@store_options
def scan(
    target: str,
    trunk: str | None,
    remote: str,
    now: int,
    include: list[str],
    exclude: list[str],
    pull_heads: str,
    pull_days: int,
    open_pulls: frozenset[int] | None,
    cache_dir: Path | None,
    as_json: bool,
    db_url: str | None,
    no_store: bool,
) -> None:
    """Measure every branch's age and divergence from trunk.

    PATH_OR_URL is a local repository (bare or not), or a URL that is mirrored into the cache
    directory and fetched again on later runs.

    A GitHub mirror holds a head for every pull request ever opened (refs/pull/N/head). By
    default only the plausibly open ones count: not in trunk (merged, squashed or rebased) and
    with a commit in the last --pull-days days; --open-pulls names the open ones when you know
    them. A pull request from a branch of the repository is that branch, shown with its number.

    \b
    Examples:
      trunkguard scan .
      trunkguard scan ~/src/app --trunk develop --exclude 'release/*'
      trunkguard scan https://example.com/org/app.git --json > scan.json
      trunkguard scan mirror.git --pulls all
      gh pr list --json number -q '.[].number' > open.txt
      trunkguard scan . --open-pulls @open.txt
      trunkguard scan . --db postgresql://trunkguard@db.internal/trunkguard
    """
    repo = _open(target, cache_dir)
    rule = _pull_rule(pull_heads, pull_days, open_pulls)
    store = None if no_store else _open_store(db_url)
    with _progress("scanning branches", sys.stderr.isatty()) as progress:
        found, report = scan_and_store(
            store,
            repository_name(target),
            repo,
            now,
            progress,
            trunk=trunk,
            remote=remote,
            include=include,
            exclude=exclude,
            pulls=rule,
        )
    _say_left_out(found, rule)
    _say_gaps(report)
    if as_json:
        _print_json(scan_payload(report, target))
        return
    if report.trunk.head is None:
        click.echo(f"{target}: the repository has no commits yet.")
        return
    if not report.branches:
        click.echo(f"{target}: no branches besides trunk '{report.trunk.name}'.")
        return
    console = Console()
    console.print(scan_table(report, console.width))


@cli.command()
@repository_options
@branch_options
@pull_options
@store_options
@click.option(
    "--active-days",
    type=click.IntRange(min=1),
    default=lambda: defaults()["forecast"]["active_days"],
    show_default="30, from config/default.yml",
    help="Branches with a commit in this many days (and all pull requests) are paired.",
)
def conflicts(
    target: str,
    trunk: str | None,
    remote: str,
    now: int,
    include: list[str],
    exclude: list[str],
    pull_heads: str,
    pull_days: int,
    open_pulls: frozenset[int] | None,
    cache_dir: Path | None,
    as_json: bool,
    db_url: str | None,
    no_store: bool,
    active_days: int,
) -> None:
    """Predict merge conflicts: each branch with trunk, and between active branches.

    Two branches conflict when landing both on today's trunk makes the second one conflict
    because of the first. The command also suggests an order to land the active branches.

    \b
    Examples:
      trunkguard conflicts .
      trunkguard conflicts ~/src/app --active-days 14 --exclude 'release/*'
      trunkguard conflicts https://example.com/org/app.git --json
    """
    store = None if no_store else _open_store(db_url)
    repo = _open(target, cache_dir)
    rule = _pull_rule(pull_heads, pull_days, open_pulls)
    found = inventory(
        repo, trunk=trunk, remote=remote, include=include, exclude=exclude, pulls=rule, now=now
    )
    _say_left_out(found, rule)
    with _progress("merging", sys.stderr.isatty()) as progress:
        result = forecast_and_store(
            store, repository_name(target), repo, found, now, progress, active_days
        )
    line = unknown_line(result.unknown_figures(), "merges")
    if line:
        click.echo(line, err=True)
    if as_json:
        _print_json(forecast_payload(result, target))
        return
    if result.trunk_head is None:
        click.echo(f"{target}: the repository has no commits yet.")
        return
    console = Console()
    for block in forecast_text(result):
        console.print(block, soft_wrap=True)


@cli.command(name="replay")
@repository_options
@click.option(
    "--merges",
    "limit",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="How many of the newest merges reachable from trunk to redo.",
)
@click.option(
    "--check-git",
    is_flag=True,
    help="Also redo each merge with git merge-tree and report the agreement with git.",
)
def replay_merges(
    target: str,
    trunk: str | None,
    remote: str,
    cache_dir: Path | None,
    as_json: bool,
    limit: int,
    check_git: bool,
) -> None:
    """Redo trunk's recorded merges in memory and report which would have conflicted.

    Merges that landed work on trunk are counted apart from merges of trunk into a branch:
    on projects that resolve conflicts before landing, the second are where conflicts were paid.
    For each merge that conflicted it tells when trunkguard would first have warned: the
    moment from which the two sides' trial merge conflicts on the same paths (the lead time).

    \b
    Examples:
      trunkguard replay .
      trunkguard replay ~/src/app --merges 500 --json
      trunkguard replay . --check-git
    """
    from bot.mirrors.gitcheck import replay_agreement

    repo = _open(target, cache_dir)
    # Only trunk's history is replayed: no pull request head matters here.
    found = inventory(repo, trunk=trunk, remote=remote, pulls=PullRule(PullHeads.NONE))
    if found.trunk is None:
        click.echo(f"{target}: the repository has no commits yet.")
        return
    with _progress("replaying merges", sys.stderr.isatty()) as progress:
        report = replay(repo, found.trunk.target, limit, progress=progress, fetcher=fetch_objects)
    line = unknown_line(report.unknown_figures(), "merges")
    if line:
        click.echo(line, err=True)
    agreement = replay_agreement(repo, report.merges) if check_git else None
    if as_json:
        _print_json(replay_payload(report, target, agreement))
        return
    console = Console()
    for block in replay_text(report, agreement):
        console.print(block, soft_wrap=True)


@cli.command()
@repository_options
@click.option(
    "--weeks",
    type=click.IntRange(min=1, max=520),
    default=26,
    show_default=True,
    help="How many weeks back, counting this one.",
)
@click.option(
    "--now",
    metavar="ISO8601",
    callback=_parse_now,
    help="The moment the last week ends (default: now).",
)
@pull_options
@_db_option
def trends(
    target: str,
    trunk: str | None,
    remote: str,
    cache_dir: Path | None,
    as_json: bool,
    weeks: int,
    now: int,
    pull_heads: str,
    pull_days: int,
    open_pulls: frozenset[int] | None,
    db_url: str | None,
) -> None:
    """Show how branch age, integration and conflicts change week by week.

    Weeks with a stored scan use it; the weeks before the first scan are filled from trunk's
    history (work that was open then), so the first run already shows months of trends.
    The merged work it mines is kept in the store.

    \b
    Examples:
      trunkguard trends .
      trunkguard trends ~/src/app --weeks 52 --json
    """
    store = _open_store(db_url)
    name = repository_name(target)
    scanned, predicted = store.weekly_ages(name), store.weekly_predicted(name)
    repo = _open(target, cache_dir)
    rule = _pull_rule(pull_heads, pull_days, open_pulls)
    found = inventory(repo, trunk=trunk, remote=remote, pulls=rule, now=now)
    _say_left_out(found, rule)
    if found.trunk is None:
        raise click.ClickException(f"{target}: the repository has no commits yet")
    with _progress("mining history", sys.stderr.isatty()) as progress:
        figures, mined = mine_weeks(
            repo, found, now, weeks, scanned, predicted, limit_days(), progress=progress
        )
    store.save_merged_work(name, mined.merged)
    unredone = sum(1 for w in mined.merged if w.conflicted is None)
    if unredone:
        click.echo(
            f"trunkguard: {unredone:,} merges unknown (an object they need is missing): "
            "not counted as conflicts",
            err=True,
        )
    if as_json:
        _print_json(trends_payload(figures, target))
        return
    console = Console()
    console.print(trends_table(figures, limit_days(), console.width))


def _parse_week(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return week_named(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not an ISO week, e.g. 2026-W48") from None


@cli.command()
@repository_options
@click.option(
    "--week",
    metavar="YYYY-Www",
    callback=_parse_week,
    help="The ISO week to report on, e.g. 2026-W48 (default: the week of --now).",
)
@click.option(
    "--now",
    metavar="ISO8601",
    callback=_parse_now,
    help="The moment the figures are measured at (default: now).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["markdown", "html", "json"]),
    default="markdown",
    show_default=True,
    help="Markdown as the GitHub issue shows it, a self-contained HTML page, or JSON.",
)
@pull_options
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to this file ('-': standard output). Default: standard output; "
    "for HTML, trunkguard-report-WEEK.html in the current directory.",
)
@_db_option
def report(
    target: str,
    trunk: str | None,
    remote: str,
    cache_dir: Path | None,
    as_json: bool,
    week: int | None,
    now: int,
    output_format: str,
    output: Path | None,
    pull_heads: str,
    pull_days: int,
    open_pulls: frozenset[int] | None,
    db_url: str | None,
) -> None:
    """Write the weekly divergence report: headline figures against last week and the
    4-week trend, conflicts paid and how early trunkguard would have warned, the oldest,
    most diverged, idle and stale branches, forecast conflicts and a land order, charts.

    Today's scan and forecast are stored first; weeks before the first stored scan are
    filled from trunk's history. Needs no GitHub.

    \b
    Examples:
      trunkguard report . --format html          # then open trunkguard-report-*.html
      trunkguard report ~/src/app --week 2026-W47 --format markdown --output week47.md
      trunkguard report . --json
    """
    from bot.report.html import report_html
    from bot.report.markdown import report_markdown
    from bot.report.payload import report_payload
    from bot.service.gather import gather_report

    store = _open_store(db_url)
    repo = _open(target, cache_dir)
    name = repository_name(target)
    rule = _pull_rule(pull_heads, pull_days, open_pulls)
    with _progress("mining history", sys.stderr.isatty()) as progress:
        gathered = gather_report(
            store, name, repo, now, week, progress, trunk=trunk, remote=remote, pulls=rule
        )
    weekly = gathered.report
    if as_json or output_format == "json":
        text = json.dumps(report_payload(weekly), indent=2, ensure_ascii=False) + "\n"
    elif output_format == "html":
        text = report_html(weekly)
        output = output or Path(f"trunkguard-report-{weekly.week}.html")
    else:
        text = report_markdown(weekly)
    if output is None or str(output) == "-":
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise click.ClickException(f"{output}: cannot write: {error.strerror}") from None
    click.echo(f"report for {weekly.week} written to {output}")


@cli.group()
def db() -> None:
    """Manage the metrics store's schema.

    \b
    Examples:
      trunkguard db current
      trunkguard db upgrade --db postgresql://trunkguard@db.internal/trunkguard
    """


@db.command()
@_db_option
def upgrade(db_url: str | None) -> None:
    """Create the store's tables or bring them to this version's schema.

    \b
    Example:
      trunkguard db upgrade --db sqlite:///trunkguard.db
    """
    from bot.store import Store, database_url

    with Store(database_url(db_url)) as store:
        before, after = store.upgrade()
    if before == after:
        click.echo(f"schema already at revision {after}")
    else:
        click.echo(f"schema upgraded from revision {before or 'none'} to {after}")


@db.command()
@_db_option
def current(db_url: str | None) -> None:
    """Show the store's schema revision and the one this version needs.

    \b
    Example:
      trunkguard db current
    """
    from bot.store import Store, database_url

    with Store(database_url(db_url)) as store:
        current_revision, head = store.revisions()
    state = "up to date" if current_revision == head else "run `trunkguard db upgrade`"
    click.echo(
        f"schema revision {current_revision or 'none'}; this trunkguard needs {head} ({state})"
    )


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--no-scheduler",
    is_flag=True,
    help="Serve webhooks only (another process runs `trunkguard scheduler`).",
)
def serve(host: str, port: int, no_scheduler: bool) -> None:
    """Run the GitHub App: webhooks in, check runs and comments out.

    Settings come from TRUNKGUARD_* environment variables (see the README); start-up fails
    with one line per missing or bad setting. With no App credentials yet, the server offers
    a setup page that registers the App on GitHub from its manifest and keeps its key and
    secret in a file only this user can read (restart afterwards). Deliveries are verified,
    recorded and queued: to jobs run in this process, or, with TRUNKGUARD_BROKER_URL, to
    Celery workers (`trunkguard worker`). GET /healthz answers load balancers, GET /metrics
    Prometheus. The scheduler runs here too unless --no-scheduler (run one per deployment).

    \b
    Examples:
      trunkguard serve                      # first run: open http://127.0.0.1:8000/
      TRUNKGUARD_APP_ID=1234 TRUNKGUARD_PRIVATE_KEY_PATH=key.pem \\
        TRUNKGUARD_WEBHOOK_SECRET=... trunkguard serve --host 0.0.0.0 --port 8080
      TRUNKGUARD_BROKER_URL=redis://redis.internal:6379/0 \\
        TRUNKGUARD_DATABASE_URL=postgresql://trunkguard@db/trunkguard \\
        trunkguard serve --no-scheduler
    """
    import uvicorn

    from bot.service.metrics import watch_queue
    from bot.service.runtime import start
    from bot.service.scheduler import Scheduler
    from bot.service.server import create_app, create_setup_app
    from bot.service.settings import app_credentials, load_settings

    settings = load_settings(os.environ)
    credentials = app_credentials(settings)
    if credentials is None:
        click.echo(
            f"trunkguard: no GitHub App yet: open http://{host}:{port}/ to register it "
            "(or set TRUNKGUARD_APP_ID, TRUNKGUARD_PRIVATE_KEY_PATH, TRUNKGUARD_WEBHOOK_SECRET)",
            err=True,
        )
        setup = create_setup_app(
            settings.github_api_url, settings.public_url, settings.credentials_file
        )
        uvicorn.run(setup, host=host, port=port, log_level="warning")
        return
    runtime = start(settings, credentials)
    watch_queue(runtime.jobs.depth)
    scheduler = None if no_scheduler else Scheduler(runtime.store, runtime.jobs.put).start()
    server = create_app(credentials.webhook_secret.encode(), runtime.store, runtime.jobs)
    try:
        uvicorn.run(server, host=host, port=port, log_level="warning")
    finally:
        if scheduler is not None:
            scheduler.shutdown()
        runtime.close()


def _app_credentials(settings: Settings) -> AppCredentials:
    """The App's credentials, or a one-line error saying how to give them."""
    from bot.service.settings import app_credentials

    credentials = app_credentials(settings)
    if credentials is None:
        raise click.ClickException(
            "no GitHub App credentials: set TRUNKGUARD_APP_ID, TRUNKGUARD_PRIVATE_KEY_PATH "
            "and TRUNKGUARD_WEBHOOK_SECRET, or register the App with `trunkguard serve`"
        )
    return credentials


@cli.command(name="scheduler")
def scheduler_command() -> None:
    """Run the scheduler alone, without the webhook server: the nightly scan of every
    installed repository and each repository's weekly report, run in this process.

    `trunkguard serve` runs the same scheduler; run this instead where webhooks are served
    elsewhere. Jobs and their times are kept in the store: a restart loses and repeats
    nothing. Settings as for `serve` (TRUNKGUARD_* variables).

    \b
    Example:
      TRUNKGUARD_APP_ID=1234 TRUNKGUARD_PRIVATE_KEY_PATH=key.pem \\
        TRUNKGUARD_WEBHOOK_SECRET=... trunkguard scheduler
    """
    import threading

    from bot.service.runtime import start
    from bot.service.scheduler import Scheduler
    from bot.service.settings import load_settings

    settings = load_settings(os.environ)
    credentials = _app_credentials(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    runtime = start(settings, credentials)
    scheduler = Scheduler(runtime.store, runtime.jobs.put).start()
    click.echo("trunkguard: scheduler running; Ctrl-C stops it", err=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.shutdown()
        runtime.close()


@cli.command()
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=9101,
    show_default=True,
    help="Serve Prometheus metrics on this port (0: none).",
)
@click.option("--name", default=None, help="This worker's name (default: celery's, host based).")
def worker(metrics_port: int, name: str | None) -> None:
    """Run a Celery worker: take jobs from the broker and run them, one at a time.

    Needs TRUNKGUARD_BROKER_URL (Redis) and the App's settings as for `serve`, with a
    store all processes share (TRUNKGUARD_DATABASE_URL, PostgreSQL). Start as many as the
    work needs, on as many machines; each keeps its mirrors in TRUNKGUARD_MIRROR_DIR. A job
    is acknowledged once run: a worker killed mid-job has it redone by another after
    TRUNKGUARD_VISIBILITY_TIMEOUT seconds (300). Jobs that keep failing are listed by
    `trunkguard jobs failed`.

    \b
    Examples:
      TRUNKGUARD_BROKER_URL=redis://127.0.0.1:6379/0 \\
        TRUNKGUARD_DATABASE_URL=postgresql://trunkguard@127.0.0.1/trunkguard trunkguard worker
      trunkguard worker --metrics-port 9102 --name second@%h   # a second on the same machine
    """
    from bot.service.runtime import services_for
    from bot.service.settings import load_settings
    from bot.service.workers import celery_app, serve_jobs

    settings = load_settings(os.environ)
    if settings.broker_url is None:
        raise click.ClickException(
            "TRUNKGUARD_BROKER_URL is not set: a worker takes its jobs from Redis "
            "(e.g. redis://127.0.0.1:6379/0); without one, `trunkguard serve` runs them itself"
        )
    credentials = _app_credentials(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    store, services = services_for(settings, credentials)
    app = celery_app(settings.broker_url, settings.visibility_timeout)
    queue = serve_jobs(app, services)
    if metrics_port:
        from prometheus_client import start_http_server

        from bot.service.metrics import REGISTRY, watch_queue

        watch_queue(queue.depth)
        start_http_server(metrics_port, registry=REGISTRY)
    argv = ["worker", "--pool=solo", "--loglevel=INFO", "--without-heartbeat"]
    argv += ["--without-gossip", "--without-mingle", "-Q", "trunkguard"]
    if name:
        argv += ["--hostname", name]
    try:
        app.worker_main(argv)
    finally:
        store.close()


@cli.group(name="jobs")
def jobs_group() -> None:
    """Look at the jobs workers gave up on, and send them again.

    \b
    Examples:
      trunkguard jobs failed
      trunkguard jobs retry 17
    """


@jobs_group.command(name="failed")
@_db_option
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@click.option("--all", "include_retried", is_flag=True, help="Also those sent again already.")
@click.option("--json", "as_json", is_flag=True, help="Print them as JSON.")
def jobs_failed(db_url: str | None, limit: int, include_retried: bool, as_json: bool) -> None:
    """List the jobs given up on (GitHub or the database refused them on every try, or a
    bug stopped them), newest first, with their last error.

    \b
    Examples:
      trunkguard jobs failed
      trunkguard jobs failed --db postgresql://trunkguard@db/trunkguard --json
    """
    store = _open_store(db_url)
    failed = store.failed_jobs(limit, include_retried)
    if as_json:
        _print_json(
            [
                {
                    "id": f.id,
                    "job": f.name,
                    "arguments": f.arguments,
                    "delivery": f.delivery,
                    "attempts": f.attempts,
                    "error": f.error,
                    "failed_at": f.failed_at.isoformat() if f.failed_at else None,
                    "retried_at": f.retried_at.isoformat() if f.retried_at else None,
                }
                for f in failed
            ]
        )
        return
    if not failed:
        click.echo("no failed jobs")
        return
    now = datetime.now(UTC)
    table = Table(title="Jobs given up on", title_justify="left")
    for column in ("id", "when", "job", "what", "tries", "last error"):
        table.add_column(column, overflow="fold")
    for f in failed:
        ago = humane_duration(int((now - f.failed_at).total_seconds())) if f.failed_at else ""
        what = ", ".join(f"{k}={v}" for k, v in sorted(f.arguments.items()) if k != "installation")
        table.add_row(str(f.id), f"{ago} ago", f.name, what, str(f.attempts), f.error)
    Console().print(table)


@jobs_group.command(name="retry")
@click.argument("failed_id", type=int)
@_db_option
def jobs_retry(failed_id: int, db_url: str | None) -> None:
    """Send a failed job again (to the broker, TRUNKGUARD_BROKER_URL), by its id in
    `trunkguard jobs failed`.

    \b
    Example:
      trunkguard jobs retry 17
    """
    from bot.service.jobs import Job
    from bot.service.settings import load_settings
    from bot.service.workers import CeleryQueue, celery_app

    settings = load_settings(os.environ)
    if settings.broker_url is None:
        raise click.ClickException(
            "TRUNKGUARD_BROKER_URL is not set: without a broker, jobs run inside "
            "`trunkguard serve`; the next event or nightly scan does this work again"
        )
    store = _open_store(db_url)
    found = store.failed_job(failed_id)
    if found is None or found.retried_at is not None:
        raise click.ClickException(
            f"no failed job {failed_id} waiting (see trunkguard jobs failed)"
        )
    queue = CeleryQueue(celery_app(settings.broker_url, settings.visibility_timeout))
    queue.put(Job(found.name, found.arguments, found.delivery))
    store.mark_failed_job_retried(failed_id, datetime.now(UTC))
    click.echo(f"job {failed_id} ({found.name}) sent again")


@cli.command(name="schedule")
@_db_option
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def schedule_command(db_url: str | None, as_json: bool) -> None:
    """List what the scheduler will run and when: the nightly scans and each installed
    repository's weekly report, soonest first, from the store (nothing is run).

    \b
    Examples:
      trunkguard schedule
      trunkguard schedule --db postgresql://trunkguard@db.internal/trunkguard --json
    """
    from bot.service.scheduler import Scheduler

    store = _open_store(db_url)
    scheduler = Scheduler(store, lambda job: None).start(paused=True)
    try:
        plan = scheduler.plan()
    finally:
        scheduler.shutdown()
    now = datetime.now(UTC)
    if as_json:
        _print_json(
            [
                {
                    "id": p.id,
                    "what": p.what,
                    "next_run": None if p.next_run is None else p.next_run.isoformat(),
                    "trigger": p.trigger,
                }
                for p in plan
            ]
        )
        return
    if not plan:
        click.echo(
            "nothing scheduled yet: `trunkguard serve` (or `trunkguard scheduler`) plans the "
            "nightly scans and a weekly report for each installed repository"
        )
        return
    table = Table(title="Scheduled work", title_justify="left")
    table.add_column("next run")
    table.add_column("in", justify="right")
    table.add_column("what")
    for p in plan:
        when = "paused" if p.next_run is None else p.next_run.strftime("%a %Y-%m-%d %H:%M %Z")
        wait = (
            "" if p.next_run is None else humane_duration(int((p.next_run - now).total_seconds()))
        )
        table.add_row(when, wait, p.what)
    Console().print(table)


@cli.command(name="pr-check")
@click.option(
    "--event",
    "event_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="GITHUB_EVENT_PATH",
    required=True,
    help="The pull_request event (env GITHUB_EVENT_PATH, set by GitHub Actions).",
)
@click.option(
    "--token",
    envvar="GITHUB_TOKEN",
    required=True,
    help="A token with checks, pull requests and contents access (env GITHUB_TOKEN).",
)
@click.option(
    "--api-url",
    envvar="GITHUB_API_URL",
    default="https://api.github.com",
    show_default=True,
    help="GitHub's API (env GITHUB_API_URL; GitHub Enterprise Server sets its own).",
)
@click.option(
    "--mirror-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="TRUNKGUARD_MIRROR_DIR",
    help="Where the repository's mirror is kept (default: the cache directory).",
)
@_db_option
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
def pr_check(
    event_path: Path,
    token: str,
    api_url: str,
    mirror_dir: Path | None,
    db_url: str | None,
    as_json: bool,
) -> None:
    """Check one pull request from a GitHub Actions workflow, without installing the App.

    Reads the pull_request event, mirrors the repository with the token, and posts the same
    check run named trunkguard and the same one comment as the App would. The exit status
    is 0 whatever the verdict: the check run carries it (require it in branch protection).

    \b
    Examples (in a workflow step; see the README for the whole workflow):
      trunkguard pr-check
      trunkguard pr-check --event event.json --token "$GITHUB_TOKEN" --json
    """
    from bot.github.client import token_client
    from bot.review.pull import review_pull_request

    try:
        event = json.loads(event_path.read_bytes())
        repository = str(event["repository"]["full_name"])
        number = int(event["pull_request"]["number"])
    except (ValueError, KeyError, TypeError):
        raise click.ClickException(f"{event_path}: not a pull_request event") from None
    mirrors = mirror_dir or Path(platformdirs.user_cache_dir("trunkguard")) / "app-mirrors"
    client = token_client(api_url.rstrip("/"), token)
    review = review_pull_request(client, _open_store(db_url), mirrors, repository, number)
    verdict = review.evaluation
    if as_json:
        _print_json(
            {
                "repository": repository,
                "pull_request": number,
                "outcome": str(review.outcome),
                "head": review.head_sha,
                "conclusion": str(verdict.conclusion) if verdict else None,
                "title": verdict.title if verdict else None,
                "comment": review.comment,
            }
        )
        return
    if verdict is None:
        click.echo(f"{repository}#{number}: {review.outcome}; nothing posted")
        return
    click.echo(f"{repository}#{number}: {verdict.conclusion}: {verdict.title}")


@cli.group(name="app")
def app_group() -> None:
    """The GitHub App: what to register.

    \b
    Example:
      trunkguard app manifest --url https://trunkguard.example.com
    """


@app_group.command(name="manifest")
@click.option(
    "--url",
    metavar="URL",
    help="The server's public address: fills in the webhook and redirect URLs.",
)
def app_manifest_command(url: str | None) -> None:
    """Print the GitHub App manifest (JSON) for registering the App by hand.

    Least privilege: checks, pull requests and issues write; contents and metadata read.

    \b
    Examples:
      trunkguard app manifest
      trunkguard app manifest --url https://trunkguard.example.com > manifest.json
    """
    from bot.github.registration import manifest_for

    try:
        manifest = manifest_for(url)
    except TrunkguardError as error:
        raise click.BadParameter(str(error), param_hint="--url") from None
    click.echo(json.dumps(manifest, indent=2))


@cli.group(name="config")
def config_group() -> None:
    """Check a repository's .github/trunkguard.yml.

    \b
    Examples:
      trunkguard config check
      trunkguard config check path/to/trunkguard.yml --json
    """


@config_group.command(name="check")
@click.argument("file", type=click.Path(path_type=Path), default=Path(".github/trunkguard.yml"))
@click.option("--json", "as_json", is_flag=True, help="Print the policy in effect as JSON.")
def config_check(file: Path, as_json: bool) -> None:
    """Validate a configuration file and show the policy it gives, merged over the defaults.

    An invalid file gives one line naming the key, the value and what was expected, and exit
    status 1: what the GitHub App turns into a failing check.

    \b
    Examples:
      trunkguard config check
      trunkguard config check .github/trunkguard.yml --json
    """
    from bot.policy import load_config

    try:
        text = file.read_bytes()
    except OSError as error:
        raise click.ClickException(f"{file}: {error.strerror}") from None
    loaded = load_config(text, str(file))
    if as_json:
        click.echo(json.dumps(loaded.model_dump(mode="json"), indent=2))
        return
    click.echo(f"{file}: valid")
    for line in policy_lines(loaded):
        click.echo(f"  {line}")


@cli.command()
@click.option(
    "--path",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("demo/repo.git"),
    show_default=True,
    help="Where to build the demo repository (replaced if it exists).",
)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")
def demo(path: Path, as_json: bool) -> None:
    """Build a small repository with realistic branches, scan it and forecast its conflicts.

    The repository has a busy trunk, old and fresh branches, an integrated one and branches
    that will conflict; every date is relative to now. The demo shows every command that works
    without GitHub: scan, conflicts, replay, trends (from history) and the weekly report, whose
    HTML page it writes beside the repository (with a store of its own, demo.db, made anew).

    \b
    Example:
      trunkguard demo --path /tmp/demo.git
    """
    now = int(time.time())
    repo = demo_repo.build(path, now)
    found = inventory(repo, now=now)
    report = scan_repository(repo, found, now)
    if as_json:
        _print_json(scan_payload(report, str(path)))
        return
    console = Console()
    console.print(f"Demo repository built at {path}\n", soft_wrap=True)
    console.print(Text(f"$ trunkguard scan {path}", style="dim"))
    console.print(scan_table(report, console.width))
    console.print(Text(f"\n$ trunkguard conflicts {path}", style="dim"))
    predicted = forecast(repo, found, now)
    for block in forecast_text(predicted):
        console.print(block, soft_wrap=True)
    console.print(Text("\n# what the App posts on the oldest branch's pull request", style="dim"))
    for line in _demo_review(report, predicted):
        console.print(line, soft_wrap=True, markup=False, highlight=False)
    console.print(Text(f"\n$ trunkguard replay {path}", style="dim"))
    assert found.trunk is not None
    for block in replay_text(replay(repo, found.trunk.target, 200)):
        console.print(block, soft_wrap=True)
    console.print(Text(f"\n$ trunkguard trends {path} --weeks 8", style="dim"))
    figures, _ = mine_weeks(repo, found, now, 8, {}, {}, limit_days())
    console.print(trends_table(figures, limit_days(), console.width))
    _demo_report(path, repo, now, console)


def _demo_report(path: Path, repo: pygit2.Repository, now: int, console: Console) -> None:
    """Write the weekly report of the demo repository as HTML; show its Markdown headline."""
    from bot.report.html import report_html
    from bot.report.markdown import report_markdown
    from bot.service.gather import gather_report
    from bot.store import Store

    database = path.parent / "demo.db"
    database.unlink(missing_ok=True)
    page = path.parent / "report.html"
    with Store(f"sqlite:///{database.resolve()}") as store:
        store.ready()
        weekly = gather_report(store, str(path), repo, now).report
    page.write_text(report_html(weekly), encoding="utf-8")
    console.print(Text(f"\n$ trunkguard report {path} --format markdown", style="dim"))
    headline = report_markdown(weekly).split("\n### Conflicts paid")[0].split("\n", 1)[1]
    console.print(headline.strip(), soft_wrap=True, markup=False, highlight=False)
    console.print(Text(f"\n$ trunkguard report {path} --format html", style="dim"))
    console.print(f"The weekly report, one self-contained page: {page.resolve()}", soft_wrap=True)


def _demo_review(report: ScanReport, predicted: Forecast) -> list[str]:
    """The check run and comment the App would post if the oldest branch were pull request
    #1 and every other branch an open pull request: the texts, built without GitHub."""
    from bot.policy import default_config
    from bot.review.evaluation import PullRequest, clashes_for, comment_body, evaluate

    branch = max(report.branches, key=lambda b: b.age_seconds)
    others = [b.name for b in report.branches if b.name != branch.name]
    pulls = {name: (n, "teammate") for n, name in enumerate(others, 2)}
    on_trunk = next(t for t in predicted.with_trunk if t.branch == branch.name)
    policy = default_config().policy
    subject = PullRequest(1, "you", branch.name, report.trunk.name)
    clashes = clashes_for(branch.name, predicted.pairs, pulls)
    verdict = evaluate(subject, branch, on_trunk.conflicts, clashes, policy)
    comment = comment_body(subject, verdict, policy.comment.when) or "(no comment: all is well)"
    return [
        f"check run 'trunkguard': {verdict.conclusion}: {verdict.title}",
        "",
        verdict.summary,
        "",
        "the one comment (kept up to date, never repeated):",
        comment.split("\n", 1)[1],
    ]


def main() -> None:
    """Run the CLI with logging to stderr."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    cli(prog_name="trunkguard")
