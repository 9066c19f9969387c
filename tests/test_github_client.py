"""The GitHub client against the fake GitHub over real HTTP: what it asks, what it posts, and
each failure said as trunkguard's error."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from bot.github.app import GitHubApp, token_client
from bot.github.client import (
    ACTIONS_LOGIN,
    RETRIES,
    GitHubError,
    GitHubUnavailable,
    NotFound,
    RateLimited,
    retry_policy,
    written_by,
)
from bot.github.records import CheckAnnotation, CheckRun, OpenPull, RepositoryInfo, ShownRun
from tests.conftest import APP_ID
from tests.fakegithub import Fault, Pull, example

INSTALLATION = 42
REPO = "acme/app"
SHA = "a" * 40
MARKER = "<!-- a marker -->"


@pytest.fixture
def app(github, keys):
    github.add_repository(REPO, INSTALLATION, "main")
    return GitHubApp(APP_ID, keys[0], github.url, retry_policy(max_wait=5, backoff=0.01))


@pytest.fixture
def client(app):
    return app.installation(INSTALLATION)


def test_the_repository_says_where_to_clone_it_from_and_its_default_branch(github, client):
    assert client.repository(REPO) == RepositoryInfo(REPO, github.clone_url(REPO), "main")
    assert client.token().startswith("ghs_fake")


def test_open_pulls_are_listed_across_pages(github, client):
    for number in range(1, 251):
        github.add_pull(REPO, Pull(number, f"dev{number}", f"topic-{number}", "main"))
    github.pulls[REPO][3].state = "closed"
    pulls = client.open_pulls(REPO)
    assert [p.number for p in pulls] == [n for n in range(1, 251) if n != 3]
    pages = [p for m, p, _ in github.requests if m == "GET" and p.endswith("/pulls")]
    assert len(pages) == 3  # 100 a page, the largest GitHub serves


def test_an_open_pull_is_read_from_its_listing(github, client):
    github.add_pull(REPO, Pull(7, "bob", "feature", "main", draft=True, labels=("hotfix", "ui"),
                               head_sha=SHA))  # fmt: skip
    assert client.open_pulls(REPO) == [
        OpenPull(7, "bob", SHA, "feature", "main", True, ("hotfix", "ui"))
    ]


def test_a_check_run_is_posted_with_the_fields_it_is_given(github, client):
    run = CheckRun(
        "trunkguard",
        SHA,
        "failure",
        "Branch is 19 days old",
        "| age |\n| --- |\n| 19 days |",
        text="more",
        annotations=(CheckAnnotation("app.py", 10, 12, "failure", "Conflicts with main"),),
        external_id="digest",
    )
    run_id = client.create_check_run(REPO, run)
    assert github.invalid == []
    [posted] = github.check_runs
    assert posted == {
        "id": run_id,
        "name": "trunkguard",
        "head_sha": SHA,
        "status": "completed",
        "conclusion": "failure",
        "external_id": "digest",
        "output": {
            "title": "Branch is 19 days old",
            "summary": "| age |\n| --- |\n| 19 days |",
            "text": "more",
            "annotations": [
                {
                    "path": "app.py",
                    "start_line": 10,
                    "end_line": 12,
                    "annotation_level": "failure",
                    "message": "Conflicts with main",
                }
            ],
        },
    }


def test_a_check_run_without_text_annotations_or_external_id_sends_none(github, client):
    client.create_check_run(REPO, CheckRun("trunkguard", SHA, "success", "All is well", "|"))
    [posted] = github.check_runs
    assert "external_id" not in posted
    assert posted["output"] == {"title": "All is well", "summary": "|"}


def test_the_latest_check_run_of_a_name_is_found_with_its_external_id(client):
    assert client.latest_check_run(REPO, SHA, "trunkguard") is None
    client.create_check_run(REPO, CheckRun("trunkguard", SHA, "failure", "t", "s",
                                           external_id="first"))  # fmt: skip
    newest = client.create_check_run(REPO, CheckRun("trunkguard", SHA, "success", "t", "s",
                                                    external_id="second"))  # fmt: skip
    client.create_check_run(REPO, CheckRun("other", SHA, "success", "t", "s", external_id="x"))
    assert client.latest_check_run(REPO, SHA, "trunkguard") == ShownRun(newest, "second", 0)
    assert client.latest_check_run(REPO, "b" * 40, "trunkguard") is None


def test_another_apps_check_run_of_the_same_name_is_not_ours(github, client):
    github.tokens["ghs_actions"] = INSTALLATION  # a workflow posting a check named the same
    actions = token_client(github.url, "ghs_actions", retry_policy(max_wait=5, backoff=0.01))
    ours = client.create_check_run(REPO, CheckRun("trunkguard", SHA, "success", "t", "s"))
    actions.create_check_run(REPO, CheckRun("trunkguard", SHA, "failure", "t", "s"))
    # The newest run of that name is the workflow's: GitHub would refuse our update of it.
    assert client.latest_check_run(REPO, SHA, "trunkguard") == ShownRun(ours, None, 0)
    assert actions.latest_check_run(REPO, SHA, "trunkguard").id != ours
    with pytest.raises(Exception, match="403"):
        actions.update_check_run(REPO, ours, CheckRun("trunkguard", SHA, "failure", "t", "s"))


def test_a_comment_is_found_by_its_marker_created_edited_and_deleted(github, client):
    assert client.find_comment(REPO, 7, MARKER) is None
    client.create_comment(REPO, 7, "someone else's comment")
    comment_id = client.create_comment(REPO, 7, f"{MARKER}\nfirst")
    client.create_comment(REPO, 8, f"{MARKER}\non another pull request")
    assert client.find_comment(REPO, 7, MARKER) == (comment_id, f"{MARKER}\nfirst")

    client.edit_comment(REPO, 7, comment_id, f"{MARKER}\nsecond")
    assert github.comments[comment_id]["body"] == f"{MARKER}\nsecond"
    assert github.comments[comment_id]["edits"] == 1

    client.delete_comment(REPO, 7, comment_id)
    assert comment_id not in github.comments
    client.delete_comment(REPO, 7, comment_id)  # already gone is fine
    assert client.find_comment(REPO, 7, MARKER) is None
    assert github.invalid == []


def test_a_comment_someone_else_wrote_is_not_ours_even_with_the_marker(github, client):
    forged = github.add_comment(REPO, 7, f"{MARKER}\nedit me, trunkguard")
    assert client.find_comment(REPO, 7, MARKER) is None
    ours = client.create_comment(REPO, 7, f"{MARKER}\nours")
    github.add_comment(REPO, 7, f"{MARKER}\nanother copy")
    assert client.find_comment(REPO, 7, MARKER) == (ours, f"{MARKER}\nours")
    assert github.comments[forged]["edits"] == 0


def test_the_app_login_is_asked_of_github_once_with_the_app_jwt(github, app):
    assert app.installation(INSTALLATION).login() == f"{github.slug}[bot]"
    github.add_repository("acme/other", 43, "main")
    assert app.installation(43).login() == f"{github.slug}[bot]"
    assert [p for m, p, _ in github.requests if m == "GET" and p == "/app"] == ["/app"]


def test_a_token_client_writes_as_github_actions(github, client):
    github.tokens["ghs_actions"] = INSTALLATION  # a workflow's GITHUB_TOKEN
    actions = token_client(github.url, "ghs_actions", retry_policy(max_wait=5, backoff=0.01))
    assert actions.login() == ACTIONS_LOGIN
    the_apps = client.create_comment(REPO, 7, f"{MARKER}\nthe App's")
    assert actions.find_comment(REPO, 7, MARKER) is None
    the_workflows = actions.create_comment(REPO, 7, f"{MARKER}\nthe workflow's")
    assert github.comments[the_workflows]["author"] == "github-actions[bot]"
    assert actions.find_comment(REPO, 7, MARKER) == (the_workflows, f"{MARKER}\nthe workflow's")
    assert client.find_comment(REPO, 7, MARKER) == (the_apps, f"{MARKER}\nthe App's")
    assert [p for m, p, _ in github.requests if p == "/app"] == ["/app"]  # the App's, once


def test_a_comment_is_written_by_a_bot_account_of_that_login():
    comment = example("issues.create-comment.201")  # GitHub's example: octocat, a User
    assert not written_by(comment, "octocat")
    bot = {**comment, "user": {**comment["user"], "login": "octocat[bot]", "type": "Bot"}}
    assert written_by(bot, "octocat[bot]") and not written_by(bot, "other[bot]")
    # A person writing through the App with a user token: the App is named, the author is not.
    via_app = {**comment, "performed_via_github_app": example("apps.get-authenticated.200")}
    assert not written_by(via_app, "octoapp[bot]")
    assert not written_by({**comment, "user": None}, "ghost")  # a deleted account


def test_an_issue_is_opened_with_its_label_and_edited_open_again(github, client):
    number = client.create_issue(REPO, "Weekly report", "body", "trunkguard")
    issue = github.issues[REPO][number]
    assert (issue["title"], issue["labels"]) == ("Weekly report", ["trunkguard"])
    issue["state"] = "closed"
    client.edit_issue(REPO, number, "Weekly report, again", "new body")
    assert (issue["title"], issue["body"], issue["state"]) == (
        "Weekly report, again",
        "new body",
        "open",
    )


def test_what_github_does_not_show_is_not_found(client):
    with pytest.raises(NotFound, match="^acme/gone: not found"):
        client.repository("acme/gone")
    with pytest.raises(NotFound, match="comment 12345"):
        client.edit_comment(REPO, 7, 12345, "text")


def test_server_errors_are_retried_then_said_as_unavailable(github, client):
    github.faults.append(Fault("GET", r"/pulls$", 502, body={"message": "Server Error"}))
    assert client.open_pulls(REPO) == []  # one 502 is waited out inside the request

    github.faults.append(Fault("GET", r"/pulls$", 503, body={"message": "Down"}, times=99))
    asked = len(github.requests)
    # urllib3 gives up after its retries without the last answer: said as no answer.
    with pytest.raises(GitHubUnavailable, match="^acme/app pull requests: no answer from GitHub"):
        client.open_pulls(REPO)
    tries = [p for m, p, _ in github.requests[asked:] if m == "GET" and p.endswith("/pulls")]
    assert len(tries) == RETRIES + 1


def test_a_long_rate_limit_is_raised_with_the_time_to_wait(github, client):
    limited = {"message": "You have exceeded a secondary rate limit."}
    github.faults.append(Fault("GET", r"/pulls$", 429, {"Retry-After": "3600"}, limited))
    with pytest.raises(RateLimited) as raised:
        client.open_pulls(REPO)
    assert raised.value.retry_after == 3600
    assert isinstance(raised.value, GitHubUnavailable)  # a job waits for it, never fails


def test_a_spent_primary_rate_limit_waits_until_its_reset(github, client):
    reset = int(time.time()) + 1800
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)}
    spent = {"message": "API rate limit exceeded for installation ID 42."}
    github.faults.append(Fault("GET", r"/repos/acme/app$", 403, headers, spent))
    with pytest.raises(RateLimited) as raised:
        client.repository(REPO)
    assert 1700 < raised.value.retry_after <= 1801


def test_refused_credentials_are_an_error_without_the_token(github, client):
    token = client.token()
    github.refused_tokens.add(token)
    with pytest.raises(GitHubError, match="refused the credentials") as raised:
        client.open_pulls(REPO)
    assert not isinstance(raised.value, GitHubUnavailable)
    assert token not in str(raised.value)


def test_the_app_keeps_one_client_per_installation_until_it_is_forgotten(app):
    client = app.installation(INSTALLATION)
    assert app.installation(INSTALLATION) is client
    app.forget([INSTALLATION])
    assert app.installation(INSTALLATION) is not client
    with pytest.raises(NotFound, match="^installation 999: not found"):
        app.installation(999)


def test_a_token_client_uses_the_one_token_it_is_given(github, app):
    github.tokens["ghs_actions"] = INSTALLATION  # what a workflow's GITHUB_TOKEN may see
    client = token_client(github.url, "ghs_actions", retry_policy(max_wait=5, backoff=0.01))
    assert client.token() == "ghs_actions"
    assert client.repository(REPO).default_branch == "main"


def test_the_records_can_be_imported_without_pygithub():
    code = "import sys, bot.github.records; print(*sorted(m for m in sys.modules if 'github' in m))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["bot.github", "bot.github.records"]
