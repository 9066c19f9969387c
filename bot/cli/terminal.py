"""Text for people: the terminal's tables and lines.

Every cell and line is a rich `Text`, never read as console markup, and what comes from git
goes through `visible`: an author named "[/bold]" or "\\x1b[2J" is printed, not obeyed.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from rich import box
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from analyzers.conflicts import ConflictKind
from analyzers.replay import MergeDirection
from analyzers.resolve.records import NeedsPerson, Resolved
from bot.cli.payloads import nearest_rank
from bot.markup import visible
from bot.text import (
    clash_place,
    humane_duration,
    iso_time,
    line_ranges,
    listing,
    natural_key,
    plural,
)

if TYPE_CHECKING:
    from analyzers.conflicts import Conflict
    from analyzers.forecast import Forecast, PairForecast, TrunkForecast
    from analyzers.missing import Unknown
    from analyzers.replay import ReplayReport
    from analyzers.resolve.records import Outcome
    from analyzers.trends import WeekFigures
    from bot.mirrors.gitcheck import Agreement
    from bot.policy import RepositoryConfig
    from bot.service.scheduler import Planned
    from bot.store import FailedJobRecord

T = TypeVar("T")


def _row(table: Table, cells: list[str]) -> None:
    """Add a row of cells as they are: never read as markup, control characters shown."""
    table.add_row(*(Text(visible(cell)) for cell in cells))


def _names(names: Sequence[str], most: int | None = None) -> str:
    """List names from git as they are, all of them or the first `most`."""
    return listing([visible(name) for name in names], len(names) if most is None else most)


def _ranges(ranges: tuple[tuple[int, int], ...]) -> str:
    return line_ranges(ranges) or "?"


def _conflict_line(conflict: Conflict) -> str:
    if conflict.kind is ConflictKind.CONTENT:
        return (
            f"{visible(conflict.path)} (lines {_ranges(conflict.ours_ranges)} | "
            f"{_ranges(conflict.theirs_ranges)})"
        )
    path, clash = clash_place(conflict.path, conflict.kind)
    if clash is not None:
        return f"{visible(path)} ({clash})"
    return f"{visible(conflict.path)} ({conflict.kind})"


def forecast_summary(forecast: Forecast) -> Text:
    """Say in a line what a lead acts on: who conflicts with trunk, which pairs will conflict."""
    blocked = sum(1 for x in forecast.with_trunk if x.conflicts)
    pairs = len(forecast.pairs)
    verb = "conflicts" if blocked == 1 else "conflict"
    return Text(
        f"{plural(forecast.stats.branches, 'branch', 'branches')}: {blocked} {verb} with trunk, "
        f"{plural(pairs, 'pair')} will conflict once either lands",
        style="bold",
    )


def _conflicts(conflicts: tuple[Conflict, ...], most: int | None) -> str:
    """Count a branch's conflicted paths and list the first `most` of them (a path git
    names twice, each side's entry moved aside, is said once)."""
    lines = list(dict.fromkeys(_conflict_line(c) for c in conflicts))
    shown = lines if most is None else lines[:most]
    left = len(lines) - len(shown)
    return f"{plural(len(lines), 'path')}: {'; '.join(shown)}" + (
        f"; and {left} more" if left else ""
    )


def _left_out(left: int, what: str, words: str | None = None) -> list[RenderableType]:
    if left <= 0:
        return []
    return [Text(f"  … and {plural(left, what, words)} more (--all shows every one, --json too)")]


def shown_pairs(forecast: Forecast, most_rows: int | None = 20) -> list[PairForecast]:
    """The conflicting pairs, most conflicted paths first, as text shows them (the first
    `most_rows`; None: all)."""
    pairs = sorted(
        forecast.pairs, key=lambda p: (-len(p.conflicts), natural_key(p.a), natural_key(p.b))
    )
    return pairs if most_rows is None else pairs[:most_rows]


def blocked_branches(forecast: Forecast, most_rows: int | None = 20) -> list[TrunkForecast]:
    """The branches that conflict with trunk, most conflicted paths first, as text shows them
    (the first `most_rows`; None: all)."""
    blocked = sorted(
        (x for x in forecast.with_trunk if x.conflicts),
        key=lambda x: (-len(x.conflicts), natural_key(x.branch)),
    )
    return blocked if most_rows is None else blocked[:most_rows]


def _verdicts(outcomes: Sequence[Outcome]) -> str:
    """Say what the engine makes of a branch's conflicts: what a machine resolves, by which
    rules, and how hard the rest is for a person."""
    resolved = [o.rule for o in outcomes if isinstance(o, Resolved)]
    levels = Counter(o.grade.level for o in outcomes if isinstance(o, NeedsPerson))
    parts = []
    if resolved:
        parts.append(f"a machine resolves {len(resolved)} ({', '.join(sorted(set(resolved)))})")
    people = [o for o in outcomes if isinstance(o, NeedsPerson)]
    if len(outcomes) == 1 and people:
        grade = people[0].grade
        lines = f": {plural(grade.lines, 'line')} in {plural(grade.hunks, 'hunk')}"
        parts.append(f"needs a person ({grade.level}{lines if grade.hunks else ''})")
    elif levels:
        count = sum(levels.values())
        graded = ", ".join(f"{levels[x]} {x}" for x in ("easy", "medium", "hard") if levels[x])
        parts.append(f"{count} {'needs' if count == 1 else 'need'} a person ({graded})")
    return " — " + "; ".join(parts) if parts else ""


def forecast_text(
    forecast: Forecast,
    most_rows: int | None = 20,
    most_paths: int | None = 5,
    labels: Mapping[tuple[str, str], Outcome] | None = None,
    pair_labels: Mapping[tuple[str, str, str], Outcome] | None = None,
) -> list[RenderableType]:
    """Return the forecast for people: a summary, then conflicts with trunk and between pairs
    (with what the resolution engine says of them, given its `labels` and `pair_labels`),
    risks and the land order, each bounded to `most_rows` rows of `most_paths` paths (None:
    all of them)."""

    def top(rows: list[T]) -> list[T]:
        return rows if most_rows is None else rows[:most_rows]

    known = labels or {}
    out: list[RenderableType] = [forecast_summary(forecast)]
    blocked = blocked_branches(forecast, None)
    unrelated = sorted((x.branch for x in forecast.with_trunk if x.unrelated), key=natural_key)
    out.append(Text(f"\nConflicts with trunk '{visible(forecast.trunk)}'", style="bold"))
    if not blocked and not any(x.unknown for x in forecast.with_trunk):
        out.append(Text("  none: every branch merges cleanly into trunk"))
    elif not blocked:
        out.append(Text("  none known"))
    for x in top(blocked):
        said = [told for c in x.conflicts if (told := known.get((x.branch, c.path)))]
        out.append(
            Text(f"  {visible(x.branch)}: {_conflicts(x.conflicts, most_paths)}{_verdicts(said)}")
        )
    out += _left_out(len(blocked) - len(top(blocked)), "branch", "branches")
    if unrelated:
        out.append(Text(f"  unrelated history, not merged: {_names(unrelated, most_rows)}"))
    for reason, names in _by_reason([(x.branch, x.unknown) for x in forecast.with_trunk]):
        out.append(Text(f"  could not tell ({visible(reason)}): {_names(names, 10)}"))
    s = forecast.stats
    out.append(
        Text(
            f"\nConflicts between active branches ({s.active} active, {plural(s.pairs, 'pair')}, "
            f"{s.pairs_merged} needed a trial merge, the others change nothing in common)",
            style="bold",
        )
    )
    if not forecast.pairs:
        out.append(Text("  none"))
    pairs = shown_pairs(forecast, None)
    pair_known = pair_labels or {}
    for p in top(pairs):
        said = [told for c in p.conflicts if (told := pair_known.get((p.a, p.b, c.path)))]
        out.append(
            Text(f"  {_pair(p.a, p.b)}: {_conflicts(p.conflicts, most_paths)}{_verdicts(said)}")
        )
    out += _left_out(len(pairs) - len(top(pairs)), "pair")
    undecided = [(_pair(p.a, p.b), p.unknown) for p in forecast.undecided]
    for reason, names in _by_reason(undecided):
        out.append(Text(f"  could not tell ({visible(reason)}): {listing(names, 10)}"))
    if forecast.at_risk:
        out.append(Text("\nAt risk (changes within a few lines, no conflict yet)", style="bold"))
        for r in top(list(forecast.at_risk)):
            out.append(Text(f"  {_pair(r.a, r.b)}: {_names(r.paths, most_paths)}"))
        out += _left_out(len(forecast.at_risk) - len(top(list(forecast.at_risk))), "pair")
    if forecast.land_order:
        out.append(Text("\nSuggested land order", style="bold"))
        steps = list(forecast.land_order)
        for n, step in enumerate(top(steps), start=1):
            out.append(Text(f"  {n}. {visible(step.branch)} — {visible(step.reason)}"))
        out += _left_out(len(steps) - len(top(steps)), "branch", "branches")
    return out


def _pair(a: str, b: str) -> str:
    return f"{visible(a)} ↔ {visible(b)}"


def _by_reason(items: list[tuple[str, Unknown | None]]) -> list[tuple[str, list[str]]]:
    grouped: dict[str, list[str]] = {}
    for name, gap in items:
        if gap is not None:
            grouped.setdefault(gap.reason, []).append(name)
    return list(grouped.items())


def replay_text(
    report: ReplayReport,
    agreement: Agreement | None = None,
    labels: Mapping[tuple[str, str], Outcome] | None = None,
) -> list[RenderableType]:
    """Return the replay for people: the conflict rate each way, lead times, the conflicts
    (with what the resolution engine says of them, given its `labels`)."""
    out: list[RenderableType] = [
        Text(
            f"Replayed {plural(len(report.merges), 'merge')}",
            style="bold",
        )
    ]
    for direction in MergeDirection:
        conflicted, total = report.rate(direction)
        if total:
            out.append(
                Text(
                    f"  {direction}: {conflicted} of {total} conflicted ({conflicted / total:.0%})"
                )
            )
    evil = sum(1 for m in report.merges if m.matches_recorded is False)
    out.append(Text(f"  clean merges whose recorded tree differs from the automatic one: {evil}"))
    leads = report.lead_times()
    if leads:
        median = int(statistics.median(leads))
        p90 = nearest_rank(leads, 0.9) or 0
        out.append(
            Text(
                f"  lead time: trunkguard would have warned a median of {humane_duration(median)} "
                f"(p90 {humane_duration(p90)}) before {plural(len(leads), 'conflicted merge')}"
            )
        )
    for reason, names in _by_reason([(m.commit[:10], m.unknown) for m in report.merges]):
        out.append(Text(f"  could not redo ({visible(reason)}): {_names(names, 10)}"))
    if agreement is not None:
        out.append(
            Text(
                f"  agreement with git merge-tree: yes/no {agreement.same_outcome} of "
                f"{agreement.merges}, conflicted paths {agreement.same_paths} of {agreement.merges}"
                + (
                    f" ({plural(agreement.skipped, 'merge')} with no answer to compare left out)"
                    if agreement.skipped
                    else ""
                )
            )
        )
    for m in report.merges:
        if m.conflicts:
            paths = "; ".join(_conflict_line(c) for c in m.conflicts)
            warned = ""
            if m.first_warning is not None and m.lead_time_seconds is not None:
                warned = (
                    f", first warning {iso_time(m.first_warning.time)}, "
                    f"{humane_duration(m.lead_time_seconds)} ahead"
                )
            said = [told for c in m.conflicts if (told := (labels or {}).get((m.commit, c.path)))]
            out.append(
                Text(
                    f"  {m.commit[:10]} ({m.direction}, {iso_time(m.time)}{warned}): {paths}"
                    + _verdicts(said)
                )
            )
    return out


def _duration(seconds: int | None) -> str:
    return "–" if seconds is None else humane_duration(seconds)


def _change(now: int | None, before: int | None, duration: bool = False) -> str:
    if now is None or before is None or now == before:
        return ""
    delta = now - before
    text = humane_duration(abs(delta)) if duration else str(abs(delta))
    return f" ({'+' if delta > 0 else '-'}{text})"


def trends_table(weeks: tuple[WeekFigures, ...], limit_days: int, width: int = 120) -> Table:
    """Return weekly trends for people, oldest week first; narrow terminals get fewer columns."""
    table = Table(
        title="Weekly trends",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        caption="open: branches with work not on trunk · "
        f"over: older than {plural(limit_days, 'day')} · "
        "lifetime: first commit to landing of merged work · conflicts: landings that "
        "conflicted · paid: merges that conflicted, either way · lead: how long before those "
        "trunkguard would have warned (median) · *: reconstructed from history",
        caption_justify="left",
    )
    columns = ["week", "open", "median age", "over", "landed", "lifetime", "conflicts"]
    if width >= 110:
        columns[3:3] = ["p90 age"]
        columns[6:6] = ["merges"]
        columns += ["paid", "lead", "predicted"]
    for header in columns:
        if header == "week":
            table.add_column(header, no_wrap=True, min_width=len("2026-W22*"))
        else:
            table.add_column(header, justify="right", no_wrap=True)
    previous: WeekFigures | None = None
    for w in weeks:
        before = previous
        cells = {
            "week": w.week + ("*" if w.source == "history" else ""),
            "open": str(w.open_branches),
            "median age": _duration(w.median_age_seconds)
            + _change(w.median_age_seconds, before.median_age_seconds if before else None, True),
            "p90 age": _duration(w.p90_age_seconds),
            "over": str(w.over_limit),
            "landed": str(w.landings) + _change(w.landings, before.landings if before else None),
            "merges": str(w.merges),
            "lifetime": _duration(w.median_lifetime_seconds),
            "conflicts": str(w.conflicts_at_merge),
            "paid": str(w.conflicts_paid),
            "lead": _duration(w.median_lead_time_seconds),
            "predicted": "–" if w.predicted_conflicts is None else str(w.predicted_conflicts),
        }
        _row(table, [cells[c] for c in columns])
        previous = w
    return table


def _limits(warn: int | None, fail: int | None, unit: str) -> str:
    parts = [f"warn after {plural(warn, unit)}"] if warn is not None else []
    parts += [f"fail after {plural(fail, unit)}"] if fail is not None else []
    return ", ".join(parts) or "off"


_COMMENT_WHEN = {
    "problems": "only when there is something to act on",
    "always": "on every pull request",
    "never": "never",
}


def policy_lines(config: RepositoryConfig) -> list[str]:
    """Say in a few lines what a repository's policy does."""
    p, r, b = config.policy, config.report, config.branches
    exempt = [f"labels {_names(p.exempt.labels)}"] if p.exempt.labels else []
    exempt += [f"branches {_names(p.exempt.branches)}"] if p.exempt.branches else []
    exempt += ["drafts"] if p.exempt.drafts else []
    resolved = "edited to say so" if p.comment.resolved == "edit" else "deleted"
    return [
        f"branch age: {_limits(p.age.warn_days, p.age.fail_days, 'day')}",
        "commits behind trunk: " + _limits(p.behind.warn_commits, p.behind.fail_commits, "commit"),
        f"conflicts: with trunk {p.conflicts.with_trunk}, "
        f"with another open pull request {p.conflicts.between_pulls}",
        f"comment: {_COMMENT_WHEN[p.comment.when]}; once all is well, {resolved}",
        f"exempt: {', '.join(exempt) or 'nothing'}",
        "release lines (apart from feature work): "
        + (f"branches {_names(b.release, 6)}" if b.release else "no globs")
        + ("; a branch whose head carries a version tag" if b.tagged else "")
        + (f"; ignored: {_names(b.ignore)}" if b.ignore else ""),
        "forecast: branches with a commit in "
        f"{plural(config.forecast.active_days, 'day')} are paired; "
        f"pull request heads count for {plural(config.pulls.recent_days, 'day')}",
        f"weekly report: {r.weekday} {r.time} {r.timezone}, "
        + ("one issue edited each week" if r.issue == "single" else "a new issue each week")
        + f" labelled {visible(r.label)}; authors "
        + ("@-mentioned" if r.mention_authors else "named, not mentioned")
        + f"; stale after {plural(r.stale_days, 'day')} without a commit",
        "nudges: "
        + (
            f"a comment on a pull request idle {plural(config.nudges.idle_days, 'day')}"
            if config.nudges.enabled
            else f"off (when on: after {plural(config.nudges.idle_days, 'idle day')})"
        ),
    ]


def failed_jobs_table(failed: list[FailedJobRecord], now: datetime) -> Table:
    """Return the jobs given up on, newest first, with how long ago and their last error."""
    table = Table(title="Jobs given up on", title_justify="left")
    for column in ("id", "when", "job", "what", "tries", "last error"):
        table.add_column(column, overflow="fold")
    for f in failed:
        ago = humane_duration(int((now - f.failed_at).total_seconds())) if f.failed_at else ""
        what = ", ".join(f"{k}={v}" for k, v in sorted(f.arguments.items()) if k != "installation")
        _row(table, [str(f.id), f"{ago} ago", f.name, what, str(f.attempts), f.error])
    return table


def schedule_table(plan: list[Planned], now: datetime) -> Table:
    """Return the scheduler's plan, soonest first, with how long until each run."""
    table = Table(title="Scheduled work", title_justify="left")
    table.add_column("next run")
    table.add_column("in", justify="right")
    table.add_column("what")
    for p in plan:
        when = "paused" if p.next_run is None else p.next_run.strftime("%a %Y-%m-%d %H:%M %Z")
        wait = (
            "" if p.next_run is None else humane_duration(int((p.next_run - now).total_seconds()))
        )
        _row(table, [when, wait, p.what])
    return table
