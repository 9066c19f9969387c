"""Webhook payloads: the fields trunkguard uses, within GitHub's own limits, or one line naming
the field that is not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.service.payloads import (
    CheckRunEvent,
    CheckSuiteEvent,
    InstallationEvent,
    InvalidPayload,
    PullRequestEvent,
    PushEvent,
    Repository,
    parse,
)

WEBHOOKS = Path(__file__).parent / "fixtures/github/webhooks"
MODELS = {
    "check_run": CheckRunEvent,
    "check_suite": CheckSuiteEvent,
    "installation": InstallationEvent,
    "installation_repositories": InstallationEvent,
    "pull_request": PullRequestEvent,
    "push": PushEvent,
}


@pytest.mark.parametrize(
    "path", sorted(p for p in WEBHOOKS.glob("*/*.json") if p.parent.name in MODELS), ids=str
)
def test_every_recorded_payload_is_valid(path):
    parse(MODELS[path.parent.name], json.loads(path.read_text()))


@pytest.mark.parametrize(
    "name",
    [
        "o/r",
        "Codertocat/Hello-World",
        "a" * 39 + "/" + "r" * 100,
        "octo-org/.github",
        "o/..x",
        "o/...",
        "o/_r.x-y",
        "o-/r",  # old logins may end with a hyphen
        "0/9",
    ],
)
def test_owner_and_repository_names_within_githubs_limits(name):
    assert parse(Repository, {"full_name": name}).full_name == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "o",
        "/r",
        "o/",
        "-o/r",
        "a" * 40 + "/r",
        "o/" + "r" * 101,
        "o/.",
        "o/..",
        "../../app/installations",
        "o/r/x",
        "o/r\n",
        "o\n/r",
        "o/r ",
        "o r/x",
        "ö/r",
        "o/r%2F..",
        "o_x/r",
        123,
        None,
        True,
        ["o/r"],
        {"o": "r"},
    ],
)
def test_anything_else_is_not_an_owner_and_name(name):
    with pytest.raises(InvalidPayload) as raised:
        parse(Repository, {"full_name": name})
    assert str(raised.value) == "full_name: not an owner/name"
    assert raised.value.field == "full_name"


def opened(**pull) -> dict:
    payload = json.loads((WEBHOOKS / "pull_request/opened.json").read_text())
    payload["pull_request"].update(pull)
    return payload


@pytest.mark.parametrize("number", [True, False, 0, -2, 2.0, 2.5, "2", None, 2**63, float("inf")])
def test_numbers_are_positive_integers_not_booleans_floats_or_strings(number):
    with pytest.raises(InvalidPayload, match=r"^pull_request\.number: not a positive integer$"):
        parse(PullRequestEvent, opened(number=number))


@pytest.mark.parametrize(
    ("head", "problem"),
    [
        ({"ref": "", "sha": "a" * 40}, "pull_request.head.ref: not a git ref name"),
        ({"ref": "x\ny", "sha": "a" * 40}, "pull_request.head.ref: not a git ref name"),
        ({"ref": "x" * 1025, "sha": "a" * 40}, "pull_request.head.ref: not a git ref name"),
        ({"ref": 7, "sha": "a" * 40}, "pull_request.head.ref: not a git ref name"),
        ({"ref": "x", "sha": "A" * 40}, "pull_request.head.sha: not a commit id"),
        ({"ref": "x", "sha": "a" * 40 + "\n"}, "pull_request.head.sha: not a commit id"),
        ({"ref": "x", "sha": "a" * 39}, "pull_request.head.sha: not a commit id"),
        ({"ref": "x"}, "pull_request.head.sha: missing"),
        ("x", "pull_request.head: not an object"),
    ],
)
def test_refs_and_commit_ids_are_strings_of_sane_length(head, problem):
    with pytest.raises(InvalidPayload) as raised:
        parse(PullRequestEvent, opened(head=head))
    assert str(raised.value) == problem


def test_a_sha_256_commit_id_and_a_long_branch_name_are_valid():
    pull = parse(PullRequestEvent, opened(head={"ref": "é/" + "x" * 1000, "sha": "b" * 64}))
    assert pull.pull_request.head is not None and pull.pull_request.head.sha == "b" * 64


def test_installation_ids_are_not_booleans():
    payload = {"action": "created", "installation": {"id": True}}
    with pytest.raises(InvalidPayload, match=r"^installation\.id: not a positive integer$"):
        parse(InstallationEvent, payload)


def test_lists_are_checked_entry_by_entry():
    payload = {"installation": {"id": 1}, "repositories_added": [{"full_name": "o/r"}, {}, 3]}
    with pytest.raises(InvalidPayload) as raised:
        parse(InstallationEvent, payload)
    assert str(raised.value) == "repositories_added[2]: not an object"
    payload["repositories_added"] = "o/r"
    with pytest.raises(InvalidPayload, match=r"^repositories_added: not a list$"):
        parse(InstallationEvent, payload)
