"""The weekly report as JSON for machines: every figure, with its change in words."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from bot.report.charts import report_charts
from bot.report.weekly import WeeklyReport
from bot.text import iso_time


def report_payload(report: WeeklyReport) -> dict[str, Any]:
    """Return the report as plain data; times as ISO 8601 UTC, durations in seconds."""
    return {
        "repository": report.repository,
        "title": report.title,
        "url": None if report.home is None else report.home.url,
        "week": report.week,
        "start": iso_time(report.start),
        "end": iso_time(report.end),
        "limit_days": report.limit_days,
        "headline": [
            {
                "key": m.key,
                "label": m.label,
                "unit": str(m.unit),
                "value": m.value,
                "last_week": m.last_week,
                "baseline": m.baseline,
                "against_last_week": str(m.against_last_week),
                "against_trend": str(m.against_trend),
            }
            for m in report.headline
        ],
        "conflicts_paid": [
            {
                "merge_commit": p.merge_commit,
                "summary": p.summary,
                "merged_at": iso_time(p.merged_at),
                "paths": list(p.paths),
                "first_warning_at": iso_time(p.first_warning_at),
                "lead_time_seconds": p.lead_time_seconds,
            }
            for p in report.paid
        ],
        "warned_a_day_ahead": report.warned_in_time,
        "forecast_resolution": (
            None
            if report.forecast_split is None
            else {"machine": report.forecast_split[0], "person": report.forecast_split[1]}
        ),
        "conflicts_paid_resolution": [
            {"merge_commit": r.merge_commit, "path": r.path, "rule": r.rule, "level": r.level}
            for r in report.week_resolutions
        ],
        "scanned_at": iso_time(report.scanned_at),
        "open_branches": report.open_branches,
        "oldest": [asdict(b) for b in report.oldest],
        "most_behind": [asdict(b) for b in report.most_behind],
        "idle": [asdict(b) for b in report.idle],
        "stale": [asdict(b) for b in report.stale],
        "forecast_at": iso_time(report.forecast_at),
        "with_trunk": [{"branch": b, "paths": list(p)} for b, p in report.with_trunk],
        "pairs": [asdict(p) for p in report.pairs],
        "land_order": [asdict(s) for s in report.land_order],
        "release_lines": [
            {
                "name": x.name,
                "ahead": x.ahead,
                "behind": x.behind,
                "last_commit_at": iso_time(x.last_commit_time),
                "based_on_it": list(x.based),
            }
            for x in report.release_lines
        ],
        "charts": [asdict(c) for c in report_charts(report)],
    }
