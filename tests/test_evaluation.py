"""A pull request's check run and comment, as text, from a real repository's figures."""

from __future__ import annotations

import pytest

from analyzers.conflicts import Conflict, ConflictKind
from analyzers.divergence import scan
from analyzers.forecast import forecast
from analyzers.refs import inventory
from analyzers.resolve.records import Grade, NeedsPerson, Resolved
from bot.github.records import CheckAnnotation, CheckRun
from bot.policy import default_config, load_config
from bot.review.evaluation import (
    CHECK_NAME,
    MARKER,
    PullRequest,
    check_run,
    clashes_for,
    comment_body,
    evaluate,
    resolved_body,
    verdict,
)
from bot.review.findings import Clash, Conclusion
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


RESOLVED = Resolved(b"both entries\n", "changelog", ("changelog",))
PERSON = NeedsPerson(Grade("easy", 2, 1, "same lines"), "both sides changed the same lines")


def _conflict(path: str, line: int) -> Conflict:
    return Conflict(path, ConflictKind.CONTENT, ((line, line),), ((line, line),))


def _fresh(team):
    report, _ = team
    return report["tax"]


def test_each_conflict_with_trunk_says_whether_a_machine_resolves_it(team):
    pull = PullRequest(22, "ada", "tax", "main")
    conflicts = [_conflict("CHANGELOG.md", 3), _conflict("src/billing.py", 10)]
    labels = {"CHANGELOG.md": RESOLVED, "src/billing.py": PERSON}
    policy = load_config("policy:\n  conflicts:\n    with_trunk: fail\n").policy

    result = evaluate(pull, _fresh(team), conflicts, [], policy, trunk_labels=labels)

    assert [(f.conclusion, f.text) for f in result.findings] == [
        (
            Conclusion.FAILURE,
            "Conflicts with main on 1 file: `src/billing.py` (lines 10) — needs you "
            "(both sides changed the same lines)",
        ),
        (
            Conclusion.NEUTRAL,
            "Conflicts with main on 1 file that trunkguard can resolve: `CHANGELOG.md` "
            "(lines 3) — trunkguard can resolve this (changelog)",
        ),
    ]
    assert result.conclusion is Conclusion.FAILURE  # for the one that needs a person
    levels = {a.path: a.level for a in result.annotations}
    assert levels == {"src/billing.py": "failure", "CHANGELOG.md": "warning"}


def test_a_conflict_only_a_machine_needs_is_a_warning_whatever_the_policy(team):
    pull = PullRequest(22, "ada", "tax", "main")
    conflicts = [_conflict("CHANGELOG.md", 3)]
    labels = {"CHANGELOG.md": RESOLVED}
    failing = load_config("policy:\n  conflicts:\n    with_trunk: fail\n").policy
    warned = evaluate(pull, _fresh(team), conflicts, [], failing, trunk_labels=labels)
    assert warned.conclusion is Conclusion.NEUTRAL
    assert warned.title == "Conflicts with main on 1 file that trunkguard can resolve"

    quiet = load_config(
        "policy:\n  conflicts:\n    with_trunk: fail\n    resolvable: 'off'\n"
    ).policy
    result = evaluate(pull, _fresh(team), conflicts, [], quiet, trunk_labels=labels)
    assert result.conclusion is Conclusion.SUCCESS and result.findings == ()
    unlabelled = evaluate(pull, _fresh(team), conflicts, [], failing)
    assert unlabelled.conclusion is Conclusion.FAILURE  # no engine answer: a person's


def test_a_pull_request_a_machine_can_merge_with_is_a_warning_naming_it(team):
    pull = PullRequest(22, "ada", "tax", "main")
    policy = load_config("policy:\n  conflicts:\n    between_pulls: fail\n").policy
    machine = Clash(8, "bob", (_conflict("CHANGELOG.md", 3),), True, {"CHANGELOG.md": RESOLVED})
    person = Clash(9, "eve", (_conflict("src/billing.py", 10),), True, {"src/billing.py": PERSON})

    result = evaluate(pull, _fresh(team), [], [machine, person], policy)

    assert [(f.conclusion, f.text) for f in result.findings] == [
        (
            Conclusion.NEUTRAL,
            "Will conflict with #8 by @bob once either lands (trunkguard can resolve it): "
            "`CHANGELOG.md` (lines 3) — trunkguard can resolve this (changelog)",
        ),
        (
            Conclusion.FAILURE,
            "Will conflict with #9 by @eve once either lands: `src/billing.py` (lines 10) — "
            "needs you (both sides changed the same lines)",
        ),
    ]


def test_the_verdict_labels_conflicts_from_the_engine_on_a_real_repository(make_repo):
    from analyzers.resolve.labels import label_trunk_conflicts

    t = make_repo()
    base = t.commit({"app.py": numbered(40, {})}, days_ago=5)
    t.commit({"app.py": numbered(40, {5: "trunk five"})}, days_ago=3, parents=[base], branch="main")
    t.commit({"app.py": numbered(40, {5: "mine five"})}, days_ago=1, parents=[base], branch="f")
    found = inventory(t.repo, now=NOW)
    predicted = forecast(t.repo, found, NOW)
    branch = next(b for b in scan(t.repo, found, NOW).branches if b.name == "f")
    labels = label_trunk_conflicts(t.repo, predicted.trunk_head, predicted.with_trunk)

    pull = PullRequest(3, "ada", "f", "main")
    result = verdict(pull, "f", branch, predicted, {}, default_config().policy, labels=labels)

    assert [f.text for f in result.findings] == [
        "Conflicts with main on 1 file: `app.py` (lines 5) — needs you "
        "(both sides changed the same lines)"
    ]
