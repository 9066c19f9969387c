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
    whole: bool = False  # a count: the axis shows whole numbers only
    limit: float | None = None  # the age limit in the chart's unit, drawn as a line
    limit_label: str = ""


# Ages read in days up to about three months, then in weeks, months, years.
AGE_UNITS = (
    (90 * DAY, DAY, "days"),
    (52 * 7 * DAY, 7 * DAY, "weeks"),
    (3 * 365 * DAY, 30 * DAY, "months"),
)
YEAR = 365 * DAY


def age_unit(longest_seconds: float) -> tuple[int, str]:
    """The unit (seconds, name) in which ages up to `longest_seconds` read best."""
    for upto, seconds, name in AGE_UNITS:
        if longest_seconds <= upto:
            return seconds, name
    return YEAR, "years"


def _in(seconds: int | None, unit: int) -> float:
    return 0.0 if seconds is None else round(seconds / unit, 1)


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
                whole=True,
            )
        )
    for key, title, ages in (
        ("median_age", "Median age of open branches", [w.median_age_seconds for w in report.trend]),
        (
            "p90_age",
            "90th percentile age of open branches",
            [w.p90_age_seconds for w in report.trend],
        ),
    ):
        unit, name = age_unit(max((a or 0 for a in ages), default=0))
        charts.append(
            Chart(
                key,
                f"{title} ({name})",
                name,
                "line",
                weeks,
                tuple(_in(a, unit) for a in ages),
                limit=round(report.limit_days * DAY / unit, 2),
                limit_label=f"limit {report.limit_days}d",
            )
        )
    charts += [
        Chart(
            "landings",
            "Integrations into trunk per week",
            "integrations",
            "bar",
            weeks,
            tuple(float(w.landings) for w in report.trend),
            whole=True,
        ),
        Chart(
            "conflicts_paid",
            "Merge conflicts paid per week",
            "conflicts",
            "bar",
            weeks,
            tuple(float(w.conflicts_paid) for w in report.trend),
            whole=True,
        ),
    ]
    if report.resolutions:
        charts.append(
            Chart(
                "machine_resolvable",
                "Paid conflicts a machine could have resolved (% of paths)",
                "% of paths",
                "line",
                weeks,
                tuple(_machine_share(report, w.start) for w in report.trend),
            )
        )
    return tuple(charts)


def _machine_share(report: WeeklyReport, start: int) -> float:
    said = report.resolved_in(start, start + 7 * DAY)
    machine = sum(1 for r in said if r.rule is not None)
    return round(100 * machine / len(said), 1) if said else 0.0


def nice_ceiling(value: float) -> float:
    """Round a chart's top up to 1, 2 or 5 times a power of ten (at least 1)."""
    if value <= 1:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    raise AssertionError("unreachable")


def ticks(top: float, whole: bool) -> tuple[float, ...]:
    """The axis's labelled levels: bottom, middle and top; no fractions on a count's axis."""
    middle = top / 2
    if whole and middle != int(middle):
        return (0.0, top)
    return (0.0, middle, top)
