"""trunkguard past one machine, on loopback: a webhook server and Celery worker processes
sharing Redis and PostgreSQL, the fake GitHub, and a burst of signed deliveries."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from bot.github.webhooks import signature
from tests.conftest import APP_ID
from tests.fakegithub import FakeGitHub, Pull
from tests.gitrepo import GitRepo, lines

WEBHOOKS = Path(__file__).parent / "fixtures/github/webhooks"
SECRET = "a webhook secret shared by the cluster"
INSTALLATION = 77
QUEUE = "trunkguard"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Delivery:
    """One signed webhook delivery, as GitHub would send it (and send again)."""

    event: str
    delivery: str
    payload: dict[str, Any]

    def body(self) -> bytes:
        return json.dumps(self.payload).encode()


@dataclass
class Project:
    """A repository of the fake GitHub with open pull requests, each on a file of its own."""

    name: str
    builder: GitRepo
    pulls: dict[int, str] = field(default_factory=dict)  # number -> head ref

    def head(self, number: int) -> str:
        return str(self.builder.repo.references[f"refs/pull/{number}/head"].target)

    def push(self, github: FakeGitHub) -> None:
        target = github.root / f"{self.name}.git"
        self.builder.git("push", "--quiet", "--force", str(target), "+refs/*:refs/*")

    def move_head(self, github: FakeGitHub, number: int) -> str:
        """A new commit on pull request `number`'s branch, pushed; return its id."""
        ref = self.pulls[number]
        parent = self.builder.repo.references[f"refs/heads/{ref}"].target
        commit = self.builder.commit(
            {f"src/pull{number}.py": lines(30, f"pull {number} again")},
            days_ago=0,
            parents=[parent],
            branch=ref,
        )
        self.builder.ref(f"refs/pull/{number}/head", commit)
        self.push(github)
        return str(commit)


def build_projects(
    github: FakeGitHub, count: int, pulls_each: int, prefix: str = "service"
) -> list[Project]:
    """`count` repositories of `pulls_each` old pull requests each (every one gets a failing
    check and a comment: too old, and conflicting with another pull request on a shared file)."""
    projects = []
    for index in range(count):
        name = f"org/{prefix}{index}"
        path = github.add_repository(name, INSTALLATION, "main")
        builder = GitRepo(path.parent / f"build-{prefix}{index}.git")
        files = {f"src/pull{n}.py": lines(30) for n in range(1, pulls_each + 1)}
        base = builder.commit(  # the name keeps commit ids apart between repositories
            {**files, "shared.py": lines(20), "NAME": name}, days_ago=60, branch="main"
        )
        project = Project(name, builder)
        for number in range(1, pulls_each + 1):
            ref = f"feature-{number}"
            commit = builder.commit(
                {
                    f"src/pull{number}.py": lines(30, f"pull {number}"),
                    "shared.py": lines(20, f"shared by {number % 2}"),
                },
                days_ago=30 - number,
                parents=[base],
                branch=ref,
            )
            builder.ref(f"refs/pull/{number}/head", commit)
            project.pulls[number] = ref
            github.add_pull(name, Pull(number, f"dev{number}", ref, "main"))
        builder.commit({"README": "trunk moves\n"}, days_ago=1, parents=[base], branch="main")
        project.push(github)
        projects.append(project)
    return projects


def _fixture(path: str) -> dict[str, Any]:
    return json.loads((WEBHOOKS / path).read_text())


def pull_request_delivery(project: Project, number: int, action: str, delivery: str) -> Delivery:
    payload = _fixture("pull_request/synchronize.json")
    payload["action"] = action
    if action == "edited":
        payload["changes"] = {"title": {"from": "an older title"}}  # not acted on
    payload["installation"] = {"id": INSTALLATION}
    payload["repository"]["full_name"] = project.name
    payload["pull_request"]["number"] = number
    payload["pull_request"]["head"].update(ref=project.pulls[number], sha=project.head(number))
    return Delivery("pull_request", delivery, payload)


def push_delivery(project: Project, delivery: str, ref: str = "refs/heads/main") -> Delivery:
    payload = _fixture("push/with-installation.json")
    payload["installation"] = {"id": INSTALLATION}
    payload["repository"].update(full_name=project.name, default_branch="main")
    # The recorded push deleted a tag: this one moves a branch.
    tip = str(project.builder.repo.references["refs/heads/main"].target)
    payload.update(ref=ref, deleted=False, created=False, forced=False, after=tip)
    return Delivery("push", delivery, payload)


def check_suite_delivery(project: Project, number: int, delivery: str) -> Delivery:
    payload = _fixture("check_suite/requested.json")
    payload["installation"] = {"id": INSTALLATION}
    payload["repository"]["full_name"] = project.name
    payload["check_suite"]["head_sha"] = project.head(number)
    payload["check_suite"]["pull_requests"] = [{"number": number}]
    return Delivery("check_suite", delivery, payload)


def burst(projects: list[Project], count: int, seed: int, prefix: str) -> list[Delivery]:
    """`count` deliveries: pull request events, pushes to trunk and elsewhere, check suites
    requested, and 10% sent again with the same delivery id (GitHub's redeliveries)."""
    rng = random.Random(seed)
    sent: list[Delivery] = []
    for index in range(count):
        if sent and rng.random() < 0.10:
            sent.append(rng.choice(sent))
            continue
        project = rng.choice(projects)
        number = rng.choice(sorted(project.pulls))
        delivery = f"{prefix}-{index}"
        roll = rng.random()
        if roll < 0.55:
            action = rng.choice(["opened", "synchronize", "reopened", "labeled", "edited"])
            sent.append(pull_request_delivery(project, number, action, delivery))
        elif roll < 0.70:
            sent.append(push_delivery(project, delivery))
        elif roll < 0.80:
            sent.append(push_delivery(project, delivery, "refs/heads/some-branch"))
        else:
            sent.append(check_suite_delivery(project, number, delivery))
    return sent


class Cluster:
    """The server and workers as separate processes, their logs kept in `folder`."""

    def __init__(self, folder: Path, github: FakeGitHub, private_key: str, database: str,
                 broker: str, visibility_timeout: int = 10) -> None:  # fmt: skip
        self.folder = folder
        self.broker = broker
        self.env = {
            **os.environ,
            "TRUNKGUARD_APP_ID": str(APP_ID),
            "TRUNKGUARD_PRIVATE_KEY": private_key,
            "TRUNKGUARD_WEBHOOK_SECRET": SECRET,
            "TRUNKGUARD_GITHUB_API_URL": github.url,
            "TRUNKGUARD_DATABASE_URL": database,
            "TRUNKGUARD_BROKER_URL": broker,
            "TRUNKGUARD_VISIBILITY_TIMEOUT": str(visibility_timeout),
            "TRUNKGUARD_CREDENTIALS_FILE": str(folder / "no-credentials.json"),
        }
        self.workers: dict[str, subprocess.Popen[bytes]] = {}
        self.server: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.redis = redis.Redis.from_url(broker)

    def _spawn(self, name: str, *args: str, **env: str) -> subprocess.Popen[bytes]:
        with open(self.folder / f"{name}.log", "ab") as log:  # the child keeps its own copy
            return subprocess.Popen(
                [sys.executable, "-m", "bot", *args],
                env={**self.env, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def start_worker(self, name: str, mirrors: str | None = None, metrics: int = 0) -> None:
        """Start a worker with a mirror folder of its own (as on a machine of its own), or
        the folder called `mirrors` (shared with other workers, as on one machine); with its
        Prometheus metrics on port `metrics` if given."""
        self.workers[name] = self._spawn(
            name,
            "worker",
            "--metrics-port",
            str(metrics),
            "--name",
            f"{name}@test",
            TRUNKGUARD_MIRROR_DIR=str(self.folder / f"mirrors-{mirrors or name}"),
        )
        deadline = time.monotonic() + 60
        while b"ready." not in self.log(name).encode():
            if self.workers[name].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker {name} did not start:\n{self.log(name)[-3000:]}")
            time.sleep(0.1)

    def start_server(self) -> None:
        port = free_port()
        self.server = self._spawn(
            "server", "serve", "--no-scheduler", "--port", str(port),
            TRUNKGUARD_MIRROR_DIR=str(self.folder / "mirrors-server"),
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2):
                    return
            except OSError:
                if self.server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start:\n{self.log('server')}") from None
                time.sleep(0.1)

    def get(self, url: str) -> str:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return str(answer.read().decode())

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def deliver(self, sent: Delivery) -> int:
        """Send one delivery; return the HTTP status (0: the server could not be reached)."""
        body = sent.body()
        request = urllib.request.Request(
            f"{self.url}/webhook",
            data=body,
            headers={
                "X-GitHub-Event": sent.event,
                "X-GitHub-Delivery": sent.delivery,
                "X-Hub-Signature-256": signature(SECRET.encode(), body),
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except OSError:
            return 0

    def kill(self, name: str) -> None:
        """SIGKILL a worker: no warm shutdown, no acknowledgement of what it was running."""
        process = self.workers.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def settle(self, timeout: float = 300.0) -> None:
        """Wait until the broker holds no job, waiting or handed out, for a second."""
        deadline = time.monotonic() + timeout
        quiet_since = None
        while time.monotonic() < deadline:
            busy = self.redis.llen(QUEUE) + self.redis.hlen("unacked")
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > 1.0:
                return
            time.sleep(0.1)
        raise TimeoutError(
            f"jobs still queued after {timeout:.0f} s: {self.redis.llen(QUEUE)} waiting, "
            f"{self.redis.hlen('unacked')} handed out"
        )

    def stop(self) -> None:
        for process in [*self.workers.values(), *([self.server] if self.server else [])]:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in [*self.workers.values(), *([self.server] if self.server else [])]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def task_ids(log: str, state: str) -> set[str]:
    """The ids of the tasks a worker's log says were `received` or `succeeded`."""
    return set(re.findall(rf"Task trunkguard\.run_job\[([^\]]+)\] {state}", log))


def build_large(github: FakeGitHub, name: str, trunk: int, branches: int) -> int:
    """A repository with a long trunk and many branches off it (no pull requests): a scan of it
    takes a while. Return how many branches it has besides trunk."""
    path = github.add_repository(name, INSTALLATION, "main")
    builder = GitRepo(path.parent / f"build-{name.replace('/', '-')}.git")
    chain = []
    parent: list = []
    for n in range(trunk):
        commit = builder.commit(
            {f"dir{n % 50}/file{n % 7}.txt": lines(5, f"{name} trunk {n}")},
            days_ago=trunk / 10 - n / 10,
            parents=parent,
        )
        chain.append(commit)
        parent = [commit]
    builder.ref("refs/heads/main", chain[-1])
    for b in range(branches):
        start = chain[(b * 7919) % len(chain)]
        tip = start
        for k in range(3):
            tip = builder.commit(
                {f"dir{b % 50}/branch{b}.txt": lines(5, f"branch {b} step {k}")},
                days_ago=2 + (b % 40),
                parents=[tip],
            )
        builder.ref(f"refs/heads/topic/{b}", tip)
    Project(name, builder).push(github)
    return branches


def installation_delivery(name: str, delivery: str) -> Delivery:
    payload = _fixture("installation_repositories/added.json")
    payload["installation"] = {"id": INSTALLATION}
    payload["repositories_added"] = [{"full_name": name, "name": name.split("/")[1]}]
    return Delivery("installation_repositories", delivery, payload)
