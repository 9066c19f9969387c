"""The metrics store, the same tests on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from analyzers.divergence import scan
from analyzers.refs import inventory
from bot.cli.main import cli
from bot.store import Store, StoreError
from bot.store.models import BranchSnapshot, PredictedConflict, Repository, Scan
from bot.store.models import MergedWork as MergedWorkRow
from tests.gitrepo import DAY, NOW, lines


@pytest.fixture
def open_store():
    """Open stores that are closed after the test."""
    opened = []

    def make(url: str) -> Store:
        opened.append(Store(url))
        return opened[-1]

    yield make
    for store in opened:
        store.close()


def count(store: Store, model) -> int:
    with Session(store.engine) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_first_use_creates_the_schema(db_url, open_store):
    store = open_store(db_url)
    current, head = store.revisions()
    assert current is None
    store.ready()
    assert store.revisions() == (head, head)


def test_a_scan_is_stored_with_every_figure(db_url, team_repo, open_store):
    store = open_store(db_url).ready()
    report = scan(team_repo.repo, inventory(team_repo.repo), NOW)
    started = datetime(2026, 5, 28, 20, 0, tzinfo=UTC)
    scan_id = store.save_scan("/src/team", report, started)
    with Session(store.engine) as session:
        saved = session.get(Scan, scan_id)
        assert (saved.kind, saved.status, saved.trunk_name) == ("scan", "succeeded", "main")
        assert saved.measured_at.timestamp() == NOW and saved.trunk_head == report.trunk.head
        rows = {r.name: r for r in session.scalars(select(BranchSnapshot))}
    old = rows["feature/old"]
    assert (old.ahead, old.behind, old.age_seconds, old.authors) == (
        1,
        1,
        9 * DAY,
        ["Ada Lovelace"],
    )
    assert rows["feature/new"].overlap_files == []
    assert old.merge_base_time.timestamp() == NOW - 10 * DAY


def test_a_failing_write_leaves_nothing_half_written(db_url, team_repo, open_store):
    store = open_store(db_url).ready()
    report = scan(team_repo.repo, inventory(team_repo.repo), NOW)
    started = datetime.now(UTC)
    store.save_scan("/src/team", report, started)
    # Two rows for one branch break the (scan, name) constraint halfway through the insert.
    broken = replace(report, branches=report.branches + report.branches[:1])
    with pytest.raises(StoreError):
        store.save_scan("/src/team", broken, started)
    assert count(store, Scan) == 1
    assert count(store, BranchSnapshot) == len(report.branches)


def test_schema_behind_or_newer_is_refused(db_url, open_store):
    from alembic import command

    store = open_store(db_url)
    with store.engine.begin() as connection:
        command.upgrade(store._config(connection), "0001")  # as an older trunkguard left it
    with pytest.raises(StoreError, match="revision 0001, this trunkguard needs .*db upgrade"):
        open_store(db_url).ready()
    result = CliRunner().invoke(cli, ["db", "upgrade", "--db", db_url])
    assert result.output.startswith("schema upgraded from revision 0001 to ")
    open_store(db_url).ready()
    with store.engine.begin() as connection:
        connection.execute(text("DELETE FROM alembic_version"))
    with store.engine.begin() as connection:
        connection.execute(text("INSERT INTO alembic_version VALUES ('ffffffff')"))
    with pytest.raises(StoreError, match="newer than this trunkguard knows: upgrade trunkguard"):
        open_store(db_url).ready()


def test_two_scans_at_once_in_two_processes(db_url, team_repo, open_store):
    command = [sys.executable, "-m", "bot", "scan", str(team_repo.path), "--db", db_url, "--json"]
    open_store(
        db_url
    ).ready()  # both processes find the schema; they race on the first repository row
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in "ab"]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err.decode() for _, err in outputs]
    store = open_store(db_url)
    assert count(store, Repository) == 1
    assert count(store, Scan) == 2
    assert count(store, BranchSnapshot) == 2 * len(json.loads(outputs[0][0])["branches"])


def test_cli_stores_unless_told_not_to(db_url, team_repo, open_store):
    runner = CliRunner()
    path = str(team_repo.path)
    assert runner.invoke(cli, ["scan", path, "--db", db_url, "--no-store"]).exit_code == 0
    assert open_store(db_url).revisions()[0] is None  # not even created
    assert runner.invoke(cli, ["scan", path, "--db", db_url]).exit_code == 0
    assert runner.invoke(cli, ["scan", path, "--db", db_url]).exit_code == 0
    store = open_store(db_url)
    assert count(store, Scan) == 2
    with Session(store.engine) as session:
        assert session.scalar(select(Repository.name)) == str(Path(path).resolve())


def test_db_commands(db_url, open_store):
    runner = CliRunner()
    out = runner.invoke(cli, ["db", "current", "--db", db_url]).output
    assert "schema revision none" in out and "run `trunkguard db upgrade`" in out
    out = runner.invoke(cli, ["db", "upgrade", "--db", db_url]).output
    assert out.startswith("schema upgraded from revision none to ")
    assert "already at" in runner.invoke(cli, ["db", "upgrade", "--db", db_url]).output
    assert "(up to date)" in runner.invoke(cli, ["db", "current", "--db", db_url]).output


def test_an_analysis_failure_is_recorded(db_url, make_repo, open_store):
    t = make_repo()
    t.commit({"a": "1\n"}, days_ago=1, branch="topic")  # no trunk to be found
    result = CliRunner().invoke(cli, ["scan", str(t.path), "--db", db_url])
    assert result.exit_code == 1 and "--trunk" in result.stderr
    with Session(open_store(db_url).engine) as session:
        failed = session.scalars(select(Scan)).one()
    assert failed.status == "failed" and "cannot tell which branch is trunk" in failed.error


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@localhost/x", "unsupported database 'mysql'"),
        ("not a url", "is not a database URL"),
        ("postgresql://nobody@127.0.0.1:1/none", "Connection refused"),
    ],
)
def test_bad_database_urls_are_one_line(team_repo, url, message, open_store):
    result = CliRunner().invoke(cli, ["scan", str(team_repo.path), "--db", url])
    assert result.exit_code == 1
    assert message in result.stderr and "Traceback" not in result.output


def test_read_only_database(tmp_path, team_repo, open_store):
    db = tmp_path / "ro.db"
    open_store(f"sqlite:///{db}").ready()
    url = f"sqlite:///file:{db}?mode=ro&uri=true"
    result = CliRunner().invoke(cli, ["scan", str(team_repo.path), "--db", url])
    assert result.exit_code == 1
    assert "is read-only" in result.stderr
    assert count(open_store(f"sqlite:///{db}"), Scan) == 0


def test_retention_thins_old_scans_to_one_a_week(db_url, team_repo, open_store):
    store = open_store(db_url).ready()
    report = scan(team_repo.repo, inventory(team_repo.repo), NOW)
    day = 86400
    # Daily scans for 4 weeks (2026-04-27 is a Monday), then keep 7 days of daily scans.
    start = datetime(2026, 4, 27, 12, tzinfo=UTC).timestamp()
    for n in range(28):
        store.save_scan("/src/team", replace(report, now=int(start + n * day)), datetime.now(UTC))
    now = datetime.fromtimestamp(start + 27 * day, UTC)
    removed = store.prune("/src/team", keep_daily_days=7, now=now)
    with Session(store.engine) as session:
        kept = sorted(s.measured_at.replace(tzinfo=UTC) for s in session.scalars(select(Scan)))
    # Weeks 1-3 keep their Sunday scan; the last 7 days (plus the last week's) are all kept.
    assert removed == 28 - len(kept)
    assert [k.strftime("%a") for k in kept[:3]] == ["Sun", "Sun", "Sun"]
    assert len(kept) == 3 + 7
    assert count(store, BranchSnapshot) == len(kept) * len(report.branches)


def test_conflicts_are_stored_and_the_merge_cache_outlives_the_run(db_url, tmp_path, open_store):
    runner = CliRunner()
    runner.invoke(cli, ["demo", "--path", str(tmp_path / "demo"), "--json"])
    demo = str(tmp_path / "demo" / "repo.git")
    first = json.loads(runner.invoke(cli, ["conflicts", demo, "--db", db_url, "--json"]).stdout)
    assert first["stats"]["merges_computed"] > 0
    second = json.loads(runner.invoke(cli, ["conflicts", demo, "--db", db_url, "--json"]).stdout)
    assert second["stats"]["merges_computed"] == 0  # every merge came from the store
    assert (second["with_trunk"], second["pairs"]) == (first["with_trunk"], first["pairs"])

    store = open_store(db_url)
    with Session(store.engine) as session:
        scans = session.scalars(select(Scan).where(Scan.kind == "conflicts")).all()
        rows = session.scalars(
            select(PredictedConflict).where(PredictedConflict.scan_id == scans[-1].id)
        ).all()
    assert len(scans) == 2
    pair = next(r for r in rows if r.other is not None)
    assert (pair.branch, pair.other) == ("feature/invoices", "feature/tax-rounding")
    assert pair.conflicts[0]["path"] == "src/billing.py" and pair.engine_version >= 1
    assert pair.trunk_head == first["trunk"]["head"]
    blocked = {r.branch for r in rows if r.other is None}
    assert blocked == {"feature/checkout-redesign", "pull/7"}

    weeks = json.loads(
        runner.invoke(cli, ["trends", demo, "--db", db_url, "--weeks", "2", "--json"]).stdout
    )["weeks"]
    assert weeks[-1]["predicted_conflicts"] == len(rows) == 3


def test_the_head_constant_is_alembics_head():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from bot.store import MIGRATIONS
    from bot.store.migrations import HEAD

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD


def test_trends_keeps_the_merged_work_it_mines(db_url, make_repo, open_store):
    t = make_repo()
    c1 = t.commit({"a.txt": lines(5)}, days_ago=40)
    f1 = t.commit({"f.txt": "f\n"}, days_ago=30, parents=[c1])
    t.commit({"f.txt": "f\n"}, days_ago=20, parents=[c1, f1], branch="main")
    args = ["trends", str(t.path), "--db", db_url, "--now", "2026-05-28T20:26:40Z", "--json"]
    for _ in range(2):  # a second run keeps nothing twice
        assert CliRunner().invoke(cli, args).exit_code == 0
    with Session(open_store(db_url).engine) as session:
        kept = session.scalars(select(MergedWorkRow)).all()
    assert len(kept) == 1
    assert (kept[0].commits, kept[0].lifetime_seconds, kept[0].conflicted) == (1, 10 * DAY, False)


def test_a_full_disk_is_one_clear_error_and_loses_nothing(tmp_path, team_repo, open_store):
    from sqlalchemy import event

    store = open_store(f"sqlite:///{tmp_path / 'full.db'}").ready()
    report = scan(team_repo.repo, inventory(team_repo.repo), NOW)
    store.save_scan("/src/team", report, datetime.now(UTC))
    with store.engine.connect() as connection:
        pages = connection.exec_driver_sql("PRAGMA page_count").scalar()
    store.engine.dispose()

    @event.listens_for(store.engine, "connect")
    def no_room(dbapi_connection, _):
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")  # nothing more fits

    many = tuple(
        replace(b, name=f"{b.name}-{n}", overlap_files=("x" * 500,) * 40)
        for n in range(200)
        for b in report.branches
    )
    with pytest.raises(StoreError, match="is full"):
        store.save_scan("/src/team", replace(report, branches=many), datetime.now(UTC))
    assert count(store, Scan) == 1
