"""Text for people: tables that fit 60 to 120 columns and pipes, summaries, bounded output."""

from __future__ import annotations

from io import StringIO

import pytest
from rich.console import Console

from analyzers.conflicts import Conflict, ConflictKind
from analyzers.divergence import BranchReport, ScanReport, TrunkReport
from analyzers.forecast import Forecast, ForecastStats, PairForecast, TrunkForecast
from bot.cli.branches import scan_summary, scan_table
from bot.cli.terminal import forecast_text

DAY = 86400
LONG = "feature/tax-rounding-for-every-currency-we-support-in-the-invoice-service"


def _branch(name: str, age_days: int, authors: tuple[str, ...]) -> BranchReport:
    return BranchReport(
        name=name,
        ref=f"refs/heads/{name}",
        head="a" * 40,
        ahead=3,
        behind=120,
        merge_base="b" * 40,
        merge_base_time=0,
        age_seconds=age_days * DAY,
        base_age_seconds=(age_days + 2) * DAY,
        idle_seconds=DAY * 2,
        authors=authors,
        files_changed=12,
        lines_added=340,
        lines_deleted=27,
        trunk_files_changed=40,
        overlap_files=("a.py",),
    )


REPORT = ScanReport(
    trunk=TrunkReport(name="main", ref="refs/heads/main", head="c" * 40, commits=10),
    now=100 * DAY,
    branches=(
        _branch(LONG, 19, ("Ada Lovelace", "Grace Hopper")),
        _branch("feature/tax-rounding", 9, ("Katherine Johnson",)),
        _branch("fix/x", 3, ("Bo",)),
    ),
)


def _render(width: int) -> str:
    out = StringIO()
    Console(width=width, file=out, color_system=None).print(scan_table(REPORT, width))
    return out.getvalue()


@pytest.mark.parametrize("width", [60, 80, 120])
def test_scan_table_fits_and_keeps_every_name_whole_or_shortened_in_the_middle(width):
    text = _render(width)
    lines = text.splitlines()
    assert all(len(line) <= width for line in lines)
    # Every branch has a row of its own, its name starting and ending as it does.
    row = next(line for line in lines if line.strip().startswith("feature/tax-rounding "))
    assert "9 days" in row
    long_row = next(line for line in lines if line.strip().startswith("feature/tax-"))
    assert "…" in long_row or LONG in long_row
    assert long_row.split()[0].endswith("invoice-service"[-5:])
    assert any(line.strip().startswith("fix/x ") for line in lines)
    # Nothing wraps: one line per branch below the header.
    assert sum(1 for line in lines if "120" in line) == 3


def test_dropped_columns_are_named_and_only_shown_ones_explained():
    narrow = " ".join(_render(60).split())
    assert "not shown at this width:" in narrow
    assert "base: age of the trunk snapshot" not in narrow  # base is not shown at 60
    assert "age: since the first own commit" in narrow
    wide = " ".join(_render(200).split())
    assert "not shown" not in wide
    assert "base: age of the trunk snapshot" in wide


def test_authors_are_readable_at_120_columns():
    assert "Ada Lovelace +1" in _render(120)


def test_a_pipe_gets_80_columns_and_whole_names():
    out = StringIO()
    console = Console(file=out, width=80)  # what rich picks for a pipe
    console.print(scan_table(REPORT, console.width))
    assert "feature/tax-rounding " in out.getvalue()
    assert "ing\n" not in out.getvalue().replace("service\n", "")


def _plain(blocks) -> str:
    out = StringIO()
    console = Console(width=100, file=out, color_system=None)
    for block in blocks:
        console.print(block, soft_wrap=True)
    return out.getvalue()


def test_scan_opens_with_a_line_a_lead_can_act_on():
    line = scan_summary(REPORT, 14).plain
    assert line == f"3 branches: 1 over the 14-day limit; oldest: {LONG} (2 weeks, Ada Lovelace)"
    one = ScanReport(trunk=REPORT.trunk, now=REPORT.now, branches=REPORT.branches[2:])
    assert scan_summary(one, 14).plain.startswith("1 branch: 0 over the 14-day limit")


def _forecast(blocked: int, paths: int) -> Forecast:
    conflicts = tuple(
        Conflict(f"src/file{n}.py", ConflictKind.CONTENT, ((0, 0), (4, 6)), ((3, 3),))
        for n in range(paths)
    )
    names = [f"stable-2.{n}" for n in range(blocked)]
    return Forecast(
        trunk="main",
        trunk_head="c" * 40,
        with_trunk=tuple(TrunkForecast(n, "a" * 40, False, False, conflicts) for n in names),
        pairs=(PairForecast("a", "b", conflicts[:1]),),
        at_risk=(),
        land_order=(),
        stats=ForecastStats(blocked + 2, blocked + 2, 1, 1, 1, 0),
    )


def test_conflicts_text_is_bounded_and_says_what_is_left_out():
    text = _plain(forecast_text(_forecast(30, 8)))
    assert (
        text.splitlines()[0]
        == "32 branches: 30 conflict with trunk, 1 pair will conflict once either lands"
    )
    rows = [line for line in text.splitlines() if line.startswith("  stable-2.")]
    assert len(rows) == 20
    # Natural order among equals: 2.2 before 2.10.
    assert [r.split(":")[0].strip() for r in rows[:3]] == ["stable-2.0", "stable-2.1", "stable-2.2"]
    assert "8 paths: src/file0.py (lines 1, 4-6 | 3);" in rows[0]
    assert rows[0].endswith("; and 3 more")
    assert "… and 10 branches more (--all shows every one" in text
    assert "a ↔ b: 1 path: src/file0.py" in text
    assert "line 0" not in text and "lines 0" not in text


def test_conflicts_text_shows_everything_when_asked():
    text = _plain(forecast_text(_forecast(30, 8), None, None))
    rows = [line for line in text.splitlines() if line.startswith("  stable-2.")]
    assert len(rows) == 30 and "more" not in text
    assert "stable-2.9:" in rows[9] and "stable-2.10:" in rows[10]


def test_branches_over_the_limit_are_marked_and_the_mark_explained():
    text = _render_limited(14)
    row = next(line for line in text.splitlines() if line.strip().startswith("feature/tax-ro"))
    assert "2 weeks !" in row
    assert "!: over the 14-day limit" in " ".join(text.split())
    assert " !" not in _render(120)


def _render_limited(limit: int) -> str:
    out = StringIO()
    Console(width=120, file=out, color_system=None).print(scan_table(REPORT, 120, limit))
    return out.getvalue()


def test_a_path_git_moved_aside_on_both_sides_is_said_once_for_what_it_is():
    from bot.cli.terminal import _conflicts

    both = (
        Conflict("vendor/lib~main", ConflictKind.DISTINCT_TYPES),
        Conflict("vendor/lib~feature_x", ConflictKind.DISTINCT_TYPES),
        Conflict("docs~main", ConflictKind.FILE_DIRECTORY),
    )
    assert _conflicts(both, 5) == (
        "2 paths: vendor/lib (a different kind of entry on each side: file, symlink or "
        "submodule); docs (file on one side, directory on the other)"
    )
