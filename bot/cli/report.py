"""The `report` command: the weekly divergence report as Markdown, HTML or JSON."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bot.cli.options import (
    check_output,
    exploratory,
    keep_history,
    pull_options,
    pull_rule,
    report_options,
    repository_options,
    store_options,
    unkept_store,
)


@click.command()
@repository_options
@report_options
@pull_options
@store_options
@click.option(
    "--github-host",
    metavar="HOST",
    envvar="TRUNKGUARD_GITHUB_HOST",
    callback=lambda ctx, param, value: _github_host(value),
    help="A GitHub Enterprise Server host (env TRUNKGUARD_GITHUB_HOST): a remote there gets "
    "links, as one on github.com does.",
)
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
    keep: bool | None,
    github_host: str | None,
) -> None:
    """Write the weekly divergence report: headline figures against last week and the
    4-week trend, conflicts paid and how early trunkguard would have warned, the oldest,
    most diverged, idle and stale branches, forecast conflicts and a land order, charts.

    Today's scan and forecast are stored first (not with --no-store, nor when an option makes
    the run exploratory); weeks before the first stored scan are filled from trunk's history.
    Needs no GitHub.

    \b
    Examples:
      trunkguard report . --format html          # then open trunkguard-report-*.html
      trunkguard report ~/src/app --week 2026-W47 --format markdown --output week47.md
      trunkguard report . --json
      trunkguard report ~/src/app --github-host ghe.example.com --format html
    """
    from bot.cli.clock import measured_moment
    from bot.cli.plumbing import (
        open_repo,
        open_store,
        progress,
        repository_name,
        say,
        shown_target,
    )
    from bot.service.jobs.gather import gather_report
    from bot.service.scanning import same_trunk

    if output is None and output_format == "html" and not as_json:
        check_output(None, None, Path("trunkguard-report.html"))  # the current folder
    repo = open_repo(target, cache_dir)
    if measured_moment(repo, target, trunk, remote, now).empty:
        # No report of nothing: the line where the report would go (stderr under JSON).
        said = f"{shown_target(target)}: the repository has no commits yet: no report."
        click.echo(said, err=as_json or output_format == "json")
        return
    name = repository_name(target)
    rule = pull_rule(pull_heads, pull_days, open_pulls)
    why = exploratory(now, rule, same_trunk(repo, trunk, remote))
    store = open_store(db_url) if keep_history(keep, why) else unkept_store(db_url)
    with progress("mining history") as shown:
        gathered = gather_report(
            store,
            name,
            repo,
            now,
            week,
            shown,
            ("github.com", *([github_host] if github_host else [])),
            warn=say,
            trunk=trunk,
            remote=remote,
            pulls=rule,
        )
    weekly = gathered.report
    # Each format loads only its own renderer: Jinja2 for HTML alone.
    if as_json or output_format == "json":
        from bot.report.payload import report_payload

        text = json.dumps(report_payload(weekly), indent=2, ensure_ascii=False) + "\n"
    elif output_format == "html":
        from bot.report.html import report_html

        text = report_html(weekly)
        output = output or Path(f"trunkguard-report-{weekly.week}.html")
    else:
        from bot.report.markdown import report_markdown

        text = report_markdown(weekly)
    if output is None or str(output) == "-":
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise click.ClickException(f"{output}: cannot write: {error.strerror}") from None
    click.echo(f"report for {weekly.week} written to {output}")


def _github_host(value: str | None) -> str | None:
    from bot.report.links import HOST

    if value is not None and not HOST.fullmatch(value):
        raise click.BadParameter(f"'{value}' is not a host name, e.g. ghe.example.com")
    return value
