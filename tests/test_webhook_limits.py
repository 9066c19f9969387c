"""`trunkguard serve` over real HTTP on loopback: large bodies, slow clients and connection
floods are refused within the limits, the server keeps answering, and each refusal is one
log line at most (no traceback); bounded in connections and in seconds."""

from __future__ import annotations

import re
import resource
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.github.webhooks import signature
from bot.service.limits import MAX_BODY
from tests.cluster import free_port
from tests.fakegithub import app_key_pair

SECRET = b"It's a Secret to Everybody"
READ_TIMEOUT = 1.0  # --read-timeout: short, so that the tests wait little
MAX_CONNECTIONS = 16
DESCRIPTORS = 256  # the server's descriptor limit, as in the report
PING = (Path(__file__).parent / "fixtures/github/webhooks/ping/payload.json").read_bytes()


@dataclass
class Served:
    """A `trunkguard serve` process and where its log goes."""

    process: subprocess.Popen[bytes]
    port: int
    metrics_port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def memory_kb(self, field: str) -> int:
        """VmRSS (now) or VmHWM (the peak) of the server process, in kB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(rf"^{field}:\s+(\d+) kB", status, re.M).group(1))

    def wait_for_line(self, pattern: str, seconds: float = 5.0) -> str:
        deadline = time.monotonic() + seconds
        while not re.search(pattern, text := self.log_text()):
            assert time.monotonic() < deadline, f"no {pattern!r} in the log:\n{text}"
            time.sleep(0.05)
        return text


def _limit_descriptors() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (DESCRIPTORS, DESCRIPTORS))


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("served")
    (folder / "key.pem").write_text(app_key_pair()[0])
    port, metrics_port, nowhere = free_port(), free_port(), free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(folder),
        "TRUNKGUARD_APP_ID": "12",
        "TRUNKGUARD_PRIVATE_KEY_PATH": str(folder / "key.pem"),
        "TRUNKGUARD_WEBHOOK_SECRET": SECRET.decode(),
        "TRUNKGUARD_DATABASE_URL": f"sqlite:///{folder / 'served.db'}",
        "TRUNKGUARD_GITHUB_API_URL": f"http://127.0.0.1:{nowhere}",  # GitHub is out of reach
        "TRUNKGUARD_MIRROR_DIR": str(folder / "mirrors"),
    }
    trunkguard = str(Path(sys.executable).with_name("trunkguard"))
    command = [trunkguard, "serve", "--no-scheduler", "--port", str(port)]
    command += ["--max-connections", str(MAX_CONNECTIONS), "--read-timeout", str(READ_TIMEOUT)]
    command += ["--metrics-port", str(metrics_port)]
    log = folder / "server.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(command, env=env, stderr=stderr, preexec_fn=_limit_descriptors)
    server = Served(process, port, metrics_port, log)
    try:
        deadline = time.monotonic() + 30
        while get(server, "/healthz") != 200:  # bounded: it starts within seconds or fails
            assert process.poll() is None and time.monotonic() < deadline, server.log_text()
            time.sleep(0.05)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)


def get(server: Served, path: str, port: int | None = None) -> int:
    """GET a path; the status, or 0 when the server could not be reached."""
    url = f"http://127.0.0.1:{port or server.port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def ping(server: Served, delivery: str) -> int:
    headers = {
        "X-GitHub-Event": "ping",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": signature(SECRET, PING),
        "Content-Type": "application/json",
    }
    request = urllib.request.Request(f"{server.base}/webhook", data=PING, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=3) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code


# A signature of the right form, but wrong: the body is read (and then refused with 401); a
# request without one is refused before its body is read.
WRONG_SIGNATURE = "X-Hub-Signature-256: sha256=" + "0" * 64 + "\r\n"


def head(extra: str = "") -> bytes:
    return (
        "POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nX-GitHub-Event: ping\r\n"
        f"X-GitHub-Delivery: d-1\r\nContent-Type: application/json\r\n{WRONG_SIGNATURE}{extra}\r\n"
    ).encode()


def status_of(connection: socket.socket) -> int:
    """The status of the answer on `connection` (0: closed without one)."""
    answer = b""
    while b"\r\n" not in answer:
        try:
            chunk = connection.recv(4096)
        except OSError:
            return 0
        if not chunk:
            return 0
        answer += chunk
    return int(answer.split()[1])


def test_a_body_declared_over_25_mb_is_refused_before_it_is_read(served):
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as connection:
        connection.sendall(head(f"Content-Length: {100 * 1024 * 1024}\r\n"))
        started = time.monotonic()
        assert status_of(connection) == 413
        assert time.monotonic() - started < READ_TIMEOUT  # answered, not timed out
    served.wait_for_line(r"request refused reason=too_large")


def send_chunked(port: int, megabytes: int) -> tuple[int, int]:
    """POST a chunked body of `megabytes` MB, reading the answer meanwhile; return its
    status and the bytes sent before the server closed the connection."""
    chunk = b"x" * (1024 * 1024)
    framed = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    statuses: list[int] = []
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        reader = threading.Thread(target=lambda: statuses.append(status_of(connection)))
        reader.start()
        connection.sendall(head("Transfer-Encoding: chunked\r\n"))
        try:
            for _ in range(megabytes):
                connection.sendall(framed)
                sent += len(chunk)
        except OSError:  # the server answered and closed: the rest is not read
            pass
        reader.join(timeout=10)
    return statuses[0], sent


def test_chunked_bodies_are_read_up_to_the_cap_and_not_kept(served):
    """Three 40 MB chunked bodies, no Content-Length: each refused at 25 MB."""
    before = served.memory_kb("VmRSS")
    for _ in range(3):
        status, sent = send_chunked(served.port, 40)
        assert status == 413
        assert sent >= MAX_BODY  # read to the cap: the refusal did not come from a header
    peak = served.memory_kb("VmHWM")
    # The peak grows by about one 25 MB body (122 -> 149 MB when written), not by the 120 MB
    # sent: issue 16 measured 121 MB -> 720 MB for three 100 MB bodies.
    assert peak - before < 2 * MAX_BODY // 1024, (before, peak)
    assert get(served, "/healthz") == 200


def test_a_body_sent_too_slowly_is_refused_with_408(served):
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as connection:
        connection.sendall(head("Content-Length: 1000\r\n") + b'{"zen": ')
        started = time.monotonic()
        assert status_of(connection) == 408
        assert READ_TIMEOUT * 0.9 < time.monotonic() - started < READ_TIMEOUT + 3
    served.wait_for_line(r"request refused reason=body_timeout")


def test_an_aborted_upload_is_one_line_not_a_traceback(served):
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as connection:
        connection.sendall(head("Content-Length: 1048576\r\n") + b"x" * 65536)
        time.sleep(0.2)  # the endpoint is reading
    text = served.wait_for_line(r"request refused reason=disconnected")
    assert "Traceback" not in text
    assert get(served, "/healthz") == 200


def test_a_connection_flood_is_bounded_and_the_server_answers_once_it_passes(served):
    """More idle connections than the limit (and than the server's descriptors): those
    past the limit are answered 503 at once; the rest are closed when their headers do not
    come in time; /healthz and a signed ping then answer."""
    flood: list[socket.socket] = []
    opening = time.monotonic() + 5
    try:
        for _ in range(DESCRIPTORS + 44):
            if time.monotonic() > opening:
                break
            try:
                connection = socket.create_connection(("127.0.0.1", served.port), timeout=0.5)
            except OSError:  # the backlog is full: the kernel holds the rest back
                continue
            flood.append(connection)
            try:
                connection.sendall(b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # no more
            except OSError:
                pass
        started = time.monotonic()
        assert get(served, "/healthz") in (503, 200, 0)  # promptly: refused or served
        assert time.monotonic() - started < 3.5
        deadline = time.monotonic() + READ_TIMEOUT + 10
        while get(served, "/healthz") != 200:
            assert time.monotonic() < deadline, "the flood still holds the server"
            time.sleep(0.1)
        assert ping(served, "flood-1") == 200
        assert time.monotonic() - started < READ_TIMEOUT + 10
    finally:
        for connection in flood:
            connection.close()
    text = served.wait_for_line(r"request refused reason=head_timeout")
    assert "reason=too_many_connections" in text
    assert "Traceback" not in text
    refused = [line for line in text.splitlines() if "request refused" in line]
    assert len(refused) < 30, "\n".join(refused)  # one line per reason per 10 s


@pytest.mark.parametrize(
    "request_bytes",
    [b"NOT HTTP AT ALL\r\n\r\n", b"GET / HTTP/1.1\r\nX-Big: " + b"x" * 20_000 + b"\r\n\r\n"],
    ids=["garbage", "headers-over-16-KB"],
)
def test_a_request_that_is_not_http_is_400_and_one_line(served, request_bytes):
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as connection:
        connection.sendall(request_bytes)
        assert status_of(connection) == 400
    text = served.wait_for_line(r"request refused reason=bad_http")
    assert "Invalid HTTP request received" not in text and "Traceback" not in text


def test_metrics_are_on_their_own_port_only(served):
    assert get(served, "/metrics") == 404
    with urllib.request.urlopen(f"http://127.0.0.1:{served.metrics_port}/metrics") as page:
        text = page.read().decode()
    assert 'trunkguard_webhook_refused_total{reason="too_large"}' in text
