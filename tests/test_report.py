"""The weekly report: figures and words from a constructed history with known numbers, and
`trunkguard report` on a real repository."""

from __future__ import annotations

import dataclasses
import json
import re

from click.testing import CliRunner
from markupsafe import Markup

from analyzers.divergence import BranchReport
from analyzers.history import PaidConflict
from analyzers.trends import WEEK, WeekFigures, week_name, week_start
from bot.cli.main import cli
from bot.report.charts import report_charts, ticks
from bot.report.html import breakable, report_html, svg_chart
from bot.report.links import GitHubHome, github_home, web_host
from bot.report.markdown import MARKER, report_markdown
from bot.report.payload import report_payload
from bot.report.text import change, verdict
from bot.report.weekly import Direction, Measure, Unit, build_report
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
    assert report.most_behind == ()  # every diverged branch is already among the oldest
    # Idle for 6 days or more and blocking another branch; experiment/grpc blocks no one.
    assert [(b.name, b.blocks) for b in report.idle] == [
        ("feature/export", 1), ("feature/search", 1),
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
    assert "- `experiment/grpc`: last commit 8 weeks ago by Ken Thompson" in text
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
    # Both changed line 5: a person's, and easy (the engine's shipped rules, on the same three
    # versions the person met).
    assert doc["conflicts_paid_resolution"] == [
        {"merge_commit": paid["merge_commit"], "path": "app.py", "rule": None, "level": "easy"}
    ]
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


# -- what the page says on a real repository (issue 18) ------------------------------------


def aged(n_back: int, median_days: float, landings: int = 0):
    """A week where the median and 90th percentile ages are `median_days` and that plus 10."""
    figures = week(n_back, median_days, landings)
    return dataclasses.replace(figures, p90_age_seconds=int((median_days + 10) * DAY))


def report_of(weeks, branches=(), pairs=(), with_trunk=None):
    return build_report(
        "acme/app", weeks, NOW, [], list(branches), NOW - 3600, with_trunk or {}, list(pairs),
        NOW - 3600, limit_days=14, stale_days=30, idle_days=6,
    )  # fmt: skip


def test_age_charts_draw_the_limit_and_read_in_a_unit_that_fits():
    young = {c.key: c for c in report_charts(report_of([aged(1, 3), aged(0, 4)]))}
    assert young["median_age"].y_label == "days" and young["median_age"].limit == 14
    assert "    line [14, 14]" in report_markdown(report_of([aged(1, 3), aged(0, 4)]))
    assert 'class="limit"' in svg_chart(young["median_age"]) and "limit 14d" in svg_chart(
        young["median_age"]
    )
    # ansible's release lines: 4377 days reads as 12 years, and the limit sits near the floor.
    old = {c.key: c for c in report_charts(report_of([aged(1, 4370), aged(0, 4377)]))}
    assert old["median_age"].y_label == "years" and old["median_age"].values[-1] == 12.0
    assert old["median_age"].title == "Median age of open branches (years)"
    assert {c.key: c.y_label for c in report_charts(report_of([aged(0, 200)]))}["p90_age"] == (
        "weeks"
    )


def test_count_axes_have_whole_ticks_only():
    counts = report_charts(report_of([week(1, 3, 2), week(0, 3, 3)]))
    landings = next(c for c in counts if c.key == "landings")
    axis = re.findall(r'class="axis" text-anchor="end">([^<]*)<', svg_chart(landings))
    assert axis == ["0", "5"]  # top 5: no "2.5 integrations"
    assert ticks(10.0, whole=True) == (0.0, 5.0, 10.0) and ticks(5.0, whole=False)[1] == 2.5


def test_a_change_counts_only_past_what_a_team_would_call_one():
    def measure(unit, value, before):
        return Measure("k", "K", unit, True, value, before, before)

    hours = measure(Unit.DURATION, 3 * DAY + 20 * 3600, 3 * DAY)  # under a day: the same
    assert hours.against_last_week is Direction.SAME
    assert change(hours, hours.last_week, hours.against_last_week) == (
        "→ about the same (was 3 days)"
    )
    assert measure(Unit.DURATION, 31 * DAY, 30 * DAY).against_trend is Direction.SAME  # < 10%
    assert measure(Unit.DURATION, 34 * DAY, 30 * DAY).against_trend is Direction.WORSE
    assert measure(Unit.COUNT, 21, 20).against_trend is Direction.SAME  # 1, but under 10%
    assert measure(Unit.COUNT, 2, 1).against_trend is Direction.WORSE
    assert measure(Unit.COUNT, 8, 10).against_trend is Direction.BETTER


def test_ages_that_grew_only_because_time_passed_say_so():
    still = report_of([aged(1, 30), aged(0, 37)])
    assert verdict(still).startswith("No branch moved: the same branches are 7 days older.")
    assert "median age" not in verdict(still)
    moved = report_of([aged(1, 30), aged(0, 37, landings=2)])  # work landed: a real change
    assert not verdict(moved).startswith("No branch moved")


def test_lists_do_not_repeat_and_idle_work_blocks_someone():
    branches = [branch(f"feature/f{i:02}", 100 - i, 10, 50 + i, "Ada") for i in range(14)]
    pairs = [("feature/f00", "feature/f13", ("a.py",))]
    report = report_of([week(0, 3, 1)], branches, pairs, {"feature/f05": ("b.py",)})
    oldest = {b.name for b in report.oldest}
    assert len(oldest) == 10 and not oldest & {b.name for b in report.most_behind}
    assert [b.name for b in report.most_behind] == ["feature/f13", "feature/f12", "feature/f11",
                                                    "feature/f10"]  # fmt: skip
    # All 14 idle for 10 days; only the two that block each other are listed.
    assert [b.name for b in report.idle] == ["feature/f00", "feature/f13"]


def test_names_wrap_after_slashes_dashes_and_underscores_only():
    page = report_html(report_of([week(0, 3, 1)], [branch("release/v1.5_x-y", 3, 3, 2, "Ada")]))
    assert '<code class="name">release/<wbr>v1.5_<wbr>x-<wbr>y</code>' in page
    assert breakable("<b>/x") == Markup("&lt;b&gt;/<wbr>x")


def test_github_home_from_the_name_or_the_remote_and_nothing_else():
    assert github_home("ansible/ansible", None) == GitHubHome("ansible/ansible")
    assert github_home(None, "git@github.com:rails/rails.git") == GitHubHome("rails/rails")
    assert github_home(None, "https://github.com/hashicorp/terraform") == GitHubHome(
        "hashicorp/terraform"
    )
    for remote in ("https://gitlab.com/a/b.git", "http://github.com/a/b", "/srv/b.git", None):
        assert github_home(None, remote) is None  # not GitHub, or not https: no links
    assert github_home("../work/app", None) is None and github_home("a/..", None) is None
    # A GitHub Enterprise Server's remote links only where that host is known to be GitHub.
    assert github_home("acme/app", "https://ghe.example.com/acme/app.git") is None
    ghes = ("github.com", "ghe.example.com")
    home = github_home("acme/app", "https://ghe.example.com/acme/app.git", ghes)
    assert home == GitHubHome("acme/app", "ghe.example.com")
    assert home.pull(3) == "https://ghe.example.com/acme/app/pull/3"
    assert github_home(None, "https://ghe.example.com.evil.test/a/b", ghes) is None
    assert github_home(None, "git@github.com:a/b.git", ("bad host!",)) is None
    assert web_host("https://api.github.com") == "github.com"
    assert web_host("https://ghe.example.com/api/v3") == "ghe.example.com"
    assert web_host("https://ghe.example.com/acme/app.git") == "ghe.example.com"
    assert web_host("not a url") is None
    assert GitHubHome("a/b").person("ada-l") == "https://github.com/ada-l"
    assert GitHubHome("a/b").person("../x") is None
    assert GitHubHome("a/b").person("dependabot[bot]") is None
    home = GitHubHome("acme/app")
    assert (
        home.branch('feature/x "y"#1') == "https://github.com/acme/app/tree/feature/x%20%22y%22%231"
    )
    assert home.commit("not-a-sha") is None


def test_the_page_is_titled_owner_name_and_links_to_github():
    report = dataclasses.replace(constructed(), repository="/srv/app", home=GitHubHome("acme/app"))
    page = report_html(report)
    assert "<title>trunkguard · acme/app · 2026-W22</title>" in page and "/srv/app" not in page
    assert '<a href="https://github.com/acme/app/tree/feature/export">' in page
    assert '<a href="https://github.com/acme/app/pull/11">#11</a>' in page
    assert f'<a href="https://github.com/acme/app/commit/{"b" * 40}">' in page
    assert "trunkguard weekly report: acme/app" in report_markdown(report)
    local = report_html(dataclasses.replace(constructed(), repository="/srv/app"))
    assert "<title>trunkguard · /srv/app · 2026-W22</title>" in local and "<a href" not in local


def test_authors_link_to_their_github_page_when_their_login_is_known():
    report = dataclasses.replace(constructed(), home=GitHubHome("acme/app", "ghe.example.com"))
    page = report_html(report, {11: "bob"})
    # Named as git has them (mentions are off), linked by the pull request's login.
    assert '<a href="https://ghe.example.com/bob">Bob Kahn</a>' in page
    assert '<a href="https://ghe.example.com/acme/app/pull/11">#11</a>' in page
    unlinked = report_html(dataclasses.replace(constructed(), home=None), {11: "bob"})
    assert "ghe.example.com" not in unlinked and "Bob Kahn" in unlinked


def test_report_command_links_a_github_enterprise_remote_it_is_told_of(make_repo, tmp_path):
    t = make_repo()
    t.commit({"app.py": numbered()}, days_ago=10, branch="main")
    t.repo.remotes.create("origin", "https://ghe.example.com/acme/app.git")
    db = f"sqlite:///{tmp_path / 'report.db'}"
    args = ["report", str(t.path), "--db", db, "--now", "2026-05-28T20:26:40Z", "--json"]
    assert json.loads(CliRunner().invoke(cli, args).stdout)["url"] is None
    told = CliRunner().invoke(cli, [*args, "--github-host", "ghe.example.com"])
    assert json.loads(told.stdout)["url"] == "https://ghe.example.com/acme/app"
    bad = CliRunner().invoke(cli, [*args, "--github-host", "ghe example"])
    assert bad.exit_code == 2 and "'ghe example' is not a host name" in bad.output


def test_report_command_titles_a_clone_of_github_by_its_owner_and_name(make_repo, tmp_path):
    t = make_repo()
    t.commit({"app.py": numbered()}, days_ago=10, branch="main")
    db = f"sqlite:///{tmp_path / 'report.db'}"
    args = ["report", str(t.path), "--db", db, "--now", "2026-05-28T20:26:40Z", "--json"]
    local = json.loads(CliRunner().invoke(cli, args).stdout)
    assert (local["title"], local["url"]) == (str(t.path), None)  # a local path stays as it is
    t.repo.remotes.create("origin", "git@github.com:acme/app.git")
    doc = json.loads(CliRunner().invoke(cli, args).stdout)
    assert (doc["title"], doc["url"]) == ("acme/app", "https://github.com/acme/app")
    assert doc["repository"] == str(t.path)


def test_the_report_splits_conflicts_paid_into_a_machines_and_a_persons(make_repo, tmp_path):
    # Two merges into trunk this week: one conflicted where git's own line merge (diff3, as
    # `git merge-file` does it) is clean but merge-ort's histogram alignment is not: a machine
    # could have resolved it; the other changed one line both ways: a person's.
    t = make_repo()
    text = "".join  # lines, each ending with a newline
    base = t.commit(
        {"f.txt": text(["a\n", "b\n", "{\n", "b\n"]), "app.py": numbered()},
        days_ago=20,
        branch="main",
    )
    trunk = t.commit({"f.txt": text(["a\n", "a\n", "b\n"])}, days_ago=6, parents=[base])
    side = t.commit(
        {"f.txt": text(["a\n", "b\n", "{\n", "b\n", "z\n", "b\n"])},
        days_ago=5,
        parents=[base],
    )
    merged = t.commit(
        {"f.txt": text(["a\n", "a\n", "b\n", "z\n", "b\n"])},
        days_ago=3,
        parents=[trunk, side],
        message="Merge aligned",
    )
    edit = t.commit({"app.py": numbered(changes={5: "branch"})}, days_ago=4, parents=[base])
    trunk_edit = t.commit({"app.py": numbered(changes={5: "trunk"})}, days_ago=2, parents=[merged])
    t.commit(
        {"app.py": numbered(changes={5: "both"})},
        days_ago=1,
        parents=[trunk_edit, edit],
        branch="main",
        message="Merge by hand",
    )
    db = f"sqlite:///{tmp_path / 'report.db'}"
    now = "2026-05-28T20:26:40Z"
    args = ["report", str(t.path), "--db", db, "--now", now]

    doc = json.loads(CliRunner().invoke(cli, [*args, "--json"]).stdout)

    by_path = {r["path"]: (r["rule"], r["level"]) for r in doc["conflicts_paid_resolution"]}
    assert by_path == {"f.txt": ("line-merge", ""), "app.py": (None, "easy")}
    markdown = CliRunner().invoke(cli, args).output
    assert (
        "Of the 2 conflicted paths, a machine could have resolved 1 (line-merge 1); "
        "1 needed a person (1 easy). Over the last 12 weeks: 1 of 2 (50 %)." in markdown
    )
    chart = next(c for c in doc["charts"] if c["key"] == "machine_resolvable")
    assert chart["values"][-1] == 50.0 and set(chart["values"][:-1]) == {0.0}


def test_the_forecast_conflicts_of_the_current_week_are_split_the_same_way(make_repo, tmp_path):
    t = make_repo()
    base = t.commit({"app.py": numbered()}, days_ago=10, branch="main")
    t.commit({"app.py": numbered(changes={5: "trunk"})}, days_ago=2, parents=[base], branch="main")
    t.commit({"app.py": numbered(changes={5: "mine"})}, days_ago=1, parents=[base], branch="f")
    db = f"sqlite:///{tmp_path / 'report.db'}"
    args = ["report", str(t.path), "--db", db, "--now", "2026-05-28T20:26:40Z"]

    doc = json.loads(CliRunner().invoke(cli, [*args, "--json"]).stdout)

    assert doc["forecast_resolution"] == {"machine": 0, "person": 1}
    markdown = CliRunner().invoke(cli, args).output
    said = "Of the 1 conflicted path forecast on active branches, a machine could resolve 0; "
    assert said + "1 needs a person." in markdown
    past = json.loads(CliRunner().invoke(cli, [*args, "--json", "--week", "2026-W21"]).stdout)
    assert past["forecast_resolution"] is None  # that week has no stored forecast
