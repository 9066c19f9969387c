"""`make bench`: the webhook endpoint on loopback, under a burst of signed deliveries.

Starts `trunkguard serve` (uvicorn, the default SQLite store) and sends recorded
`pull_request.opened` bodies, each with its own delivery id, from several connections at once;
reports deliveries per second and latency percentiles, beside GET /healthz (the HTTP stack
alone) in the same run. Loopback only; bounded in count.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.github.webhooks import signature

ROOT = Path(__file__).resolve().parents[2]
_OPENED = json.loads((ROOT / "tests/fixtures/github/webhooks/pull_request/opened.json").read_text())
# As an App receives it: with its installation, so that each delivery queues a review job.
BODY = json.dumps({**_OPENED, "installation": {"id": 1}}).encode()
SECRET = b"bench secret"
DELIVERIES = int(os.environ.get("BENCH_DELIVERIES", "3000"))
CONNECTIONS = 8


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _burst(port: int, count: int, deliver: bool) -> tuple[float, list[float]]:
    """Send `count` requests over CONNECTIONS keep-alive connections; return wall time and
    every request's latency in seconds."""
    latencies: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    per_connection = count // CONNECTIONS

    def worker(n: int) -> None:
        try:
            requests(n)
        except BaseException as error:  # reported by the caller, not lost in the thread
            with lock:
                errors.append(error)

    def requests(n: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        for i in range(per_connection):
            started = time.perf_counter()
            if deliver:
                connection.request(
                    "POST",
                    "/webhook",
                    body=BODY,
                    headers={
                        "X-GitHub-Event": "pull_request",
                        "X-GitHub-Delivery": f"bench-{n}-{i}-{time.time_ns()}",
                        "X-Hub-Signature-256": signature(SECRET, BODY),
                        "Content-Type": "application/json",
                    },
                )
            else:
                connection.request("GET", "/healthz")
            answer = connection.getresponse()
            answer.read()
            if answer.status not in (200, 202):
                raise RuntimeError(f"unexpected status {answer.status}")
            mine.append(time.perf_counter() - started)
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(CONNECTIONS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started, latencies


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        Path(tmp, "key.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        env = {
            **os.environ,
            "TRUNKGUARD_APP_ID": "1",
            "TRUNKGUARD_PRIVATE_KEY_PATH": f"{tmp}/key.pem",
            "TRUNKGUARD_WEBHOOK_SECRET": SECRET.decode(),
            "TRUNKGUARD_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            # The queued reviews find no GitHub (a closed loopback port) and fail in the
            # background: what is measured is the endpoint's verify, record and queue.
            "TRUNKGUARD_GITHUB_API_URL": f"http://127.0.0.1:{_free_port()}",
            "TRUNKGUARD_MIRROR_DIR": f"{tmp}/mirrors",
        }
        trunkguard = str(Path(sys.executable).with_name("trunkguard"))
        server = subprocess.Popen([trunkguard, "serve", "--port", str(port)], env=env)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    probe = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                    probe.request("GET", "/healthz")
                    probe.getresponse().read()
                    probe.close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            print(
                f"{DELIVERIES} signed pull_request deliveries ({len(BODY):,} bytes each) over "
                f"{CONNECTIONS} connections, SQLite store; {os.cpu_count()} cores"
            )
            print(f"\n{'what':40} {'per second':>11} {'p50 ms':>8} {'p99 ms':>8}")
            for label, deliver in (("GET /healthz (HTTP stack alone)", False),
                                   ("POST /webhook (verify, record, queue)", True)):  # fmt: skip
                seconds, latencies = _burst(port, DELIVERIES, deliver)
                print(
                    f"{label:40} {len(latencies) / seconds:11.0f} "
                    f"{statistics.median(latencies) * 1000:8.1f} "
                    f"{_percentile(latencies, 0.99) * 1000:8.1f}"
                )
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
