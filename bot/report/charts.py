"""The report's charts as data: one series each, drawn as Mermaid on GitHub and SVG in HTML."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.report.weekly import WeeklyReport
from bot.text import DAY


@dataclass(frozen=True)
class Chart:
    """One chart: a title, what the y axis counts, and a value per label."""

    key: str
    title: str
    y_label: str
    kind: Literal["bar", "line"]
    labels: tuple[str, ...]
    values: tuple[float, ...]


def _days(seconds: int | None) -> float:
    return 0.0 if seconds is None else round(seconds / DAY, 1)


def report_charts(report: WeeklyReport) -> tuple[Chart, ...]:
    """The branch-age distribution (when a scan was stored that week) and the weekly trends."""
    weeks = tuple(w.week.split("-")[1] for w in report.trend)
    charts = []
    if report.scanned_at is not None:
        charts.append(
            Chart(
                "age_distribution",
                "Open branches by age",
                "branches",
                "bar",
                tuple(label for label, _ in report.age_buckets),
                tuple(float(count) for _, count in report.age_buckets),
            )
        )
    charts += [
        Chart(
            "median_age",
            "Median age of open branches (days)",
            "days",
            "line",
            weeks,
            tuple(_days(w.median_age_seconds) for w in report.trend),
        ),
        Chart(
            "p90_age",
            "90th percentile age of open branches (days)",
            "days",
            "line",
            weeks,
            tuple(_days(w.p90_age_seconds) for w in report.trend),
        ),
        Chart(
            "landings",
            "Integrations into trunk per week",
            "integrations",
            "bar",
            weeks,
            tuple(float(w.landings) for w in report.trend),
        ),
        Chart(
            "conflicts_paid",
            "Merge conflicts paid per week",
            "conflicts",
            "bar",
            weeks,
            tuple(float(w.conflicts_paid) for w in report.trend),
        ),
    ]
    return tuple(charts)


def nice_ceiling(value: float) -> float:
    """Round a chart's top up to 1, 2 or 5 times a power of ten (at least 1)."""
    if value <= 1:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    raise AssertionError("unreachable")
