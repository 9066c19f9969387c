"""Words and numbers shared by the report's Markdown and HTML: durations, dates, changes."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from bot.report.weekly import Direction, Measure, Unit, WeeklyReport
from bot.text import DAY, humane_duration


def figure(measure: Measure, value: float | None) -> str:
    """Say a headline value: a humane duration or a count; a dash when nothing tells."""
    if value is None:
        return "–"
    if measure.unit is Unit.DURATION:
        return humane_duration(int(value))
    return f"{value:,.1f}".removesuffix(".0")


def change(measure: Measure, before: float | None, direction: Direction) -> str:
    """Say how this week compares with `before`: arrow, the figure then, better or worse."""
    if direction is Direction.UNKNOWN:
        return "no comparison"
    if direction is Direction.SAME:
        if measure.value == before:
            return f"→ same ({figure(measure, before)})"
        return f"→ about the same (was {figure(measure, before)})"
    then = figure(measure, before)
    if then == figure(measure, measure.value) and measure.value is not None and before is not None:
        # Rounded alike ("5 weeks" both): say by how much it moved instead.
        delta = measure.value - before
        size = figure(measure, abs(delta))
        then = f"{'+' if delta > 0 else '-'}{size}"
        return f"{measure.arrow(before)} {direction} ({then})"
    return f"{measure.arrow(before)} {direction} (was {then})"


def day(moment: int) -> str:
    """A day as people write it in a report: Tue 24 Nov."""
    return datetime.fromtimestamp(moment, UTC).strftime("%a %d %b").replace(" 0", " ")


def moment(timestamp: int) -> str:
    """A moment to the minute, in UTC."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def period(report: WeeklyReport) -> str:
    """The week's dates: Mon 23 Nov – Sun 29 Nov 2026."""
    last = report.start + 6 * DAY
    year = datetime.fromtimestamp(last, UTC).year
    return f"{day(report.start)} – {day(last)} {year}"


def standstill(report: WeeklyReport) -> str | None:
    """Say so when the ages grew only because time passed: nothing landed, opened or closed."""
    if len(report.trend) < 2:
        return None
    before, this = report.trend[-2], report.trend[-1]
    ages = (before.median_age_seconds, this.median_age_seconds)
    tails = (before.p90_age_seconds, this.p90_age_seconds)
    if None in ages or None in tails or this.landings or this.open_branches != before.open_branches:
        return None
    grown = (ages[1] or 0) - (ages[0] or 0)
    # Every branch aged alike: the median and the 90th percentile grew by the same time.
    if grown < 60 or abs(((tails[1] or 0) - (tails[0] or 0)) - grown) >= 3600:
        return None
    return f"No branch moved: the same branches are {humane_duration(grown)} older."


def verdict(report: WeeklyReport) -> str:
    """One sentence on the week: how many headline figures got better or worse."""
    still = standstill(report)
    # When nothing moved, the ages grew with the calendar alone: the sentence says so instead.
    aged = {"median_age", "p90_age"} if still else set()
    measures = [m for m in report.headline if m.key not in aged]
    better = [m for m in measures if m.against_last_week is Direction.BETTER]
    worse = [m for m in measures if m.against_last_week is Direction.WORSE]
    prefix = f"{still} " if still else ""
    if not better and not worse:
        return f"{prefix}No {'other ' if still else ''}headline figure changed since last week."
    parts = []
    if better:
        parts.append(f"{len(better)} better")
    if worse:
        parts.append(f"{len(worse)} worse")
    worst = f" Worse: {', '.join(m.label.lower() for m in worse)}." if worse else ""
    return f"{prefix}Against last week: {' and '.join(parts)}.{worst}"


def paid_sentence(report: WeeklyReport) -> str:
    """What the week's paid conflicts say about the forecast's worth."""
    count = len(report.paid)
    if not count:
        return "No merge conflicted this week."
    if count == 1:
        ahead = report.paid[0].lead_time_seconds
        if ahead is None or ahead < 60:
            return "1 merge conflicted this week; trunkguard could not have warned of it earlier."
        return (
            f"1 merge conflicted this week; trunkguard would have warned of it "
            f"{humane_duration(ahead)} before."
        )
    told = report.warned_in_time
    return (
        f"{count} merges conflicted this week; trunkguard would have warned of {told} of them "
        "a day or more before."
    )


def resolution_sentence(report: WeeklyReport) -> str:
    """What a machine could have resolved of the week's paid conflicts, and what took people."""
    said = report.week_resolutions
    if not said:
        return ""
    machine = [r.rule for r in said if r.rule is not None]
    people = Counter(r.level for r in said if r.rule is None)
    parts = []
    if machine:
        rules = ", ".join(f"{rule} {n}" for rule, n in sorted(Counter(machine).items()))
        parts.append(f"a machine could have resolved {len(machine)} ({rules})")
    else:
        parts.append("a machine could have resolved none")
    if people:
        graded = ", ".join(f"{people[x]} {x}" for x in ("easy", "medium", "hard") if people[x])
        count = sum(people.values())
        parts.append(f"{count} needed a person ({graded})")
    paths = "path" if len(said) == 1 else "paths"
    weeks = report.resolutions
    could = sum(1 for r in weeks if r.rule is not None)
    over = (
        f" Over the last {len(report.trend)} weeks: {could} of {len(weeks)} "
        f"({100 * could / len(weeks):.0f} %)."
    )
    return f"Of the {len(said)} conflicted {paths}, " + "; ".join(parts) + "." + over


def forecast_split_sentence(report: WeeklyReport) -> str:
    """What a machine could resolve of the forecast's open conflicts."""
    if report.forecast_split is None or not sum(report.forecast_split):
        return ""
    machine, person = report.forecast_split
    total = machine + person
    paths = "path" if total == 1 else "paths"
    return (
        f"Of the {total} conflicted {paths} forecast on active branches, a machine could "
        f"resolve {machine}; "
        f"{person} {'needs' if person == 1 else 'need'} a person."
    )


def lead(lead_seconds: int | None) -> str:
    """Say a lead time; none when the forecast could not have told."""
    if lead_seconds is None:
        return "could not be told"
    if lead_seconds < 60:
        return "none (the conflict came with the last commit)"
    return humane_duration(lead_seconds)
