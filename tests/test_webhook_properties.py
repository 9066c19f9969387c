"""The webhook intake under arbitrary headers and bodies: random bytes, random JSON, recorded
payloads with a field changed and signed again with the right secret. Every answer is one of
200/202/400/401/413/503, the server stays up, and only a verified, valid delivery queues."""

from __future__ import annotations

import copy
import itertools
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import event as target_event
from hypothesis import strategies as st

from bot.github.webhooks import signature
from bot.service.limits import Limits, Throttle
from bot.service.server import create_app
from bot.store import Store
from tests.test_server import Recorded

SECRET = b"It's a Secret to Everybody"
WEBHOOKS = Path(__file__).parent / "fixtures/github/webhooks"
RECORDED = {
    str(path.relative_to(WEBHOOKS)): (path.parent.name, json.loads(path.read_text()))
    for path in sorted(WEBHOOKS.glob("*/*.json"))
}
# The fields trunkguard reads, and a few it does not: where a mutation lands.
PATHS = [
    ("action",),
    ("installation",),
    ("installation", "id"),
    ("repository",),
    ("repository", "full_name"),
    ("repository", "default_branch"),
    ("repositories",),
    ("repositories_added",),
    ("repositories_removed",),
    ("pull_request", "number"),
    ("pull_request", "merged"),
    ("pull_request", "merge_commit_sha"),
    ("pull_request", "head"),
    ("pull_request", "head", "ref"),
    ("pull_request", "head", "sha"),
    ("changes",),
    ("ref",),
    ("deleted",),
    ("check_suite", "head_sha"),
    ("check_suite", "pull_requests"),
    ("check_run", "head_sha"),
    ("check_run", "pull_requests"),
    ("sender", "login"),
]
FULL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}")
ANSWERS = {200, 202, 400, 401, 413, 503}
DELIVERIES = itertools.count()  # a new delivery id each time: none is a redelivery
MAX_BODY = 64 * 1024  # over every recorded payload, and small: bodies over it are quick to make

header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()  # NaN and Infinity too: json.dumps writes them, JSON has none
    | st.text(max_size=30)
    | st.sampled_from(["o/r", "o/r\n", "../../app/installations", "o/..", "a" * 40 + "/r"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def mutated(draw) -> tuple[str, bytes]:
    """A recorded delivery's event and its payload, as recorded or with one field changed
    or removed."""
    event, payload = RECORDED[draw(st.sampled_from(sorted(RECORDED)))]
    payload = copy.deepcopy(payload)
    path = draw(st.sampled_from(PATHS))
    parent = payload
    for key in path[:-1]:
        parent = parent.setdefault(key, {}) if isinstance(parent, dict) else {}
    change = draw(st.sampled_from(["keep", "drop", "set", "set"]))
    if isinstance(parent, dict) and change == "drop":
        parent.pop(path[-1], None)
    elif isinstance(parent, dict) and change == "set":
        parent[path[-1]] = draw(json_values)
    return event, json.dumps(payload).encode()


def nested(depth: int) -> bytes:
    return b'{"action": "opened", "a": ' + b"[" * depth + b"]" * depth + b"}"


events = (
    st.sampled_from(
        ["ping", "installation", "installation_repositories", "pull_request", "push", "check_suite"]
        + ["check_run", "watch"]
    )
    | header_text
)
bodies = st.one_of(
    st.binary(max_size=300).map(lambda body: (None, body)),
    st.integers(MAX_BODY + 1, MAX_BODY + 1000).map(lambda size: (None, b"{" * size)),
    json_values.map(lambda value: (None, json.dumps(value).encode())),
    mutated(),
    mutated(),
    st.integers(500, 5000).map(lambda depth: (None, nested(depth))),
)


@pytest.fixture(scope="module")
def intake(tmp_path_factory):
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('intake') / 'store.db'}")
    store.upgrade()
    jobs = Recorded()
    app = create_app(SECRET, store, jobs, Limits(max_body=MAX_BODY), refusals=Throttle())
    with TestClient(app) as client:  # raises whatever the app raises: a 500 fails the test
        yield client, jobs
    store.close()


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    event=events | st.none(),
    delivery=st.one_of(*[st.uuids().map(str)] * 3, header_text, st.none()),
    content_type=st.one_of(st.just("application/json"), header_text, st.none()),
    body=bodies,
    signing=st.sampled_from(["right", "right", "right", "wrong", "none", "garbage"]),
    garbage=header_text,
    own_event=st.sampled_from([True, True, True, False]),
)
def test_every_answer_is_expected_and_only_a_verified_valid_delivery_queues(
    intake, event, delivery, content_type, body, signing, garbage, own_event
):
    client, jobs = intake
    recorded_event, content = body
    if recorded_event is not None and own_event:  # a changed payload, under its own event
        event = recorded_event
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "Content-Type": content_type,
        "X-Hub-Signature-256": {
            "right": signature(SECRET, content),
            "wrong": signature(b"another secret", content),
            "none": None,
            "garbage": garbage,
        }[signing],
    }
    queued = len(jobs)
    answer = client.post(
        "/webhook", content=content, headers={k: v for k, v in headers.items() if v is not None}
    )
    assert answer.status_code in ANSWERS, answer.text
    target_event(f"{answer.status_code}")
    assert answer.json()["message"].count("\n") == 0
    if signing != "right" and len(content) <= MAX_BODY:
        assert answer.status_code == 401
    if answer.status_code != 202:
        assert len(jobs) == queued, "queued for a delivery refused or not acted on"
    for job in jobs[queued:]:
        names = [job.arguments.get("repository")]
        names += job.arguments.get("added") or job.arguments.get("removed") or []
        assert all(FULL_NAME.fullmatch(name) for name in names if name is not None), job
        assert type(job.arguments["installation"]) is int and job.arguments["installation"] > 0
    assert client.get("/healthz").json() == {"status": "ok"}


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=mutated())
def test_a_signed_recorded_payload_changed_anywhere_is_queued_only_when_valid(intake, body):
    client, jobs = intake
    event, content = body
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": f"mutated-{next(DELIVERIES)}",
        "X-Hub-Signature-256": signature(SECRET, content),
    }
    queued = len(jobs)
    answer = client.post("/webhook", content=content, headers=headers)
    target_event(f"{answer.status_code}")
    assert answer.status_code in {200, 202, 400}, answer.text
    if answer.status_code == 400:
        assert len(jobs) == queued
        assert re.fullmatch(
            r"[a-z_\[\]0-9.]+: [a-z /]+|the body is not JSON", answer.json()["message"]
        )
    for job in jobs[queued:]:
        names = [job.arguments.get("repository")]
        names += job.arguments.get("added") or job.arguments.get("removed") or []
        assert all(FULL_NAME.fullmatch(name) for name in names if name is not None), job
        assert type(job.arguments["installation"]) is int and job.arguments["installation"] > 0
