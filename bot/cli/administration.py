"""The administration commands: the store's schema, failed jobs, the schedule, the App's
manifest, a repository's configuration, and checking one pull request from a workflow."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import click

from bot.cli.options import db_option
from bot.errors import TrunkguardError


@click.group()
def db() -> None:
    """Manage the metrics store's schema.

    \b
    Examples:
      trunkguard db current
      trunkguard db upgrade --db postgresql://trunkguard@db.internal/trunkguard
    """


@db.command()
@db_option
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
@db_option
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


@click.group(name="jobs")
def jobs_group() -> None:
    """Look at the jobs workers gave up on, and send them again.

    \b
    Examples:
      trunkguard jobs failed
      trunkguard jobs retry 17
    """


@jobs_group.command(name="failed")
@db_option
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
    from bot.cli.payloads import failed_jobs_payload
    from bot.cli.plumbing import open_store, print_json

    failed = open_store(db_url).failed_jobs(limit, include_retried)
    if as_json:
        print_json(failed_jobs_payload(failed))
        return
    if not failed:
        click.echo("no failed jobs")
        return
    from rich.console import Console

    from bot.cli.terminal import failed_jobs_table

    Console().print(failed_jobs_table(failed, datetime.now(UTC)))


@jobs_group.command(name="retry")
@click.argument("failed_id", type=int)
@db_option
def jobs_retry(failed_id: int, db_url: str | None) -> None:
    """Send a failed job again (to the broker, TRUNKGUARD_BROKER_URL), by its id in
    `trunkguard jobs failed`.

    \b
    Example:
      trunkguard jobs retry 17
    """
    from bot.cli.plumbing import open_store
    from bot.service.job import Job
    from bot.service.settings import load_settings
    from bot.service.workers import CeleryQueue, celery_app

    settings = load_settings(os.environ)
    if settings.broker_url is None:
        raise click.ClickException(
            "TRUNKGUARD_BROKER_URL is not set: without a broker, jobs run inside "
            "`trunkguard serve`; the next event or nightly scan does this work again"
        )
    store = open_store(db_url)
    found = store.failed_job(failed_id)
    if found is None or found.retried_at is not None:
        raise click.ClickException(
            f"no failed job {failed_id} waiting (see trunkguard jobs failed)"
        )
    queue = CeleryQueue(celery_app(settings.broker_url, settings.visibility_timeout))
    queue.put(Job(found.name, found.arguments, found.delivery))
    store.mark_failed_job_retried(failed_id, datetime.now(UTC))
    click.echo(f"job {failed_id} ({found.name}) sent again")


@click.command(name="schedule")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def schedule_command(db_url: str | None, as_json: bool) -> None:
    """List what the scheduler will run and when: the nightly scans and each installed
    repository's weekly report, soonest first, from the store (nothing is run).

    \b
    Examples:
      trunkguard schedule
      trunkguard schedule --db postgresql://trunkguard@db.internal/trunkguard --json
    """
    from bot.cli.payloads import schedule_payload
    from bot.cli.plumbing import open_store, print_json
    from bot.service.scheduler import stored_plan

    plan = stored_plan(open_store(db_url))
    now = datetime.now(UTC)
    if as_json:
        print_json(schedule_payload(plan))
        return
    if not plan:
        click.echo(
            "nothing scheduled yet: `trunkguard serve` (or `trunkguard scheduler`) plans the "
            "nightly scans and a weekly report for each installed repository"
        )
        return
    from rich.console import Console

    from bot.cli.terminal import schedule_table

    Console().print(schedule_table(plan, now))


def _api_url(value: str) -> str:
    """Refuse an API address that is not an http(s) URL, before anything is read or sent."""
    from urllib.parse import urlsplit

    from bot.markup import visible

    try:
        parts = urlsplit(value)
        good = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port that is not a number
        good = False
    if not good:
        raise click.BadParameter(
            f"'{visible(value)}' is not an http(s) URL, e.g. https://api.github.com"
        )
    return value.rstrip("/")


@click.command(name="pr-check")
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
    callback=lambda ctx, param, value: _api_url(value),
    help="GitHub's API (env GITHUB_API_URL; GitHub Enterprise Server sets its own).",
)
@click.option(
    "--mirror-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="TRUNKGUARD_MIRROR_DIR",
    help="Where the repository's mirror is kept (default: the cache directory).",
)
@db_option
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
    from bot.cli.payloads import review_payload
    from bot.cli.plumbing import cache_dir, open_store, print_json
    from bot.github.app import token_client
    from bot.review.pull import review_pull_request

    try:
        event = json.loads(event_path.read_bytes())
        repository = str(event["repository"]["full_name"])
        number = int(event["pull_request"]["number"])
    except (ValueError, KeyError, TypeError):
        raise click.ClickException(f"{event_path}: not a pull_request event") from None
    mirrors = mirror_dir or cache_dir() / "app-mirrors"
    client = token_client(api_url, token)
    review = review_pull_request(client, open_store(db_url), mirrors, repository, number)
    verdict = review.evaluation
    if as_json:
        print_json(review_payload(repository, number, review))
        return
    if verdict is None:
        click.echo(f"{repository}#{number}: {review.outcome}; nothing posted")
        return
    click.echo(f"{repository}#{number}: {verdict.conclusion}: {verdict.title}")


@click.group(name="app")
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
@click.option(
    "--with-resolve",
    is_flag=True,
    help='Ask for contents: write, which the "Resolve conflicts" button needs to push.',
)
def app_manifest_command(url: str | None, with_resolve: bool) -> None:
    """Print the GitHub App manifest (JSON) for registering the App by hand.

    Least privilege: checks, pull requests and issues write; contents and metadata read.
    --with-resolve asks for contents write: the "Resolve conflicts" button pushes a merge
    commit to the pull request's branch.

    \b
    Examples:
      trunkguard app manifest
      trunkguard app manifest --url https://trunkguard.example.com > manifest.json
      trunkguard app manifest --with-resolve
    """
    from bot.github.registration import manifest_for

    try:
        manifest = manifest_for(url, with_resolve)
    except TrunkguardError as error:
        raise click.BadParameter(str(error), param_hint="--url") from None
    click.echo(json.dumps(manifest, indent=2))


@click.group(name="config")
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
    status 1: what the GitHub App turns into a failing check. With no FILE and no
    .github/trunkguard.yml, it shows the defaults, which are then in effect.

    \b
    Examples:
      trunkguard config check
      trunkguard config check .github/trunkguard.yml --json
    """
    from bot.cli.clock import given
    from bot.cli.terminal import policy_lines
    from bot.policy import default_config, load_config, server_sections

    notes: tuple[str, ...] = ()
    if not file.exists() and not given("file"):
        loaded, heading = default_config(), f"no {file}: the defaults are in effect"
    else:
        try:
            text = file.read_bytes()
        except OSError as error:
            raise click.ClickException(f"{file}: {error.strerror}") from None
        loaded, heading = load_config(text, str(file)), f"{file}: valid"
        notes = server_sections(text)
    if as_json:
        click.echo(json.dumps(loaded.model_dump(mode="json"), indent=2))
        return
    click.echo(heading)
    for section in notes:
        click.echo(f"  {section}: the server's setting (its config/default.yml), ignored here")
    for line in policy_lines(loaded):
        click.echo(f"  {line}")


COMMANDS = (db, jobs_group, schedule_command, pr_check, app_group, config_group)
