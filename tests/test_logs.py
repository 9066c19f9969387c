"""Log lines: the fields given with `extra=` are in them, as text or as JSON objects."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from bot import logs
from tests.fakegithub import app_key_pair

TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


@pytest.fixture
def root():
    """The root logger, given back as it was (pytest's own handlers included)."""
    logger = logging.getLogger()
    handlers, level = list(logger.handlers), logger.level
    yield logger
    logger.handlers[:] = handlers
    logger.setLevel(level)


def lines(capsys) -> list[str]:
    return capsys.readouterr().err.splitlines()


def test_text_lines_show_the_extra_fields(root, capsys):
    logs.configure("text")
    where = {"job": "evaluate_pull", "delivery": "abc", "attempt": 2}
    logging.getLogger("bot.service.queue").error("job failed: %s", "boom", extra=where)
    [line] = lines(capsys)
    assert re.fullmatch(
        TIME
        + " ERROR bot.service.queue: job failed: boom job=evaluate_pull delivery=abc attempt=2",
        line,
    )


def test_text_values_that_would_break_the_line_are_quoted(root, capsys):
    logs.configure("text")
    logging.getLogger("t").warning(
        "odd", extra={"branch": "feat/x y\nINFO forged", "empty": "", "none": None}
    )
    [line] = lines(capsys)
    assert line.endswith('odd branch="feat/x y\\nINFO forged" empty="" none=null')


def test_text_lines_end_with_the_traceback(root, capsys):
    logs.configure("text")
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError:
        logging.getLogger("bot.service.queue").exception("job failed", extra={"job": "scan"})
    first, *rest = lines(capsys)
    assert first.endswith("ERROR bot.service.queue: job failed job=scan")
    assert rest[0].startswith("Traceback") and rest[-1] == "ZeroDivisionError: division by zero"


def test_json_lines_are_one_object_each(root, capsys):
    logs.configure("json")
    log = logging.getLogger("bot.service.server")
    log.error("delivery not recorded", extra={"delivery": "d-1", "error": "database gone"})
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("job failed", extra={"job": "evaluate_pull", "attempt": 2})
    first, second = (json.loads(line) for line in lines(capsys))
    assert re.fullmatch(TIME, first.pop("time"))
    assert first == {
        "level": "ERROR",
        "logger": "bot.service.server",
        "message": "delivery not recorded",
        "delivery": "d-1",
        "error": "database gone",
    }
    assert second["job"] == "evaluate_pull" and second["attempt"] == 2
    assert second["exc_info"].startswith("Traceback")
    assert second["exc_info"].endswith("RuntimeError: boom")


def test_the_environment_chooses_json(root, capsys, monkeypatch):
    monkeypatch.setenv("TRUNKGUARD_LOG_FORMAT", "json")
    logs.configure()
    logging.getLogger("t").warning("hello", extra={"n": 1})
    [line] = lines(capsys)
    assert json.loads(line)["n"] == 1


def test_configured_twice_one_handler(root):
    before = len(root.handlers)
    logs.configure("text")
    logs.configure("json")
    assert len(root.handlers) == before + 1


def test_the_service_commands_info_lines_appear(root, capsys):
    logs.configure()  # what main() does for every command: warnings and errors
    log = logging.getLogger("bot.service.scheduler")
    log.info("weekly report caught up: %s", "org/app")
    assert lines(capsys) == []
    logs.adjust(level=logging.INFO)  # what serve, scheduler and worker do
    log.info("weekly report caught up: %s", "org/app")
    [line] = lines(capsys)
    assert line.endswith("INFO bot.service.scheduler: weekly report caught up: org/app")


def test_adjust_leaves_logging_alone_without_the_entry_points_handler(root):
    handlers, level = list(root.handlers), root.level
    logs.adjust("json", logging.INFO)  # as under CliRunner: main() did not run
    assert root.handlers == handlers and root.level == level


def test_serve_logs_its_info_lines_as_json(tmp_path):
    """`trunkguard --log-format json serve`: the store it creates says so, as a JSON line."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TRUNKGUARD_")},
        "HOME": str(tmp_path),
        "TRUNKGUARD_APP_ID": "12",
        "TRUNKGUARD_PRIVATE_KEY": app_key_pair()[0],
        "TRUNKGUARD_WEBHOOK_SECRET": "s3cret",
        "TRUNKGUARD_DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}",
        "TRUNKGUARD_GITHUB_API_URL": "http://127.0.0.1:9",
        "TRUNKGUARD_MIRROR_DIR": str(tmp_path / "mirrors"),
    }
    command = [sys.executable, "-m", "bot", "--log-format", "json", "serve", "--no-scheduler"]
    server = subprocess.Popen(
        [*command, "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while True:  # bounded: the server starts within seconds or the test fails
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    created = [r for r in records if r["message"] == "creating the store"]
    assert created and created[0]["level"] == "INFO"
    assert created[0]["logger"].startswith("bot.store")
    assert "served.db" in created[0]["database"]
    assert "s3cret" not in err
