"""The weekly report as GitHub-flavoured Markdown with Mermaid charts, for the report issue."""

from __future__ import annotations

from collections.abc import Mapping

from bot import markup
from bot.markup import code, mermaid_label, prose, visible
from bot.report.charts import Chart, nice_ceiling, report_charts
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
from bot.report.weekly import LISTED, BranchLine, WeeklyReport
from bot.text import humane_duration, listing

MARKER = "<!-- trunkguard:weekly-report -->"  # finds the report issue among others


def title(report: WeeklyReport, per_week: bool) -> str:
    """The report issue's title: per week, or the one kept open."""
    if per_week:
        return f"trunkguard weekly report {report.week}: {visible(report.title)}"
    return f"trunkguard weekly report: {visible(report.title)}"


def _branch(line: BranchLine) -> str:
    pulls = " ".join(f"#{n}" for n in line.pulls)
    return code(line.name, table=True) + (f" ({pulls})" if pulls else "")


def _author(line: BranchLine, logins: Mapping[int, str], mention: bool) -> str:
    if mention:
        for number in line.pulls:
            if number in logins:
                return markup.mention(logins[number])
    return prose(line.last_author) if line.last_author else "–"


def _mermaid(chart: Chart) -> list[str]:
    top = nice_ceiling(max((*chart.values, chart.limit or 0.0), default=0.0))
    values = ", ".join(f"{v:g}" for v in chart.values)
    # xychart-beta has no reference line: the limit is a second, flat line.
    limit = (
        []
        if chart.limit is None
        else [f"    line [{', '.join([f'{chart.limit:g}'] * len(chart.values))}]"]
    )
    return [
        "```mermaid",
        "xychart-beta",
        f"    title {mermaid_label(chart.title)}",
        f"    x-axis [{', '.join(mermaid_label(label) for label in chart.labels)}]",
        f"    y-axis {mermaid_label(chart.y_label)} 0 --> {top:g}",
        f"    {chart.kind} [{values}]",
        *limit,
        "```",
    ]


def report_markdown(
    report: WeeklyReport, logins: Mapping[int, str] | None = None, html_note: str = ""
) -> str:
    """Render the report for a GitHub issue; `logins` maps pull requests to their authors'
    GitHub logins (mentioned only if the report's config opts in)."""
    logins = logins or {}
    mention = report.mention_authors
    out = [
        MARKER,
        f"## trunkguard weekly report: {prose(report.title)}, {report.week}",
        "",
        f"{period(report)} · figures as of {moment(report.end)}. {verdict(report)}",
        "",
        "| Figure | This week | Against last week | Against the 4 weeks before |",
        "|---|---:|---|---|",
    ]
    for m in report.headline:
        out.append(
            f"| {m.label} | **{figure(m, m.value)}** | "
            f"{change(m, m.last_week, m.against_last_week)} | "
            f"{change(m, m.baseline, m.against_trend)} |"
        )
    out += ["", f"Over the age limit means older than {report.limit_days} days.", ""]

    out += ["### Conflicts paid this week", "", paid_sentence(report), ""]
    if resolution_sentence(report):
        out += [resolution_sentence(report), ""]
    if report.paid:
        out += ["| Merge | Merged | Conflicted on | trunkguard's first warning | Lead time |"]
        out += ["|---|---|---|---|---|"]
        for p in report.paid:
            paths = _paths(p.paths, table=True)
            warned = day(p.first_warning_at) if p.first_warning_at is not None else "–"
            merge = f"{code(p.merge_commit[:10], table=True)} {prose(p.summary)}"
            out.append(
                f"| {merge} | {day(p.merged_at)} | "
                f"{paths or '–'} | {warned} | {lead(p.lead_time_seconds)} |"
            )
        out.append("")

    charts = report_charts(report)
    out += ["### Charts", ""]
    for chart in charts:
        out += _mermaid(chart) + [""]

    if report.scanned_at is None:
        out += [
            "### Branches",
            "",
            f"No scan was stored in {report.week}: the lists of branches are only kept for "
            "weeks with a scan.",
            "",
        ]
    else:
        out += [
            "### Oldest branches",
            "",
            f"{report.open_branches} open branches at the scan of {moment(report.scanned_at)}.",
            "",
        ]
        out += _table(report.oldest, logins, mention)
        if report.most_behind:
            out += ["### Most diverged from trunk", ""]
            out += _table(report.most_behind, logins, mention)
        out += [f"### Idle work (no commit for {report.idle_days} days), by how much it blocks", ""]
        if report.idle:
            out += [
                "Landing the work at the top first settles the most conflicts: each branch it "
                "blocks then updates once.",
                "",
                "| Branch | Idle | Blocks | Last author |",
                "|---|---|---:|---|",
            ]
            for b in report.idle:
                out.append(
                    f"| {_branch(b)} | {humane_duration(b.idle_seconds)} | {b.blocks} | "
                    f"{_author(b, logins, mention)} |"
                )
        else:
            out.append("None.")
        out += ["", f"### Stale branches (no pull request, no commit for {report.stale_days} days)"]
        out.append("")
        if report.stale:
            out += ["Delete them or land them:", ""]
            out += [
                f"- {code(b.name)}: last commit {humane_duration(b.idle_seconds)} ago by "
                f"{prose(b.last_author or 'unknown')}, {b.ahead} commits not on trunk"
                for b in report.stale[:25]
            ]
            if len(report.stale) > 25:
                out.append(f"- and {len(report.stale) - 25} more")
        else:
            out.append("None.")
        out.append("")

    out += _release_lines(report)
    out += ["### Forecast conflicts", ""]
    if report.forecast_at is None:
        out.append(f"No forecast was stored in {report.week}.")
    elif not report.pairs and not report.with_trunk:
        out.append(f"None at the forecast of {moment(report.forecast_at)}.")
    else:
        out += [f"At the forecast of {moment(report.forecast_at)}:", ""]
        if forecast_split_sentence(report):
            out += [forecast_split_sentence(report), ""]
        for branch, conflicted in report.with_trunk:
            out.append(f"- {code(branch)} conflicts with trunk on {_paths(conflicted)}")
        for pair in report.pairs:
            out.append(f"- {code(pair.a)} and {code(pair.b)} on {_paths(pair.paths)}")
        if report.land_order:
            out += ["", "Suggested land order:", ""]
            out += [
                f"{n}. {code(step.branch)}: {prose(step.reason)}"
                for n, step in enumerate(report.land_order, 1)
            ]
    out += ["", "---", f"Made by trunkguard. {html_note}".rstrip()]
    return "\n".join(out) + "\n"


def _paths(paths: tuple[str, ...], table: bool = False) -> str:
    return listing([code(p, table) for p in paths], 3)


def _table(lines: tuple[BranchLine, ...], logins: Mapping[int, str], mention: bool) -> list[str]:
    out = [
        "| Branch | Age | Behind trunk | Ahead | Idle | Last author |",
        "|---|---|---:|---:|---|---|",
    ]
    for b in lines:
        out.append(
            f"| {_branch(b)} | {humane_duration(b.age_seconds)} | {b.behind:,} | {b.ahead:,} | "
            f"{humane_duration(b.idle_seconds)} | {_author(b, logins, mention)} |"
        )
    return out + [""]


def _release_lines(report: WeeklyReport, most: int = LISTED) -> list[str]:
    """The release lines, apart from feature work: newest version first, the first `most`."""
    if not report.release_lines:
        return []
    out = [
        "### Release lines",
        "",
        f"{len(report.release_lines)} long-lived release lines, left out of the ages, limits, "
        "forecast and land order above. Behind: trunk's commits since the line left it; own: "
        "its fixes and backports.",
        "",
        "| Release line | Last commit | Behind trunk | Own commits | Based on it |",
        "|---|---|---:|---:|---|",
    ]
    for line in report.release_lines[:most]:
        based = listing([code(b, table=True) for b in line.based], 3) or "–"
        out.append(
            f"| {code(line.name, table=True)} | "
            f"{humane_duration(max(0, report.end - line.last_commit_time))} ago | "
            f"{line.behind:,} | {line.ahead:,} | {based} |"
        )
    left = len(report.release_lines) - most
    return out + (["", f"And {left} older release lines."] if left > 0 else []) + [""]
