"""The resolution commands: `resolve-history` (the engine's proof on a repository's merges) and
`merge-file` (a git merge driver that resolves what the engine resolves)."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import click

from bot.cli.options import merges_option, repository_options

DRIVER = "trunkguard"
ATTRIBUTE_LINE = f"* merge={DRIVER}"


def rules_option(command: Any, default: str = "the shipped rules") -> Any:
    """Add --rule and --all-rules: which rules the engine uses."""
    command = click.option("--all-rules", is_flag=True, help="Use every rule, shipped or not.")(
        command
    )
    return click.option(
        "--rule",
        multiple=True,
        metavar="NAME",
        help=f"Use only these rules (repeatable; default: {default}).",
    )(command)


def selected_rules(rule: tuple[str, ...], all_rules: bool) -> tuple[str, ...]:
    """The rules named (checked), else every rule or the shipped ones."""
    from analyzers.resolve.engine import RULES, SHIPPED

    if rule:
        unknown = [name for name in rule if name not in RULES]
        if unknown:
            raise click.BadParameter(
                f"unknown rule {', '.join(unknown)} (rules: {', '.join(RULES)})",
                param_hint="--rule",
            )
        return rule
    return RULES if all_rules else SHIPPED


def history_payload(report: Any, target: str, rules: tuple[str, ...]) -> dict[str, Any]:
    """The JSON of a resolve-history run."""
    from analyzers.resolve.history import AGREES, ORDER, OUTSIDE, WHITESPACE

    return {
        "repository": target,
        "rules": list(rules),
        "merges": report.merges,
        "skipped_merges": report.skipped,
        "conflicted_merges": report.conflicted_merges,
        "conflicted_paths": len(report.paths),
        "resolved_paths": len(report.resolved),
        "coverage": round(report.coverage(), 4),
        "precision": round(report.precision(), 4),
        "precision_whitespace": round(report.precision((AGREES, WHITESPACE)), 4),
        "precision_order": round(report.precision((AGREES, WHITESPACE, ORDER)), 4),
        # among the resolutions whose merge changed no line outside the conflict hunks
        "precision_on_conflicts": round(report.precision_without(OUTSIDE), 4),
        "per_rule": report.by(lambda p: p.rule or "needs a person"),
        "per_file_type": report.by(lambda p: p.file_type),
        "resolutions": [
            {"merge": p.merge, "path": p.path, "rule": p.rule, "verdict": p.verdict}
            for p in report.resolved
        ],
        "differing": [
            {"merge": p.merge, "path": p.path, "rule": p.rule, "verdict": p.verdict}
            for p in report.differing()
        ],
        "needs_a_person": [
            {"merge": p.merge, "path": p.path, "reason": p.reason, "grade": p.grade}
            for p in report.paths
            if p.rule is None
        ],
    }


def _percent(value: float) -> str:
    return f"{100 * value:.1f} %"


def history_text(payload: dict[str, Any]) -> list[str]:
    """The lines a person reads."""
    from bot.markup import visible

    lines = [
        f"{visible(payload['repository'])}: {payload['merges']} merges redone, "
        f"{payload['conflicted_merges']} conflicted in content, "
        f"{payload['conflicted_paths']} conflicted paths",
    ]
    if payload["skipped_merges"]:
        lines.append(f"  {payload['skipped_merges']} merges skipped: objects missing")
    lines += [
        f"  coverage  {_percent(payload['coverage'])} "
        f"({payload['resolved_paths']} of {payload['conflicted_paths']} paths resolved)",
        f"  precision {_percent(payload['precision'])} byte for byte; "
        f"{_percent(payload['precision_whitespace'])} but for whitespace; "
        f"{_percent(payload['precision_order'])} but for order; "
        f"{_percent(payload['precision_on_conflicts'])} where the person changed only the "
        "conflicts"
        if payload["resolved_paths"]
        else "  precision: nothing resolved to compare",
        "  per rule:",
    ]
    for name, row in payload["per_rule"].items():
        resolved = row.get("resolved", 0)
        same = row.get("same", 0)
        shown = f", {same}/{resolved} same as committed" if resolved else ""
        lines.append(f"    {name}: {row['paths']} paths{shown}")
    lines.append("  per file type:")
    for name, row in sorted(payload["per_file_type"].items(), key=lambda kv: -kv[1]["paths"])[:15]:
        lines.append(
            f"    {name}: {row['paths']} paths, {row.get('resolved', 0)} resolved, "
            f"{row.get('same', 0)} same as committed"
        )
    if payload["differing"]:
        lines.append("  resolutions that differ from the committed file:")
        for p in payload["differing"]:
            lines.append(
                f"    {p['merge'][:12]} {visible(p['path'])} ({p['rule']}: {p['verdict']})"
            )
    return lines


@click.command(name="resolve-history")
@repository_options
@merges_option(1000)
@click.option("--first-parent", is_flag=True, help="Only the merges on trunk's first-parent line.")
@rules_option
def resolve_history(
    target: str,
    trunk: str | None,
    remote: str,
    cache_dir: Path | None,
    as_json: bool,
    limit: int,
    first_parent: bool,
    rule: tuple[str, ...],
    all_rules: bool,
) -> None:
    """Redo the merges of a repository's history, resolve each conflicted path with the
    engine, and compare with what the person who merged committed.

    Coverage is the share of conflicted paths resolved; precision the share of those
    resolutions byte for byte equal to the committed file. Every resolution that differs is
    listed.

    \b
    Examples:
      trunkguard resolve-history .
      trunkguard resolve-history ~/src/app --merges 5000 --json
    """
    rules = selected_rules(rule, all_rules)
    run_history(target, trunk, remote, cache_dir, as_json, limit, rules, first_parent)


def run_history(
    target: str,
    trunk: str | None,
    remote: str,
    cache_dir: Path | None,
    as_json: bool,
    limit: int,
    rules: tuple[str, ...],
    first_parent: bool = False,
) -> None:
    """Redo the merges, compare, print: `resolve-history` and `replay --resolve`."""
    from analyzers.refs import PullHeads, PullRule, inventory
    from analyzers.resolve.history import walk
    from bot.cli.plumbing import open_repo, print_json, progress, shown_target

    repo = open_repo(target, cache_dir)
    found = inventory(repo, trunk=trunk, remote=remote, pulls=PullRule(PullHeads.NONE))
    if found.trunk is None:
        click.echo(f"{shown_target(target)}: the repository has no commits yet.")
        return
    with progress("redoing merges") as shown:
        report = walk(
            repo,
            found.trunk.target,
            limit,
            rules,
            first_parent=first_parent,
            progress=lambda done: shown(done, limit),
        )
    payload = history_payload(report, shown_target(target), rules)
    if as_json:
        print_json(payload)
        return
    for line in history_text(payload):
        click.echo(line)


def _git() -> str:
    from analyzers.git import find_git

    git = find_git()
    if git is None:
        raise click.ClickException("no git found on the PATH")
    return git.path


def _driver_command(program: str | None, rules: tuple[str, ...] = ()) -> str:
    if program is None:
        found = shutil.which("trunkguard")
        program = shlex.quote(found) if found else f"{shlex.quote(sys.executable)} -m bot"
    chosen = "".join(f" --rule {shlex.quote(name)}" for name in rules)
    return f"{program} merge-file{chosen} --marker-size %L %O %A %B %P"


def install(work_tree: Path, program: str | None = None, rules: tuple[str, ...] = ()) -> list[str]:
    """Set the driver up for the repository at work_tree; return what was done."""
    git = _git()
    top = subprocess.run(
        [git, "rev-parse", "--show-toplevel"], cwd=work_tree, capture_output=True, text=True
    )
    if top.returncode != 0:
        raise click.ClickException("not in a git work tree")
    root = Path(top.stdout.strip())
    done = []
    for key, value in (
        (f"merge.{DRIVER}.name", "trunkguard: resolves what a machine can, else git's merge"),
        (f"merge.{DRIVER}.driver", _driver_command(program, rules)),
    ):
        subprocess.run([git, "config", key, value], cwd=root, check=True)
        done.append(f"git config {key} {shlex.quote(value)}")
    attributes = root / ".gitattributes"
    text = attributes.read_text() if attributes.exists() else ""
    if ATTRIBUTE_LINE not in text.splitlines():
        if text and not text.endswith("\n"):
            text += "\n"
        attributes.write_text(text + ATTRIBUTE_LINE + "\n")
        done.append(f"{attributes}: added '{ATTRIBUTE_LINE}'")
    else:
        done.append(f"{attributes}: already has '{ATTRIBUTE_LINE}'")
    return done


def fall_back(ours: Path, base: Path, theirs: Path, marker_size: int) -> int:
    """git's own line merge over `ours`, diff3 markers; its exit status (conflicts found)."""
    from analyzers.resolve.diff3 import merge_file_args

    done = subprocess.run(
        [_git(), *merge_file_args(marker_size), str(ours), str(base), str(theirs)]
    )
    return done.returncode


@click.command(name="merge-file")
@click.argument("files", nargs=-1, metavar="BASE OURS THEIRS [PATH]")
@click.option("--marker-size", type=click.IntRange(min=1), default=7, show_default=True)
@click.option(
    "--install",
    "do_install",
    is_flag=True,
    help="Set the driver up for the current repository (.gitattributes and git config).",
)
@click.option(
    "--program",
    metavar="COMMAND",
    help="With --install: how git starts trunkguard (default: the trunkguard on the PATH).",
)
@click.option(
    "--rule",
    multiple=True,
    metavar="NAME",
    help="Use only these rules (repeatable; default: the shipped rules). With --install, the "
    "driver is set up with them.",
)
@click.option("--quiet", "-q", is_flag=True, help="Say nothing on stderr.")
def merge_file(
    files: tuple[str, ...],
    marker_size: int,
    do_install: bool,
    program: str | None,
    rule: tuple[str, ...],
    quiet: bool,
) -> None:
    """A git merge driver: merge THEIRS into OURS (rewritten) against BASE.

    It follows git's driver contract: the result is written over OURS, and the exit status
    is 0 when the path is fully resolved. What the engine does not resolve goes to git's own
    line merge, with diff3 conflict markers and a non-zero exit: never worse than no driver.

    \b
    Set up (trunkguard merge-file --install writes both):
      .gitattributes:  * merge=trunkguard
      git config merge.trunkguard.driver 'trunkguard merge-file --marker-size %L %O %A %B %P'

    \b
    Examples:
      trunkguard merge-file --install
      trunkguard merge-file base.txt ours.txt theirs.txt requirements.txt
    """
    if do_install:
        if files:
            raise click.UsageError("--install takes no files")
        selected_rules(rule, False)  # names checked now rather than at every merge
        for line in install(Path.cwd(), program, rule):
            click.echo(line)
        return
    if len(files) not in (3, 4):
        raise click.UsageError("expected BASE OURS THEIRS [PATH] (git's %O %A %B %P)")
    base, ours, theirs = (Path(name) for name in files[:3])
    path = files[3] if len(files) == 4 else files[1]
    from analyzers.resolve.engine import resolve
    from analyzers.resolve.records import Resolved
    from bot.markup import visible

    try:
        was, mine, other = (name.read_bytes() for name in (base, ours, theirs))
    except OSError as error:
        raise click.ClickException(f"{error.filename}: {error.strerror}") from None
    outcome = resolve(path, was, mine, other, selected_rules(rule, False))
    if isinstance(outcome, Resolved) and outcome.content is not None:
        ours.write_bytes(outcome.content)
        if not quiet:
            click.echo(f"trunkguard: resolved {visible(path)} ({outcome.rule})", err=True)
        return
    if not quiet and not isinstance(outcome, Resolved):
        click.echo(
            f"trunkguard: {visible(path)} needs a person: {outcome.grade}; "
            f"{visible(outcome.reason)}",
            err=True,
        )
    status = fall_back(ours, base, theirs, marker_size)
    raise click.exceptions.Exit(min(status, 127) if status > 0 else 1)


COMMANDS = (resolve_history, merge_file)
