"""One pull request reviewed: what is posted on the fake GitHub (over real HTTP) and when
nothing is, the pure decisions behind it, the repository's configuration, the kept caches."""

from __future__ import annotations

from dataclasses import replace

import pygit2
import pytest

from analyzers.trunk import TrunkIndex
from bot.github.app import GitHubApp
from bot.github.client import retry_policy
from bot.github.records import OpenPull
from bot.policy import MAX_DEPTH, ConfigError, default_config, load_config
from bot.review.evaluation import (
    MARKER,
    Evaluation,
    PullRequest,
    check_run,
    comment_body,
    resolved_body,
)
from bot.review.findings import Annotation, Conclusion, Finding
from bot.review.measure import _TRUNKS, TRUNKS_KEPT, trunk_index
from bot.review.publish import (
    NO_COMMENT,
    Published,
    check_digest,
    comment_digest,
    comment_texts,
    publish,
)
from bot.review.pull import Outcome, review_pull_request, stored_memo
from bot.review.repo_config import CONFIG_PATH, config_failure, read_config
from bot.store import Store
from tests.conftest import APP_ID
from tests.fakegithub import push_two_conflicting_pulls
from tests.gitrepo import NOW

INSTALLATION = 42
REPO = "acme/app"
SHA = "a" * 40
PULL = OpenPull(7, "bob", SHA, "feature", "main", False, ())

WARN_TITLE = "Branch is 9 days old; land it within 7 days when you can"
FAIL_TITLE = "Branch is 15 days old; the limit is 14 days"
WARN = Evaluation(
    Conclusion.NEUTRAL, WARN_TITLE, "| 9 days old |", (Finding(Conclusion.NEUTRAL, WARN_TITLE),), ()
)
FAIL = Evaluation(
    Conclusion.FAILURE,
    FAIL_TITLE,
    "| 15 days old |",
    (Finding(Conclusion.FAILURE, FAIL_TITLE),),
    (Annotation("app.py", 10, 12, "failure", "Conflicts with main"),),
)
WELL = Evaluation(
    Conclusion.SUCCESS, "Branch is 1 day old, 0 commits behind main: all is well", "|", (), ()
)
DELETE = load_config("policy:\n  comment:\n    resolved: delete\n")


@pytest.fixture
def client(github, keys):
    github.add_repository(REPO, INSTALLATION, "main")
    app = GitHubApp(APP_ID, keys[0], github.url, retry_policy(max_wait=5, backoff=0.01))
    return app.installation(INSTALLATION)


@pytest.fixture
def store(db_url):
    store = Store(db_url)
    store.upgrade()
    yield store
    store.close()


def after(github, asked: int) -> list[str]:
    """The requests made since `asked` were made, as "METHOD path"."""
    return [f"{m} {p}" for m, p, _ in github.requests[asked:]]


# -- what is posted, and when nothing is --------------------------------------------------


def test_a_first_verdict_posts_its_check_run_and_starts_the_comment(github, client, store):
    done = publish(client, store, REPO, PULL, WARN, default_config())
    assert done == Published(True, "created")
    assert github.invalid == []
    [run] = github.check_runs
    assert (run["name"], run["head_sha"], run["conclusion"]) == ("trunkguard", SHA, "neutral")
    assert run["output"] == {"title": WARN_TITLE, "summary": "| 9 days old |"}
    assert run["external_id"] == check_digest(WARN)
    [(comment_id, comment)] = github.comments.items()
    body = comment_body(PullRequest.of(PULL), WARN, "problems")
    assert (comment["issue"], comment["body"]) == (7, body)
    record = store.pull_request(REPO, 7)
    assert (record.check_run_id, record.comment_id, record.head_sha) == (run["id"], comment_id, SHA)


def test_the_same_verdict_again_posts_nothing_and_asks_nothing(github, client, store):
    publish(client, store, REPO, PULL, WARN, default_config())
    asked = len(github.requests)
    # Trunk moved on: the figures table changed, the verdict did not.
    moved = Evaluation(WARN.conclusion, WARN.title, "| 9 days old | 3 behind |", WARN.findings, ())
    assert publish(client, store, REPO, PULL, moved, default_config()) == Published(False)
    assert after(github, asked) == []
    assert len(github.check_runs) == 1


def test_a_changed_verdict_edits_the_check_run_and_the_comment(github, client, store):
    publish(client, store, REPO, PULL, WARN, default_config())
    done = publish(client, store, REPO, PULL, FAIL, default_config())
    assert done == Published(True, "edited")
    [run] = github.check_runs  # the head's one run, edited in place
    assert (run["conclusion"], run["edits"]) == ("failure", 1)
    assert run["external_id"] == check_digest(FAIL)
    assert len(github.posted("POST", "/check-runs$")) == 1
    assert github.check_runs[0]["output"]["annotations"] == [
        {"path": "app.py", "start_line": 10, "end_line": 12, "annotation_level": "failure",
         "message": "Conflicts with main"}
    ]  # fmt: skip
    [comment] = github.comments.values()  # the same comment, edited: never a second one
    assert comment["edits"] == 1 and FAIL_TITLE in comment["body"]


def test_a_new_head_with_the_same_verdict_gets_its_own_check_run(github, client, store):
    publish(client, store, REPO, PULL, WARN, default_config())
    pushed = OpenPull(7, "bob", "b" * 40, "feature", "main", False, ())
    assert publish(client, store, REPO, pushed, WARN, default_config()) == Published(True)
    assert [r["head_sha"] for r in github.check_runs] == [SHA, "b" * 40]
    assert [c["edits"] for c in github.comments.values()] == [0]


@pytest.mark.parametrize(
    ("config", "action", "left"),
    [(default_config(), "edited", [resolved_body()]), (DELETE, "deleted", [])],
)
def test_all_well_again_resolves_the_comment_or_deletes_it(github, client, store, config, action,
                                                           left):  # fmt: skip
    publish(client, store, REPO, PULL, WARN, config)
    assert publish(client, store, REPO, PULL, WELL, config) == Published(True, action)
    assert [c["body"] for c in github.comments.values()] == left
    said = store.pull_request(REPO, 7).comment_digest
    assert said == (comment_digest(resolved_body()) if left else NO_COMMENT)
    asked = len(github.requests)
    assert publish(client, store, REPO, PULL, WELL, config) == Published(False)
    assert after(github, asked) == []


@pytest.mark.parametrize(
    ("config", "action", "left"),
    [(default_config(), "edited", [resolved_body()]), (DELETE, "deleted", [])],
)
def test_a_comment_someone_else_wrote_with_the_marker_is_never_edited_or_deleted(
    github, client, store, config, action, left
):
    forged = f"{MARKER}\n**trunkguard**: approved, merge now"
    theirs = github.add_comment(REPO, 7, forged, login="mallory")
    assert publish(client, store, REPO, PULL, WARN, config) == Published(True, "created")
    ours = store.pull_request(REPO, 7).comment_id
    assert ours != theirs and github.comments[ours]["author"] == f"{github.slug}[bot]"
    assert publish(client, store, REPO, PULL, WELL, config) == Published(True, action)
    assert [c["body"] for i, c in github.comments.items() if i != theirs] == left
    assert (github.comments[theirs]["body"], github.comments[theirs]["edits"]) == (forged, 0)
    assert github.posted("PATCH", f"/comments/{theirs}$") == []
    assert github.posted("DELETE", f"/comments/{theirs}$") == []


def test_a_copied_marker_alone_is_no_comment_to_resolve(github, client, store):
    theirs = github.add_comment(REPO, 7, f"{MARKER}\nquoting the bot", login="mallory")
    assert publish(client, store, REPO, PULL, WELL, DELETE) == Published(True)
    assert list(github.comments) == [theirs] and github.comments[theirs]["edits"] == 0


def test_a_healthy_pull_request_stays_silent(github, client, store):
    assert publish(client, store, REPO, PULL, WELL, default_config()) == Published(True)
    assert github.comments == {}  # looked for one of ours once, found none, started none
    assert store.pull_request(REPO, 7).comment_digest == NO_COMMENT
    asked = len(github.requests)
    assert publish(client, store, REPO, PULL, WELL, default_config()) == Published(False)
    assert after(github, asked) == []


def test_a_store_that_forgot_finds_the_check_run_and_the_comment_on_github(
    github, client, store, tmp_path
):
    publish(client, store, REPO, PULL, WARN, default_config())
    forgetful = Store(f"sqlite:///{tmp_path / 'forgot.db'}")
    forgetful.upgrade()
    try:
        assert publish(client, forgetful, REPO, PULL, WARN, default_config()) == Published(False)
        assert len(github.check_runs) == 1 and len(github.comments) == 1
        assert forgetful.pull_request(REPO, 7).check_run_id == github.check_runs[0]["id"]
        # And a new verdict edits the comment the marker found, never a second one.
        assert publish(client, forgetful, REPO, PULL, FAIL, default_config()) == Published(
            True, "edited"
        )
        assert len(github.comments) == 1
    finally:
        forgetful.close()


def test_a_rerun_posts_the_check_run_again_and_leaves_the_comment(github, client, store):
    publish(client, store, REPO, PULL, WARN, default_config())
    done = publish(client, store, REPO, PULL, WARN, default_config(), force=True)
    assert done == Published(True)
    assert [r["head_sha"] for r in github.check_runs] == [SHA, SHA]
    assert [c["edits"] for c in github.comments.values()] == [0]


def test_an_unusable_configuration_fails_the_check_and_leaves_the_comment(github, client, store):
    publish(client, store, REPO, PULL, WARN, default_config())
    failure = config_failure(ConfigError(CONFIG_PATH, "policy.age", "is not a mapping"))
    assert publish(client, store, REPO, PULL, failure, None) == Published(True)
    assert github.check_runs[-1]["conclusion"] == "failure"
    assert [c["edits"] for c in github.comments.values()] == [0]


# -- the review, from the mirror ---------------------------------------------------------


@pytest.fixture
def built(github, client):
    return push_two_conflicting_pulls(github, REPO)  # after `client`, which adds the repository


def test_a_review_measures_posts_and_then_has_nothing_new_to_say(
    github, client, store, built, tmp_path
):
    first = review_pull_request(client, store, tmp_path / "mirrors", REPO, 7, now=NOW)
    assert (first.outcome, first.comment) == (Outcome.POSTED, "created")
    assert first.evaluation.title == "Branch is 19 days old; the limit is 14 days (and 1 more)"
    [run] = github.check_runs
    assert run["head_sha"] == str(built.repo.references["refs/pull/7/head"].target)
    again = review_pull_request(client, store, tmp_path / "mirrors", REPO, 7, now=NOW, fetch=False)
    assert (again.outcome, again.evaluation) == (Outcome.UNCHANGED, first.evaluation)
    assert len(github.check_runs) == 1


def test_a_head_that_moved_while_we_looked_posts_nothing(github, client, store, built, tmp_path):
    github.pulls[REPO][8].head_sha = "1" * 40  # GitHub already lists a newer head
    review = review_pull_request(client, store, tmp_path / "mirrors", REPO, 8, now=NOW)
    assert (review.outcome, review.head_sha) == (Outcome.HEAD_MOVED, "1" * 40)
    assert github.check_runs == [] and github.comments == {}
    assert github.posted("POST", "^/repos/") == []


def test_a_pull_request_no_longer_open_is_not_reviewed(github, client, store, built, tmp_path):
    github.pulls[REPO][7].state = "closed"
    review = review_pull_request(client, store, tmp_path / "mirrors", REPO, 7, now=NOW)
    assert review.outcome is Outcome.NOT_OPEN
    assert github.git_fetches == 0 and github.check_runs == []


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ("policy: " + "[" * 5000 + "]" * 5000 + "\n",
         f"more than {MAX_DEPTH} levels of nesting (line 1)"),
        ("policy:\n  age:\n    warn_days: 3\npolicy: {}\n", "policy: set twice (lines 1 and 4)"),
    ],
)  # fmt: skip
def test_a_default_branch_configuration_too_deep_or_with_a_key_twice_fails_the_check(
    github, client, store, built, tmp_path, config, problem
):
    main = built.repo.references["refs/heads/main"].target
    built.commit({CONFIG_PATH: config}, days_ago=1, parents=[main], branch="main")
    built.git("push", "--quiet", str(github.root / f"{REPO}.git"), "+refs/*:refs/*")
    review = review_pull_request(client, store, tmp_path / "mirrors", REPO, 8, now=NOW)
    assert review.outcome is Outcome.POSTED
    [run] = github.check_runs
    assert run["conclusion"] == "failure"
    assert run["output"]["title"] == f"Invalid {CONFIG_PATH}: {problem}"
    assert f"{CONFIG_PATH}: {problem}" in run["output"]["summary"]
    assert github.comments == {}


# -- the pure decisions ------------------------------------------------------------------


def test_the_check_run_digest_follows_the_verdict_not_the_figures():
    digest = check_digest(WARN)
    figures = Evaluation(WARN.conclusion, WARN.title, "| other figures |", WARN.findings, ())
    assert check_digest(figures) == digest
    assert check_digest(FAIL) != digest
    findings = (*WARN.findings, Finding(Conclusion.NEUTRAL, "Conflicts with #8"))
    more = Evaluation(WARN.conclusion, WARN.title, WARN.summary, findings, ())
    assert check_digest(more) != digest
    # A day older, a commit further behind: the same finding, the same verdict.
    older = Finding(Conclusion.NEUTRAL, "Branch is 10 days old; land it within 7 days",
                    about="age over 7 days")  # fmt: skip
    aged = Finding(Conclusion.NEUTRAL, "Branch is 9 days old; land it within 7 days",
                   about="age over 7 days")  # fmt: skip
    assert check_digest(replace(WARN, findings=(older,))) == check_digest(
        replace(WARN, findings=(aged,))
    )
    # The all-is-well title says figures; an exemption's or a failure's title is the verdict.
    assert check_digest(WELL) == check_digest(
        replace(WELL, title="Branch is 2 days old, 9 commits behind main: all is well")
    )
    draft = Evaluation(Conclusion.NEUTRAL, "Draft pull request", "|", (), (), "Draft")
    assert check_digest(draft) != check_digest(replace(draft, title="Exempt: labelled 'x'"))


def test_only_figures_changed_posts_nothing_and_a_new_verdict_edits_the_one_run(
    github, client, store
):
    assert publish(client, store, REPO, PULL, WELL, default_config()) == Published(True)
    asked = len(github.requests)
    moved = replace(WELL, title="Branch is 1 day old, 5 commits behind main: all is well")
    assert publish(client, store, REPO, PULL, moved, default_config()) == Published(False)
    assert after(github, asked) == []
    assert publish(client, store, REPO, PULL, WARN, default_config()).posted
    [run] = github.check_runs
    assert (run["conclusion"], run["output"]["title"], run["edits"]) == ("neutral", WARN_TITLE, 1)
    assert github.posted("PATCH", f"/check-runs/{run['id']}$") != []


def test_a_run_pointing_at_lines_is_replaced_not_edited(github, client, store):
    """GitHub adds an edit's annotations to those already there: a run with annotations that
    no longer hold gets a new run instead."""
    publish(client, store, REPO, PULL, FAIL, default_config())
    publish(client, store, REPO, PULL, WARN, default_config())
    assert [r["conclusion"] for r in github.check_runs] == ["failure", "neutral"]
    assert "annotations" not in github.check_runs[1]["output"]
    assert github.posted("PATCH", "/check-runs/") == []


def test_a_crash_between_editing_the_run_and_storing_edits_nothing_twice(github, client, store):
    publish(client, store, REPO, PULL, WARN, default_config())
    stale = store.pull_request(REPO, 7)
    publish(client, store, REPO, PULL, WELL, default_config())
    store.save_pull_request(REPO, stale)  # the store never heard of the edit
    asked = len(github.requests)
    assert publish(client, store, REPO, PULL, WELL, default_config()) == Published(False)
    # Found with this verdict in its external id (adopted), the comment found saying it: only
    # asked, nothing sent.
    assert {a.split()[0] for a in after(github, asked)} == {"GET"}
    assert f"GET /repos/{REPO}/commits/{SHA}/check-runs" in after(github, asked)
    [run] = github.check_runs
    assert run["edits"] == 1 and store.pull_request(REPO, 7).check_digest == check_digest(WELL)


@pytest.mark.parametrize(
    ("evaluation", "config", "expected"),
    [
        (WARN, default_config(), "body"),
        (WELL, default_config(), (None, resolved_body())),
        (WELL, DELETE, (None, None)),
        (WARN, load_config("policy:\n  comment:\n    when: never\n"), (None, resolved_body())),
    ],
)
def test_what_the_comment_should_say(evaluation, config, expected):
    body = comment_body(PullRequest.of(PULL), evaluation, config.policy.comment.when)
    wanted = (body, body) if expected == "body" else expected
    assert comment_texts(PULL, evaluation, config.policy.comment) == wanted
    assert body is None or body.startswith(MARKER)


def test_a_digest_of_no_comment_is_no_comment():
    assert comment_digest(None) == NO_COMMENT
    assert comment_digest("text") != comment_digest("other text") != NO_COMMENT


def test_an_unusable_configuration_says_which_file_key_and_problem():
    failure = config_failure(ConfigError(CONFIG_PATH, "policy.age.fail_days", "is not a number"))
    assert failure.conclusion is Conclusion.FAILURE
    assert failure.title == (
        "Invalid .github/trunkguard.yml: policy.age.fail_days: is not a number"
    )
    assert "trunkguard config check .github/trunkguard.yml" in failure.summary
    assert check_run(failure, SHA).output()["title"] == failure.title


# -- the repository's configuration and the kept caches ------------------------------------


def test_the_configuration_is_read_from_the_mirror_over_the_defaults(make_repo):
    t = make_repo()
    base = t.commit({"README": "x\n"}, days_ago=2, branch="main")
    assert read_config(t.repo, "main") == default_config()
    assert read_config(t.repo, "no-such-branch") == default_config()
    t.commit({CONFIG_PATH: "policy:\n  age:\n    fail_days: 30\n"}, days_ago=1, parents=[base],
             branch="main")  # fmt: skip
    assert read_config(t.repo, "main").policy.age.fail_days == 30
    t.commit({f"{CONFIG_PATH}/oops": "x\n"}, days_ago=0.5, parents=[base], branch="main")
    with pytest.raises(ConfigError, match="is not a file"):
        read_config(t.repo, "main")


def test_trunk_indexes_are_kept_per_mirror_and_head_least_recently_used_first_out(make_repo):
    t = make_repo()
    heads = [t.commit({"n": f"{n}\n"}, days_ago=10 - n, branch="main") for n in range(6)]
    _TRUNKS.clear()
    first = trunk_index(t.repo, heads[0])
    assert isinstance(first, TrunkIndex) and first.head == heads[0]
    assert trunk_index(t.repo, heads[0]) is first
    for head in heads[1:TRUNKS_KEPT]:
        trunk_index(t.repo, head)
    assert trunk_index(t.repo, heads[0]) is first  # used again: now the most recent
    trunk_index(t.repo, heads[TRUNKS_KEPT])  # one too many: heads[1] goes
    assert len(_TRUNKS) == TRUNKS_KEPT
    assert trunk_index(t.repo, heads[0]) is first
    assert (t.repo.path, heads[1]) not in _TRUNKS


def test_the_merge_memo_of_a_trunk_tree_is_read_once_and_kept(make_repo, store):
    t = make_repo()
    t.commit({"README": "x\n"}, days_ago=1, branch="main")
    repo = pygit2.Repository(t.repo.path)
    memo = stored_memo(store, repo, "main")
    assert stored_memo(store, repo, "main") is memo
    assert stored_memo(store, repo, "gone") is not stored_memo(store, repo, "gone")
