"""The webhook endpoint: signed deliveries are recorded and queued, anything else is refused."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.github.webhooks import signature
from bot.service.job import Job, Services
from bot.service.queue import InProcessQueue
from bot.service.routing import jobs_for
from bot.service.server import create_app
from bot.service.settings import SettingsError, load_settings
from bot.store import Store

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
         "a pull_request delivery without the fields it must have"),
        ("watch", b'{"action": "started"}', 202, "watch is not acted on"),
        ("installation", b"{not json", 400, "the body is not JSON"),
        ("installation", b'["a list"]', 400, "the body is not a JSON object"),
        ("installation", recorded("installation/created.json")[:200], 400, "the body is not JSON"),
        ("installation", b'{"action": "created"}', 400,
         "a installation delivery without the fields it must have"),
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
    ]
    with pytest.raises(SettingsError) as caught:
        load_settings({"TRUNKGUARD_PRIVATE_KEY_PATH": str(tmp_path / "key.pem")})
    assert str(caught.value).splitlines() == [
        "TRUNKGUARD_WEBHOOK_SECRET: missing (the secret set on the GitHub App)",
        f"TRUNKGUARD_PRIVATE_KEY_PATH: no such file: {tmp_path / 'key.pem'}",
    ]
    with pytest.raises(SettingsError) as caught:
        load_settings({"TRUNKGUARD_WEBHOOK_SECRET": "s3cret"})
    assert str(caught.value).splitlines() == [
        "TRUNKGUARD_APP_ID: missing (the App's id, on its settings page)",
        "TRUNKGUARD_PRIVATE_KEY_PATH: missing (or TRUNKGUARD_PRIVATE_KEY: the App's key)",
    ]
    settings = load_settings(
        {
            "TRUNKGUARD_APP_ID": "12",
            "TRUNKGUARD_WEBHOOK_SECRET": "s3cret",
            "TRUNKGUARD_PRIVATE_KEY": "-----BEGIN KEY-----",
            "TRUNKGUARD_GITHUB_API_URL": "https://ghe.example/api/v3/",
        }
    )
    assert settings.github_api_url == "https://ghe.example/api/v3"
    assert settings.private_key_text() == "-----BEGIN KEY-----"
    assert "s3cret" not in repr(settings) and "BEGIN KEY" not in repr(settings)


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
