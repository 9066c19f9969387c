"""Weekly trends: the arithmetic over records, and the command over a real repository."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from click.testing import CliRunner

from analyzers.history import History, MergedWork, PaidConflict
from analyzers.trends import WEEK, OpenWork, week_name, week_start, weekly_trends
from bot.cli.main import cli
from tests.gitrepo import BOB, DAY, NOW, lines

MONDAY = int(datetime(2026, 5, 25, tzinfo=UTC).timestamp())  # NOW (Thu 2026-05-28) is in W22


def merged(
    first_days_ago: float,
    landed_days_ago: float,
    conflicted: bool = False,
    warned_days_ago: float | None = None,
) -> MergedWork:
    return MergedWork(
        "c0ffee",
        int(NOW - landed_days_ago * DAY),
        int(NOW - first_days_ago * DAY),
        1,
        1,
        1,
        0,
        conflicted,
        int(NOW - warned_days_ago * DAY) if warned_days_ago is not None else None,
    )


def test_weeks_are_iso_weeks():
    assert week_start(NOW) == MONDAY
    assert week_name(MONDAY) == "2026-W22" and week_name(MONDAY - WEEK) == "2026-W21"


def test_weekly_figures_from_history_and_from_scans():
    work = (merged(20, 12), merged(9, 8, conflicted=True, warned_days_ago=11), merged(3, 1))
    history = History(
        work,
        landings=tuple(w.landed_at for w in work) + (NOW - 2 * DAY,),
        merge_landings=tuple(w.landed_at for w in work),
        # Paid in W21: the landing 8 days ago (warned 11 days ago) and a merge of trunk into a
        # branch 10 days ago (warned 15 days ago).
        paid=(
            PaidConflict("c0ffee", int(NOW - 10 * DAY), int(NOW - 15 * DAY)),
            PaidConflict("c0ffee", int(NOW - 8 * DAY), int(NOW - 11 * DAY)),
        ),
    )
    open_work = [OpenWork(w.first_commit_at, w.landed_at) for w in work]
    open_work.append(OpenWork(NOW - 30 * DAY, None))  # a branch still open today
    scanned = {MONDAY: [5 * DAY, 1 * DAY, 40 * DAY]}  # this week has a stored scan

    w20, w21, w22 = weekly_trends(NOW, 3, 14 * DAY, history, open_work, scanned, {MONDAY: 2})

    assert (w20.week, w20.source, w21.source, w22.source) == (
        "2026-W20",
        "history",
        "history",
        "scans",
    )
    # At the end of W20 (Mon 2026-05-18 00:00) only the 30-day branch is open: the work begun
    # 20 days ago landed on Sat 2026-05-16, the rest had not begun.
    end_of_w20 = MONDAY - WEEK
    age = end_of_w20 - (NOW - 30 * DAY)
    assert (w20.open_branches, w20.median_age_seconds, w20.p90_age_seconds) == (1, age, age)
    assert age > 14 * DAY and w20.over_limit == 1
    # W20 saw the first merge land (12 days ago = Sat 2026-05-16): lifetime 8 days.
    assert (w20.merges, w20.median_lifetime_seconds, w20.conflicts_at_merge) == (1, 8 * DAY, 0)
    assert (w21.merges, w21.conflicts_at_merge, w21.median_lifetime_seconds) == (1, 1, DAY)
    assert (w20.conflicts_paid, w21.conflicts_paid, w22.conflicts_paid) == (0, 2, 0)
    assert (w20.median_lead_time_seconds, w21.median_lead_time_seconds) == (None, 4 * DAY)
    assert (w22.open_branches, w22.median_age_seconds, w22.over_limit) == (3, 5 * DAY, 1)
    assert (w22.landings, w22.merges, w22.predicted_conflicts) == (2, 1, 2)
    assert w20.predicted_conflicts is None


def test_trends_command(make_repo, tmp_path):
    t = make_repo()
    c1 = t.commit({"a.txt": lines(5)}, days_ago=40)
    f1 = t.commit({"f.txt": "f\n"}, days_ago=30, parents=[c1], author=BOB)
    m1 = t.commit({"f.txt": "f\n"}, days_ago=20, parents=[c1, f1], branch="main")
    t.commit({"g.txt": "g\n"}, days_ago=10, parents=[m1], branch="open")
    db = f"sqlite:///{tmp_path / 'trends.db'}"
    runner = CliRunner()
    now = "2026-05-28T20:26:40Z"
    assert (
        runner.invoke(cli, ["scan", str(t.path), "--db", db, "--now", now, "--store"]).exit_code
        == 0
    )
    result = runner.invoke(
        cli, ["trends", str(t.path), "--db", db, "--now", now, "--weeks", "6", "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    weeks = doc["weeks"]
    assert [w["week"] for w in weeks] == [f"2026-W{n}" for n in range(17, 23)]
    assert weeks[-1]["source"] == "scans" and weeks[0]["source"] == "history"
    assert weeks[-1]["open_branches"] == 1 and weeks[-1]["median_age_seconds"] == 10 * DAY
    assert sum(w["merges"] for w in weeks) == 1
    landed = next(w for w in weeks if w["merges"])
    assert landed["median_lifetime_seconds"] == 10 * DAY
    assert weeks[0]["median_age_seconds_change"] is None
    assert weeks[1]["landings_change"] == weeks[1]["landings"] - weeks[0]["landings"]
    assert weeks[-1]["predicted_conflicts"] is None
    table = runner.invoke(cli, ["trends", str(t.path), "--db", db, "--now", now]).output
    assert "Weekly trends" in table and "2026-W22" in table
