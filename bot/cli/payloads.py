"""Documents for machines: what `--json` prints, as the README documents it."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from analyzers.conflicts import conflict_json
from analyzers.replay import MergeDirection
from bot.text import iso_time, natural_key

if TYPE_CHECKING:
    from analyzers.divergence import BranchReport, ScanReport
    from analyzers.forecast import Forecast
    from analyzers.leadtime import FirstWarning
    from analyzers.lines import ReleaseLine
    from analyzers.missing import Unknown
    from analyzers.replay import ReplayReport
    from analyzers.resolve.records import Outcome
    from analyzers.trends import WeekFigures
    from bot.mirrors.gitcheck import Agreement
    from bot.review.pull import Review
    from bot.service.scheduler import Planned
    from bot.store import FailedJobRecord


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
        "base": branch.base,
        "unknown": [unknown_payload(gap) for gap in branch.unknown],
    }


def release_line_payload(line: ReleaseLine) -> dict[str, Any]:
    """Return one release line as the JSON object documented in the README."""
    return {
        "name": line.name,
        "ref": line.ref,
        "head": line.head,
        "ahead": None if line.unreadable else line.ahead,
        "behind": None if line.unreadable else line.behind,
        "branched_at": iso_time(line.branched_time),
        "last_commit_at": iso_time(line.last_commit_time),
        "last_author": line.last_author,
        "based_on_it": list(line.based),
        "unreadable": line.unreadable,
    }


def unknown_payload(gap: Unknown) -> dict[str, Any]:
    """Return figures that could not be given, and why, as JSON."""
    return {"figures": list(gap.figures), "reason": gap.reason, "object": gap.object_id}


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
        "release_lines": [
            release_line_payload(x)
            for x in sorted(report.release_lines, key=lambda x: natural_key(x.name))
        ],
        "unreadable": [{"branch": u.name, "reason": u.reason} for u in report.unreadable],
    }


def forecast_payload(
    forecast: Forecast,
    repository: str,
    labels: Mapping[tuple[str, str], Outcome] | None = None,
    pair_labels: Mapping[tuple[str, str, str], Outcome] | None = None,
) -> dict[str, Any]:
    """Return a forecast as the JSON document documented in the README (each conflict with
    the resolution engine's answer, where `labels` (with trunk, by branch and path) or
    `pair_labels` (by pair and path) has one)."""
    labels = labels or {}
    pair_labels = pair_labels or {}
    return {
        "repository": repository,
        "trunk": {"name": forecast.trunk, "head": forecast.trunk_head},
        "with_trunk": [
            {
                "branch": x.branch,
                "head": x.head,
                "unrelated": x.unrelated,
                "integrated": x.integrated,
                "conflicts": [
                    conflict_json(c, labels.get((x.branch, c.path))) for c in x.conflicts
                ],
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
            {
                "a": p.a,
                "b": p.b,
                "conflicts": [
                    conflict_json(c, pair_labels.get((p.a, p.b, c.path))) for c in p.conflicts
                ],
            }
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


def _warning_payload(warning: FirstWarning | None) -> dict[str, Any] | None:
    if warning is None:
        return None
    return {
        "time": iso_time(warning.time),
        "ours": warning.ours,
        "theirs": warning.theirs,
        "before": {"ours": warning.before_ours, "theirs": warning.before_theirs},
    }


def nearest_rank(values: list[int], share: float) -> int | None:
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
        "p90_seconds": nearest_rank(leads, 0.9),
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
                "conflicts": [conflict_json(c) for c in m.conflicts],
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


def failed_jobs_payload(failed: list[FailedJobRecord]) -> list[dict[str, Any]]:
    """Return the jobs given up on as the JSON `trunkguard jobs failed --json` prints."""
    return [
        {
            "id": f.id,
            "job": f.name,
            "arguments": f.arguments,
            "delivery": f.delivery,
            "attempts": f.attempts,
            "error": f.error,
            "failed_at": f.failed_at.isoformat() if f.failed_at else None,
            "retried_at": f.retried_at.isoformat() if f.retried_at else None,
        }
        for f in failed
    ]


def schedule_payload(plan: list[Planned]) -> list[dict[str, Any]]:
    """Return the scheduler's plan as the JSON `trunkguard schedule --json` prints."""
    return [
        {
            "id": p.id,
            "what": p.what,
            "next_run": None if p.next_run is None else p.next_run.isoformat(),
            "trigger": p.trigger,
        }
        for p in plan
    ]


def review_payload(repository: str, number: int, review: Review) -> dict[str, Any]:
    """Return one review as the JSON `trunkguard pr-check --json` prints."""
    verdict = review.evaluation
    return {
        "repository": repository,
        "pull_request": number,
        "outcome": str(review.outcome),
        "head": review.head_sha,
        "conclusion": str(verdict.conclusion) if verdict else None,
        "title": verdict.title if verdict else None,
        "comment": review.comment,
    }
