"""The weekly report: figures and words from a constructed history with known numbers, and
`trunkguard report` on a real repository."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from analyzers.divergence import BranchReport
from analyzers.history import PaidConflict
from analyzers.trends import WEEK, WeekFigures, week_name, week_start
from bot.cli.main import cli
from bot.report.html import report_html
from bot.report.markdown import MARKER, report_markdown
from bot.report.payload import report_payload
from bot.report.weekly import Direction, build_report
from tests.gitrepo import ADA, BOB, DAY, NOW, lines, numbered

THIS_WEEK = week_start(NOW)  # Mon 2026-05-25; NOW is Thu 2026-05-28 20:26:40 UTC


def week(n_back: int, median_days: float, landings: int, paid: int = 0, predicted=None):
    start = THIS_WEEK - n_back * WEEK
    return WeekFigures(
        week=week_name(start),
        start=start,
        source="scans",
        open_branches=4,
        median_age_seconds=int(median_days * DAY),
        p90_age_seconds=int(3 * median_days * DAY),
        over_limit=n_back % 3,
        landings=landings,
        merges=landings,
        median_lifetime_seconds=2 * DAY,
        conflicts_at_merge=paid,
        conflicts_paid=paid,
        median_lead_time_seconds=None,
        predicted_conflicts=predicted,
    )


def branch(name, age_days, idle_days, behind, author, pulls=()):
    return BranchReport(
        name=name,
        ref=f"refs/heads/{name}",
        head="0" * 40,
        ahead=2,
        behind=behind,
        merge_base=None,
        merge_base_time=None,
        age_seconds=int(age_days * DAY),
        base_age_seconds=None,
        idle_seconds=int(idle_days * DAY),
        authors=(author,),
        files_changed=1,
        lines_added=1,
        lines_deleted=0,
        trunk_files_changed=0,
        overlap_files=(),
        pulls=pulls,
        last_author=author,
    )


def constructed(mention=False):
    # Twelve weeks; the last four before this one had median ages 6, 5, 4, 3 days (mean 4.5),
    # last week 3 days; this week 2 days (better than both). Integrations: 4 a week before, 5
    # last week, 3 this week (worse than both).
    weeks = [week(n, 8, 4) for n in range(11, 5, -1)]
    weeks += [week(5, 9, 4), week(4, 6, 4), week(3, 5, 4), week(2, 4, 4), week(1, 3, 5, 1, 2)]
    weeks.append(week(0, 2, 3, 1, 2))
    paid = [
        # Last week's: not in this report.
        PaidConflict("a" * 40, THIS_WEEK - 2 * DAY, THIS_WEEK - 9 * DAY, "Merge old", ("x.py",)),
        # This week's: the forecast would have warned 4 days before the merge.
        PaidConflict(
            "b" * 40, THIS_WEEK + DAY, THIS_WEEK - 3 * DAY, "Merge main into feature/export",
            ("src/app.py", "src/billing.py"),
        ),
    ]  # fmt: skip
    branches = [
        branch("feature/export", 20, 8, 30, "Bob Kahn", (11,)),
        branch("feature/search", 9, 7, 12, "@everyone", (12,)),
        branch("experiment/grpc", 100, 60, 200, "Ken Thompson"),
        branch("fix/typo", 0.5, 0.5, 1, "Ada Lovelace", (13,)),
    ]
    pairs = [("feature/export", "feature/search", ("src/billing.py",))]
    with_trunk = {"experiment/grpc": ("src/api.py",)}
    return build_report(
        "acme/app",
        weeks,
        NOW,
        paid,
        branches,
        NOW - 3600,
        with_trunk,
        pairs,
        NOW - 3600,
        limit_days=14,
        stale_days=30,
        idle_days=6,
        mention_authors=mention,
    )


def test_headline_figures_against_last_week_and_the_trend():
    report = constructed()
    assert report.week == "2026-W22" and report.end == NOW
    by_key = {m.key: m for m in report.headline}
    age = by_key["median_age"]
    assert (age.value, age.last_week, age.baseline) == (2 * DAY, 3 * DAY, 4.5 * DAY)
    assert (age.against_last_week, age.against_trend) == (Direction.BETTER, Direction.BETTER)
    assert age.arrow(age.last_week) == "↓"
    landings = by_key["landings"]
    assert (landings.value, landings.last_week, landings.baseline) == (3, 5, 4.25)
    assert landings.against_last_week is Direction.WORSE  # fewer integrations is worse
    assert landings.arrow(landings.baseline) == "↓"
    predicted = by_key["predicted"]
    assert (predicted.value, predicted.last_week, predicted.baseline) == (2, 2, 2)
    assert predicted.against_last_week is Direction.SAME
    lifetime = by_key["median_lifetime"]
    assert lifetime.against_trend is Direction.SAME


def test_branch_lists_idle_work_by_what_it_blocks_and_the_land_order():
    report = constructed()
    assert [b.name for b in report.oldest] == [
        "experiment/grpc", "feature/export", "feature/search", "fix/typo",
    ]  # fmt: skip
    assert [b.name for b in report.most_behind][:2] == ["experiment/grpc", "feature/export"]
    # Idle for 6 days or more; the ones that block another branch first, then the longest idle.
    assert [(b.name, b.blocks) for b in report.idle] == [
        ("feature/export", 1), ("feature/search", 1), ("experiment/grpc", 0),
    ]  # fmt: skip
    assert [b.name for b in report.stale] == ["experiment/grpc"]  # no PR, 60 days idle
    assert [s.branch for s in report.land_order] == [
        "feature/export", "feature/search", "experiment/grpc",
    ]  # fmt: skip
    # Ages: 0.5 days, 9 days, 20 days, 100 days.
    assert dict(report.age_buckets) == {
        "<1d": 1, "1–2d": 0, "2–7d": 0, "1–2w": 1, "2–4w": 1, "1–3mo": 0, ">3mo": 1,
    }  # fmt: skip
    assert [p.merge_commit[0] for p in report.paid] == ["b"]
    assert report.paid[0].lead_time_seconds == 4 * DAY and report.warned_in_time == 1


def test_markdown_says_the_figures_with_mermaid_charts():
    text = report_markdown(constructed(), {11: "bob", 12: "eve"})
    assert text.startswith(MARKER)
    assert "## trunkguard weekly report: acme/app, 2026-W22" in text
    assert "Mon 25 May – Sun 31 May 2026 · figures as of 2026-05-28 20:26 UTC." in text
    assert (
        "| Median age of open branches | **2 days** | ↓ better (was 3 days) | "
        "↓ better (was 4 days) |" in text
    )
    assert "| Integrations into trunk | **3** | ↓ worse (was 5) | ↓ worse (was 4.2) |" in text
    assert "| Forecast conflicts open | **2** | → same (2) | → same (2) |" in text
    assert "Against last week: 3 better and 1 worse. Worse: integrations into trunk." in text
    assert "1 merge conflicted this week; trunkguard would have warned of it 4 days before." in text
    assert (
        "| `bbbbbbbbbb` Merge main into feature/export | Tue 26 May | `src/app.py`, "
        "`src/billing.py` | Fri 22 May | 4 days |" in text
    )
    assert text.count("```mermaid\nxychart-beta") == 5
    assert '    x-axis ["<1d", "1–2d", "2–7d", "1–2w", "2–4w", "1–3mo", ">3mo"]' in text
    assert "    bar [1, 0, 0, 1, 1, 0, 1]" in text
    assert "    line [8, 8, 8, 8, 8, 8, 9, 6, 5, 4, 3, 2]" in text  # median age, days
    assert "| `feature/export` (#11) | 8 days | 1 | Bob Kahn |" in text
    # A git name is never a mention unless the config opts in; then the PR author is.
    assert "@\u2060everyone" in text and "@bob" not in text and "@eve" not in text
    assert "- `experiment/grpc`: last commit 2 months ago by Ken Thompson" in text
    assert "- `feature/export` and `feature/search` on `src/billing.py`" in text
    assert "1. `feature/export`: conflicts with feature/search: landing it first" in text
    mentioned = report_markdown(constructed(mention=True), {11: "bob", 12: "eve"})
    assert "| `feature/export` (#11) | 8 days | 1 | @bob |" in mentioned and "@eve" in mentioned


def test_html_is_one_page_with_nothing_to_fetch():
    page = report_html(constructed())
    assert page.count("<svg ") == 5 and 'data-chart="age_distribution"' in page
    # No scripts, stylesheets, images or fonts from elsewhere: the only URL is SVG's namespace.
    assert set(re.findall(r"https?://[^\s\"']+", page)) == {"http://www.w3.org/2000/svg"}
    assert "<script" not in page
    assert "&lt;" not in page.split("<main>")[0]  # the head is not double-escaped
    assert "feature/export" in page and "4 days" in page
    payload = report_payload(constructed())
    assert json.loads(json.dumps(payload))["headline"][0]["against_last_week"] == "better"
    assert payload["conflicts_paid"][0]["lead_time_seconds"] == 4 * DAY


def test_report_command_on_a_repository_with_a_conflict_paid_this_week(make_repo, tmp_path):
    t = make_repo()
    base = t.commit({"app.py": numbered(), "notes.txt": lines(3)}, days_ago=60, branch="main")
    # Trunk changes line 5 eight days ago; the branch changed it ten days ago; three days ago
    # the branch's author merged trunk in and resolved the conflict by hand; it landed a day ago.
    ours = t.commit({"app.py": numbered(changes={5: "branch"})}, days_ago=10, parents=[base],
                    author=BOB)  # fmt: skip
    theirs = t.commit({"app.py": numbered(changes={5: "trunk"})}, days_ago=8, parents=[base])
    synced = t.commit({"app.py": numbered(changes={5: "both"})}, days_ago=3,
                      parents=[ours, theirs], author=BOB,
                      message="Merge main into feature/export")  # fmt: skip
    t.commit({"app.py": numbered(changes={5: "both"})}, days_ago=1, parents=[theirs, synced],
             branch="main", message="Merge feature/export")  # fmt: skip
    t.commit({"notes.txt": lines(3)[:2]}, days_ago=45, parents=[base], branch="old/spike",
             author=ADA)  # fmt: skip
    db = f"sqlite:///{tmp_path / 'report.db'}"
    runner = CliRunner()
    now = "2026-05-28T20:26:40Z"
    result = runner.invoke(cli, ["report", str(t.path), "--db", db, "--now", now, "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["week"] == "2026-W22"
    (paid,) = doc["conflicts_paid"]  # the merge of trunk into the branch, 3 days ago
    assert paid["summary"] == "Merge main into feature/export" and paid["paths"] == ["app.py"]
    # Both sides had their change of line 5 from 8 days ago: the forecast warned 5 days ahead.
    assert paid["lead_time_seconds"] == 5 * DAY
    assert [b["name"] for b in doc["stale"]] == ["old/spike"]
    assert doc["open_branches"] == 1 and doc["oldest"][0]["name"] == "old/spike"
    assert doc["oldest"][0]["last_author"] == "Ada Lovelace"
    lifetime = next(m for m in doc["headline"] if m["key"] == "median_lifetime")
    assert lifetime["value"] == 9 * DAY  # from its first commit 10 days ago to 1 day ago
    page = tmp_path / "report.html"
    result = runner.invoke(
        cli, ["report", str(t.path), "--db", db, "--now", now, "--format", "html",
              "--output", str(page)],
    )  # fmt: skip
    assert result.exit_code == 0 and "written to" in result.output
    assert "Merge main into feature/export" in page.read_text()
    markdown = runner.invoke(
        cli, ["report", str(t.path), "--db", db, "--now", now, "--week", "2026-W21"]
    )
    assert markdown.exit_code == 0
    # Last week: no scan was stored then; its figures come from trunk's history.
    assert "No scan was stored in 2026-W21" in markdown.output
    assert "No merge conflicted this week." in markdown.output
    bad = runner.invoke(cli, ["report", str(t.path), "--db", db, "--week", "2026-W60"])
    assert bad.exit_code == 2 and "is not an ISO week, e.g. 2026-W48" in bad.output
    future = runner.invoke(cli, ["report", str(t.path), "--db", db, "--now", now,
                                 "--week", "2026-W30"])  # fmt: skip
    assert future.exit_code == 1 and "that week has not begun yet" in future.output
