"""A pull request's check run and comment, as text, from a real repository's figures."""

from __future__ import annotations

import pytest

from analyzers.divergence import scan
from analyzers.forecast import forecast
from analyzers.refs import inventory
from bot.github.records import CheckAnnotation, CheckRun
from bot.policy import default_config, load_config
from bot.review.evaluation import (
    CHECK_NAME,
    MARKER,
    Conclusion,
    PullRequest,
    check_run,
    clashes_for,
    comment_body,
    evaluate,
    resolved_body,
    verdict,
)
from tests.gitrepo import BOB, NOW, lines, numbered


@pytest.fixture
def team(make_repo):
    """main; old-feature (19 days old, conflicts with trunk); two fresh PRs that clash."""
    t = make_repo()
    c1 = t.commit({"app.py": numbered(40, {}), "billing.py": numbered(40, {}), "x.txt": lines(3)},
                  days_ago=30)  # fmt: skip
    c2 = t.commit({"app.py": numbered(40, {5: "trunk five"})}, days_ago=10, parents=[c1])
    c3 = t.commit({"x.txt": lines(4)}, days_ago=1, parents=[c2], branch="main")
    t.commit(
        {"app.py": numbered(40, {5: "old five"})}, days_ago=19, parents=[c1], branch="old-feature"
    )
    t.commit({"billing.py": numbered(40, {30: "invoices"})}, days_ago=1, parents=[c3],
             branch="invoices", author=BOB)  # fmt: skip
    t.commit({"billing.py": numbered(40, {30: "tax"})}, days_ago=1, parents=[c3], branch="tax")
    found = inventory(t.repo, now=NOW)
    report = {b.name: b for b in scan(t.repo, found, NOW).branches}
    predicted = forecast(t.repo, found, NOW)
    return report, predicted


def test_an_old_branch_that_conflicts_with_trunk_fails(team):
    report, predicted = team
    pull = PullRequest(12, "ada", "old-feature", "main")
    trunk = next(x for x in predicted.with_trunk if x.branch == "old-feature")
    result = evaluate(pull, report["old-feature"], trunk.conflicts, [], default_config().policy)
    assert result.conclusion is Conclusion.FAILURE
    assert result.title == "Branch is 19 days old; the limit is 14 days (and 1 more)"
    assert [f.text for f in result.findings] == [
        "Branch is 19 days old; the limit is 14 days",
        "Conflicts with main on 1 file: `app.py` (lines 5)",
    ]
    assert [(a.path, a.start_line, a.end_line, a.level) for a in result.annotations] == [
        ("app.py", 5, 5, "warning")  # conflicts warn by default; only age fails
    ]
    assert result.summary.splitlines()[2] == "| 19 days old | 2 | 1 | 1 | 1 |"
    body = comment_body(pull, result, "problems")
    assert body is not None and body.startswith(MARKER)
    assert "- Conflicts with main on 1 file: `app.py` (lines 5)" in body


def test_two_pull_requests_that_will_conflict_name_each_other(team):
    report, predicted = team
    pulls = {"invoices": (21, "bob"), "tax": (22, "ada")}
    clashes = clashes_for("tax", predicted.pairs, pulls)
    pull = PullRequest(22, "ada", "tax", "main")
    result = evaluate(pull, report["tax"], (), clashes, default_config().policy)
    assert result.conclusion is Conclusion.NEUTRAL
    assert result.title == "Will conflict with #21 by @bob once either lands"
    assert result.findings[0].detail == "`billing.py` (lines 30)"
    assert [(a.path, a.start_line, a.message) for a in result.annotations] == [
        ("billing.py", 30, "Conflicts with #21")
    ]
    fail = load_config("policy:\n  conflicts:\n    between_pulls: fail\n").policy
    assert evaluate(pull, report["tax"], (), clashes, fail).conclusion is Conclusion.FAILURE
    off = load_config("policy:\n  conflicts:\n    between_pulls: 'off'\n").policy
    quiet = evaluate(pull, report["tax"], (), clashes, off)
    assert quiet.conclusion is Conclusion.SUCCESS and quiet.annotations == ()


def test_the_verdict_from_a_forecast_equals_the_evaluation_from_its_parts(team):
    report, predicted = team
    policy = default_config().policy
    pulls = {"invoices": (21, "bob"), "tax": (22, "ada"), "old-feature": (12, "ada")}
    for name, (number, author) in pulls.items():
        pull = PullRequest(number, author, name, "main")
        on_trunk = next((x.conflicts for x in predicted.with_trunk if x.branch == name), ())
        clashes = clashes_for(name, predicted.pairs, pulls)
        expected = evaluate(pull, report[name], on_trunk, clashes, policy)
        assert verdict(pull, name, report[name], predicted, pulls, policy) == expected
    judged = verdict(PullRequest(22, "ada", "tax", "main"), "tax", report["tax"], predicted,
                     pulls, policy)  # fmt: skip
    assert judged.title == "Will conflict with #21 by @bob once either lands"


def test_a_healthy_pull_request_gets_success_and_no_comment(team):
    report, predicted = team
    pull = PullRequest(21, "bob", "invoices", "main")
    result = evaluate(pull, report["invoices"], (), [], default_config().policy)
    assert result.conclusion is Conclusion.SUCCESS
    assert result.title == "Branch is 1 day old, 0 commits behind main: all is well"
    assert comment_body(pull, result, "problems") is None
    assert comment_body(pull, result, "always") == (
        f"{MARKER}\n**trunkguard**: all is well. {result.title}."
    )
    assert resolved_body().startswith(MARKER + "\n**trunkguard**: resolved")


@pytest.mark.parametrize(
    ("pull", "config", "reason"),
    [
        (PullRequest(12, "ada", "old-feature", "main", draft=True), "",
         "Draft pull request: not checked until it is ready for review"),
        (PullRequest(12, "ada", "old-feature", "main", labels=("wip",)),
         "policy:\n  exempt:\n    labels: [wip]\n", "Exempt: labelled 'wip'"),
        (PullRequest(12, "ada", "old-feature", "main"),
         "policy:\n  exempt:\n    branches: ['old-*']\n", "Exempt: branch matches 'old-*'"),
    ],
)  # fmt: skip
def test_exempt_pull_requests_are_neutral_with_the_reason(team, pull, config, reason):
    report, _ = team
    result = evaluate(pull, report["old-feature"], (), [], load_config(config).policy)
    assert (result.conclusion, result.title, result.exempt) == (Conclusion.NEUTRAL, reason, reason)
    assert comment_body(pull, result, "always") is None


def test_behind_limits_once_configured(team):
    report, _ = team
    policy = load_config("policy:\n  behind:\n    warn_commits: 1\n    fail_commits: 5\n").policy
    pull = PullRequest(12, "ada", "old-feature", "main")
    result = evaluate(pull, report["old-feature"], (), [], policy)
    assert "Branch is 2 commits behind main; the limit is 1" in [f.text for f in result.findings]


def test_the_check_run_says_the_verdict_with_its_annotations(team):
    report, predicted = team
    pull = PullRequest(12, "ada", "old-feature", "main")
    trunk = next(x for x in predicted.with_trunk if x.branch == "old-feature")
    result = evaluate(pull, report["old-feature"], trunk.conflicts, [], default_config().policy)
    run = check_run(result, "c" * 40, "a digest")
    assert run == CheckRun(
        CHECK_NAME,
        "c" * 40,
        "failure",
        result.title,
        result.summary,
        annotations=(CheckAnnotation("app.py", 5, 5, "warning", "Conflicts with main"),),
        external_id="a digest",
    )
    assert run.output()["annotations"] == [
        {"path": "app.py", "start_line": 5, "end_line": 5, "annotation_level": "warning",
         "message": "Conflicts with main"}
    ]  # fmt: skip
    assert "text" not in run.output()
    assert check_run(result, "c" * 40).external_id is None
