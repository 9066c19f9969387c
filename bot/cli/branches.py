"""The scan for people: a summary line, the branches fitted to the terminal, and the release
lines apart. Cells are rich `Text`, never read as markup; text from git goes through `visible`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich import box
from rich.console import JustifyMethod
from rich.table import Table
from rich.text import Text

from bot.cli.fit import EXPLAINED, SCAN_COLUMNS, fitted
from bot.cli.payloads import by_age
from bot.markup import shortened, visible
from bot.text import DAY, humane_duration, natural_key, plural

if TYPE_CHECKING:
    from analyzers.divergence import ScanReport
    from analyzers.lines import ReleaseLine
    from bot.store import StoredForecast


def branch_label(name: str, pulls: tuple[int, ...]) -> str:
    """Name a branch with the pull requests whose head it is: 'feature/x #12'."""
    numbers = [f"#{n}" for n in pulls if name != f"pull/{n}"]
    return " ".join([name, *numbers])


def _count(value: int | None) -> str:
    return "?" if value is None else str(value)


def _authors_cell(authors: tuple[str, ...], most: int = 24) -> str:
    if not authors:
        return ""
    more = f" +{len(authors) - 1}" if len(authors) > 1 else ""
    # A person's name is cut at its end: the first name is what people recognise.
    first = visible(authors[0])
    first = first if len(first) + len(more) <= most else first[: most - len(more) - 1] + "…"
    return first + more


def scan_summary(
    report: ScanReport, limit_days: int, predicted: StoredForecast | None = None
) -> Text:
    """Say in a line what a lead acts on: how many branches, how many over the limit, what the
    week's last stored forecast (`predicted`) says of conflicts, the oldest, and how many
    release lines are apart."""
    open_work = [b for b in report.branches if not b.integrated]
    over = sum(1 for b in open_work if b.age_seconds > limit_days * DAY)
    line = (
        f"{plural(len(report.branches), 'branch', 'branches')}: "
        f"{over} over the {limit_days}-day limit"
    )
    if predicted is not None:
        names = {b.name for b in report.branches}
        blocked = sum(1 for name in predicted.with_trunk if name in names)
        pairs = sum(1 for a, b, _ in predicted.pairs if a in names and b in names)
        ago = humane_duration(max(0, report.now - predicted.measured_at))
        line += (
            f", {blocked} {'conflicts' if blocked == 1 else 'conflict'} with trunk, "
            f"{plural(pairs, 'pair')} will conflict once either lands (forecast {ago} ago)"
        )
    if open_work:
        oldest = max(open_work, key=lambda b: (b.age_seconds, b.name))
        who = [visible(oldest.authors[0])] if oldest.authors else []
        line += f"; oldest: {visible(oldest.name)} " + (
            f"({', '.join([humane_duration(oldest.age_seconds), *who])})"
        )
    if report.release_lines:
        line += f"; {plural(len(report.release_lines), 'release line')} apart"
    return Text(line, style="bold")


def release_table(
    lines: Sequence[ReleaseLine], now: int, width: int = 120, most: int | None = 15
) -> Table:
    """Return the release lines, newest version first (the first `most`; None: all): how far
    behind trunk each is, its own commits, when it last moved, and the work based on it."""
    ordered = sorted(lines, key=lambda x: natural_key(x.name), reverse=True)
    shown = ordered if most is None else ordered[:most]
    notes = [
        "behind: trunk's commits since the line left it",
        "own: commits on the line only (fixes, backports)",
        "based on it: work measured against it",
    ]
    if len(shown) < len(ordered):
        notes.append(f"{plural(len(ordered) - len(shown), 'older line')} not shown (--json)")
    table = Table(
        title=Text(
            f"{plural(len(lines), 'release line')}, apart from feature work", style="table.title"
        ),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        caption=Text(" · ".join(notes), style="table.caption"),
        caption_justify="left",
    )
    rows = [
        {
            "release line": visible(line.name),
            "last commit": humane_duration(max(0, now - line.last_commit_time)) + " ago",
            "behind": "?" if line.unreadable else f"{line.behind:,}",
            "own": "?" if line.unreadable else f"{line.ahead:,}",
            "based on it": _names(line.based, 2),
        }
        for line in shown
    ]
    columns = ["release line", "last commit", "behind", "own", "based on it"]
    natural = {c: max(len(c), *(len(r[c]) for r in rows)) for c in columns}
    room = max(12, width - sum(natural[c] + 3 for c in columns[:4]) - 4)
    for header in columns:
        table.add_column(
            header,
            justify="right" if header in ("behind", "own") else "left",
            no_wrap=True,
            min_width=None if header == "based on it" else natural[header],
            max_width=room if header == "based on it" else None,
        )
    for cells in rows:
        table.add_row(
            *(Text(shortened(cells[c], room) if c == "based on it" else cells[c]) for c in columns)
        )
    return table


def _based(base: str | None) -> str:
    return "" if base is None else f" on {base}"


def _fitted_name(label: str, room: int) -> str:
    """Shorten a branch's label in the middle of its name: "on X" stays whole if it can."""
    head, paren, base = label.rpartition(" on ")
    if not paren or len(base) + len(paren) + 4 > room:
        return shortened(label, room)
    return shortened(head, room - len(paren) - len(base)) + paren + base


def _names(names: Sequence[str], most: int) -> str:
    shown = [visible(n) for n in names[:most]]
    left = len(names) - len(shown)
    return ", ".join(shown) + (f" +{left}" if left else "")


def scan_table(report: ScanReport, width: int = 120, limit_days: int | None = None) -> Table:
    """Return a table of the branches, oldest first, fitted to `width`: names shortened in the
    middle, never wrapped; columns that do not fit are dropped and named in the footer; ages
    over `limit_days` marked with "!" (and red where the terminal has colour)."""
    trunk = visible(report.trunk.name)
    on_lines = sum(1 for b in report.branches if b.base)
    table = Table(
        title=Text(
            f"{plural(len(report.branches), 'branch', 'branches')} against trunk '{trunk}'"
            + (f" ({on_lines} against a release line)" if on_lines else ""),
            style="table.title",
        ),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        caption_justify="left",
    )
    rows: list[dict[str, str]] = []
    over: set[int] = set()
    for b in by_age(report):
        if limit_days is not None and not b.integrated and b.age_seconds > limit_days * DAY:
            over.add(len(rows))
        lines = "?" if b.lines_added is None else f"+{b.lines_added} -{b.lines_deleted}"
        cells = {
            "branch": branch_label(b.name, b.pulls) + _based(b.base),
            "age": "integrated"
            if b.integrated
            else humane_duration(b.age_seconds) + (" !" if len(rows) in over else ""),
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
        rows.append({k: visible(v) for k, v in cells.items()})
    columns, dropped, room = fitted(rows, [*SCAN_COLUMNS, "authors"], width)
    for header in columns:
        justify: JustifyMethod = "left" if header in ("branch", "authors") else "right"
        limit = room if header == "branch" else None
        # The names are shortened here, in the middle; rich's ellipsis only guards wide characters.
        table.add_column(
            header, justify=justify, no_wrap=True, overflow="ellipsis", max_width=limit
        )
    for n, cells in enumerate(rows):
        table.add_row(
            *(Text(_fitted_name(cells[c], room) if c == "branch" else cells[c]) for c in columns),
            style="red" if n in over else None,
        )
    notes = [EXPLAINED[c] for c in columns if c in EXPLAINED]
    if on_lines:
        notes.append("on X: based on release line X (inferred), and measured against it")
    if over:
        notes.append(f"!: over the {limit_days}-day limit")
    if dropped:
        hidden = [c for c in [*SCAN_COLUMNS, "authors"] if c in dropped]
        notes.append(f"not shown at this width: {', '.join(hidden)} (--json has every figure)")
    caption = Text(" · ".join(notes), style="table.caption")  # as rich styles a string caption
    reasons = sorted({gap.reason for b in report.branches for gap in b.unknown})
    if reasons:
        caption.append(f"\n? unknown: {visible('; '.join(reasons))}")
    table.caption = caption
    return table
