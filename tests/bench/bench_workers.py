"""`make bench`: pull request evaluations past one machine, on loopback.

The webhook server, Celery workers on Redis and PostgreSQL, and the fake GitHub over HTTP:
a burst of 500 signed `pull_request.opened` deliveries (25 repositories x 20 open pull
requests), one per pull request (each review posts one check run), sent from 8 connections at
once; and one push to trunk of a repository with 200 open pull requests (every one reviewed
again; with workers, in jobs of 20 that several workers share). For the embedded default (jobs
on a thread of the server, no broker) and for 1, 2 and 4 worker processes: evaluations per
second from the first delivery to the last check run, and each pull request's latency from
its delivery to its check run (p50, p99). Medians of BENCH_RUNS runs; ratios against the
embedded queue of the same run. Needs PostgreSQL and Redis on 127.0.0.1 (as the tests do).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pygit2
import redis

from bot.mirrors.fetch import app_mirror_path
from bot.store import Store
from tests.cluster import (
    INSTALLATION,
    WEBHOOKS,
    Cluster,
    Delivery,
    build_projects,
    pull_request_delivery,
    push_delivery,
)
from tests.conftest import APP_ID
from tests.fakegithub import FakeGitHub, Pull, app_key_pair

ADMIN = os.environ.get(
    "TRUNKGUARD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BROKER = os.environ.get("TRUNKGUARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
REPOSITORIES = int(os.environ.get("BENCH_REPOSITORIES", "25"))
PULLS_EACH = int(os.environ.get("BENCH_PULLS_EACH", "20"))
PUSH_PULLS = int(os.environ.get("BENCH_PUSH_PULLS", "200"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
SETUPS = [("embedded", 0), ("1 worker", 1), ("2 workers", 2), ("4 workers", 4)]


def _database() -> str:
    name = f"trunkguard_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = ADMIN.rsplit("/", 1)[0] + f"/{name}"
    Store(url).ready().close()
    return url


def _drop(url: str) -> None:
    with psycopg.connect(ADMIN, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def run(
    folder: Path, github: FakeGitHub, private: str, projects, workers: int, push: bool = False
) -> dict:
    """One burst on a fresh store (or one push to trunk of each project, `push`); returns
    evaluations per second and latency percentiles."""
    github.check_runs.clear()
    github.check_run_times.clear()
    github.comments.clear()
    redis.Redis.from_url(BROKER).flushdb()
    database = _database()
    cluster = Cluster(folder, github, private, database, BROKER)
    if workers == 0:
        del cluster.env["TRUNKGUARD_BROKER_URL"]  # the embedded queue in the server
    try:
        for n in range(workers):
            cluster.start_worker(f"w{n}", mirrors=f"w{n}")  # kept warm between runs
        cluster.start_server()
        if push:
            return _push(cluster, github, projects)
        deliveries = [
            pull_request_delivery(p, n, "opened", f"{uuid.uuid4()}")
            for n in range(1, PULLS_EACH + 1)
            for p in projects
        ]
        sent_at: dict[str, float] = {}

        def send(delivery) -> int:
            sent_at[delivery.payload["pull_request"]["head"]["sha"]] = time.time()
            return cluster.deliver(delivery)

        started = time.time()
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(send, deliveries))
        assert set(statuses) == {202}, statuses
        deadline = time.monotonic() + 1800
        while len(github.check_runs) < len(deliveries):
            assert time.monotonic() < deadline, f"{len(github.check_runs)} check runs"
            time.sleep(0.05)
        finished = max(github.check_run_times.values())
        latencies = sorted(
            github.check_run_times[r["id"]] - sent_at[r["head_sha"]] for r in github.check_runs
        )
        assert len({r["head_sha"] for r in github.check_runs}) == len(deliveries)
        return {
            "rate": len(deliveries) / (finished - started),
            "p50": latencies[len(latencies) // 2],
            "p99": latencies[int(len(latencies) * 0.99) - 1],
        }
    finally:
        cluster.stop()
        _drop(database)


def _push(cluster: Cluster, github: FakeGitHub, projects) -> dict:
    """A push to trunk of each project: every open pull request reviewed again."""
    expected = sum(len(p.pulls) for p in projects)
    started = time.time()
    for project in projects:
        assert cluster.deliver(push_delivery(project, f"{uuid.uuid4()}")) == 202
    deadline = time.monotonic() + 1800
    while len(github.check_runs) < expected:
        assert time.monotonic() < deadline, f"{len(github.check_runs)} check runs"
        time.sleep(0.05)
    finished = max(github.check_run_times.values())
    latencies = sorted(t - started for t in github.check_run_times.values())
    return {
        "rate": expected / (finished - started),
        "p50": latencies[len(latencies) // 2],
        "p99": latencies[int(len(latencies) * 0.99) - 1],
    }


def real_mirror(path: Path, open_count: int = 100) -> None:
    """Two workers on a real GitHub mirror served by the fake (its newest `open_count` pull
    request heads taken as open): one `opened` delivery each, 10% sent again; the rate, the
    latency, and whether each head got exactly one check run."""
    private, public = app_key_pair()
    with tempfile.TemporaryDirectory(prefix="trunkguard-bench-workers-") as temporary:
        folder = Path(temporary)
        github = FakeGitHub(folder / "github", APP_ID, public)
        name = "org/real"
        served = github.add_repository(name, INSTALLATION, "main")
        served.rmdir() if not any(served.iterdir()) else shutil.rmtree(served)
        served.symlink_to(path.resolve())  # read only: nothing is written into it
        repo = pygit2.Repository(str(served))
        heads = [r for r in repo.references if r.startswith("refs/pull/") and r.endswith("/head")]
        newest = sorted(
            heads, key=lambda r: -repo[repo.references[r].target].peel(pygit2.Commit).commit_time
        )[:open_count]
        numbers = sorted(int(r.split("/")[2]) for r in newest)
        for number in numbers:
            github.add_pull(name, Pull(number, f"dev{number % 17}", f"pr-{number}", "main"))
        github.start()
        redis.Redis.from_url(BROKER).flushdb()
        database = _database()
        cluster = Cluster(folder, github, private, database, BROKER, visibility_timeout=600)
        # Real mirrors are dirty (this one may lack a blob, as rails/rails does): upload-pack
        # cannot serve such a repository whole, so each worker starts from a copy of it, as
        # one that fetched it earlier would; their fetches then find nothing new.
        for worker in ("w1", "w2"):
            copy = app_mirror_path(folder / f"mirrors-{worker}", name)
            shutil.copytree(path, copy, symlinks=True)
            pygit2.init_repository(str(copy), bare=True)
        try:
            cluster.start_worker("w1")
            cluster.start_worker("w2")
            cluster.start_server()
            deliveries = []
            for number in numbers:
                sha = str(repo.references[f"refs/pull/{number}/head"].target)
                payload = json.loads((WEBHOOKS / "pull_request/opened.json").read_text())
                payload["installation"] = {"id": INSTALLATION}
                payload["repository"]["full_name"] = name
                payload["pull_request"]["number"] = number
                payload["pull_request"]["head"].update(ref=f"pr-{number}", sha=sha)
                deliveries.append(Delivery("pull_request", f"real-{number}", payload))
            again = deliveries[:: max(1, len(deliveries) // (len(deliveries) // 10 or 1))]
            started = time.time()
            statuses = Counter(cluster.deliver(d) for d in deliveries + again)
            cluster.settle(timeout=1800)
            finished = max(github.check_run_times.values())
            per_head = Counter(r["head_sha"] for r in github.check_runs)
            comments = Counter(c["issue"] for c in github.comments.values())
            with Store(database) as store:
                failed = store.failed_jobs()
            conclusions = Counter(r["conclusion"] for r in github.check_runs)
            print(
                f"Real mirror {path} ({len(heads)} pull request heads), {len(numbers)} open, "
                f"2 workers: {len(deliveries)} deliveries + {len(again)} redelivered "
                f"(answers {dict(statuses)}); {len(per_head)} heads with a check run, "
                f"most on one head {max(per_head.values())}; conclusions {dict(conclusions)}; "
                f"{len(comments)} pull requests commented, most comments on one "
                f"{max(comments.values(), default=0)}; {len(failed)} dead letters; "
                f"{len(per_head) / (finished - started):.1f} evaluations/s"
            )
        finally:
            cluster.stop()
            github.stop()
            _drop(database)
            if os.environ.get("BENCH_KEEP_LOGS"):
                for log in folder.glob("*.log"):
                    shutil.copy(log, Path(os.environ["BENCH_KEEP_LOGS"]) / log.name)


def main() -> None:
    if os.environ.get("BENCH_MIRROR"):
        real_mirror(Path(os.environ["BENCH_MIRROR"]))
        return
    private, public = app_key_pair()
    with tempfile.TemporaryDirectory(prefix="trunkguard-bench-workers-") as temporary:
        folder = Path(temporary)
        github = FakeGitHub(folder / "github", APP_ID, public)
        github.start()
        try:
            projects = build_projects(github, REPOSITORIES, PULLS_EACH)
            monorepo = build_projects(github, 1, PUSH_PULLS, prefix="monorepo")
            scenarios = {
                s: v
                for s, v in {"burst": (projects, False), "push": (monorepo, True)}.items()
                if s in os.environ.get("BENCH_SCENARIOS", "burst,push").split(",")
            }
            results = {(s, n): [] for s in scenarios for n, _ in SETUPS}  # type: ignore[var-annotated]
            for index in range(RUNS):
                for scenario, (chosen, push) in scenarios.items():
                    for name, workers in SETUPS:
                        result = run(folder, github, private, chosen, workers, push)
                        results[(scenario, name)].append(result)
                        print(
                            f"  run {index + 1} {scenario} {name:>10}: "
                            f"{result['rate']:6.1f} evaluations/s, "
                            f"p50 {result['p50']:.2f} s, p99 {result['p99']:.2f} s",
                            flush=True,
                        )
        finally:
            github.stop()
    total = REPOSITORIES * PULLS_EACH
    titles = {
        "burst": f"a burst of {total} deliveries ({REPOSITORIES} repositories x {PULLS_EACH} "
        "open pull requests)",
        "push": f"one push to trunk of a repository with {PUSH_PULLS} open pull requests",
    }
    for scenario, title in titles.items():
        if scenario not in scenarios:
            continue
        print(
            f"\nPull request evaluations: {title}, {os.cpu_count()} cores, medians of {RUNS} runs"
        )
        base = statistics.median(r["rate"] for r in results[(scenario, "embedded")])
        for name, _ in SETUPS:
            rate = statistics.median(r["rate"] for r in results[(scenario, name)])
            p50 = statistics.median(r["p50"] for r in results[(scenario, name)])
            p99 = statistics.median(r["p99"] for r in results[(scenario, name)])
            print(
                f"  {name:>10}: {rate:6.1f} evaluations/s ({rate / base:4.2f}x embedded), "
                f"delivery to check run p50 {p50:6.2f} s, p99 {p99:6.2f} s"
            )


if __name__ == "__main__":
    main()
