"""Turn scan reports into what people and machines read: durations, tables, JSON."""

from __future__ import annotations

import math
import statistics
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from analyzers.divergence import BranchReport, ScanReport
from analyzers.forecast import Forecast
from analyzers.leadtime import FirstWarning
from analyzers.merges import Conflict, ConflictKind
from analyzers.missing import Unknown
from analyzers.replay import MergeDirection, ReplayReport
from analyzers.trends import WeekFigures
from bot.text import humane_duration, iso_time

if TYPE_CHECKING:
    from bot.mirrors.gitcheck import Agreement
    from bot.policy import RepositoryConfig


def branch_payload(branch: BranchReport) -> dict[str, Any]:
    """Return one branch as the JSON object documented in the README."""
    return {
        "name": branch.name,
        "ref": branch.ref,
        "head": branch.head,
        "ahead": branch.ahead,
        "behind": branch.behind,
        "merge_base": branch.merge_base,
        "merge_base_time": iso_time(branch.merge_base_time),
        "age_seconds": branch.age_seconds,
        "base_age_seconds": branch.base_age_seconds,
        "idle_seconds": branch.idle_seconds,
        "authors": list(branch.authors),
        "files_changed": branch.files_changed,
        "lines_added": branch.lines_added,
        "lines_deleted": branch.lines_deleted,
        "trunk_files_changed": branch.trunk_files_changed,
        "overlap_files": None if branch.overlap_files is None else list(branch.overlap_files),
        "pull_requests": list(branch.pulls),
        "unknown": [unknown_payload(gap) for gap in branch.unknown],
    }


def unknown_payload(gap: Unknown) -> dict[str, Any]:
    """Return figures that could not be given, and why, as JSON."""
    return {"figures": list(gap.figures), "reason": gap.reason, "object": gap.object_id}


def unknown_line(counts: dict[str, int], what: str = "figures") -> str | None:
    """Say in one line how many figures are unknown and why, or None if none is."""
    if not counts:
        return None
    total = sum(counts.values())
    reasons = "; ".join(f"{n:,}: {reason}" for reason, n in counts.items())
    noun = what.removesuffix("s") if total == 1 else what
    return f"trunkguard: {total:,} {noun} unknown ({reasons})"


def branch_label(name: str, pulls: tuple[int, ...]) -> str:
    """Name a branch with the pull requests whose head it is: 'feature/x #12'."""
    numbers = [f"#{n}" for n in pulls if name != f"pull/{n}"]
    return " ".join([name, *numbers])


def by_age(report: ScanReport) -> list[BranchReport]:
    """Return the branches oldest first, integrated ones last."""
    return sorted(report.branches, key=lambda b: (b.integrated, -b.age_seconds, b.name))


def scan_payload(report: ScanReport, repository: str) -> dict[str, Any]:
    """Return a scan as the JSON document documented in the README."""
    return {
        "repository": repository,
        "trunk": {"name": report.trunk.name, "head": report.trunk.head},
        "scanned_at": iso_time(report.now),
        "branches": [branch_payload(b) for b in by_age(report)],
        "unreadable": [{"branch": u.name, "reason": u.reason} for u in report.unreadable],
    }


def _count(value: int | None) -> str:
    return "?" if value is None else str(value)


def _authors_cell(authors: tuple[str, ...]) -> str:
    if not authors:
        return ""
    return authors[0] + (f" +{len(authors) - 1}" if len(authors) > 1 else "")


def scan_table(report: ScanReport, width: int = 120) -> Table:
    """Return a table of the branches, oldest first; narrow terminals get fewer columns."""
    table = Table(
        title=f"{len(report.branches)} branches against trunk '{report.trunk.name}'",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        caption="age: since the first own commit · base: age of the trunk snapshot it started "
        "from · overlap: files changed on both sides",
        caption_justify="left",
    )
    # Columns by importance; a narrow terminal drops the least useful ones instead of folding.
    columns = ["branch", "age", "ahead", "behind", "idle", "files", "overlap"]
    if width >= 100:
        columns[4:4] = ["base"]
        columns[7:7] = ["+/-"]
    if width >= 120:
        columns.append("authors")
    for header in columns:
        if header == "branch":
            table.add_column(header, overflow="fold", min_width=min(28, width // 5))
        elif header == "authors":
            table.add_column(header, overflow="ellipsis", no_wrap=True, max_width=24)
        else:
            table.add_column(header, justify="right", no_wrap=True)
    for b in by_age(report):
        lines = "?" if b.lines_added is None else f"+{b.lines_added} -{b.lines_deleted}"
        cells = {
            "branch": branch_label(b.name, b.pulls),
            "age": "integrated" if b.integrated else humane_duration(b.age_seconds),
            "ahead": str(b.ahead),
            "behind": str(b.behind),
            "base": "unrelated"
            if b.base_age_seconds is None
            else humane_duration(b.base_age_seconds),
            "idle": humane_duration(b.idle_seconds),
            "files": _count(b.files_changed),
            "+/-": lines,
            "overlap": "?" if b.overlap_files is None else str(len(b.overlap_files)),
            "authors": _authors_cell(b.authors),
        }
        table.add_row(*(cells[c] for c in columns))
    reasons = sorted({gap.reason for b in report.branches for gap in b.unknown})
    if reasons:
        table.caption = f"{table.caption}\n? unknown: {'; '.join(reasons)}"
    return table


def conflict_payload(conflict: Conflict) -> dict[str, Any]:
    """Return one conflicted path as JSON."""
    return {
        "path": conflict.path,
        "kind": str(conflict.kind),
        "ours_ranges": [list(r) for r in conflict.ours_ranges],
        "theirs_ranges": [list(r) for r in conflict.theirs_ranges],
    }


def forecast_payload(forecast: Forecast, repository: str) -> dict[str, Any]:
    """Return a forecast as the JSON document documented in the README."""
    return {
        "repository": repository,
        "trunk": {"name": forecast.trunk, "head": forecast.trunk_head},
        "with_trunk": [
            {
                "branch": x.branch,
                "head": x.head,
                "unrelated": x.unrelated,
                "integrated": x.integrated,
                "conflicts": [conflict_payload(c) for c in x.conflicts],
                "unknown": None if x.unknown is None else unknown_payload(x.unknown),
            }
            for x in forecast.with_trunk
        ],
        "undecided": [
            {"a": p.a, "b": p.b, "unknown": unknown_payload(p.unknown)}
            for p in forecast.undecided
            if p.unknown is not None
        ],
        "pairs": [
            {"a": p.a, "b": p.b, "conflicts": [conflict_payload(c) for c in p.conflicts]}
            for p in forecast.pairs
        ],
        "at_risk": [{"a": r.a, "b": r.b, "paths": list(r.paths)} for r in forecast.at_risk],
        "land_order": [{"branch": s.branch, "reason": s.reason} for s in forecast.land_order],
        "stats": {
            "branches": forecast.stats.branches,
            "active": forecast.stats.active,
            "pairs": forecast.stats.pairs,
            "pairs_merged": forecast.stats.pairs_merged,
            "merges_computed": forecast.stats.merges_computed,
        },
    }


def _ranges(ranges: tuple[tuple[int, int], ...]) -> str:
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in ranges)


def _conflict_line(conflict: Conflict) -> str:
    if conflict.kind is ConflictKind.CONTENT:
        return (
            f"{conflict.path} (lines {_ranges(conflict.ours_ranges)} | "
            f"{_ranges(conflict.theirs_ranges)})"
        )
    return f"{conflict.path} ({conflict.kind})"


def forecast_text(forecast: Forecast) -> list[RenderableType]:
    """Return the forecast for people: conflicts with trunk, pairs, risks, land order."""
    out: list[RenderableType] = []
    blocked = [x for x in forecast.with_trunk if x.conflicts]
    unrelated = [x.branch for x in forecast.with_trunk if x.unrelated]
    out.append(Text(f"Conflicts with trunk '{forecast.trunk}'", style="bold"))
    if not blocked and not any(x.unknown for x in forecast.with_trunk):
        out.append(Text("  none: every branch merges cleanly into trunk"))
    elif not blocked:
        out.append(Text("  none known"))
    for x in blocked:
        out.append(Text(f"  {x.branch}: " + "; ".join(_conflict_line(c) for c in x.conflicts)))
    if unrelated:
        out.append(Text(f"  unrelated history, not merged: {', '.join(unrelated)}"))
    for reason, names in _by_reason([(x.branch, x.unknown) for x in forecast.with_trunk]):
        out.append(Text(f"  could not tell ({reason}): {_listing(names, 10)}"))
    s = forecast.stats
    out.append(
        Text(
            f"\nConflicts between active branches ({s.active} active, {s.pairs} pairs, "
            f"{s.pairs_merged} needed a trial merge, the others change nothing in common)",
            style="bold",
        )
    )
    if not forecast.pairs:
        out.append(Text("  none"))
    for p in forecast.pairs:
        out.append(Text(f"  {p.a} ↔ {p.b}: " + "; ".join(_conflict_line(c) for c in p.conflicts)))
    undecided = [(f"{p.a} ↔ {p.b}", p.unknown) for p in forecast.undecided]
    for reason, names in _by_reason(undecided):
        out.append(Text(f"  could not tell ({reason}): {_listing(names, 10)}"))
    if forecast.at_risk:
        out.append(Text("\nAt risk (changes within a few lines, no conflict yet)", style="bold"))
        for r in forecast.at_risk:
            out.append(Text(f"  {r.a} ↔ {r.b}: {', '.join(r.paths)}"))
    if forecast.land_order:
        out.append(Text("\nSuggested land order", style="bold"))
        for n, step in enumerate(forecast.land_order, start=1):
            out.append(Text(f"  {n}. {step.branch} — {step.reason}"))
    return out


def _by_reason(items: list[tuple[str, Unknown | None]]) -> list[tuple[str, list[str]]]:
    grouped: dict[str, list[str]] = {}
    for name, gap in items:
        if gap is not None:
            grouped.setdefault(gap.reason, []).append(name)
    return list(grouped.items())


def _listing(names: list[str], most: int) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _warning_payload(warning: FirstWarning | None) -> dict[str, Any] | None:
    if warning is None:
        return None
    return {
        "time": iso_time(warning.time),
        "ours": warning.ours,
        "theirs": warning.theirs,
        "before": {"ours": warning.before_ours, "theirs": warning.before_theirs},
    }


def _nearest_rank(values: list[int], share: float) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def replay_payload(
    report: ReplayReport, repository: str, agreement: Agreement | None = None
) -> dict[str, Any]:
    """Return a replay as the JSON document documented in the README."""
    summary: dict[str, Any] = {}
    for direction in MergeDirection:
        conflicted, total = report.rate(direction)
        summary[str(direction)] = {
            "merges": total,
            "conflicted": conflicted,
            "rate": round(conflicted / total, 4) if total else None,
        }
    leads = report.lead_times()
    summary["lead_time"] = {
        "merges": len(leads),
        "median_seconds": int(statistics.median(leads)) if leads else None,
        "p90_seconds": _nearest_rank(leads, 0.9),
    }
    summary["unknown"] = sum(1 for m in report.merges if m.unknown is not None)
    return {
        "repository": repository,
        "trunk_head": report.trunk_head,
        "merges": [
            {
                "commit": m.commit,
                "time": iso_time(m.time),
                "direction": str(m.direction),
                "conflicts": [conflict_payload(c) for c in m.conflicts],
                "matches_recorded": m.matches_recorded,
                "first_warning": _warning_payload(m.first_warning),
                "lead_time_seconds": m.lead_time_seconds,
                "unknown": None if m.unknown is None else unknown_payload(m.unknown),
            }
            for m in report.merges
        ],
        "summary": summary,
        "git_agreement": None
        if agreement is None
        else {
            "merges": agreement.merges,
            "same_outcome": agreement.same_outcome,
            "same_paths": agreement.same_paths,
            "skipped": agreement.skipped,
        },
    }


def replay_text(report: ReplayReport, agreement: Agreement | None = None) -> list[RenderableType]:
    """Return the replay for people: the conflict rate each way, lead times, the conflicts."""
    out: list[RenderableType] = [
        Text(
            f"Replayed {len(report.merges)} merge{'' if len(report.merges) == 1 else 's'}",
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
        p90 = _nearest_rank(leads, 0.9) or 0
        out.append(
            Text(
                f"  lead time: trunkguard would have warned a median of {humane_duration(median)} "
                f"(p90 {humane_duration(p90)}) before {len(leads)} conflicted "
                f"merge{'' if len(leads) == 1 else 's'}"
            )
        )
    for reason, names in _by_reason([(m.commit[:10], m.unknown) for m in report.merges]):
        out.append(Text(f"  could not redo ({reason}): {_listing(names, 10)}"))
    if agreement is not None:
        out.append(
            Text(
                f"  agreement with git merge-tree: yes/no {agreement.same_outcome} of "
                f"{agreement.merges}, conflicted paths {agreement.same_paths} of {agreement.merges}"
                + (
                    f" ({agreement.skipped} merges with no answer to compare left out)"
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
            out.append(
                Text(f"  {m.commit[:10]} ({m.direction}, {iso_time(m.time)}{warned}): {paths}")
            )
    return out


TREND_FIGURES = (
    "open_branches",
    "median_age_seconds",
    "p90_age_seconds",
    "over_limit",
    "landings",
    "merges",
    "median_lifetime_seconds",
    "conflicts_at_merge",
    "conflicts_paid",
    "median_lead_time_seconds",
    "predicted_conflicts",
)


def trends_payload(weeks: tuple[WeekFigures, ...], repository: str) -> dict[str, Any]:
    """Return weekly trends as the JSON document documented in the README, oldest week first."""
    out = []
    previous: WeekFigures | None = None
    for week in weeks:
        item: dict[str, Any] = {"week": week.week, "source": week.source}
        for figure in TREND_FIGURES:
            value = getattr(week, figure)
            before = getattr(previous, figure) if previous is not None else None
            item[figure] = value
            item[f"{figure}_change"] = None if value is None or before is None else value - before
        out.append(item)
        previous = week
    return {"repository": repository, "weeks": out}


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
        caption=f"open: branches with work not on trunk · over: older than {limit_days} days · "
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
        table.add_row(*(cells[c] for c in columns))
        previous = w
    return table


def _limits(warn: int | None, fail: int | None, unit: str) -> str:
    parts = [f"warn after {warn} {unit}"] if warn is not None else []
    parts += [f"fail after {fail} {unit}"] if fail is not None else []
    return ", ".join(parts) or "off"


_COMMENT_WHEN = {
    "problems": "only when there is something to act on",
    "always": "on every pull request",
    "never": "never",
}


def policy_lines(config: RepositoryConfig) -> list[str]:
    """Say in a few lines what a repository's policy does."""
    p = config.policy
    exempt = [f"labels {', '.join(p.exempt.labels)}"] if p.exempt.labels else []
    exempt += [f"branches {', '.join(p.exempt.branches)}"] if p.exempt.branches else []
    exempt += ["drafts"] if p.exempt.drafts else []
    resolved = "edited to say so" if p.comment.resolved == "edit" else "deleted"
    return [
        f"branch age: {_limits(p.age.warn_days, p.age.fail_days, 'days')}",
        "commits behind trunk: " + _limits(p.behind.warn_commits, p.behind.fail_commits, "commits"),
        f"conflicts: with trunk {p.conflicts.with_trunk}, "
        f"with another open pull request {p.conflicts.between_pulls}",
        f"comment: {_COMMENT_WHEN[p.comment.when]}; once all is well, {resolved}",
        f"exempt: {', '.join(exempt) or 'nothing'}",
        f"forecast: branches with a commit in {config.forecast.active_days} days are paired; "
        f"pull request heads count for {config.pulls.recent_days} days",
    ]
