"""The App end to end: signed deliveries to the server on loopback, jobs, a fake GitHub over
real HTTP (REST and git's smart HTTP), and what ends up posted there."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.github.app import GitHubApp
from bot.github.client import retry_policy
from bot.review.evaluation import MARKER
from bot.service.job import Services
from bot.store import Store
from tests.conftest import APP_ID
from tests.fakegithub import FakeGitHub, Fault, Pull, push_two_conflicting_pulls
from tests.gitrepo import BOB, NOW, GitRepo, numbered

WEBHOOKS = Path(__file__).parent / "fixtures/github/webhooks"
INSTALLATION = 42
REPO = "acme/app"


def build(github: FakeGitHub) -> GitRepo:
    """acme/app with #7 and #8, which will conflict (push_two_conflicting_pulls)."""
    github.add_repository(REPO, INSTALLATION, "main")
    return push_two_conflicting_pulls(github, REPO)


def pull_request_event(action: str, number: int, head_ref: str, head_sha: str) -> dict:
    payload = json.loads((WEBHOOKS / "pull_request/synchronize.json").read_text())
    payload["action"] = action
    payload["installation"] = {"id": INSTALLATION}
    payload["repository"]["full_name"] = REPO
    payload["pull_request"].update(number=number)
    payload["pull_request"]["head"].update(ref=head_ref, sha=head_sha)
    return payload


def test_an_old_conflicting_pull_request_gets_a_failing_check_and_one_comment(served, github):
    t = build(github)
    old_head = str(t.repo.references["refs/pull/7/head"].target)

    status, _ = served.deliver(
        "pull_request", pull_request_event("opened", 7, "old-feature", old_head), "d-1"
    )
    assert status == 202
    assert github.invalid == []
    [run] = github.check_runs
    assert (run["name"], run["head_sha"], run["conclusion"]) == ("trunkguard", old_head, "failure")
    assert run["output"]["title"] == "Branch is 19 days old; the limit is 14 days (and 1 more)"
    assert [a["path"] for a in run["output"]["annotations"]] == ["app.py"]
    [comment] = github.comments.values()
    assert comment["issue"] == 7 and MARKER in comment["body"]
    assert (
        "Will conflict with #8 by @ada once either lands: `app.py` (lines 10) — needs you "
        "(both sides changed the same lines)" in comment["body"]
    )  # what the resolution engine says of the conflict, from the mirror's blobs
    assert github.git_fetches >= 1  # the mirror came over smart HTTP, with the token

    # The author fixes the conflict (takes the young branch's line) and pushes.
    fixed = t.commit({"app.py": numbered(changes={10: "young branch"})}, days_ago=0.1,
                     parents=[t.repo.references["refs/pull/7/head"].target],
                     branch="old-feature", author=BOB)  # fmt: skip
    t.ref("refs/pull/7/head", fixed)
    t.git("push", "--quiet", str(github.root / f"{REPO}.git"), "+refs/*:refs/*")
    event = pull_request_event("synchronize", 7, "old-feature", str(fixed))
    assert served.deliver("pull_request", event, "d-2")[0] == 202
    assert [r["conclusion"] for r in github.check_runs] == ["failure", "failure"]
    assert github.check_runs[1]["output"]["title"] == "Branch is 19 days old; the limit is 14 days"
    [comment] = github.comments.values()  # the same comment, edited: never a second one
    assert comment["edits"] == 1
    assert "#8" not in comment["body"] and "19 days old" in comment["body"]

    # GitHub redelivers the same delivery: acknowledged, nothing new posted.
    posted = len(github.requests)
    assert served.deliver("pull_request", event, "d-2") == (200, {"message": "already received"})
    assert len(github.requests) == posted


def test_a_review_redone_after_posting_but_before_storing_posts_nothing_twice(served, github):
    """A worker killed (or the database lost) between posting and storing: the job redone
    finds its check run on GitHub (by its external id) and its comment (by its marker)."""
    t = build(github)
    head = suite_head(t, 7)
    served.deliver("pull_request", opened(t, 7, "old-feature"), "d-1")
    [run] = github.check_runs
    assert run["external_id"] and len(github.comments) == 1
    with served.store.engine.begin() as connection:  # what the store never heard of
        connection.execute(text("DELETE FROM pull_requests"))
    served.deliver("pull_request", pull_request_event("labeled", 7, "old-feature", head), "d-2")
    assert len(github.check_runs) == 1 and len(github.comments) == 1
    assert served.store.pull_request(REPO, 7).check_run_id == run["id"]
    # The "Re-run" button still posts a new check run for the same verdict.
    suite = json.loads((WEBHOOKS / "check_suite/rerequested.json").read_text())
    suite["installation"] = {"id": INSTALLATION}
    suite["repository"]["full_name"] = REPO
    suite["check_suite"].update(pull_requests=[{"number": 7}], head_sha=head)
    served.deliver("check_suite", suite, "d-3")
    assert [r["head_sha"] for r in github.check_runs] == [head, head]


def test_a_young_pull_request_without_conflicts_passes_silently(served, github):
    t = build(github)
    del github.pulls[REPO][7]  # alone: nothing to conflict with
    head = str(t.repo.references["refs/pull/8/head"].target)
    served.deliver("pull_request", pull_request_event("opened", 8, "young-feature", head), "d-1")
    [run] = github.check_runs
    assert run["conclusion"] == "success"
    assert github.comments == {}  # no comment on a healthy pull request


def test_a_push_to_trunk_reviews_every_open_pull_request_and_a_rerun_posts_once(served, github):
    t = build(github)
    push = json.loads((WEBHOOKS / "push/with-installation.json").read_text())
    push.update(ref="refs/heads/main", deleted=False, installation={"id": INSTALLATION})
    push["repository"].update(full_name=REPO, default_branch="main")
    served.deliver("push", push, "d-1")
    assert sorted(r["head_sha"] for r in github.check_runs) == sorted(
        str(t.repo.references[f"refs/pull/{n}/head"].target) for n in (7, 8)
    )
    assert sorted(c["issue"] for c in github.comments.values()) == [7, 8]
    # Trunk moves without touching app.py: no verdict changed, nothing is posted again.
    main = t.repo.references["refs/heads/main"].target
    t.commit({"README": "app, documented\n"}, days_ago=0.2, parents=[main], branch="main")
    t.git("push", "--quiet", str(github.root / f"{REPO}.git"), "+refs/*:refs/*")
    posted = len(github.requests)
    served.deliver("push", push, "d-2")
    # Only asked: the repository and its pull requests (reviews), the repository (its config).
    assert [m for m, *_ in github.requests[posted:]] == ["GET", "GET", "GET"]
    # The "Re-run" button: a new check run for that pull request; the comment stays as it is.
    suite = json.loads((WEBHOOKS / "check_suite/rerequested.json").read_text())
    suite["installation"] = {"id": INSTALLATION}
    suite["repository"]["full_name"] = REPO
    suite["check_suite"].update(pull_requests=[{"number": 8}], head_sha=suite_head(t, 8))
    runs = len(github.check_runs)
    assert served.deliver("check_suite", suite, "d-3")[0] == 202
    assert [r["head_sha"] for r in github.check_runs[runs:]] == [suite_head(t, 8)]
    assert all(c["edits"] == 0 for c in github.comments.values())


def trunk_push() -> dict:
    push = json.loads((WEBHOOKS / "push/with-installation.json").read_text())
    push.update(ref="refs/heads/main", deleted=False, installation={"id": INSTALLATION})
    push["repository"].update(full_name=REPO, default_branch="main")
    return push


def rerun(number: int, head: str) -> dict:
    suite = json.loads((WEBHOOKS / "check_suite/rerequested.json").read_text())
    suite["installation"] = {"id": INSTALLATION}
    suite["repository"]["full_name"] = REPO
    suite["check_suite"].update(pull_requests=[{"number": number}], head_sha=head)
    return suite


def check_run_calls(github: FakeGitHub, since: int) -> list[str]:
    return [f"{m} {p}" for m, p, _ in github.requests[since:] if m != "GET" and "/check-runs" in p]


def test_one_check_run_per_head_edited_when_its_verdict_changes(served, github):
    t = build(github)
    del github.pulls[REPO][7]  # #8 alone: all is well, and the title says how far behind
    head = suite_head(t, 8)
    served.deliver("pull_request", opened(t, 8, "young-feature"), "d-1")
    [run] = github.check_runs
    assert run["output"]["title"] == "Branch is 12 hours old, 0 commits behind main: all is well"

    # Trunk moves by a commit elsewhere: only the behind count changed, nothing is sent.
    main = t.repo.references["refs/heads/main"].target
    main = t.commit({"README": "app, documented\n"}, days_ago=0.2, parents=[main], branch="main")
    t.git("push", "--quiet", str(github.root / f"{REPO}.git"), "+refs/*:refs/*")
    asked = len(github.requests)
    served.deliver("push", trunk_push(), "d-2")
    assert check_run_calls(github, asked) == []

    # Trunk changes the branch's line: the verdict changes, the head's one run is edited.
    t.commit({"app.py": numbered(changes={10: "trunk's way"})}, days_ago=0.1, parents=[main],
             branch="main")  # fmt: skip
    t.git("push", "--quiet", str(github.root / f"{REPO}.git"), "+refs/*:refs/*")
    asked = len(github.requests)
    served.deliver("push", trunk_push(), "d-3")
    assert check_run_calls(github, asked) == [f"PATCH /repos/{REPO}/check-runs/{run['id']}"]
    [run] = github.check_runs
    assert (run["head_sha"], run["conclusion"], run["edits"]) == (head, "neutral", 1)
    assert run["output"]["title"] == "Conflicts with main on 1 file"

    # A new head gets a run of its own; the "Re-run" button posts a new one.
    pushed = t.commit({"app.py": numbered(changes={10: "trunk's way"})}, days_ago=0.05,
                      parents=[t.repo.references["refs/pull/8/head"].target],
                      branch="young-feature")  # fmt: skip
    t.ref("refs/pull/8/head", pushed)
    t.git("push", "--quiet", str(github.root / f"{REPO}.git"), "+refs/*:refs/*")
    event = pull_request_event("synchronize", 8, "young-feature", str(pushed))
    served.deliver("pull_request", event, "d-4")
    assert [r["head_sha"] for r in github.check_runs] == [head, str(pushed)]
    served.deliver("check_suite", rerun(8, str(pushed)), "d-5")
    assert [r["head_sha"] for r in github.check_runs] == [head, str(pushed), str(pushed)]


def test_a_push_to_the_default_branch_moves_the_weekly_report(served, github):
    t = build(github)
    served.store.register_installation(INSTALLATION, [REPO])
    served.deliver("push", trunk_push(), "d-1")
    [installed] = served.store.installed_repositories()
    assert installed.report_schedule == {"weekday": "mon", "time": "09:00", "timezone": "UTC"}
    main = t.repo.references["refs/heads/main"].target
    t.commit({".github/trunkguard.yml": "report:\n  weekday: thu\n  time: '16:30'\n"},
             days_ago=0.1, parents=[main], branch="main")  # fmt: skip
    t.git("push", "--quiet", str(github.root / f"{REPO}.git"), "+refs/*:refs/*")
    served.deliver("push", trunk_push(), "d-2")
    [installed] = served.store.installed_repositories()
    assert installed.report_schedule == {"weekday": "thu", "time": "16:30", "timezone": "UTC"}


def test_a_rerun_of_an_older_commit_reviews_that_commit(served, github):
    t = build(github)
    old = suite_head(t, 8)
    served.deliver("pull_request", opened(t, 8, "young-feature"), "d-1")
    assert github.check_runs[-1]["conclusion"] == "neutral"  # will conflict with #7
    # #8 takes #7's line: no conflict left at its newest head.
    fixed = t.commit({"app.py": numbered(changes={10: "old branch"})}, days_ago=0.1,
                     parents=[t.repo.references["refs/pull/8/head"].target],
                     branch="young-feature")  # fmt: skip
    t.ref("refs/pull/8/head", fixed)
    t.git("push", "--quiet", str(github.root / f"{REPO}.git"), "+refs/*:refs/*")
    served.deliver("pull_request", pull_request_event("synchronize", 8, "young-feature",
                                                      str(fixed)), "d-2")  # fmt: skip
    assert github.check_runs[-1]["conclusion"] == "success"
    [comment] = github.comments.values()
    edits = comment["edits"]

    # "Re-run" on the older commit's suite: that commit, as it was, gets a new run.
    served.deliver("check_suite", rerun(8, old), "d-3")
    newest = github.check_runs[-1]
    assert (newest["head_sha"], newest["conclusion"]) == (old, "neutral")
    assert "Will conflict with #7" in newest["output"]["summary"]
    assert [r["head_sha"] for r in github.check_runs].count(str(fixed)) == 1
    assert comment["edits"] == edits  # the comment follows the newest head only
    assert served.store.pull_request(REPO, 8).head_sha == str(fixed)


def suite_head(t: GitRepo, number: int) -> str:
    return str(t.repo.references[f"refs/pull/{number}/head"].target)


def opened(t: GitRepo, number: int, ref: str) -> dict:
    return pull_request_event("opened", number, ref, suite_head(t, number))


def test_a_fixed_conflict_edits_the_comment_to_resolved_or_deletes_it(served, github):
    t = build(github)
    del github.pulls[REPO][7]
    github.add_pull(REPO, Pull(9, "bob", "young-two", "main"))
    base = t.repo.references["refs/heads/main"].target
    other = t.commit({"app.py": numbered(changes={10: "third way"})}, days_ago=0.2,
                     parents=[base], branch="young-two", author=BOB)  # fmt: skip
    t.ref("refs/pull/9/head", other)
    t.git("push", "--quiet", str(github.root / f"{REPO}.git"), "+refs/*:refs/*")
    served.deliver("pull_request", opened(t, 8, "young-feature"), "d-1")
    [comment] = github.comments.values()
    assert "Will conflict with #9 by @bob" in comment["body"]
    assert github.check_runs[-1]["conclusion"] == "neutral"  # a conflict warns by default

    # #8 takes #9's line: no conflict left, the comment says so.
    fixed = t.commit({"app.py": numbered(changes={10: "third way"})}, days_ago=0.1,
                     parents=[t.repo.references["refs/pull/8/head"].target],
                     branch="young-feature")  # fmt: skip
    t.ref("refs/pull/8/head", fixed)
    t.git("push", "--quiet", str(github.root / f"{REPO}.git"), "+refs/*:refs/*")
    event = pull_request_event("synchronize", 8, "young-feature", str(fixed))
    served.deliver("pull_request", event, "d-2")
    [comment] = github.comments.values()
    assert comment["body"].startswith(MARKER + "\n**trunkguard**: resolved")
    assert github.check_runs[-1]["conclusion"] == "success"

    # A repository that prefers deletion says so in its configuration.
    main = t.repo.references["refs/heads/main"].target
    t.commit({".github/trunkguard.yml": "policy:\n  comment:\n    resolved: delete\n"},
             days_ago=0.05, parents=[main], branch="main")  # fmt: skip
    t.git("push", "--quiet", str(github.root / f"{REPO}.git"), "+refs/*:refs/*")
    served.deliver("pull_request", pull_request_event("labeled", 8, "young-feature", str(fixed)),
                   "d-3")  # fmt: skip
    assert github.comments == {}


def test_drafts_and_exempt_labels_get_a_neutral_check_with_the_reason(served, github):
    t = build(github)
    github.pulls[REPO][7].draft = True
    github.pulls[REPO][8].labels = ("hotfix",)
    main = "policy:\n  exempt:\n    labels: [hotfix]\n"
    head = t.repo.references["refs/heads/main"].target
    t.commit({".github/trunkguard.yml": main}, days_ago=1, parents=[head], branch="main")
    t.git("push", "--quiet", str(github.root / f"{REPO}.git"), "+refs/*:refs/*")
    served.deliver("pull_request", opened(t, 7, "old-feature"), "d-1")
    served.deliver("pull_request", opened(t, 8, "young-feature"), "d-2")
    titles = [(r["conclusion"], r["output"]["title"]) for r in github.check_runs]
    assert titles == [
        ("neutral", "Draft pull request: not checked until it is ready for review"),
        ("neutral", "Exempt: labelled 'hotfix'"),
    ]
    assert github.comments == {}


@pytest.mark.parametrize(
    ("config", "title"),
    [
        ("policy:\n  age:\n    fail_days: soon\n",
         "Invalid .github/trunkguard.yml: policy.age.fail_days: Input should be a valid "
         "integer, got 'soon'"),
        ("a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
            for p, c in zip("abcdefg", "bcdefgh", strict=True)),
         "Invalid .github/trunkguard.yml: more than 10,000 values once aliases are expanded"),
        ("# padding\n" * 200_000,
         "Invalid .github/trunkguard.yml: 2,000,000 bytes; a configuration is at most 64 KiB"),
        ("policy: " + "[" * 5000 + "]" * 5000 + "\n",
         "Invalid .github/trunkguard.yml: more than 20 levels of nesting (line 1)"),
    ],
)  # fmt: skip
def test_an_unusable_configuration_fails_the_check_naming_the_problem(served, github, config,
                                                                       title):  # fmt: skip
    t = build(github)
    main = t.repo.references["refs/heads/main"].target
    t.commit({".github/trunkguard.yml": config}, days_ago=1, parents=[main], branch="main")
    t.git("push", "--quiet", str(github.root / f"{REPO}.git"), "+refs/*:refs/*")
    served.deliver("pull_request", opened(t, 8, "young-feature"), "d-1")
    [run] = github.check_runs
    assert (run["conclusion"], run["output"]["title"]) == ("failure", title)
    assert github.comments == {}


def test_a_head_pushed_during_the_review_is_left_to_the_push_own_event(served, github):
    t = build(github)
    github.pulls[REPO][8].head_sha = "1" * 40  # GitHub already knows a newer head
    served.deliver("pull_request", opened(t, 8, "young-feature"), "d-1")
    assert github.check_runs == [] and github.comments == {}
    # The branch deleted under us: the same, no crash, nothing posted.
    github.pulls[REPO][8].head_sha = None
    t.repo.references.delete("refs/pull/8/head")
    t.git("push", "--quiet", "--prune", str(github.root / f"{REPO}.git"), "+refs/*:refs/*")
    served.deliver("pull_request", pull_request_event("synchronize", 8, "x", "0" * 40), "d-2")
    assert github.check_runs == []


def test_github_refusing_or_failing_is_logged_in_one_line_and_nothing_is_lost(
    served, github, keys, caplog
):
    t = build(github)
    # A 5xx and a short rate limit are waited out inside the request.
    github.faults += [
        Fault("GET", r"/pulls$", 502, body={"message": "Server Error"}),
        Fault("GET", r"/repos/acme/app$", 403, {"x-ratelimit-remaining": "0",
              "x-ratelimit-reset": str(int(time.time()) + 1)},
              {"message": "API rate limit exceeded for installation ID 42."}),
    ]  # fmt: skip
    served.deliver("pull_request", opened(t, 8, "young-feature"), "d-1")
    assert len(github.check_runs) == 1

    # A long rate limit: the job waits for it instead of failing.
    limited = {"message": "You have exceeded a secondary rate limit."}
    github.faults.append(Fault("GET", r"/pulls$", 429, {"Retry-After": "3600"}, limited))
    with caplog.at_level(logging.WARNING):
        served.deliver("pull_request", opened(t, 7, "old-feature"), "d-2")
    assert served.jobs.pending() == 1
    assert "job retried in 3600 s" in caplog.text

    # An installation GitHub does not know, a repository gone, a token refused: one line each.
    caplog.clear()
    unknown = opened(t, 8, "young-feature")
    unknown["installation"] = {"id": 999}
    gone = opened(t, 8, "young-feature")
    gone["repository"]["full_name"] = "acme/gone"
    with caplog.at_level(logging.ERROR):
        served.deliver("pull_request", unknown, "d-3")
        served.deliver("pull_request", gone, "d-4")
        github.refused_tokens.update(github.tokens)
        served.deliver("pull_request", opened(t, 8, "young-feature"), "d-5")
    failures = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert failures == [
        "job failed: installation 999: not found (gone, or not visible to the App)",
        "job failed: acme/gone pull requests: not found (gone, or not visible to the App)",
        "job failed: acme/app pull requests: GitHub refused the credentials (Bad credentials)",
    ]
    assert len(github.check_runs) == 1  # nothing posted by the failures
    for token in github.tokens:
        assert token not in caplog.text
    assert keys[0].splitlines()[1] not in caplog.text


def test_a_landed_pull_request_is_recorded_and_the_ones_it_conflicted_with_reviewed(served, github):
    from sqlalchemy import select

    from bot.store.models import MergedWork

    t = build(github)
    served.deliver("pull_request", opened(t, 7, "old-feature"), "d-1")
    served.deliver("pull_request", opened(t, 8, "young-feature"), "d-2")
    assert "Will conflict with #8" in github.comments[min(github.comments)]["body"]

    # #8 lands as a merge commit on main.
    main = t.repo.references["refs/heads/main"].target
    head8 = t.repo.references["refs/pull/8/head"].target
    merge = t.commit({"app.py": numbered(changes={10: "young branch"})}, days_ago=0.01,
                     parents=[main, head8], branch="main", message="Merge #8")  # fmt: skip
    t.git("push", "--quiet", str(github.root / f"{REPO}.git"), "+refs/*:refs/*")
    github.pulls[REPO][8].state = "closed"
    closed = pull_request_event("closed", 8, "young-feature", str(head8))
    closed["pull_request"].update(merged=True, merge_commit_sha=str(merge))
    assert served.deliver("pull_request", closed, "d-3")[0] == 202

    with served.store.engine.connect() as connection:
        columns = (MergedWork.merge_commit, MergedWork.lifetime_seconds, MergedWork.commits,
                   MergedWork.conflicted)  # fmt: skip
        [row] = connection.execute(select(*columns)).all()
    assert (row.merge_commit, row.commits, row.conflicted) == (str(merge), 1, False)
    assert row.lifetime_seconds == round((0.5 - 0.01) * 86400)
    # #7 was reviewed again: what it conflicted with is on main now.
    body = github.comments[min(github.comments)]["body"]
    assert "Conflicts with main on 1 file: `app.py` (lines 10) — needs you" in body
    assert "#8" not in body
    assert served.store.pull_request(REPO, 8).state == "closed"


def test_pr_check_posts_the_same_check_and_comment_from_github_actions(tmp_path, github):
    from click.testing import CliRunner

    from bot.cli.main import cli

    t = build(github)
    github.tokens["ghs_actions_token"] = INSTALLATION  # the workflow's GITHUB_TOKEN
    event = tmp_path / "event.json"
    event.write_text(json.dumps(opened(t, 7, "old-feature")))
    environment = {
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_TOKEN": "ghs_actions_token",
        "GITHUB_API_URL": github.url,
        "TRUNKGUARD_MIRROR_DIR": str(tmp_path / "mirrors"),
        "TRUNKGUARD_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
    }
    result = CliRunner().invoke(cli, ["pr-check", "--json"], env=environment)
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert (answer["conclusion"], answer["comment"]) == ("failure", "created")
    assert answer["title"].startswith("Branch is") and "; the limit is 14 days" in answer["title"]
    [run] = github.check_runs
    assert run["head_sha"] == suite_head(t, 7)
    assert len(github.comments) == 1

    bad = tmp_path / "push.json"
    bad.write_text('{"ref": "refs/heads/main"}')
    result = CliRunner().invoke(cli, ["pr-check", "--event", str(bad)], env=environment)
    assert (result.exit_code, result.output) == (1, f"Error: {bad}: not a pull_request event\n")


def test_the_setup_page_registers_the_app_and_keeps_its_secrets_owner_only(tmp_path, github,
                                                                         keys):  # fmt: skip
    from fastapi.testclient import TestClient

    from bot.service.server import create_setup_app
    from bot.service.settings import app_credentials, load_settings

    github.private_key = keys[0]
    github.manifest_codes.add("a1b2c3")
    saved = tmp_path / "secrets" / "app-credentials.json"
    app = create_setup_app(github.url, "https://tg.example", saved)
    client = TestClient(app, base_url="https://tg.example")  # its cookie is Secure
    page = client.get("/", params={"organization": "acme"}).text
    assert f'action="{github.url}/organizations/acme/settings/apps/new?state=' in page
    assert "https://tg.example/webhook" in page and "checks" in page
    # The fake registers Apps under the user octocat: this visit asks for no organisation.
    state = client.get("/").text.split("?state=")[1].split('"')[0]

    assert (
        client.get("/setup/done", params={"code": "a1b2c3", "state": "forged"}).status_code == 403
    )
    done = client.get("/setup/done", params={"code": "a1b2c3", "state": state})
    assert done.status_code == 200 and "(id 4242)" in done.text
    assert "a webhook secret from GitHub" not in done.text and "PRIVATE KEY" not in done.text
    assert saved.stat().st_mode & 0o777 == 0o600
    assert client.post("/webhook").status_code == 503

    settings = load_settings({"TRUNKGUARD_CREDENTIALS_FILE": str(saved)})
    credentials = app_credentials(settings)
    assert (credentials.app_id, credentials.webhook_secret) == (
        4242,
        "a webhook secret from GitHub",
    )
    assert "secret" not in repr(credentials) and "KEY" not in repr(credentials)
    # A code works once: a replayed redirect is refused in one line.
    again = TestClient(create_setup_app(github.url, None, tmp_path / "other.json"))
    state = again.get("/").text.split("?state=")[1].split('"')[0]
    refused = again.get("/setup/done", params={"code": "a1b2c3", "state": state})
    assert refused.status_code == 502 and "GitHub refused the code (404)" in refused.text


def test_installing_scans_each_repository_and_removing_deletes_its_mirror(served, github,
                                                                        tmp_path):  # fmt: skip
    from bot.mirrors.fetch import app_mirror_path

    build(github)
    installed = json.loads((WEBHOOKS / "installation/created.json").read_text())
    installed["installation"]["id"] = INSTALLATION
    installed["repositories"] = [{"full_name": REPO}]
    assert served.deliver("installation", installed, "d-1") == (202, {"message": "queued 1 job"})
    assert served.store.installation_of(REPO) == INSTALLATION
    assert sorted(served.store.weekly_ages(REPO)) != []  # the first scan was stored
    mirror = app_mirror_path(tmp_path / "mirrors", REPO)
    assert (mirror / "refs").is_dir() or (mirror / "packed-refs").exists()
    on_disk = b"".join(p.read_bytes() for p in mirror.rglob("*") if p.is_file())
    for token in github.tokens:  # the token was used in memory only
        assert token.encode() not in on_disk
    assert github.clone_url(REPO).encode() not in (mirror / "config").read_bytes()

    removed = json.loads((WEBHOOKS / "installation_repositories/removed.json").read_text())
    removed["installation"]["id"] = INSTALLATION
    removed["repositories_removed"] = [{"full_name": REPO}]
    served.deliver("installation_repositories", removed, "d-2")
    assert not mirror.exists()
    assert served.store.installation_of(REPO) is None


def test_with_workers_a_push_to_trunk_spreads_its_reviews_over_jobs(tmp_path, db_url, github, keys):
    from bot.service.jobs.pulls import evaluate_open_pulls

    t = build(github)
    store = Store(db_url)
    store.upgrade()
    app = GitHubApp(APP_ID, keys[0], github.url, retry_policy(max_wait=5, backoff=0.01))
    services = Services(store, app.installation, tmp_path / "mirrors", clock=lambda: NOW, spread=1)
    try:
        parts = evaluate_open_pulls(services, INSTALLATION, REPO)
        assert [(j.name, j.arguments["numbers"]) for j in parts] == [
            ("evaluate_open_pulls", [7]),
            ("evaluate_open_pulls", [8]),
        ]
        assert github.check_runs == [] and github.git_fetches == 0  # nothing done yet
        for part in parts:  # as two workers would, each its own
            assert evaluate_open_pulls(services, **part.arguments) == []
    finally:
        store.close()
    assert sorted(r["head_sha"] for r in github.check_runs) == sorted(
        suite_head(t, n) for n in (7, 8)
    )
    assert sorted(c["issue"] for c in github.comments.values()) == [7, 8]
