"""Options several commands share, and the parsers of their values.

Imported to list every command's help, so it loads nothing heavy: the analyzers, the
configuration and the store are imported when a value is parsed or a default is needed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from analyzers.refs import PullRule

F = TypeVar("F", bound=Callable[..., Any])
# analyzers.refs.PullHeads's values, written out so that --help need not load pygit2
# (tests/test_cli_imports.py checks that they are the same).
PULL_HEADS = ("recent", "all", "none")


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
        ],
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
        [db_option, click.option("--no-store", is_flag=True, help="Do not keep the results.")],
    )
