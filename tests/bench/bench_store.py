"""`make bench` (store part): write a 1,000-branch scan to SQLite and PostgreSQL; size per scan."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pygit2
from sqlalchemy import text
from sqlalchemy.engine import make_url

from analyzers.divergence import scan
from analyzers.refs import inventory
from bot.store import Store
from tests.bench.monorepo import END, generated

POSTGRES = os.environ.get(
    "TRUNKGUARD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def timed_writes(store: Store, report, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        store.save_scan("bench", report, datetime.now(UTC))
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    runs = int(os.environ.get("BENCH_RUNS", "5"))
    repo = pygit2.Repository(str(generated()))
    report = scan(repo, inventory(repo), END)
    print(f"\nstore: writing one scan of {len(report.branches)} branches, median of {runs} runs")

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        with Store(f"sqlite:///{db}").ready() as store:
            sqlite_times = timed_writes(store, report, runs)
            with store.engine.connect() as connection:
                connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        per_scan = db.stat().st_size / runs
    print(
        f"  SQLite:     {statistics.median(sqlite_times):.3f} s "
        f"(runs: {', '.join(f'{t:.3f}' for t in sqlite_times)})"
    )

    name = f"trunkguard_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
        with Store(url).ready() as store:
            pg_times = timed_writes(store, report, runs)
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(
        f"  PostgreSQL: {statistics.median(pg_times):.3f} s "
        f"(runs: {', '.join(f'{t:.3f}' for t in pg_times)})"
    )
    year = per_scan * 365
    print(
        f"  size: {per_scan / 1e6:.2f} MB a scan (SQLite file); a year of daily scans "
        f"of this repository: {year / 1e9:.2f} GB"
    )


if __name__ == "__main__":
    main()
