"""Options several commands share, and the parsers of their values.

Imported to list every command's help, so it loads nothing heavy: the analyzers, the
configuration and the store are imported when a value is parsed or a default is needed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from analyzers.refs import PullRule
    from bot.store import Store

F = TypeVar("F", bound=Callable[..., Any])
# analyzers.refs.PullHeads's values, written out so that --help need not load pygit2
# (tests/test_cli_imports.py checks that they are the same).
PULL_HEADS = ("recent", "all", "none")
# How far --now may be from the clock and still measure the present: a run that measures
# another moment is an exploration, not this week's history.
CLOCK_SLACK = 300


def parse_now(ctx: click.Context, param: click.Parameter, value: str | None) -> int:
    """Parse an ISO 8601 moment (no zone: UTC) into a Unix time; none given: now."""
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
    from analyzers.refs import check_glob

    for pattern in value:
        problem = check_glob(pattern)
        if problem:
            raise click.BadParameter(f"bad glob '{pattern}': {problem}")
    return list(value)


def parse_week(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    """Parse an ISO week name (2026-W48) into the Unix time it starts at."""
    if value is None:
        return None
    from analyzers.trends import week_named

    try:
        return week_named(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not an ISO week, e.g. 2026-W48") from None


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


def default_of(section: str, key: str) -> Callable[[], Any]:
    """Return a default that reads config/default.yml when an option needs it, not before."""

    def read() -> Any:
        from config import defaults

        return defaults()[section][key]

    return read


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
                callback=parse_now,
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
            click.option(
                "--release",
                metavar="GLOB",
                multiple=True,
                callback=_check_globs,
                help="Branches matching GLOB are release lines, instead of the globs of "
                ".github/trunkguard.yml or config/default.yml (repeatable).",
            ),
            click.option(
                "--ignore",
                metavar="GLOB",
                multiple=True,
                callback=_check_globs,
                help="Leave out branches matching GLOB, instead of the configured ones "
                "(repeatable).",
            ),
            click.option(
                "--no-release-lines",
                is_flag=True,
                help="No release lines: every branch is feature work, measured against trunk.",
            ),
        ],
    )


def line_choice(release: Sequence[str], ignore: Sequence[str], no_release_lines: bool) -> Any:
    """Return what the release-line options say (a bot.service.scanning.LineChoice)."""
    from bot.service.scanning import LineChoice

    return LineChoice(
        tuple(release) if release else None, tuple(ignore) if ignore else None, no_release_lines
    )


def merges_option(default: int) -> Callable[[F], F]:
    """The option of the commands that redo trunk's recorded merges: how many of the newest."""
    return click.option(
        "--merges",
        "limit",
        type=click.IntRange(min=1),
        default=default,
        show_default=True,
        help="How many of the newest merges reachable from trunk to redo.",
    )


def pull_options(command: F) -> F:
    """Add the options that choose which pull request heads (refs/pull/N/head) count."""
    return _apply(
        command,
        [
            click.option(
                "--pulls",
                "pull_heads",
                type=click.Choice(PULL_HEADS),
                default="recent",
                show_default=True,
                help="Pull request heads to analyse when the open ones are not known: recent "
                "(not in trunk, with a commit in the last --pull-days days), all, or none.",
            ),
            click.option(
                "--pull-days",
                type=click.IntRange(min=1),
                default=default_of("pulls", "recent_days"),
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


def pull_rule(pull_heads: str, pull_days: int, open_pulls: frozenset[int] | None) -> PullRule:
    """Return the rule the pull request options give."""
    from analyzers.refs import PullHeads, PullRule

    return PullRule(PullHeads(pull_heads), pull_days, open_pulls)


db_option = click.option(
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
            db_option,
            click.option(
                "--store/--no-store",
                "keep",
                default=None,
                help="Keep the results as history, or not. Default: keep them, unless an option "
                "makes the run exploratory (--now not now, --trunk, --include, --exclude, "
                "--release, --ignore, --no-release-lines, --pulls, --pull-days, --open-pulls).",
            ),
        ],
    )


def exploratory(
    now: int, rule: PullRule, same_trunk: bool, *filters: Sequence[str], lines: Any = None
) -> str | None:
    """Say why options make a run exploratory (not this week's history), or None if not:
    another clock, another trunk, branches, release lines or pull request heads chosen
    otherwise (`lines`: a LineChoice)."""
    from analyzers.refs import PullHeads

    clock = time.time()
    if abs(now - clock) > CLOCK_SLACK:
        return f"--now is in the {'past' if now < clock else 'future'}"
    if any(filters):
        return "--include/--exclude leave branches out"
    if lines is not None and lines.overrides:
        return "--release/--ignore/--no-release-lines choose the release lines"
    if not same_trunk:
        return "--trunk is not the repository's default trunk"
    if rule.open_numbers is not None:
        return "--open-pulls chooses the pull request heads"
    if rule.heads is not PullHeads.RECENT:
        return f"--pulls {rule.heads} is not the default"
    if rule.recent_days != default_of("pulls", "recent_days")():
        return "--pull-days is not the default"
    return None


def keep_history(keep: bool | None, reason: str | None) -> bool:
    """Tell whether to keep a run: as --store/--no-store say, else unless `reason` (why the
    run is exploratory), which is then said on stderr."""
    if keep is not None:
        return keep
    if reason is not None:
        click.echo(f"trunkguard: not stored: {reason}; --store keeps it", err=True)
    return reason is None


def check_output(
    ctx: click.Context | None, param: click.Parameter | None, value: Path | None
) -> Path | None:
    """Refuse, before any work, a file the output cannot be written to (None, '-': stdout)."""
    if value is None or str(value) == "-":
        return value
    folder = value.parent
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else "does not exist"
        raise click.BadParameter(f"folder {folder} {problem}", ctx, param, "--output")
    if value.is_dir():
        raise click.BadParameter(f"{value} is a folder", ctx, param, "--output")
    if not os.access(value if value.exists() else folder, os.W_OK):
        raise click.BadParameter(f"{value}: permission denied", ctx, param, "--output")
    return value


def report_options(command: F) -> F:
    """Add the options that choose the report's week, moment, format and file."""
    return _apply(
        command,
        [
            click.option(
                "--week",
                metavar="YYYY-Www",
                callback=parse_week,
                help="The ISO week to report on, e.g. 2026-W48 (default: the week of --now).",
            ),
            click.option(
                "--now",
                metavar="ISO8601",
                callback=parse_now,
                help="The moment the figures are measured at (default: now).",
            ),
            click.option(
                "--format",
                "output_format",
                type=click.Choice(["markdown", "html", "json"]),
                default="markdown",
                show_default=True,
                help="Markdown as the GitHub issue shows it, a self-contained HTML page, or JSON.",
            ),
            click.option(
                "--output",
                type=click.Path(dir_okay=False, path_type=Path),
                callback=check_output,
                help="Write the report to this file ('-': standard output). Default: standard "
                "output; for HTML, trunkguard-report-WEEK.html in the current directory.",
            ),
        ],
    )


def unkept_store(db_url: str | None) -> Store:
    """Open the store for a run that keeps nothing: it reads what is kept, never creates it."""
    from bot.store import database_url
    from bot.store.unkept import Unkept

    store = Unkept.over(database_url(db_url))
    click.get_current_context().call_on_close(store.close)
    return store
