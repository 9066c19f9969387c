"""The analysis commands: scan, conflicts, replay and trends (the weekly report: `report`).

They need no GitHub, web server or queue; what they use is imported when they run.
"""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.options import (
    branch_options,
    db_option,
    default_of,
    exploratory,
    keep_history,
    line_choice,
    merges_option,
    parse_now,
    pull_options,
    pull_rule,
    repository_options,
    store_options,
    unkept_store,
)


@click.command()
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
    release: list[str],
    ignore: list[str],
    no_release_lines: bool,
    pull_heads: str,
    pull_days: int,
    open_pulls: frozenset[int] | None,
    cache_dir: Path | None,
    as_json: bool,
    db_url: str | None,
    keep: bool | None,
) -> None:
    """Measure every branch's age and divergence from its base, and the release lines apart.

    PATH_OR_URL is a local repository (bare or not), or a URL that is mirrored into the cache
    directory and fetched again on later runs.

    A GitHub mirror holds a head for every pull request ever opened (refs/pull/N/head). By
    default only the plausibly open ones count: not in trunk (merged, squashed or rebased) and
    with a commit in the last --pull-days days; --open-pulls names the open ones when you know
    them. A pull request from a branch of the repository is that branch, shown with its number.

    Release lines (release/*, stable-*, 7-1-stable, v1.9, … or a branch whose head carries a
    version tag: the `branches` section of .github/trunkguard.yml on trunk, or of
    config/default.yml) are shown apart, never held to the age limit. A branch or pull request
    based on one (a backport) is measured against that line: "(base stable-2.17)".

    Each scan is kept as history, except an exploratory one (another --now, --trunk or choice
    of branches): that one is kept only with --store.

    \b
    Examples:
      trunkguard scan .
      trunkguard scan ~/src/app --trunk develop --exclude 'experiments/*'
      trunkguard scan . --release 'prod' --release 'lts/*'
      trunkguard scan https://example.com/org/app.git --json > scan.json
      trunkguard scan mirror.git --pulls all
      gh pr list --json number -q '.[].number' > open.txt
      trunkguard scan . --open-pulls @open.txt
      trunkguard scan . --db postgresql://trunkguard@db.internal/trunkguard
    """
    from bot.cli.clock import measured_moment
    from bot.cli.payloads import scan_payload
    from bot.cli.plumbing import (
        open_repo,
        open_store,
        print_json,
        progress,
        repository_name,
        say,
        say_gaps,
        say_left_out,
        shown_target,
    )
    from bot.markup import visible
    from bot.service.scanning import same_trunk, scan_and_store

    repo = open_repo(target, cache_dir)
    stale = measured_moment(repo, target, trunk, remote, now)
    rule = pull_rule(pull_heads, pull_days, open_pulls)
    lines = line_choice(release, ignore, no_release_lines)
    why = exploratory(now, rule, same_trunk(repo, trunk, remote), include, exclude, lines=lines)
    store = open_store(db_url) if keep_history(keep, why) else None
    name = repository_name(target)
    with progress("scanning branches") as shown:
        found, report = scan_and_store(
            store,
            name,
            repo,
            now,
            shown,
            lines,
            say,
            trunk=trunk,
            remote=remote,
            include=include,
            exclude=exclude,
            pulls=rule,
        )
    say_left_out(found, rule, stale)
    say_gaps(report)
    if as_json:
        print_json(scan_payload(report, shown_target(target)))
        return
    if report.trunk.head is None:
        click.echo(f"{shown_target(target)}: the repository has no commits yet.")
        return
    if not report.branches and not report.release_lines:
        click.echo(
            f"{shown_target(target)}: no branches besides trunk '{visible(report.trunk.name)}'."
        )
        return
    from rich.console import Console

    from analyzers.trends import week_start
    from bot.cli.branches import release_table, scan_summary, scan_table
    from bot.service.jobs.gather import limit_days

    predicted = None if store is None else store.week_forecast(name, week_start(now))
    console = Console()
    console.print(scan_summary(report, limit_days(), predicted), soft_wrap=True)
    if report.branches:
        console.print(scan_table(report, console.width, limit_days()))
    if report.release_lines:
        console.print(release_table(report.release_lines, report.now, console.width))


@click.command()
@repository_options
@branch_options
@pull_options
@store_options
@click.option(
    "--active-days",
    type=click.IntRange(min=1),
    default=default_of("forecast", "active_days"),
    show_default="30, from config/default.yml",
    help="Branches with a commit in this many days (and all pull requests) are paired.",
)
@click.option(
    "--all",
    "show_all",
    is_flag=True,
    help="Show every branch, pair and path (text output shows the first 20 and 5; --json all).",
)
@click.option(
    "--resolve/--no-resolve",
    "label",
    default=None,
    help="Say of each conflict with trunk whether a machine resolves it (and by which rule) "
    "or how hard it is for a person. Default: for the branches text shows; not for --json, "
    "where --resolve asks for every one. A stored run stores active branches' labels anyway.",
)
def conflicts(
    target: str,
    trunk: str | None,
    remote: str,
    now: int,
    include: list[str],
    exclude: list[str],
    release: list[str],
    ignore: list[str],
    no_release_lines: bool,
    pull_heads: str,
    pull_days: int,
    open_pulls: frozenset[int] | None,
    cache_dir: Path | None,
    as_json: bool,
    db_url: str | None,
    keep: bool | None,
    active_days: int,
    show_all: bool,
    label: bool | None,
) -> None:
    """Predict merge conflicts: each branch with trunk, and between active branches.

    Two branches conflict when landing both on today's trunk makes the second one conflict
    because of the first. The command also suggests an order to land the active branches.
    Release lines, and the work based on them (backports), are left out (see `scan`). Each
    branch's conflicts with trunk say what a machine resolves and how hard the rest is.

    \b
    Examples:
      trunkguard conflicts .
      trunkguard conflicts ~/src/app --active-days 14 --exclude 'experiments/*'
      trunkguard conflicts . --all | less
      trunkguard conflicts https://example.com/org/app.git --json
    """
    from bot.cli.clock import measured_moment
    from bot.cli.payloads import forecast_payload
    from bot.cli.plumbing import (
        open_repo,
        open_store,
        print_json,
        progress,
        repository_name,
        say,
        say_left_out,
        say_unknown,
        shown_target,
    )
    from bot.service.scanning import (
        choose_branches,
        forecast_and_store,
        same_trunk,
        trusted_rules,
    )
    from bot.text import plural

    repo = open_repo(target, cache_dir)
    stale = measured_moment(repo, target, trunk, remote, now)
    rule = pull_rule(pull_heads, pull_days, open_pulls)
    lines = line_choice(release, ignore, no_release_lines)
    why = exploratory(now, rule, same_trunk(repo, trunk, remote), include, exclude, lines=lines)
    store = open_store(db_url) if keep_history(keep, why) else None
    chosen = {"trunk": trunk, "remote": remote, "include": include, "exclude": exclude}
    found = choose_branches(repo, now, lines, say, pulls=rule, **chosen)
    say_left_out(found, rule, stale)
    if found.bases:
        say(
            f"{plural(len(found.bases), 'branch', 'branches')} based on a release line left out "
            "of the forecast (scan measures them against their line)"
        )
    from analyzers.forecast import Forecast
    from analyzers.resolve import labels as engine
    from bot.cli.terminal import blocked_branches, shown_pairs

    rows, paths = (None, None) if show_all else (20, 5)
    most = None if as_json else rows
    trusted = () if found.trunk is None else trusted_rules(repo, found.trunk.target)

    def active(forecast: Forecast) -> engine.ForecastLabels:
        return engine.label_active(repo, forecast, trusted)  # what the store keeps

    stored = active if store is not None else None
    with progress("merging") as shown:
        name = repository_name(target)
        result, kept = forecast_and_store(store, name, repo, found, now, shown, active_days, stored)
    say_unknown(result.unknown_figures(), "merges")
    labels, pair_labels = {}, {}
    if result.trunk_head is not None and (label if label is not None else not as_json):
        shown_only = (blocked_branches(result, most), shown_pairs(result, most), trusted, kept)
        said = engine.label_forecast(repo, result, *shown_only)
        labels, pair_labels = said.trunk, said.pairs
        result = engine.machine_only(result, pair_labels)
    if as_json:
        print_json(forecast_payload(result, shown_target(target), labels, pair_labels))
        return
    if result.trunk_head is None:
        click.echo(f"{shown_target(target)}: the repository has no commits yet.")
        return
    from rich.console import Console

    from bot.cli.terminal import forecast_text

    console = Console()
    for block in forecast_text(result, rows, paths, labels, pair_labels):
        console.print(block, soft_wrap=True)


@click.command(name="replay")
@repository_options
@merges_option(200)
@click.option(
    "--check-git",
    is_flag=True,
    help="Also redo each merge with git merge-tree and report the agreement with git.",
)
@click.option(
    "--resolve",
    "resolve_conflicts",
    is_flag=True,
    help="Instead, resolve each conflicted path with the engine and compare with what was "
    "committed (the same as resolve-history).",
)
def replay_merges(
    target: str,
    trunk: str | None,
    remote: str,
    cache_dir: Path | None,
    as_json: bool,
    limit: int,
    check_git: bool,
    resolve_conflicts: bool = False,
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
      trunkguard replay . --resolve --merges 2000
    """
    if resolve_conflicts:
        from analyzers.resolve.engine import SHIPPED
        from bot.cli.resolve import run_history

        run_history(target, trunk, remote, cache_dir, as_json, limit, SHIPPED)
        return
    from analyzers.refs import PullHeads, PullRule, inventory
    from analyzers.replay import replay
    from bot.cli.payloads import replay_payload
    from bot.cli.plumbing import open_repo, print_json, progress, say_unknown, shown_target
    from bot.mirrors.gitcheck import replay_agreement
    from bot.mirrors.promisor import fetch_objects

    repo = open_repo(target, cache_dir)
    # Only trunk's history is replayed: no pull request head matters here.
    found = inventory(repo, trunk=trunk, remote=remote, pulls=PullRule(PullHeads.NONE))
    if found.trunk is None:
        click.echo(f"{shown_target(target)}: the repository has no commits yet.")
        return
    with progress("replaying merges") as shown:
        report = replay(repo, found.trunk.target, limit, progress=shown, fetcher=fetch_objects)
    say_unknown(report.unknown_figures(), "merges")
    agreement = replay_agreement(repo, report.merges) if check_git else None
    if as_json:
        print_json(replay_payload(report, shown_target(target), agreement))
        return
    from rich.console import Console

    from analyzers.resolve.labels import label_merges
    from bot.cli.terminal import replay_text

    paid = [(m.commit, m.conflicts) for m in report.merges if m.conflicts]
    console = Console()
    for block in replay_text(report, agreement, label_merges(repo, paid)):
        console.print(block, soft_wrap=True)


@click.command()
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
    callback=parse_now,
    help="The moment the last week ends (default: now).",
)
@pull_options
@db_option
@click.option("--no-store", is_flag=True, help="Read the store, keep nothing in it.")
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
    no_store: bool,
) -> None:
    """Show how branch age, integration and conflicts change week by week.

    Weeks with a stored scan use it; the weeks before the first scan are filled from trunk's
    history (work that was open then), so the first run already shows months of trends.
    The merged work it mines is kept in the store (not with --no-store).

    \b
    Examples:
      trunkguard trends .
      trunkguard trends ~/src/app --weeks 52 --json
    """
    from bot.cli.clock import measured_moment
    from bot.cli.payloads import trends_payload
    from bot.cli.plumbing import (
        open_repo,
        open_store,
        print_json,
        progress,
        repository_name,
        say,
        say_left_out,
        shown_target,
    )
    from bot.service.jobs.gather import kept_trends, limit_days
    from bot.service.scanning import choose_branches
    from bot.text import plural

    store = unkept_store(db_url) if no_store else open_store(db_url)
    name = repository_name(target)
    repo = open_repo(target, cache_dir)
    stale = measured_moment(repo, target, trunk, remote, now)
    rule = pull_rule(pull_heads, pull_days, open_pulls)
    found = choose_branches(repo, now, warn=say, trunk=trunk, remote=remote, pulls=rule)
    say_left_out(found, rule, stale)
    if found.trunk is None:
        if as_json:
            print_json(trends_payload((), shown_target(target)))
        else:
            click.echo(f"{shown_target(target)}: the repository has no commits yet.")
        return
    with progress("mining history") as shown:
        figures, mined = kept_trends(
            store, name, repo, found, now, weeks, limit_days(), progress=shown
        )
    unredone = sum(1 for w in mined.merged if w.conflicted is None)
    if unredone:
        click.echo(
            f"trunkguard: {plural(unredone, 'merge')} unknown (an object they need is missing): "
            "not counted as conflicts",
            err=True,
        )
    if as_json:
        print_json(trends_payload(figures, shown_target(target)))
        return
    from rich.console import Console

    from bot.cli.terminal import trends_table

    console = Console()
    console.print(trends_table(figures, limit_days(), console.width))


COMMANDS = (scan, conflicts, replay_merges, trends)
