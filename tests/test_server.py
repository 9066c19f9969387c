"""The webhook endpoint: signed deliveries are recorded and queued, anything else is refused."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.github.webhooks import signature
from bot.service.job import Job, Services
from bot.service.limits import Limits, Throttle
from bot.service.queue import InProcessQueue
from bot.service.routing import jobs_for
from bot.service.server import create_app
from bot.service.settings import SettingsError, load_settings
from bot.store import Store
from tests.fakegithub import app_key_pair

FIXTURES = Path(__file__).parent / "fixtures/github/webhooks"
SECRET = b"It's a Secret to Everybody"


def recorded(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def store(db_url):
    with Store(db_url) as opened:
        opened.upgrade()
        yield opened


def services(store, mirrors=Path("/nonexistent/mirrors")) -> Services:
    return Services(store, None, mirrors)


@pytest.fixture
def served(store):
    jobs = InProcessQueue(services(store))
    client = TestClient(create_app(SECRET, store, jobs))
    yield client, jobs
    jobs.close()


def deliver(client, event: str, body: bytes, delivery: str = "d-1", secret: bytes = SECRET):
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": signature(secret, body),
        "Content-Type": "application/json",
    }
    return client.post("/webhook", content=body, headers=headers)


def test_healthz(served):
    client, _ = served
    assert client.get("/healthz").json() == {"status": "ok"}


def test_an_installation_registers_its_repositories_once(served, store):
    client, jobs = served
    answer = deliver(client, "installation", recorded("installation/created.json"))
    assert (answer.status_code, answer.json()) == (202, {"message": "queued 1 job"})
    jobs.join()
    assert store.installation_of("Codertocat/Hello-World") == 957387
    again = deliver(client, "installation", recorded("installation/created.json"))
    assert (again.status_code, again.json()) == (200, {"message": "already received"})


def test_repositories_added_and_removed(served, store):
    client, jobs = served
    deliver(client, "installation_repositories", recorded("installation_repositories/added.json"))
    jobs.join()
    assert store.installation_of("Codertocat/Space") == 957387
    store.register_installation(2, ["octocat/Hello-World"])
    removed = recorded("installation_repositories/removed.json")
    assert deliver(client, "installation_repositories", removed, "d-2").status_code == 202
    jobs.join()
    assert store.installation_of("octocat/Hello-World") is None


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Hub-Signature-256": "sha256=" + "0" * 64},
        {"X-Hub-Signature-256": signature(b"another secret", b"{}")},
    ],
)
def test_a_missing_or_wrong_signature_is_401_and_nothing_happens(served, store, headers):
    client, _ = served
    body = recorded("installation/created.json")
    answer = client.post(
        "/webhook",
        content=body,
        headers={"X-GitHub-Event": "installation", "X-GitHub-Delivery": "d-9", **headers},
    )
    assert answer.status_code == 401
    assert store.installation_of("Codertocat/Hello-World") is None
    # The delivery id was not taken: the real delivery with that id is still acted on.
    assert deliver(client, "installation", body, "d-9").status_code == 202


@pytest.mark.parametrize(
    ("event", "body", "status", "message"),
    [
        ("ping", recorded("ping/payload.json"), 200, "pong"),
        ("pull_request", b'{"action": "assigned", "installation": {"id": 1}, '
         b'"repository": {"full_name": "o/r"}, "pull_request": {"number": 1}}',
         202, "pull_request is not acted on"),
        ("pull_request", b'{"action": "opened", "installation": {"id": 1}}', 400,
         "repository: missing"),
        ("watch", b'{"action": "started"}', 202, "watch is not acted on"),
        ("installation", b"{not json", 400, "the body is not JSON"),
        ("installation", b'["a list"]', 400, "the body is not a JSON object"),
        ("installation", recorded("installation/created.json")[:200], 400, "the body is not JSON"),
        ("installation", b'{"action": "created"}', 400, "installation: missing"),
    ],
)  # fmt: skip
def test_answers(served, event, body, status, message):
    client, _ = served
    answer = deliver(client, event, body)
    assert (answer.status_code, answer.json()["message"]) == (status, message)


def test_a_delivery_that_cannot_be_recorded_is_a_5xx_so_github_sends_it_again(tmp_path, caplog):
    unready = Store(f"sqlite:///{tmp_path / 'no-schema.db'}")  # no tables: every write fails
    jobs = InProcessQueue(services(unready))
    try:
        client = TestClient(create_app(SECRET, unready, jobs))
        with caplog.at_level(logging.ERROR):
            answer = deliver(client, "installation", recorded("installation/created.json"))
        assert answer.status_code == 503
        assert SECRET.decode() not in caplog.text
    finally:
        jobs.close()
        unready.close()


def test_a_failing_job_is_logged_and_the_next_one_runs(store, caplog, monkeypatch):
    import bot.service.job

    def broken(services, **arguments):
        raise RuntimeError("boom")

    monkeypatch.setitem(bot.service.job.JOBS, "broken", broken)
    monkeypatch.setitem(bot.service.job.JOBS, "scan_repository", lambda services, **arguments: [])
    jobs = InProcessQueue(services(store))
    with caplog.at_level(logging.ERROR):
        jobs.put(Job("broken", {}, "d-5"))
        jobs.put(Job("register_repositories", {"installation": 7, "added": ["o/r"]}))
        jobs.join()
    jobs.close()
    assert "job failed" in caplog.text
    assert store.installation_of("o/r") == 7


def test_uninstalling_unlinks_every_repository(served, store):
    client, jobs = served
    payload = recorded("installation/deleted.json")
    installation = json.loads(payload)["installation"]["id"]
    store.register_installation(installation, ["o/one", "o/two"])
    assert jobs_for("installation", json.loads(payload)) == [
        Job("forget_repositories", {"installation": installation, "removed": None})
    ]
    assert deliver(client, "installation", payload).status_code == 202
    jobs.join()
    assert (store.installation_of("o/one"), store.installation_of("o/two")) == (None, None)


def test_settings_say_every_problem_in_one_line_each_and_hide_secrets(tmp_path):
    with pytest.raises(SettingsError) as caught:
        load_settings({"TRUNKGUARD_APP_ID": "x", "TRUNKGUARD_GITHUB_API_URL": "ghe.example/api/v3"})
    assert str(caught.value).splitlines() == [
        "TRUNKGUARD_APP_ID: Input should be a valid integer, unable to parse string as an integer",
        "TRUNKGUARD_GITHUB_API_URL: must be an http(s) URL, e.g. https://ghe.example/api/v3",
        "TRUNKGUARD_PRIVATE_KEY_PATH: missing (or TRUNKGUARD_PRIVATE_KEY: the App's key)",
        "TRUNKGUARD_WEBHOOK_SECRET: missing (the secret set on the GitHub App)",
    ]
    with pytest.raises(SettingsError) as caught:
        load_settings({"TRUNKGUARD_PRIVATE_KEY_PATH": str(tmp_path / "key.pem")})
    assert str(caught.value).splitlines() == [
        "TRUNKGUARD_APP_ID: missing (the App's id, on its settings page)",
        "TRUNKGUARD_WEBHOOK_SECRET: missing (the secret set on the GitHub App)",
        f"TRUNKGUARD_PRIVATE_KEY_PATH: no such file: {tmp_path / 'key.pem'}",
    ]
    with pytest.raises(SettingsError) as caught:
        load_settings({"TRUNKGUARD_WEBHOOK_SECRET": "s3cret"})
    assert str(caught.value).splitlines() == [
        "TRUNKGUARD_APP_ID: missing (the App's id, on its settings page)",
        "TRUNKGUARD_PRIVATE_KEY_PATH: missing (or TRUNKGUARD_PRIVATE_KEY: the App's key)",
    ]
    key = app_key_pair()[0]
    settings = load_settings(
        {
            "TRUNKGUARD_APP_ID": "12",
            "TRUNKGUARD_WEBHOOK_SECRET": "s3cret",
            "TRUNKGUARD_PRIVATE_KEY": key,
            "TRUNKGUARD_GITHUB_API_URL": "https://ghe.example/api/v3/",
        }
    )
    assert settings.github_api_url == "https://ghe.example/api/v3"
    assert settings.private_key_text() == key
    assert "s3cret" not in repr(settings) and "PRIVATE KEY" not in repr(settings)


def test_serve_over_real_http(tmp_path):
    """`trunkguard serve` on loopback: a signed delivery is acted on, a forged one refused."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (tmp_path / "key.pem").write_bytes(key)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}"  # GitHub is out of reach
    db = f"sqlite:///{tmp_path / 'served.db'}"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "TRUNKGUARD_APP_ID": "12",
        "TRUNKGUARD_PRIVATE_KEY_PATH": str(tmp_path / "key.pem"),
        "TRUNKGUARD_WEBHOOK_SECRET": SECRET.decode(),
        "TRUNKGUARD_DATABASE_URL": db,
        "TRUNKGUARD_GITHUB_API_URL": nowhere,
        "TRUNKGUARD_MIRROR_DIR": str(tmp_path / "mirrors"),
    }
    trunkguard = str(Path(sys.executable).with_name("trunkguard"))
    server = subprocess.Popen(
        [trunkguard, "serve", "--port", str(port)], env=env, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"

    def post(body: bytes, sign_with: bytes, delivery: str) -> int:
        request = urllib.request.Request(
            f"{base}/webhook",
            data=body,
            headers={
                "X-GitHub-Event": "installation",
                "X-GitHub-Delivery": delivery,
                "X-Hub-Signature-256": signature(sign_with, body),
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code

    try:
        deadline = time.monotonic() + 30
        while True:  # bounded: the server starts within seconds or the test fails
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1) as answer:
                    assert json.load(answer) == {"status": "ok"}
                    break
            except OSError:
                assert time.monotonic() < deadline, server.stderr.read() if server.stderr else ""
                time.sleep(0.05)
        body = recorded("installation/created.json")
        assert post(body, b"forged", "e-1") == 401
        assert post(body, SECRET, "e-1") == 202
        assert post(body, SECRET, "e-1") == 200
        with Store(db) as store:
            while store.installation_of("Codertocat/Hello-World") is None:
                assert time.monotonic() < deadline, "the job did not run"
                time.sleep(0.05)
            assert store.installation_of("Codertocat/Hello-World") == 957387
    finally:
        server.terminate()
        server.communicate(timeout=10)  # reaps it and closes its stderr pipe


class Recorded(list):
    """A job queue that keeps what is put into it."""

    def put(self, job: Job, delay: float = 0.0) -> None:
        self.append(job)


@pytest.fixture
def recording(store):
    jobs = Recorded()
    return TestClient(create_app(SECRET, store, jobs, refusals=Throttle())), jobs


def changed(name: str, change) -> bytes:
    payload = json.loads(recorded(name))
    change(payload)
    return json.dumps(payload).encode()


def _set(path: str, value):
    def change(payload):
        *parents, last = path.split(".")
        for key in parents:
            payload = payload[key]
        payload[last] = value

    return change


OPENED = "pull_request/opened.json"
NOT_A_NAME = "repository.full_name: not an owner/name"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (changed(OPENED, _set("repository.full_name", 123)), NOT_A_NAME),
        (changed(OPENED, _set("repository.full_name", None)), NOT_A_NAME),
        (changed(OPENED, _set("repository.full_name", {"a": "b"})), NOT_A_NAME),
        (changed(OPENED, _set("repository.full_name", "../../app/installations")), NOT_A_NAME),
        (changed(OPENED, _set("repository.full_name", "Codertocat/Hello-World\n")), NOT_A_NAME),
        (changed(OPENED, _set("repository.full_name", "Codertocat/..")), NOT_A_NAME),
        (changed(OPENED, _set("installation.id", True)),
         "installation.id: not a positive integer"),
        (changed(OPENED, _set("pull_request.number", 2.0)),
         "pull_request.number: not a positive integer"),
        (recorded(OPENED).replace(b'"number": 2,', b'"number": Infinity,', 1),
         "the body is not JSON"),
        (recorded(OPENED).replace(b'"number": 2,', b'"number": NaN,', 1), "the body is not JSON"),
        (b'{"action": "opened", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
         "the body is nested too deeply"),
        (changed("pull_request/closed.json", _set("pull_request.head.ref", "a\x1b[2Jb")),
         "pull_request.head.ref: not a git ref name"),
        (changed("installation/created.json", _set("repositories", [{"full_name": "o/r\n"}])),
         "repositories[0].full_name: not an owner/name"),
    ],
)  # fmt: skip
def test_a_signed_but_malformed_payload_is_400_naming_the_field_and_nothing_is_kept(
    recording, store, body, problem, caplog
):
    client, jobs = recording
    event = "installation" if b'"repositories"' in body[:2000] else "pull_request"
    with caplog.at_level(logging.WARNING):
        answer = deliver(client, event, body, "d-bad")
    assert (answer.status_code, answer.json()) == (400, {"message": problem})
    assert jobs == []
    assert [r.getMessage() for r in caplog.records] == ["delivery refused"]
    assert "Traceback" not in caplog.text
    # The refusal is not a delivery received: the same id, valid, is acted on.
    good = "installation/created.json" if event == "installation" else OPENED
    assert deliver(client, event, recorded(good), "d-bad").status_code == 202
    assert len(jobs) == 1


def test_the_headers_of_a_signed_delivery_are_checked(recording):
    client, jobs = recording
    body = recorded(OPENED)
    assert deliver(client, "pull_request\n", body).json() == {
        "message": "X-GitHub-Event: missing or not an event name"
    }
    assert deliver(client, "pull_request", body, "d" * 129).json() == {
        "message": "X-GitHub-Delivery: missing or not a delivery id"
    }
    assert jobs == []


def test_every_recorded_payload_is_still_accepted(recording):
    client, jobs = recording
    for number, path in enumerate(sorted(FIXTURES.glob("*/*.json"))):
        event = path.parent.name
        answer = deliver(client, event, path.read_bytes(), f"d-{number}")
        assert answer.status_code in (200, 202), (path, answer.json())


def metric_lines(client) -> list[str]:
    page = client.get("/metrics").text
    return [line for line in page.splitlines() if line.startswith("trunkguard_webhook")]


def test_unsigned_requests_add_no_metric_series_whatever_their_event(recording):
    client, _ = recording
    client.post("/webhook", content=b"{}", headers={"X-GitHub-Event": "first"})
    before = client.get("/metrics").text
    for number in range(300):
        event = f"evil-{number}-" + "x" * 64
        answer = client.post("/webhook", content=b"{}", headers={"X-GitHub-Event": event})
        assert answer.status_code == 401
    after = client.get("/metrics").text
    assert "evil" not in after
    assert abs(len(after) - len(before)) < 64  # the same series; only counts changed
    series = {line.rsplit(" ", 1)[0] for line in after.splitlines() if not line.startswith("#")}
    assert series == {line.rsplit(" ", 1)[0] for line in before.splitlines() if "#" not in line}


def test_verified_deliveries_are_counted_by_known_events_only(recording):
    client, _ = recording
    deliver(client, "watch", b'{"action": "started"}', "d-w")
    deliver(client, "pull_request", recorded(OPENED), "d-p")
    lines = metric_lines(client)
    assert 'trunkguard_webhook_deliveries_total{event="other",outcome="queued"}' in "\n".join(lines)
    assert not any('event="watch"' in line for line in lines)


def test_metrics_can_be_left_to_a_port_of_their_own(store):
    client = TestClient(create_app(SECRET, store, Recorded(), serve_metrics=False))
    assert client.get("/metrics").status_code == 404
    assert client.get("/healthz").status_code == 200


@pytest.fixture
def small(store):
    """A server that takes bodies of 1000 bytes at most, 1500 over all requests."""
    jobs = Recorded()
    limits = Limits(max_body=1000, body_budget=1500)
    refusals = Throttle()
    return TestClient(create_app(SECRET, store, jobs, limits, refusals=refusals)), jobs


def test_a_body_over_the_cap_is_413_from_its_content_length(small):
    client, jobs = small
    body = b" " * 990 + b"{}" * 10
    answer = deliver(client, "ping", body)
    assert (answer.status_code, answer.headers["connection"]) == (413, "close")
    assert answer.json() == {"message": "the body is over 1000 bytes"}
    assert deliver(client, "ping", b" " * 990 + b"{}").status_code == 200


def test_a_chunked_body_without_content_length_is_capped_too(small):
    """(That reading stops at the cap is shown over real HTTP: test_webhook_limits.)"""
    client, _ = small
    chunks = (b" " * 100 for _ in range(100))
    wrong = {"X-GitHub-Event": "ping", "X-Hub-Signature-256": "sha256=" + "0" * 64}
    answer = client.post("/webhook", content=chunks, headers=wrong)
    assert (answer.status_code, answer.headers["connection"]) == (413, "close")


def test_bodies_beyond_what_the_server_holds_at_once_are_503(store):
    limits = Limits(max_body=1000, body_budget=500)
    client = TestClient(create_app(SECRET, store, Recorded(), limits, refusals=Throttle()))
    answer = deliver(client, "ping", b" " * 600 + b"{}")
    assert answer.status_code == 503
    assert deliver(client, "ping", b"{}").status_code == 200  # what was taken was given back


def test_a_request_without_a_signature_is_refused_before_its_body_is_read(store):
    limits = Limits(max_body=1000, body_budget=500)
    client = TestClient(create_app(SECRET, store, Recorded(), limits, refusals=Throttle()))
    chunks = (b" " * 100 for _ in range(100))  # more than the budget, were it read
    for headers in ({}, {"X-Hub-Signature-256": "sha1=abc"}, {"X-Hub-Signature-256": "x" * 71}):
        answer = client.post(
            "/webhook", content=chunks, headers={"X-GitHub-Event": "ping", **headers}
        )
        assert (answer.status_code, answer.headers["connection"]) == (401, "close")
    assert deliver(client, "ping", b"{}").status_code == 200  # no budget was taken
