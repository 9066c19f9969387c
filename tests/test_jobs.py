"""The job functions: the registry every job name resolves in, and the installation and pull
request jobs run directly against the fake GitHub over real HTTP."""

from __future__ import annotations

import ast
import inspect
import logging
from pathlib import Path

import pytest

import bot
import bot.service.jobs.all  # noqa: F401  (registers every job function)
from bot.github.app import GitHubApp
from bot.github.client import retry_policy
from bot.mirrors.fetch import app_mirror_path
from bot.service.job import JOBS, Job, Services, job
from bot.service.jobs.installations import forget_repositories, register_repositories
from bot.service.jobs.pulls import evaluate_open_pulls, evaluate_pull, pull_closed
from bot.store import Store
from tests.conftest import APP_ID
from tests.gitrepo import NOW
from tests.test_app_end_to_end import INSTALLATION, REPO, build, suite_head
from tests.test_routing import EXPECTED

SOURCES = Path(bot.__file__).parent


def produced_names() -> dict[str, list[str]]:
    """Every job name written in bot/ (Job("name", ...)), with where it is written."""
    found: dict[str, list[str]] = {}
    for path in sorted(SOURCES.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "Job"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                where = f"{path.relative_to(SOURCES.parent)}:{node.lineno}"
                found.setdefault(node.args[0].value, []).append(where)
    return found


def test_every_job_name_the_code_asks_for_is_registered_and_every_job_is_asked_for():
    produced = produced_names()
    unknown = {name: where for name, where in produced.items() if name not in JOBS}
    assert unknown == {}, "job names nothing is registered under (a dead letter at run time)"
    assert set(JOBS) == set(produced)  # no job function that nothing asks for
    # The routers, the job functions and the scheduler all name jobs this way.
    places = {w.split(":")[0] for where in produced.values() for w in where}
    assert {
        "bot/service/routing.py",
        "bot/service/scheduler.py",
        "bot/service/jobs/scans.py",
        "bot/service/jobs/pulls.py",
    } <= places


def test_the_registry_holds_job_functions_under_their_names():
    for name, function in JOBS.items():
        assert function.__name__ == name
        assert function.__module__.startswith("bot.service.jobs.")
        assert next(iter(inspect.signature(function).parameters)) == "services"


def test_two_job_functions_under_one_name_are_refused():
    def evaluate_pull(services: Services) -> list[Job]:
        return []

    with pytest.raises(ValueError, match="two job functions are named evaluate_pull"):
        job(evaluate_pull)
    assert JOBS["evaluate_pull"] is not evaluate_pull


@pytest.mark.parametrize(
    "asked",
    [j for jobs in EXPECTED.values() for j in jobs]
    + [
        Job("nightly_scans"),
        Job("weekly_report", {"installation": 1, "repository": "o/r", "week": "2026-W22"}),
    ],
    ids=lambda j: j.name,
)
def test_what_routing_and_the_scheduler_ask_for_fits_the_job_function(asked):
    inspect.signature(JOBS[asked.name]).bind(None, **asked.arguments)


@pytest.fixture
def services(tmp_path, db_url, github, keys):
    store = Store(db_url)
    store.upgrade()
    app = GitHubApp(APP_ID, keys[0], github.url, retry_policy(max_wait=5, backoff=0.01))
    yield Services(store, app.installation, tmp_path / "mirrors", clock=lambda: NOW)
    store.close()


def test_registering_repositories_asks_for_their_scans(services):
    follows = register_repositories(services, INSTALLATION, [REPO, "acme/lib"])
    assert follows == [
        Job("scan_repository", {"installation": INSTALLATION, "repository": REPO}),
        Job("scan_repository", {"installation": INSTALLATION, "repository": "acme/lib"}),
    ]
    assert services.store.installation_of("acme/lib") == INSTALLATION
    without_app = Services(services.store, None, services.mirror_dir)
    assert register_repositories(without_app, 9, ["acme/other"]) == []  # nothing to fetch with
    assert services.store.installation_of("acme/other") == 9


def test_forgetting_repositories_unlinks_them_and_deletes_their_mirrors(services, caplog):
    services.store.register_installation(INSTALLATION, [REPO, "acme/lib", "acme/web"])
    mirrors = {name: app_mirror_path(services.mirror_dir, name) for name in (REPO, "acme/lib")}
    for mirror in mirrors.values():
        (mirror / "refs").mkdir(parents=True)
    with caplog.at_level(logging.WARNING):
        assert forget_repositories(services, INSTALLATION, [REPO, "../../etc"]) == []
    assert not mirrors[REPO].exists() and mirrors["acme/lib"].exists()
    assert "mirror not removed" in caplog.text  # a bad name is logged; the others go on
    assert services.store.installation_of(REPO) is None
    assert forget_repositories(services, INSTALLATION, None) == []  # uninstalled: all of them
    assert not mirrors["acme/lib"].exists()
    assert services.store.installation_of("acme/web") is None


def test_evaluating_a_pull_request_posts_its_check_run(services, github):
    t = build(github)
    assert evaluate_pull(services, INSTALLATION, REPO, 7) == []
    [run] = github.check_runs
    assert (run["head_sha"], run["conclusion"]) == (suite_head(t, 7), "failure")


def test_evaluating_open_pull_requests_by_head_or_number_reviews_only_those(services, github):
    t = build(github)
    head = suite_head(t, 8)
    assert evaluate_open_pulls(services, INSTALLATION, REPO, heads=[head]) == []
    assert [r["head_sha"] for r in github.check_runs] == [head]
    assert evaluate_open_pulls(services, INSTALLATION, REPO, numbers=[99]) == []  # not open
    assert github.git_fetches == 1  # nothing to review: nothing fetched
    assert evaluate_open_pulls(services, INSTALLATION, REPO, numbers=[8], force=True) == []
    assert [r["head_sha"] for r in github.check_runs] == [head, head]  # a "Re-run" posts again


def test_a_closed_pull_request_has_the_ones_with_a_comment_reviewed_again(services, github):
    t = build(github)
    evaluate_open_pulls(services, INSTALLATION, REPO)
    assert sorted(c["issue"] for c in github.comments.values()) == [7, 8]
    head = suite_head(t, 8)
    follows = pull_closed(services, INSTALLATION, REPO, 8, "young-feature", head, None)
    assert follows == [
        Job("evaluate_open_pulls", {"installation": INSTALLATION, "repository": REPO,
                                    "numbers": [7]})
    ]  # fmt: skip
    closed = services.store.pull_request(REPO, 8)
    assert (closed.state, closed.head_sha) == ("closed", head)
    assert closed.comment_id is not None  # what was posted is still known
    # #7 closes too: the one left with a comment is closed, so nothing is reviewed again.
    assert pull_closed(services, INSTALLATION, REPO, 7, "old-feature", suite_head(t, 7), None) == []


def test_a_rerun_of_a_commit_the_mirror_lacks_says_so_on_that_commit(services, github):
    from bot.service.jobs.pulls import rerun_commit

    t = build(github)
    # A suite requested (no "Re-run") for a head pushed over since: left to the push's event.
    assert rerun_commit(services, INSTALLATION, REPO, "1" * 40, [8], force=False) == []
    assert github.check_runs == []
    # A "Re-run" of a commit pushed over since: told on that commit, never the newest head's.
    assert rerun_commit(services, INSTALLATION, REPO, "1" * 40, [8]) == []
    [gone] = github.check_runs
    assert gone["head_sha"] == "1" * 40
    assert gone["conclusion"] == "neutral"
    assert gone["output"]["title"] == "Not measured: this commit is no longer in the pull request"
    assert suite_head(t, 8)[:10] in gone["output"]["summary"]
    assert rerun_commit(services, INSTALLATION, REPO, suite_head(t, 8)) == []
    assert [r["head_sha"] for r in github.check_runs] == ["1" * 40, suite_head(t, 8)]
