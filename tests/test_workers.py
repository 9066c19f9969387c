"""Past one machine, for real: the webhook server and two Celery worker processes on Redis and
PostgreSQL, the fake GitHub over HTTP, 500 signed deliveries; then the same while a worker is
killed and PostgreSQL restarted. Nothing missing, nothing doubled."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import text

from bot.review.evaluation import MARKER
from bot.store import Store
from tests.cluster import (
    Cluster,
    Project,
    build_large,
    build_projects,
    burst,
    free_port,
    installation_delivery,
    pull_request_delivery,
    task_ids,
)


@pytest.fixture
def cluster(tmp_path, github, keys, postgres_url, redis_url):
    Store(postgres_url).ready().close()  # the schema, as `trunkguard db upgrade` makes it
    running = Cluster(tmp_path, github, keys[0], postgres_url, redis_url)
    yield running
    running.stop()


def check_runs_per_head(github) -> Counter:
    return Counter((r["head_sha"], r["name"]) for r in github.check_runs)


def assert_end_state(github, projects: list[Project], heads_seen: dict) -> None:
    """Every pull request: exactly one check run for each head it had, one comment."""
    runs = check_runs_per_head(github)
    for project in projects:
        for number in project.pulls:
            for head in heads_seen[(project.name, number)]:
                assert runs[(head, "trunkguard")] == 1, (project.name, number, head)
            comments = [
                c
                for c in github.comments.values()
                if c["repository"] == project.name and c["issue"] == number
            ]
            assert len(comments) == 1, (project.name, number, comments)
            assert MARKER in comments[0]["body"]
    expected = sum(len(h) for h in heads_seen.values())
    assert len(github.check_runs) == expected  # no check run on anything else
    assert github.invalid == []


def heads_now(projects: list[Project]) -> dict:
    return {(p.name, n): {p.head(n)} for p in projects for n in p.pulls}


def test_500_deliveries_on_two_workers_post_each_check_run_and_comment_once(
    cluster, github, postgres_url
):
    projects = build_projects(github, count=3, pulls_each=5)
    metrics_port, other_port = free_port(), free_port()
    cluster.start_worker("w1", metrics=metrics_port)
    cluster.start_worker("w2", metrics=other_port)
    cluster.start_server()

    sent = burst(projects, 500, seed=10, prefix="a")
    statuses = Counter(cluster.deliver(d) for d in sent)
    redelivered = len(sent) - len({d.delivery for d in sent})
    assert redelivered >= 40  # the burst's 10% duplicates
    assert statuses[200] == redelivered  # "already received": not acted on twice
    assert statuses[202] == len(sent) - redelivered
    cluster.settle()
    seen = heads_now(projects)
    assert_end_state(github, projects, seen)

    # Two pull requests of each repository get a new head; each push is told twice (a
    # synchronize and a label added at once), and once more as a redelivery.
    for project in projects:
        for number in (1, 2):
            seen[(project.name, number)].add(project.move_head(github, number))
            first = pull_request_delivery(
                project, number, "synchronize", f"b-{project.name}-{number}"
            )
            second = pull_request_delivery(project, number, "labeled", f"c-{project.name}-{number}")
            assert {cluster.deliver(d) for d in (first, second)} == {202}
            assert cluster.deliver(first) == 200
    cluster.settle()
    assert_end_state(github, projects, seen)
    assert all(c["edits"] >= 0 for c in github.comments.values())

    with Store(postgres_url) as store:
        assert store.failed_jobs() == []
        reviewed = store.pull_requests(projects[0].name)
    assert {p.number for p in reviewed} == set(projects[0].pulls)
    for log in ("w1", "w2"):  # both workers took part
        assert len(task_ids(cluster.log(log), "succeeded")) > 20, cluster.log(log)[-2000:]

    # What an operator's Prometheus sees: the worker's jobs, the server's deliveries and queue.
    worker = cluster.get(f"http://127.0.0.1:{metrics_port}/metrics")
    done = re.search(r'trunkguard_jobs_total\{job="evaluate_pull",outcome="done"\} (\d+)', worker)
    assert done and int(done[1]) > 10
    assert 'trunkguard_job_duration_seconds_bucket{job="evaluate_pull",le="+Inf"}' in worker
    assert 'trunkguard_queue_depth{state="queued"} 0.0' in worker
    # Pushes to trunk reviewed every open pull request (posting nothing new: no verdict moved).
    pushes = sum(
        int(m[1])
        for port in (metrics_port, other_port)
        for m in re.finditer(
            r'trunkguard_jobs_total\{job="evaluate_open_pulls",outcome="done"\} (\d+)',
            cluster.get(f"http://127.0.0.1:{port}/metrics"),
        )
    )
    assert pushes > 0
    server = cluster.get(f"{cluster.url}/metrics")
    assert 'trunkguard_webhook_deliveries_total{event="pull_request",outcome="200"}' in server
    assert 'trunkguard_queue_depth{state="unacked"} 0.0' in server


def pg_restart() -> None:
    """Restart this machine's PostgreSQL cluster (as an operator or a failover would)."""
    version = sorted(os.listdir("/etc/postgresql"))[0]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        capture_output=True,
        timeout=120,
    )


def can_restart_postgres() -> bool:
    return (
        os.geteuid() == 0
        and shutil.which("pg_ctlcluster") is not None
        and os.path.isdir("/etc/postgresql")
    )


def test_a_worker_killed_and_postgres_restarted_mid_burst_lose_and_double_nothing(
    postgres_restart, cluster, github, postgres_url
):
    if not can_restart_postgres():
        pytest.skip("PostgreSQL restart: needs root and pg_ctlcluster (.ci/run has both)")
    projects = build_projects(github, count=3, pulls_each=5)
    cluster.start_worker("w1")
    cluster.start_worker("w2")
    cluster.start_server()
    sent = burst(projects, 500, seed=11, prefix="k")

    refused = []
    for delivery in sent[:200]:
        if cluster.deliver(delivery) >= 500:
            refused.append(delivery)
    # Kill w1 in the middle of a job: wait until it has one received and not finished.
    deadline = time.monotonic() + 60
    while True:
        log = cluster.log("w1")
        running = task_ids(log, "received") - task_ids(log, "succeeded")
        if running or time.monotonic() > deadline:
            break
        time.sleep(0.005)
    assert running, "w1 never had a job in hand"
    cluster.kill("w1")
    log = cluster.log("w1")
    in_hand = task_ids(log, "received") - task_ids(log, "succeeded")
    assert in_hand

    restart = threading.Thread(target=pg_restart)
    for index, delivery in enumerate(sent[200:]):
        if index == 20:
            restart.start()  # deliveries go on meanwhile, as GitHub's would
        status = cluster.deliver(delivery)
        if status >= 500 or status == 0:
            refused.append(delivery)
    restart.join()
    assert refused  # the server said 5xx while the database was away, never 2xx
    cluster.start_worker("w3")  # the killed worker's replacement, as an orchestrator would
    for delivery in refused:  # what the operator sends again once the database is back
        assert cluster.deliver(delivery) in (200, 202)
    cluster.settle(timeout=420)

    assert_end_state(github, projects, heads_now(projects))
    redone = task_ids(cluster.log("w2"), "succeeded") | task_ids(cluster.log("w3"), "succeeded")
    assert in_hand <= redone  # the job w1 was running when killed, run again elsewhere
    with Store(postgres_url) as store:
        assert store.failed_jobs() == []


def test_a_scan_killed_midway_leaves_the_store_whole_and_is_done_again(
    cluster, github, postgres_url
):
    branches = build_large(github, "org/monolith", trunk=3000, branches=400)
    cluster.start_worker("w1", mirrors="shared")  # two workers on one machine, one mirror
    cluster.start_server()
    assert cluster.deliver(installation_delivery("org/monolith", "install-1")) == 202
    deadline = time.monotonic() + 60
    while not (started := task_ids(cluster.log("w1"), "received")):
        assert time.monotonic() < deadline, cluster.log("w1")[-2000:]
        time.sleep(0.01)
    # register_repositories is quick; its follow-up, the scan, is killed once its fetch is
    # done, while it measures 400 branches.
    while "mirror fetched" not in cluster.log("w1"):
        assert time.monotonic() < deadline, cluster.log("w1")[-2000:]
        time.sleep(0.005)
    cluster.kill("w1")
    log = cluster.log("w1")
    in_hand = task_ids(log, "received") - task_ids(log, "succeeded")
    assert len(in_hand) == 1 and not in_hand & started, log[-2000:]

    cluster.start_worker("w2", mirrors="shared")
    cluster.settle(timeout=300)
    assert in_hand <= task_ids(cluster.log("w2"), "succeeded")
    with Store(postgres_url) as store, store.engine.connect() as connection:
        assert store.failed_jobs() == []
        query = (
            "SELECT s.kind, s.status, count(b.id) FROM scans s LEFT JOIN "
            "branch_snapshots b ON b.scan_id = s.id GROUP BY s.id, s.kind, s.status"
        )
        counts = connection.execute(text(query)).all()
    scans = [c for c in counts if c[0] == "scan"]
    # Every scan stored is whole (one transaction): trunk's 400 branches, none half-written.
    assert scans and all(c == ("scan", "succeeded", branches) for c in scans), counts
