"""The scheduled jobs against the fake GitHub over real HTTP: nightly scans, the weekly
report issue (edited, never doubled), its HTML page, and nudges on idle pull requests."""

from __future__ import annotations

import pytest

import bot.service.jobs.all  # noqa: F401  (registers every job function)
from analyzers.trends import week_start
from bot.github.app import GitHubApp
from bot.github.client import retry_policy
from bot.report.markdown import MARKER as REPORT
from bot.review.nudges import MARKER as NUDGE
from bot.service.job import JOBS, Services
from bot.store import Store
from tests.conftest import APP_ID
from tests.fakegithub import FakeGitHub, Pull
from tests.gitrepo import BOB, DAY, NOW, GitRepo, numbered
from tests.test_app_end_to_end import INSTALLATION, REPO

CONFIG = """\
report:
  mention_authors: true
nudges:
  enabled: true
  idle_days: 6
"""


def build(github: FakeGitHub, config: str = CONFIG) -> GitRepo:
    """acme/app with a config on main: #7 (bob) idle 19 days and #8 (ada) from 12 hours ago
    edit the same line; #9 is a draft idle for 10 days."""
    path = github.add_repository(REPO, INSTALLATION, "main")
    t = GitRepo.__new__(GitRepo)
    GitRepo.__init__(t, path.parent / "build.git")
    files = {"app.py": numbered(), ".github/trunkguard.yml": config}
    base = t.commit(files, days_ago=40, branch="main")
    old = t.commit({"app.py": numbered(changes={10: "old branch"})}, days_ago=19,
                   parents=[base], branch="old-feature", author=BOB)  # fmt: skip
    young = t.commit({"app.py": numbered(changes={10: "young branch"})}, days_ago=0.5,
                     parents=[base], branch="young-feature")  # fmt: skip
    draft = t.commit({"docs.md": "draft\n"}, days_ago=10, parents=[base], branch="drafting")
    for number, head in ((7, old), (8, young), (9, draft)):
        t.ref(f"refs/pull/{number}/head", head)
    t.git("push", "--quiet", str(path), "+refs/*:refs/*")
    github.add_pull(REPO, Pull(7, "bob", "old-feature", "main"))
    github.add_pull(REPO, Pull(8, "ada", "young-feature", "main"))
    github.add_pull(REPO, Pull(9, "cy", "drafting", "main", draft=True))
    return t


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def services(tmp_path, db_url, github, keys):
    store = Store(db_url)
    store.upgrade()
    store.register_installation(INSTALLATION, [REPO])
    app = GitHubApp(APP_ID, keys[0], github.url, retry_policy(max_wait=5, backoff=0.01))
    clock = Clock(NOW)
    yield Services(
        store, app.installation, tmp_path / "mirrors", clock=clock, report_dir=tmp_path / "pages"
    )
    store.close()


def run(services, name, **arguments):
    return JOBS[name](services, **arguments)


def test_nightly_scans_store_figures_and_nudge_idle_work_once(services, github):
    build(github)
    [scan] = run(services, "nightly_scans")
    assert (scan.name, scan.arguments) == (
        "scan_repository", {"installation": INSTALLATION, "repository": REPO},
    )  # fmt: skip
    [nudge] = run(services, scan.name, **scan.arguments)
    assert nudge.name == "nudge_idle_pulls"  # the config opts in
    [installed] = services.store.installed_repositories()
    assert installed.report_schedule == {"weekday": "mon", "time": "09:00", "timezone": "UTC"}
    scanned = services.store.week_scan(REPO, week_start(NOW))
    assert scanned is not None and {b.name for b in scanned.branches} >= {"old-feature"}
    forecast = services.store.week_forecast(REPO, week_start(NOW))
    assert forecast is not None and forecast.pairs == (
        ("old-feature", "young-feature", ("app.py",)),
    )
    # what the engine said of each conflict is kept with it: the pair's app.py needs a person
    assert forecast.labelled == (0, 1)

    run(services, nudge.name, **nudge.arguments)
    assert github.invalid == []
    [comment] = github.comments.values()  # #8 is busy, #9 is a draft
    assert comment["issue"] == 7
    assert comment["body"] == (
        f"{NUDGE}\nNo commit for 19 days. 1 open pull request conflicts with this one (#8): "
        "landing it first means it updates once. Land it, split it, or close it."
    )
    services.clock.now = NOW + DAY  # the next night: same idle stretch, no second nudge
    run(services, nudge.name, **nudge.arguments)
    assert len(github.comments) == 1


def test_the_weekly_report_is_one_issue_edited_each_week(services, github, tmp_path):
    build(github)
    scan = {"installation": INSTALLATION, "repository": REPO}
    run(services, "scan_repository", **scan)
    run(services, "weekly_report", **scan, week="2026-W22")
    assert github.invalid == []
    [(number, issue)] = github.issues[REPO].items()
    assert issue["title"] == "trunkguard weekly report: acme/app"
    assert issue["labels"] == ["trunkguard-report"]
    body = issue["body"]
    assert body.startswith(REPORT) and "acme/app, 2026-W22" in body
    # Mentions are opted in: the pull requests' authors, by their GitHub logins.
    assert "| `old-feature` (#7) | 2 weeks | 0 | 1 | 2 weeks | @bob |" in body
    assert "| `old-feature` (#7) | 2 weeks | 1 | @bob |" in body  # idle, blocking #8
    assert "- `old-feature` and `young-feature` on `app.py`" in body
    page = tmp_path / "pages" / REPO / "2026-W22.html"
    assert page.exists() and "<svg" in page.read_text()

    # Asked again (a retry, a restart): the issue already says this; nothing is sent.
    writes = len(github.posted("PATCH", "/issues/")) + len(github.posted("POST", "/issues$"))
    run(services, "weekly_report", **scan, week="2026-W22")
    assert (
        len(github.posted("PATCH", "/issues/")) + len(github.posted("POST", "/issues$")) == writes
    )

    # The next Monday's run (the scheduler passes no week): it reports the week that ended.
    services.clock.now = NOW + 4 * DAY + 12 * 3600  # Tue 2 June 08:26 UTC
    run(services, "weekly_report", **scan)
    assert list(github.issues[REPO]) == [number]  # the same issue, edited
    assert github.issues[REPO][number]["edits"] == 1
    assert "acme/app, 2026-W22" in github.issues[REPO][number]["body"]
    services.clock.now = NOW + 11 * DAY
    run(services, "weekly_report", **scan)
    assert list(github.issues[REPO]) == [number]
    assert "acme/app, 2026-W23" in github.issues[REPO][number]["body"]
    assert github.issues[REPO][number]["edits"] == 2
    assert services.store.last_report_week(REPO) == "2026-W23"


def test_a_new_issue_each_week_when_the_config_asks(services, github):
    build(github, "report:\n  issue: weekly\n  label: divergence\n")
    scan = {"installation": INSTALLATION, "repository": REPO}
    run(services, "weekly_report", **scan, week="2026-W21")
    run(services, "weekly_report", **scan, week="2026-W22")
    run(services, "weekly_report", **scan, week="2026-W22")
    titles = sorted(i["title"] for i in github.issues[REPO].values())
    assert titles == [
        "trunkguard weekly report 2026-W21: acme/app",
        "trunkguard weekly report 2026-W22: acme/app",
    ]
    assert {tuple(i["labels"]) for i in github.issues[REPO].values()} == {("divergence",)}
    body = github.issues[REPO][max(github.issues[REPO])]["body"]
    assert "@bob" not in body and "Bob Kahn" in body  # mentions are off by default
    assert not any(NUDGE in c["body"] for c in github.comments.values())
