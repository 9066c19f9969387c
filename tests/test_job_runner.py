"""One attempt at a job, as every queue runs it: retries with backoff, dead letters, keys; the
Celery queue on a real Redis; locks across processes; the server when the broker is away."""

from __future__ import annotations

import base64
import json
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

import bot.service.job
from bot.cli.main import cli
from bot.github.client import GitHubUnavailable, RateLimited
from bot.github.webhooks import signature
from bot.service.job import Job, Services
from bot.service.queue import MAX_ATTEMPTS, InProcessQueue, run_job
from bot.service.server import create_app
from bot.service.settings import SettingsError, load_settings
from bot.service.workers import QUEUE, CeleryQueue, celery_app
from bot.store import Store, StoreError

FIXTURES = Path(__file__).parent / "fixtures/github/webhooks"
SECRET = b"runner tests"


@pytest.fixture
def store(db_url):
    with Store(db_url) as opened:
        opened.upgrade()
        yield opened


class Recorder:
    """A queue that keeps what is put into it, with the delay asked for."""

    def __init__(self) -> None:
        self.put_jobs: list[tuple[Job, float]] = []

    def put(self, job: Job, delay: float = 0.0) -> None:
        self.put_jobs.append((job, delay))

    def depth(self) -> dict[str, int]:
        return {"queued": len(self.put_jobs)}


def services(store) -> Services:
    return Services(store, None, Path("/nonexistent"))


def test_a_job_github_keeps_refusing_is_retried_with_growing_waits_then_dead_lettered(
    store, monkeypatch
):
    def limited(services, repository):
        raise RateLimited(f"{repository}: rate limit exceeded", 60.0)

    monkeypatch.setitem(bot.service.job.JOBS, "limited", limited)
    job = Job("limited", {"repository": "o/r"}, "d-1")
    waits = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        queue = Recorder()
        outcome = run_job(services(store), job, queue)
        if attempt < MAX_ATTEMPTS:
            assert outcome == "retried"
            [(job, delay)] = queue.put_jobs
            assert job.attempt == attempt + 1
            assert job.not_before == pytest.approx(time.time() + delay, abs=5)
            waits.append(delay)
            job = replace(job, not_before=None)  # the wait is over
        else:
            assert (outcome, queue.put_jobs) == ("given_up", [])
    assert waits == [60.0 * n for n in range(1, MAX_ATTEMPTS)]
    [failed] = store.failed_jobs()
    assert (failed.name, failed.arguments, failed.delivery) == (
        "limited",
        {"repository": "o/r"},
        "d-1",
    )
    assert failed.attempts == MAX_ATTEMPTS and "rate limit exceeded" in failed.error
    assert failed.key == Job("limited", {"repository": "o/r"}).key

    shown = CliRunner().invoke(
        cli, ["jobs", "failed", "--db", store.url.render_as_string(False), "--json"]
    )
    assert shown.exit_code == 0, shown.output
    [row] = json.loads(shown.output)
    assert (row["job"], row["attempts"], row["delivery"]) == ("limited", MAX_ATTEMPTS, "d-1")
    table = CliRunner().invoke(cli, ["jobs", "failed", "--db", store.url.render_as_string(False)])
    assert "limited" in table.output and "repository=o/r" in table.output


def test_the_database_away_backs_off_exponentially(store, monkeypatch):
    def unreachable(services):
        raise StoreError("database x: connection refused")

    monkeypatch.setitem(bot.service.job.JOBS, "unreachable", unreachable)
    delays = []
    job = Job("unreachable")
    for _ in range(4):
        queue = Recorder()
        assert run_job(services(store), job, queue) == "retried"
        [(job, delay)] = queue.put_jobs
        delays.append(delay)
        job = replace(job, not_before=None)
    assert delays == [5.0, 10.0, 20.0, 40.0]


def test_a_bug_is_dead_lettered_at_once_and_a_refusal_is_only_said(store, monkeypatch, caplog):
    def bug(services):
        return {}["missing"]

    def refused(services):
        raise GitHubUnavailable("o/r: GitHub is down", 30.0) from None

    monkeypatch.setitem(bot.service.job.JOBS, "bug", bug)
    monkeypatch.setitem(bot.service.job.JOBS, "forget_repositories", lambda services, **a: [])
    assert run_job(services(store), Job("bug", {}, "d-9"), Recorder()) == "given_up"
    [failed] = store.failed_jobs()
    assert (failed.name, failed.attempts, failed.error) == ("bug", 1, "KeyError: 'missing'")
    from bot.github.client import NotFound

    def gone(services):
        raise NotFound("installation 9: not found")

    monkeypatch.setitem(bot.service.job.JOBS, "gone", gone)
    assert run_job(services(store), Job("gone"), Recorder()) == "failed"
    assert len(store.failed_jobs()) == 1  # a repository gone is an answer, not a failure


def test_a_job_woken_before_its_time_waits_again_and_follow_ups_keep_the_delivery(
    store, monkeypatch
):
    monkeypatch.setitem(
        bot.service.job.JOBS,
        "fan_out",
        lambda services, n: [Job("scan_repository", {"i": i}) for i in range(n)],
    )
    early = Job("fan_out", {"n": 2}, "d-3", not_before=time.time() + 120)
    queue = Recorder()
    assert run_job(services(store), early, queue) == "deferred"
    [(again, delay)] = queue.put_jobs
    assert again == early and 110 < delay <= 120
    queue = Recorder()
    assert run_job(services(store), Job("fan_out", {"n": 2}, "d-3"), queue) == "done"
    assert [(j.name, j.arguments, j.delivery) for j, _ in queue.put_jobs] == [
        ("scan_repository", {"i": 0}, "d-3"),
        ("scan_repository", {"i": 1}, "d-3"),
    ]


def test_a_job_key_names_the_work_not_the_delivery_and_survives_the_broker():
    job = Job("evaluate_pull", {"repository": "o/r", "number": 7, "installation": 1}, "d-1")
    same = Job("evaluate_pull", {"installation": 1, "number": 7, "repository": "o/r"}, "d-2", 3)
    other = Job("evaluate_pull", {"repository": "o/r", "number": 8, "installation": 1})
    assert job.key == same.key != other.key
    carried = json.loads(json.dumps(job.to_message()))
    assert Job.from_message(carried) == job


@pytest.fixture
def broker(redis_url):
    app = celery_app(redis_url, visibility_timeout=60)
    yield CeleryQueue(app), app.connection_for_write().default_channel.client


def queued_messages(client) -> list[dict]:
    messages = [json.loads(raw) for raw in client.lrange(QUEUE, 0, -1)]
    return [
        {**m, "job": json.loads(base64.b64decode(m["body"]))[0][0]}
        if m.get("properties", {}).get("body_encoding") == "base64"
        else {**m, "job": json.loads(m["body"])[0][0]}
        for m in messages
    ]


def test_the_celery_queue_caps_a_delay_at_half_the_visibility_timeout(broker):
    queue, client = broker
    queue.put(Job("evaluate_pull", {"repository": "o/r", "number": 1}, "d-1"))
    queue.put(Job("weekly_report", {"repository": "o/r"}), delay=3600)
    now = time.time()
    first, second = reversed(queued_messages(client))  # LPUSH: newest first
    assert first["job"]["name"] == "evaluate_pull" and first["headers"]["eta"] is None
    assert first["job"]["queued_at"] == pytest.approx(now, abs=5)
    assert second["job"]["not_before"] == pytest.approx(now + 3600, abs=5)
    eta = second["headers"]["eta"]
    from datetime import datetime

    assert datetime.fromisoformat(eta).timestamp() == pytest.approx(now + 30, abs=5)
    assert queue.depth() == {"queued": 2, "unacked": 0}


def test_jobs_retry_sends_a_dead_letter_to_the_broker_once(broker, redis_url, postgres_url):
    queue, client = broker
    with Store(postgres_url) as store:
        store.upgrade()
        from datetime import UTC, datetime

        from bot.store import FailedJobRecord

        failed = FailedJobRecord("k", "scan_repository", {"installation": 1, "repository": "o/r"},
                                 "d-4", 8, "database x: connection refused")  # fmt: skip
        failed_id = store.save_failed_job(failed, datetime.now(UTC))
    runner = CliRunner(env={"TRUNKGUARD_BROKER_URL": redis_url})
    sent = runner.invoke(cli, ["jobs", "retry", str(failed_id), "--db", postgres_url])
    assert sent.exit_code == 0, sent.output
    assert "sent again" in sent.output
    [message] = queued_messages(client)
    assert message["job"]["name"] == "scan_repository"
    assert message["job"]["arguments"] == {"installation": 1, "repository": "o/r"}
    again = runner.invoke(cli, ["jobs", "retry", str(failed_id), "--db", postgres_url])
    assert again.exit_code != 0 and f"no failed job {failed_id} waiting" in again.output
    listed = runner.invoke(cli, ["jobs", "failed", "--db", postgres_url])
    assert listed.output.strip() == "no failed jobs"


def _hold(url: str, name: str, ready) -> None:
    with Store(url) as store, store.lock(name):
        ready.set()
        time.sleep(600)


def test_a_lock_is_held_by_one_process_and_let_go_when_its_holder_is_killed(store):
    url = store.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    holder = context.Process(target=_hold, args=(url, "fetch:o/r", ready))
    holder.start()
    try:
        assert ready.wait(60)
        with pytest.raises(StoreError, match="lock"), store.lock("fetch:o/r", wait=0.5):
            pass
        with store.lock("fetch:o/other", wait=0.5):  # another name is free
            pass
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.join()
    with store.lock("fetch:o/r", wait=30):  # the dead holder's lock is gone with it
        pass


def test_a_lock_makes_threads_take_turns(store):
    inside = []
    overlaps = []

    def work() -> None:
        for _ in range(5):
            with store.lock("publish:o/r#1"):
                inside.append(1)
                if len(inside) > 1:
                    overlaps.append(1)
                time.sleep(0.002)
                inside.pop()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []


def deliver(client, body: bytes, delivery: str):
    headers = {
        "X-GitHub-Event": "installation",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": signature(SECRET, body),
    }
    return client.post("/webhook", content=body, headers=headers)


def test_a_delivery_the_broker_cannot_take_is_a_503_and_counts_when_sent_again(store):
    body = (FIXTURES / "installation/created.json").read_bytes()
    away = CeleryQueue(celery_app("redis://127.0.0.1:1/0"))  # nothing listens on port 1
    client = TestClient(create_app(SECRET, store, away))
    answer = deliver(client, body, "d-7")
    assert (answer.status_code, answer.json()["message"]) == (
        503,
        "cannot queue the delivery's jobs now; send it again",
    )
    back = Recorder()
    client = TestClient(create_app(SECRET, store, back))
    assert deliver(client, body, "d-7").status_code == 202  # not "already received"
    assert [j.name for j, _ in back.put_jobs] == ["register_repositories"]
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert 'trunkguard_webhook_deliveries_total{event="installation",outcome="503"}' in metrics.text
    assert (
        'trunkguard_webhook_deliveries_total{event="installation",outcome="queued"}' in metrics.text
    )


def test_metrics_show_jobs_their_durations_and_the_queue(store, monkeypatch):
    from bot.service import metrics

    monkeypatch.setitem(bot.service.job.JOBS, "quick", lambda services: [])
    jobs = InProcessQueue(services(store))
    metrics.watch_queue(jobs.depth)
    try:
        jobs.put(Job("quick"))
        jobs.join()
        text = metrics.exposition().decode()
    finally:
        jobs.close()
    assert 'trunkguard_jobs_total{job="quick",outcome="done"}' in text
    assert 'trunkguard_job_duration_seconds_count{job="quick"}' in text
    assert 'trunkguard_job_wait_seconds_count{job="quick"}' in text
    assert 'trunkguard_queue_depth{state="queued"} 0.0' in text


def test_a_broker_url_that_is_not_redis_is_one_line():
    with pytest.raises(SettingsError) as error:
        load_settings({"TRUNKGUARD_BROKER_URL": "amqp://rabbit/"})
    assert str(error.value) == (
        "TRUNKGUARD_BROKER_URL: must be a Redis URL, e.g. redis://127.0.0.1:6379/0"
    )


def test_a_worker_without_a_broker_says_so_in_one_line():
    result = CliRunner(env={"TRUNKGUARD_BROKER_URL": None}).invoke(cli, ["worker"])
    assert result.exit_code == 1
    assert "TRUNKGUARD_BROKER_URL is not set" in result.output
    assert "Traceback" not in result.output


def test_a_server_whose_broker_is_unreachable_does_not_start(tmp_path, keys):
    from bot.errors import TrunkguardError
    from bot.service.runtime import start
    from bot.service.settings import app_credentials

    settings = load_settings(
        {
            "TRUNKGUARD_APP_ID": "1",
            "TRUNKGUARD_PRIVATE_KEY": keys[0],
            "TRUNKGUARD_WEBHOOK_SECRET": "s",
            "TRUNKGUARD_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
            "TRUNKGUARD_BROKER_URL": "redis://:hunter2@127.0.0.1:1/0",
        }
    )
    credentials = app_credentials(settings)
    assert credentials is not None
    with pytest.raises(TrunkguardError) as error:
        start(settings, credentials)
    said = str(error.value)
    assert said.startswith("the broker redis://:***@127.0.0.1:1/0: ")
    assert "hunter2" not in said and "\n" not in said


def test_the_same_work_queued_twice_runs_once_until_it_starts(broker):
    queue, client = broker
    review = Job("evaluate_open_pulls", {"installation": 1, "repository": "o/r"}, "d-1")
    queue.put(review)
    queue.put(replace(review, delivery="d-2"))  # ten pushes to trunk in a minute: one review
    assert [m["job"]["delivery"] for m in queued_messages(client)] == ["d-1"]
    queue.started(review)  # a worker took it: what is asked from now on runs again
    queue.put(replace(review, delivery="d-3"))
    queue.put(replace(review, delivery="d-4"), delay=60)  # retries are never merged
    assert sorted(m["job"]["delivery"] for m in queued_messages(client)) == ["d-1", "d-3", "d-4"]
    from bot.service import metrics

    text = metrics.exposition().decode()
    assert 'trunkguard_jobs_merged_total{job="evaluate_open_pulls"}' in text


def test_the_embedded_queue_merges_waiting_work_too(store, monkeypatch):
    gate = threading.Event()
    ran: list[str | None] = []

    def slow(services, n):
        gate.wait(30)
        ran.append(f"slow {n}")
        return []

    def quick(services):
        ran.append("quick")
        return []

    monkeypatch.setitem(bot.service.job.JOBS, "slow", slow)
    monkeypatch.setitem(bot.service.job.JOBS, "quick", quick)
    jobs = InProcessQueue(services(store))
    try:
        jobs.put(Job("slow", {"n": 1}))  # holds the thread: what follows waits
        for _ in range(3):
            jobs.put(Job("quick"))
        gate.set()
        jobs.join()
        jobs.put(Job("quick"))  # started and done: asked again, it runs again
        jobs.join()
    finally:
        jobs.close()
    assert ran == ["slow 1", "quick", "quick"]
