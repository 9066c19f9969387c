"""`trunkguard merge`: git's merge in a work tree, with what a machine can resolve resolved."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import click

from bot.cli.resolve import rules_option, selected_rules


def merge_payload(done: Any) -> dict[str, Any]:
    """The JSON of a `trunkguard merge` run."""
    return {
        "branch": done.branch,
        "into": done.into,
        "up_to_date": done.up_to_date,
        "fast_forward": done.fast_forward,
        "conflicted_paths": done.conflicted,
        "resolved": [{"path": path, "rule": rule} for path, rule in done.resolved],
        "needs_a_person": [
            {"path": left.path, "reason": left.reason, "grade": left.grade} for left in done.left
        ],
        "committed": done.committed,
    }


def merge_text(payload: dict[str, Any], commit: bool) -> list[str]:
    """The lines a person reads."""
    from bot.markup import visible

    branch, into = visible(payload["branch"]), visible(payload["into"])
    if payload["up_to_date"]:
        return [f"{into} is already up to date with {branch}"]
    if payload["fast_forward"]:
        return [f"fast-forwarded {into} to {branch}"]
    lines = [
        f"merged {branch} into {into}: "
        + (
            f"{payload['conflicted_paths']} conflicted path(s), "
            f"{len(payload['resolved'])} resolved by trunkguard"
            if payload["conflicted_paths"]
            else "no conflict"
        )
    ]
    lines += [f"  resolved  {visible(r['path'])} ({r['rule']})" for r in payload["resolved"]]
    for left in payload["needs_a_person"]:
        grade = f" [{left['grade']}]" if left["grade"] else ""
        lines.append(f"  needs you {visible(left['path'])}: {visible(left['reason'])}{grade}")
    if payload["committed"]:
        lines.append(f"committed {payload['committed'][:12]}")
    elif payload["needs_a_person"]:
        lines.append(
            "not committed: resolve the paths above (diff3 markers), git add them, git commit"
        )
    elif not commit:
        lines.append("not committed (--commit commits a merge with nothing left)")
    return lines


@click.command(name="merge")
@click.argument("branch", required=False)
@click.option(
    "-C",
    "--work-tree",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="The work tree to merge in.",
)
@click.option("--commit", is_flag=True, help="Commit the merge when nothing is left to resolve.")
@functools.partial(
    rules_option,
    default="the shipped rules and those .github/trunkguard.yml trusts (resolve.rules)",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
def merge(
    branch: str | None,
    work_tree: Path,
    commit: bool,
    rule: tuple[str, ...],
    all_rules: bool,
    as_json: bool,
) -> None:
    """Merge BRANCH (default: trunk) into the current branch, resolving what a machine can.

    Trunk is origin's HEAD, else main or master (local, then origin's).

    git merges as it always does; each path it leaves conflicted goes to the resolution
    engine. What the engine resolves is written and staged; the rest keeps git's conflict
    markers (diff3 style, with the base) and is listed with how hard it is. A work tree with
    uncommitted changes is refused. Nothing is committed, not even a fast-forward, unless
    --commit is given and nothing is left. Exit status 1 while paths are left, as git merge.

    \b
    Examples:
      trunkguard merge                       # trunk into the current branch
      trunkguard merge origin/release/2.1 --commit
      trunkguard merge feature/x --rule changelog --json
    """
    from bot.service.worktree import default_trunk, merge_into_work_tree, work_tree_top

    top = work_tree_top(work_tree)
    target = branch or default_trunk(top)
    chosen = selected_rules(rule, all_rules) if rule or all_rules else None
    done = merge_into_work_tree(top, target, chosen, commit)
    payload = merge_payload(done)
    if as_json:
        click.echo(json.dumps(payload, indent=2))
    else:
        for line in merge_text(payload, commit):
            click.echo(line)
    if done.left:
        raise click.exceptions.Exit(1)


COMMANDS = (merge,)
