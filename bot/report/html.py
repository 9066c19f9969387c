"""The weekly report as one self-contained HTML page: inline CSS and SVG charts, no network."""

from __future__ import annotations

from collections.abc import Mapping

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from bot.markup import visible
from bot.report.charts import Chart, nice_ceiling, report_charts, ticks
from bot.report.text import (
    change,
    day,
    figure,
    forecast_split_sentence,
    lead,
    moment,
    paid_sentence,
    period,
    resolution_sentence,
    verdict,
)
from bot.report.weekly import Direction, WeeklyReport
from bot.text import humane_duration

# Small on purpose: the SVG scales to its box, and text must stay legible at phone width.
WIDTH, HEIGHT = 420, 230
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 38, 26  # room for the axes' labels, and values above bars
MOST_LABELS = 7  # x-axis labels shown; the rest are skipped evenly


def _number(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def svg_chart(chart: Chart) -> Markup:
    """Draw one chart as inline SVG that scales to its container's width."""
    top = nice_ceiling(max((*chart.values, chart.limit or 0.0), default=0.0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = max(1, len(chart.values))
    slot = plot_w / count

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / top)

    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(chart.title)}" '
        f'class="chart" data-chart="{escape(chart.key)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(chart.title)}</title>",
    ]
    for tick in ticks(top, chart.whole):
        level = y(tick)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{level:.1f}" y2="{level:.1f}" '
            f'class="grid"/><text x="{LEFT - 6}" y="{level + 4:.1f}" class="axis" '
            f'text-anchor="end">{_number(tick)}</text>'
        )
    if chart.limit is not None:
        level = y(chart.limit)
        # Labelled at the left, inside the plot: the newest value is labelled at the right.
        above = level - 5 if level - 5 > TOP + 12 else level + 15
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{level:.1f}" y2="{level:.1f}" '
            f'class="limit" data-limit="{chart.limit}"/><text x="{LEFT + 6}" y="{above:.1f}" '
            f'class="axis limit-label">{escape(chart.limit_label)}</text>'
        )
    centres = [LEFT + slot * (i + 0.5) for i in range(len(chart.values))]
    if chart.kind == "bar":
        bar = min(48.0, slot * 0.7)
        for x, value in zip(centres, chart.values, strict=True):
            height = plot_h * value / top
            parts.append(
                f'<rect x="{x - bar / 2:.1f}" y="{TOP + plot_h - height:.1f}" '
                f'width="{bar:.1f}" height="{height:.1f}" rx="3" class="bar"/>'
            )
            parts.append(
                f'<text x="{x:.1f}" y="{TOP + plot_h - height - 5:.1f}" class="value" '
                f'text-anchor="middle">{_number(value)}</text>'
            )
    else:
        points = " ".join(f"{x:.1f},{y(v):.1f}" for x, v in zip(centres, chart.values, strict=True))
        parts.append(f'<polyline points="{points}" class="line" fill="none"/>')
        for x, value in zip(centres, chart.values, strict=True):
            parts.append(f'<circle cx="{x:.1f}" cy="{y(value):.1f}" r="3.5" class="dot"/>')
        if chart.values:
            parts.append(
                f'<text x="{centres[-1]:.1f}" y="{y(chart.values[-1]) - 9:.1f}" class="value" '
                f'text-anchor="middle">{_number(chart.values[-1])}</text>'
            )
    step = -(-len(chart.labels) // MOST_LABELS)  # ceiling division
    for i, (x, label) in enumerate(zip(centres, chart.labels, strict=True)):
        if (len(chart.labels) - 1 - i) % step == 0:  # counted from the newest, always shown
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - 8}" class="axis" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    parts.append(f'<text x="4" y="12" class="axis">{escape(chart.y_label)}</text></svg>')
    return Markup("".join(parts))


def _shown(value: object) -> object:
    """Show control and bidi characters in text from git instead of letting them act; markup
    the page builds itself (charts, macros) passes as it is."""
    return visible(value) if isinstance(value, str) and not isinstance(value, Markup) else value


def breakable(name: object) -> Markup:
    """Escape a name from git, then let it wrap after `/`, `-` and `_` rather than anywhere."""
    safe = str(escape(visible(str(name))))
    for mark in "/-_":
        safe = safe.replace(mark, f"{mark}<wbr>")
    return Markup(safe)


# Every {{ }} goes through _shown, then through autoescape: HTML's one escaping function.
_environment = Environment(
    loader=PackageLoader("bot.report", "templates"),
    autoescape=select_autoescape(["html"]),
    finalize=_shown,
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.filters.update(duration=humane_duration, day=day, moment=moment, breakable=breakable)


def report_html(report: WeeklyReport, logins: Mapping[int, str] | None = None) -> str:
    """Render the report as one HTML page with nothing to fetch."""
    template = _environment.get_template("report.html")
    return template.render(
        report=report,
        logins=logins or {},
        charts=[(chart, svg_chart(chart)) for chart in report_charts(report)],
        figure=figure,
        change=change,
        lead=lead,
        period=period(report),
        verdict=verdict(report),
        paid_sentence=paid_sentence(report),
        resolution_sentence=resolution_sentence(report),
        forecast_split_sentence=forecast_split_sentence(report),
        Direction=Direction,
    )
