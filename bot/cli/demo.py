"""The demo: build a small repository, then show what every command that needs no GitHub
prints about it, and what the App would post on a pull request."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    import pygit2
    from rich.console import Console

    from analyzers.divergence import ScanReport
    from analyzers.forecast import Forecast
    from analyzers.resolve.labels import Label, PairLabel


@click.command()
@click.option(
    "--path",
    "folder",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("demo"),
    show_default=True,
    help="The folder to build the demo in: a new or empty one, or a previous demo's (whose "
    "files are replaced). Any other folder is refused, never emptied.",
)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")
def demo(folder: Path, as_json: bool) -> None:
    """Build a small repository with realistic branches, scan it and forecast its conflicts.

    The repository has a busy trunk, old and fresh branches, an integrated one and branches
    that will conflict; every date is relative to now. The demo shows every command that works
    without GitHub: scan, conflicts, replay, trends (from history) and the weekly report.
    It writes only in its folder: the repository (repo.git), a store of its own (demo.db)
    and the report's HTML page (report.html), all made anew on each run.

    \b
    Example:
      trunkguard demo --path /tmp/trunkguard-demo
    """
    from rich.console import Console
    from rich.text import Text

    from analyzers.forecast import forecast
    from analyzers.replay import replay
    from analyzers.survey import survey
    from bot.cli.branches import release_table, scan_summary, scan_table
    from bot.cli.payloads import scan_payload
    from bot.cli.plumbing import print_json
    from bot.cli.terminal import forecast_text, replay_text, trends_table
    from bot.markup import visible
    from bot.mirrors import demo as demo_repo
    from bot.service.jobs.gather import limit_days, mine_weeks
    from bot.service.scanning import choose_branches

    now = int(time.time())
    demo_repo.claim(folder)
    path = folder / demo_repo.REPOSITORY
    repo = demo_repo.build(path, now)
    found = choose_branches(repo, now)
    report = survey(repo, found, now)
    if as_json:
        print_json(scan_payload(report, str(path)))
        return
    console = Console()
    console.print(Text(f"Demo repository built at {visible(str(path))}\n"), soft_wrap=True)
    console.print(Text(f"$ trunkguard scan {visible(str(path))}", style="dim"))
    console.print(scan_summary(report, limit_days()), soft_wrap=True)
    console.print(scan_table(report, console.width, limit_days()))
    if report.release_lines:
        console.print(release_table(report.release_lines, now, console.width))
    console.print(Text(f"\n$ trunkguard conflicts {visible(str(path))}", style="dim"))
    predicted = forecast(repo, found.on_trunk(), now)
    labels, pair_labels = _labels(repo, predicted)
    for block in forecast_text(predicted, labels=labels, pair_labels=pair_labels):
        console.print(block, soft_wrap=True)
    console.print(Text("\n# what the App posts on the oldest branch's pull request", style="dim"))
    for line in _review(report, predicted, labels, pair_labels):
        console.print(line, soft_wrap=True, markup=False, highlight=False)
    _merge(folder, repo, predicted, console)
    console.print(Text(f"\n$ trunkguard replay {visible(str(path))}", style="dim"))
    assert found.trunk is not None
    for block in replay_text(replay(repo, found.trunk.target, 200)):
        console.print(block, soft_wrap=True)
    console.print(Text(f"\n$ trunkguard trends {visible(str(path))} --weeks 8", style="dim"))
    figures, _ = mine_weeks(repo, found, now, 8, {}, {}, limit_days())
    console.print(trends_table(figures, limit_days(), console.width))
    _report(folder, repo, now, console)


def _report(folder: Path, repo: pygit2.Repository, now: int, console: Console) -> None:
    """Write the weekly report of the demo repository as HTML; show its Markdown headline."""
    from rich.text import Text

    from bot.markup import visible
    from bot.mirrors.demo import DATABASE, PAGE, REPOSITORY
    from bot.report.html import report_html
    from bot.report.markdown import report_markdown
    from bot.service.jobs.gather import gather_report
    from bot.store import Store

    path, database, page = folder / REPOSITORY, folder / DATABASE, folder / PAGE
    with Store(f"sqlite:///{database.resolve()}") as store:
        store.ready()
        weekly = gather_report(store, str(path), repo, now).report
    page.write_text(report_html(weekly), encoding="utf-8")
    shown = visible(str(path))
    console.print(Text(f"\n$ trunkguard report {shown} --format markdown", style="dim"))
    headline = report_markdown(weekly).split("\n### Conflicts paid")[0].split("\n", 1)[1]
    console.print(headline.strip(), soft_wrap=True, markup=False, highlight=False)
    console.print(Text(f"\n$ trunkguard report {shown} --format html", style="dim"))
    console.print(
        Text(f"The weekly report, one self-contained page: {visible(str(page.resolve()))}"),
        soft_wrap=True,
    )


def _labels(repo: pygit2.Repository, predicted: Forecast) -> tuple[Label, PairLabel]:
    """What the resolution engine says of every predicted conflict, as `conflicts` shows it."""
    from analyzers.resolve.labels import label_pair_conflicts, label_trunk_conflicts

    if predicted.trunk_head is None:
        return {}, {}
    head = predicted.trunk_head
    return (
        label_trunk_conflicts(repo, head, predicted.with_trunk),
        label_pair_conflicts(repo, predicted),
    )


def _merge(folder: Path, repo: pygit2.Repository, predicted: Forecast, console: Console) -> None:
    """Show `trunkguard merge` in a clone: trunk merged into a branch that conflicts with it."""
    import subprocess

    from rich.text import Text

    from analyzers.resolve.engine import SHIPPED
    from bot.cli.merge import merge_payload, merge_text
    from bot.markup import visible
    from bot.mirrors.demo import MARKER, REPOSITORY, WORK
    from bot.service.worktree import default_trunk, merge_into_work_tree

    branch = next(
        (
            x.branch
            for x in predicted.with_trunk
            if x.conflicts and f"refs/heads/{x.branch}" in repo.references
        ),
        None,
    )
    if branch is None:
        return
    work = folder / WORK

    def git(*args: str) -> None:
        subprocess.run(["git", *args], capture_output=True, check=True)

    git("clone", "-q", str(folder / REPOSITORY), str(work))
    (work / ".git" / MARKER).write_text("Made by `trunkguard demo`.\n", encoding="utf-8")
    for key, value in (("user.name", "trunkguard demo"), ("user.email", "demo@example.com")):
        git("-C", str(work), "config", key, value)
    git("-C", str(work), "checkout", "-q", branch)
    console.print(
        Text(f"\n$ cd {visible(str(work))} && git checkout {visible(branch)}", style="dim")
    )
    console.print(Text("$ trunkguard merge", style="dim"))
    done = merge_into_work_tree(work, default_trunk(work), SHIPPED, commit=False)
    for line in merge_text(merge_payload(done), commit=False):
        console.print(Text(line), soft_wrap=True)


def _review(
    report: ScanReport, predicted: Forecast, labels: Label, pair_labels: PairLabel
) -> list[str]:
    """The check run and comment the App would post if the oldest branch were pull request
    #1 and every other branch an open pull request, built without GitHub by the verdict the
    App's review gives once it has measured (`bot.review.measure.figures`)."""
    from bot.policy import default_config
    from bot.review.evaluation import PullRequest, check_run, comment_body, verdict

    branch = max(report.branches, key=lambda b: b.age_seconds)
    others = [b.name for b in report.branches if b.name != branch.name]
    pulls = {name: (n, "teammate") for n, name in enumerate(others, 2)}
    policy = default_config().policy
    subject = PullRequest(1, "you", branch.name, report.trunk.name)
    judged = verdict(
        subject, branch.name, branch, predicted, pulls, policy, (), labels, pair_labels
    )
    run = check_run(judged, branch.head)
    comment = comment_body(subject, judged, policy.comment.when) or "(no comment: all is well)"
    return [
        f"check run '{run.name}': {run.conclusion}: {run.title}",
        "",
        run.summary,
        "",
        "the one comment (kept up to date, never repeated):",
        comment.split("\n", 1)[1],
    ]
