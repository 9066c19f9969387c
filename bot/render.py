"""Turn scan reports into what people and machines read: durations, tables, JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich import box
from rich.table import Table

from analyzers.divergence import BranchReport, ScanReport

_UNITS = (
    (365 * 86400, "year"),
    (30 * 86400, "month"),
    (7 * 86400, "week"),
    (86400, "day"),
    (3600, "hour"),
    (60, "minute"),
    (1, "second"),
)


def humane_duration(seconds: int) -> str:
    """Say a duration the way people do: '9 days', '3 hours', '2 months'."""
    if seconds < 60:
        return "under a minute"
    for size, unit in _UNITS:
        # Switch to the larger unit only once it reads as 2 or more, so 10 days is not "1 week".
        count = seconds // size
        if count >= 2 or size == 60:
            return f"{count} {unit}s" if count != 1 else f"1 {unit}"
    raise AssertionError("unreachable")


def iso_time(timestamp: int | None) -> str | None:
    """Format Unix seconds as ISO 8601 UTC, e.g. 2026-11-24T20:28:37Z."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
        "overlap_files": list(branch.overlap_files),
    }


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
    }


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
        cells = {
            "branch": b.name,
            "age": "integrated" if b.integrated else humane_duration(b.age_seconds),
            "ahead": str(b.ahead),
            "behind": str(b.behind),
            "base": "unrelated"
            if b.base_age_seconds is None
            else humane_duration(b.base_age_seconds),
            "idle": humane_duration(b.idle_seconds),
            "files": str(b.files_changed),
            "+/-": f"+{b.lines_added} -{b.lines_deleted}",
            "overlap": str(len(b.overlap_files)),
            "authors": _authors_cell(b.authors),
        }
        table.add_row(*(cells[c] for c in columns))
    return table
