"""Webhook routing: every recorded delivery, and the actions around it, to the jobs it asks for."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from bot.service.job import Job
from bot.service.payloads import InvalidPayload
from bot.service.routing import ROUTERS, jobs_for

WEBHOOKS = Path(__file__).parent / "fixtures/github/webhooks"
HELLO = "Codertocat/Hello-World"
HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"


def recorded(name: str) -> dict:
    return json.loads((WEBHOOKS / f"{name}.json").read_text())


# Each recorded delivery (event/action file) and the jobs it asks for.
EXPECTED = {
    "check_run/rerequested": [
        Job("rerun_commit", {"installation": 1, "repository": "github/hello-world",
            "head_sha": "d6fde92930d4715a2b49857d24b940956b26d2d3", "force": True,
            "numbers": None}),
    ],  # a fork's pull request is not listed: found by its head commit
    "check_suite/requested": [
        Job("rerun_commit", {"installation": 957387, "repository": HELLO, "force": False,
            "head_sha": "f95f852bd8fca8fcc58a9a2d6c842781e32a215e", "numbers": None}),
    ],
    "check_suite/rerequested": [
        Job("rerun_commit", {"installation": 957387, "repository": HELLO, "force": True,
            "head_sha": "ec26c3e57ca3a959ca5aad62de7213c562f8c821", "numbers": [2]}),
    ],  # the suite's own commit, whichever is the pull request's newest head by now
    "installation/created": [
        Job("register_repositories", {"installation": 957387, "added": [HELLO]}),
    ],
    "installation/deleted": [Job("forget_repositories", {"installation": 2, "removed": None})],
    "installation_repositories/added": [
        Job("register_repositories", {"installation": 957387, "added": ["Codertocat/Space"]}),
    ],
    "installation_repositories/removed": [
        Job("forget_repositories", {"installation": 2, "removed": ["octocat/Hello-World"]}),
    ],
    "ping/payload": [],
    "pull_request/closed": [
        Job("pull_closed", {"installation": 1, "repository": HELLO, "number": 2,
            "head_ref": "changes", "head_sha": HEAD, "merge_commit": None}),
    ],  # closed without merging: nothing landed
    "pull_request/edited": [],  # the title changed, not the base
    "pull_request/opened": [Job("evaluate_pull", {"installation": 1, "repository": HELLO,
                                                  "number": 2})],
    "pull_request/reopened": [Job("evaluate_pull", {"installation": 1, "repository": HELLO,
                                                    "number": 2})],
    "pull_request/synchronize": [Job("evaluate_pull", {"installation": 1, "repository": HELLO,
                                                       "number": 2})],
    "push/with-installation": [],  # a tag deleted, not trunk moved
}  # fmt: skip


def test_every_recorded_delivery_has_its_expected_jobs():
    files = {str(p.relative_to(WEBHOOKS).with_suffix("")) for p in WEBHOOKS.glob("*/*.json")}
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_recorded_delivery_asks_for_its_jobs(name):
    event = name.split("/")[0]
    assert jobs_for(event, recorded(name)) == EXPECTED[name]


def varied(name: str, **changes) -> dict:
    payload = copy.deepcopy(recorded(name))
    payload.update(changes)
    return payload


def test_installation_actions():
    created = recorded("installation/created")
    for action in ("created", "new_permissions_accepted", "unsuspend"):
        assert jobs_for("installation", {**created, "action": action}) == [
            Job("register_repositories", {"installation": 957387, "added": [HELLO]})
        ]
    for action in ("deleted", "suspend"):
        assert jobs_for("installation", {**created, "action": action}) == [
            Job("forget_repositories", {"installation": 957387, "removed": None})
        ]
    assert jobs_for("installation", {**created, "action": "renamed"}) == []


def test_repositories_added_and_removed_at_once_are_two_jobs():
    payload = recorded("installation_repositories/added")
    payload["repositories_removed"] = [{"full_name": "Codertocat/Old"}, {"id": 3}]
    assert jobs_for("installation_repositories", payload) == [
        Job("register_repositories", {"installation": 957387, "added": ["Codertocat/Space"]}),
        Job("forget_repositories", {"installation": 957387, "removed": ["Codertocat/Old"]}),
    ]


@pytest.mark.parametrize(
    "action", ["ready_for_review", "converted_to_draft", "labeled", "unlabeled"]
)
def test_pull_request_actions_that_can_change_the_verdict_review_it(action):
    payload = varied("pull_request/opened", action=action)
    assert jobs_for("pull_request", payload) == [
        Job("evaluate_pull", {"installation": 1, "repository": HELLO, "number": 2})
    ]


@pytest.mark.parametrize("action", ["assigned", "review_requested", "milestoned", "locked"])
def test_other_pull_request_actions_ask_for_nothing(action):
    assert jobs_for("pull_request", varied("pull_request/opened", action=action)) == []


def test_a_pull_request_whose_base_changed_is_reviewed():
    payload = varied("pull_request/edited", changes={"base": {"ref": {"from": "develop"}}})
    assert jobs_for("pull_request", payload) == [
        Job("evaluate_pull", {"installation": 63922, "repository": "ocombe/test", "number": 10})
    ]


def test_a_merged_pull_request_names_its_merge_commit():
    payload = recorded("pull_request/closed")
    payload["pull_request"]["merged"] = True
    [closed] = jobs_for("pull_request", payload)
    assert closed.arguments["merge_commit"] == "c4295bd74fb0f4fda03689c3df3f2803b658fd85"


def test_a_push_to_trunk_reviews_every_open_pull_request_and_follows_the_report_time():
    push = varied("push/with-installation", ref="refs/heads/master", deleted=False)
    where = {"installation": 1, "repository": HELLO}
    assert jobs_for("push", push) == [
        Job("evaluate_open_pulls", where),
        Job("follow_report_schedule", where),
    ]
    assert jobs_for("push", {**push, "ref": "refs/heads/feature"}) == []  # not trunk
    assert jobs_for("push", {**push, "deleted": True}) == []


def test_check_suites_completed_and_check_runs_created_ask_for_nothing():
    assert jobs_for("check_suite", varied("check_suite/requested", action="completed")) == []
    assert jobs_for("check_run", varied("check_run/rerequested", action="created")) == []


@pytest.mark.parametrize("event", ["ping", "watch", "issues", "star", "workflow_run", ""])
def test_events_trunkguard_does_not_act_on_ask_for_nothing(event):
    assert event not in ROUTERS
    assert jobs_for(event, recorded("pull_request/opened")) == []


@pytest.mark.parametrize(
    ("event", "payload", "problem"),
    [
        ("installation", {"action": "created"}, "installation: missing"),
        ("installation_repositories", {"installation": {}}, "installation.id: missing"),
        ("pull_request", {"action": "assigned", "installation": {"id": 1}},
         "repository: missing"),
        ("pull_request", {"action": "opened", "installation": {"id": "x"},
                          "repository": {"full_name": "o/r"}},
         "installation.id: not a positive integer"),
        ("push", {"installation": {"id": 1}, "repository": {"full_name": "o/r"}}, "ref: missing"),
        ("check_suite", {"action": "completed", "installation": {"id": 1}},
         "repository: missing"),
        ("check_run", {"action": "rerequested", "installation": {"id": 1},
                       "repository": {"full_name": "o/r"}, "check_run": {}},
         "check_run.head_sha: missing"),
    ],
)  # fmt: skip
def test_a_payload_without_the_fields_its_event_must_have_names_the_field(event, payload, problem):
    with pytest.raises(InvalidPayload) as raised:
        jobs_for(event, payload)
    assert str(raised.value) == problem


def test_the_resolve_button_pressed_asks_for_that_commits_resolution():
    pressed = varied("check_run/rerequested", action="requested_action")
    pressed["requested_action"] = {"identifier": "resolve"}
    pressed["check_run"]["pull_requests"] = [{"number": 9}]
    assert jobs_for("check_run", pressed) == [
        Job("resolve_pull", {"installation": 1, "repository": "github/hello-world",
            "head_sha": "d6fde92930d4715a2b49857d24b940956b26d2d3", "numbers": [9]}),
    ]  # fmt: skip
    another = {**pressed, "requested_action": {"identifier": "someone-elses"}}
    assert jobs_for("check_run", another) == []  # not our button
    assert (
        jobs_for("check_run", {k: v for k, v in pressed.items() if k != "requested_action"}) == []
    )
    with pytest.raises(InvalidPayload, match="requested_action.identifier"):
        jobs_for("check_run", {**pressed, "requested_action": {"identifier": 7}})


def test_pull_requests_of_other_repositories_listed_by_a_check_run_are_left_out():
    # GitHub lists a commit's pull requests into other repositories too (an upstream's, the
    # same commit proposed there): their numbers are not this repository's.
    pressed = varied("check_run/rerequested", action="requested_action")
    pressed["requested_action"] = {"identifier": "resolve"}
    here = pressed["repository"]["id"]
    pressed["check_run"]["pull_requests"] = [
        {"number": 5, "base": {"ref": "main", "repo": {"id": here}}},
        {"number": 7, "base": {"ref": "main", "repo": {"id": here + 1}}},
    ]
    [job] = jobs_for("check_run", pressed)
    assert job.arguments["numbers"] == [5]
    rerun = {**pressed, "action": "rerequested"}
    [job] = jobs_for("check_run", rerun)
    assert job.arguments["numbers"] == [5]
    pressed["check_run"]["pull_requests"] = pressed["check_run"]["pull_requests"][1:]
    [job] = jobs_for("check_run", pressed)
    assert job.arguments["numbers"] == []  # none of ours: found by its head, as a fork's
