"""Every command alike: an empty repository, Ctrl-C, busy ports, a stale clone, progress."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import plumbing
from bot.cli.main import cli
from tests.mirrorgen import build_mirror

NOW_ISO = "2026-05-28T20:26:40Z"
NOW_TS = 1_780_000_000  # NOW_ISO
TRUNKGUARD = str(Path(sys.executable).with_name("trunkguard"))


def run(*args: str, **env: str):
    return CliRunner(env=env).invoke(cli, list(args))


@pytest.fixture
def empty(make_repo):
    return make_repo().path


@pytest.mark.parametrize("command", ["scan", "conflicts", "replay", "trends", "report"])
def test_an_empty_repository_is_no_error(command, empty):
    result = run(command, str(empty))
    assert (result.exit_code, result.output) == (
        0,
        f"{empty}: the repository has no commits yet"
        + (": no report.\n" if command == "report" else ".\n"),
    )


def test_an_empty_repository_in_json_and_in_a_file(empty, tmp_path):
    trends = run("trends", str(empty), "--json")
    assert trends.exit_code == 0
    assert json.loads(trends.stdout) == {"repository": str(empty), "weeks": []}
    report = run("report", str(empty), "--json")
    assert (report.exit_code, report.stdout) == (0, "")  # no document of nothing
    assert report.stderr == f"{empty}: the repository has no commits yet: no report.\n"
    out = tmp_path / "week.html"
    written = run("report", str(empty), "--format", "html", "--output", str(out))
    assert written.exit_code == 0 and not out.exists()


def _interrupted(process: subprocess.Popen[bytes]) -> tuple[int, str]:
    os.killpg(process.pid, signal.SIGINT)  # as a terminal does: to the command and its workers
    _, err = process.communicate(timeout=60)
    return process.returncode, err.decode()


def test_ctrl_c_while_merging_is_one_line_and_status_130(tmp_path):
    mirror = build_mirror(tmp_path / "mirror.git", 2000)
    args = ["conflicts", str(mirror.path), "--pulls", "all", "--active-days", "3650"]
    args += ["--no-store", "--now", "2026-05-28T20:30Z"]  # 805 trunk merges: about a second
    process = subprocess.Popen(
        [TRUNKGUARD, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    # A signal test: the command must be under way, merging: its workers (or its git) forked.
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        if children.read_text().split():
            break
        time.sleep(0.005)
    assert process.poll() is None, "finished before it could be interrupted"
    # Forked workers leave quietly: no traceback of theirs, no "Aborted!".
    assert _interrupted(process) == (130, "trunkguard: interrupted\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_ctrl_c_stops_the_server_with_one_line_and_status_130(tmp_path):
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "TRUNKGUARD_CREDENTIALS_FILE": str(tmp_path / "credentials.json"),
        "TRUNKGUARD_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
    }
    process = subprocess.Popen(
        [TRUNKGUARD, "serve", "--port", str(port)],
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while True:  # until it listens
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
    status, err = _interrupted(process)
    assert status == 130
    assert err.splitlines()[-1] == "trunkguard: interrupted" and "Traceback" not in err


@pytest.fixture
def busy_port():
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        yield int(taken.getsockname()[1])


def test_a_second_worker_is_told_about_the_metrics_port(busy_port, keys, tmp_path):
    result = run(
        "worker",
        "--metrics-port",
        str(busy_port),
        TRUNKGUARD_BROKER_URL="redis://127.0.0.1:1/0",
        TRUNKGUARD_APP_ID="12",
        TRUNKGUARD_PRIVATE_KEY=keys[0],
        TRUNKGUARD_WEBHOOK_SECRET="secret",
        TRUNKGUARD_CREDENTIALS_FILE=str(tmp_path / "none.json"),
    )
    assert (result.exit_code, result.output) == (
        1,
        f"Error: port {busy_port} is in use (another worker?): --metrics-port N, or 0 for none\n",
    )


def test_serve_says_which_port_is_in_use(busy_port, tmp_path):
    env = {"TRUNKGUARD_CREDENTIALS_FILE": str(tmp_path / "none.json")}
    web = run("serve", "--port", str(busy_port), **env)
    assert (web.exit_code, web.output) == (
        1,
        f"Error: port {busy_port} on 127.0.0.1 is in use (another trunkguard serve?): --port N\n",
    )
    metrics = run("serve", "--port", str(free_port()), "--metrics-port", str(busy_port), **env)
    assert (metrics.exit_code, metrics.output) == (
        1,
        f"Error: port {busy_port} on 127.0.0.1 is in use "
        "(--metrics-port N, or 0 to serve metrics on /metrics)\n",
    )


def test_pr_check_refuses_an_api_url_that_is_not_one(tmp_path):
    event = tmp_path / "event.json"
    event.write_text('{"repository": {"full_name": "o/r"}, "pull_request": {"number": 1}}')
    result = run("pr-check", "--event", str(event), "--token", "t", "--api-url", "notaurl")
    assert result.exit_code == 2 and "internal error" not in result.output
    assert result.output.splitlines()[-1] == (
        "Error: Invalid value for '--api-url': 'notaurl' is not an http(s) URL, "
        "e.g. https://api.github.com"
    )


def test_config_check_passes_the_defaults_file_and_sums_up_every_section():
    defaults = Path(__file__).parent.parent / "config" / "default.yml"
    result = run("config", "check", str(defaults))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:2] == [
        f"{defaults}: valid",
        "  store: the server's setting (its config/default.yml), ignored here",
    ]
    assert lines[-2:] == [
        "  weekly report: mon 09:00 UTC, one issue edited each week labelled trunkguard-report; "
        "authors named, not mentioned; stale after 30 days without a commit",
        "  nudges: off (when on: after 6 idle days)",
    ]
    assert (
        "  release lines (apart from feature work): branches release/*, releases/*, "
        "release-[0-9]*, release[0-9]*, stable, stable-* and 10 more; a branch whose head "
        "carries a version tag; ignored: gh-pages"
    ) in lines


@pytest.fixture
def old_repo(make_repo):
    """Trunk's newest commit 40 days before NOW; a pull request head 50 days old."""
    t = make_repo()
    base = t.commit({"a.txt": "a\n"}, days_ago=60, branch="main")
    t.commit({"a.txt": "b\n"}, days_ago=40, parents=[base], branch="main")
    t.ref("refs/pull/3/head", t.commit({"b.txt": "b\n"}, days_ago=50, parents=[base]))
    return t


@pytest.mark.parametrize("command", ["scan", "conflicts", "trends", "report"])
def test_a_stale_clone_says_so_once_with_the_now_that_measures_then(command, old_repo):
    result = run(command, str(old_repo.path), "--no-store")
    assert result.exit_code == 0, result.output
    said = [line for line in result.stderr.splitlines() if "newest commit" in line]
    assert len(said) == 1
    assert re.fullmatch(
        r"trunkguard: the newest commit is \d+ (months|years) old \(2026-04-18\): fetch, or "
        r"measure as of then with --now 2026-04-18T20:27Z",
        said[0],
    )
    if command == "report":
        return  # the report says nothing of the heads it leaves out
    # The pull request head is not left out for the rule's sake but because the clone is old.
    assert (
        "trunkguard: 1 of 1 pull request head left out (1 with no commit in 30 days: the clone "
        "is stale); --now 2026-04-18T20:27Z counts the recent ones as of then"
    ) in result.stderr.splitlines()


def test_a_chosen_now_long_after_the_newest_commit_is_said_too(old_repo):
    result = run("scan", str(old_repo.path), "--now", NOW_ISO)
    assert result.exit_code == 0
    assert (
        "trunkguard: the newest commit is 5 weeks before --now (2026-04-18); "
        "--now 2026-04-18T20:27Z measures as of then"
    ) in result.stderr.splitlines()
    fresh = run("scan", str(old_repo.path), "--now", "2026-04-18T20:27Z")
    assert fresh.exit_code == 0 and "newest commit" not in fresh.stderr


@pytest.mark.parametrize("command", ["scan", "conflicts", "trends", "report"])
def test_now_before_trunks_newest_commit_is_refused(command, old_repo):
    result = run(command, str(old_repo.path), "--now", "2026-04-01T00:00Z")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        "Error: Invalid value for '--now': 2026-04-01T00:00Z is before trunk's newest commit "
        "(2026-04-18T20:27Z): the branches as they are now cannot be measured then; use --now "
        "2026-04-18T20:27Z or later"
    )


class FakeBar:
    """Records what the progress bar was asked to do."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def add_task(self, label, total):
        self.calls.append(("task", total))
        return 1

    def start(self):
        self.calls.append(("start",))

    def update(self, task, completed, total):
        self.calls.append(("update", completed, total))

    def stop(self):
        self.calls.append(("stop",))


class AtOnce:
    """A timer whose time is already up when started."""

    def __init__(self, delay, function):
        self.delay, self.function, self.daemon = delay, function, False

    def start(self):
        self.function()

    def cancel(self):
        pass


class Never(AtOnce):
    def start(self):
        pass


@pytest.mark.parametrize("timer, shown", [(AtOnce, True), (Never, False)])
def test_the_bar_shows_once_the_delay_is_up_before_any_figure(monkeypatch, timer, shown):
    bar = FakeBar()
    monkeypatch.setattr(plumbing, "_bar", lambda label: bar)
    monkeypatch.setattr(plumbing, "_timer", timer)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    with plumbing.progress("working") as update:
        before = list(bar.calls)
        update(3, 10)
    assert before == ([("task", None), ("start",)] if shown else [("task", None)])
    assert bar.calls[len(before) :] == [("update", 3, 10)] + ([("stop",)] if shown else [])


def test_the_long_phases_of_every_command_report_progress(monkeypatch, make_repo):
    heard: dict[str, int] = {}
    real = plumbing.progress

    def counting(label, *rest):
        manager = real(label, *rest)

        class Counting:
            def __enter__(self):
                update = manager.__enter__()
                heard.setdefault(label, 0)

                def counted(done, total):
                    heard[label] += 1
                    update(done, total)

                return counted

            def __exit__(self, *exc):
                return manager.__exit__(*exc)

        return Counting()

    monkeypatch.setattr(plumbing, "progress", counting)
    t = make_repo()
    first = t.commit({"a.txt": "a\n"}, days_ago=20, branch="main")
    side = t.commit({"b.txt": "b\n"}, days_ago=15, parents=[first])
    merged = t.commit({"a.txt": "a\n", "b.txt": "b\n"}, days_ago=10, parents=[first, side])
    t.commit({"a.txt": "a2\n"}, days_ago=2, parents=[merged], branch="main")
    t.commit({"c.txt": "c\n"}, days_ago=1, parents=[merged], branch="feature/x")
    for command in ("scan", "conflicts", "trends", "report"):
        result = run(command, str(t.path), "--now", NOW_ISO, "--no-store")
        assert result.exit_code == 0, result.output
    assert run("replay", str(t.path)).exit_code == 0
    assert all(heard.values()) and set(heard) == {
        "scanning branches",
        "merging",
        "replaying merges",
        "mining history",
    }, heard


def test_a_repository_with_commits_but_no_trunk_is_still_an_error(make_repo):
    t = make_repo()
    t.commit({"a": "1\n"}, days_ago=1, branch="topic")
    for command in ("scan", "report"):
        result = run(command, str(t.path), "--no-store")
        assert result.exit_code == 1 and "--trunk" in result.stderr, result.output


def _until_said(process: subprocess.Popen[bytes], marker: bytes) -> None:
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    while marker not in process.stderr.readline():
        assert process.poll() is None and time.monotonic() < deadline


@pytest.mark.parametrize("command, ready", [("scheduler", b"running"), ("worker", b"ready.")])
def test_ctrl_c_stops_a_service_with_one_last_line_and_status_130(
    command, ready, keys, tmp_path, request
):
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "TRUNKGUARD_APP_ID": "12",
        "TRUNKGUARD_PRIVATE_KEY": keys[0],
        "TRUNKGUARD_WEBHOOK_SECRET": "secret",
        "TRUNKGUARD_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
        "TRUNKGUARD_MIRROR_DIR": str(tmp_path / "mirrors"),
    }
    if command == "worker":
        env["TRUNKGUARD_BROKER_URL"] = request.getfixturevalue("redis_url")
    process = subprocess.Popen(
        [TRUNKGUARD, command, *(["--metrics-port", "0"] if command == "worker" else [])],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    _until_said(process, ready)
    status, err = _interrupted(process)
    assert status == 130 and err.splitlines()[-1] == "trunkguard: interrupted", err


def test_a_url_just_fetched_is_not_told_to_fetch():
    from bot.cli.clock import History, stale_line

    old = History(trunk_time=NOW_TS - 400 * 86400, newest_time=NOW_TS - 400 * 86400)
    assert stale_line(old, NOW_TS, explicit=False, fetched=True) == (
        "trunkguard: the newest commit is 13 months old (2025-04-23): measure as of then with "
        "--now 2025-04-23T20:27Z"
    )
    assert stale_line(old, NOW_TS - 395 * 86400, explicit=False) is None  # 5 days: not stale
