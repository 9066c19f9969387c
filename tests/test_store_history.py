"""Exploratory runs leave the stored history alone: another clock, trunk or choice of
branches is kept only with --store; trends and report keep nothing with --no-store."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.cli.main import cli
from bot.store import Store
from bot.store.models import MergedWork, Repository, Scan
from tests.gitrepo import lines


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def kept(db_url: str) -> tuple[dict[str, int], dict[int, list[int]]]:
    """The runs kept, by kind, and the weekly figures trends and report read."""
    with Store(db_url) as store:
        with Session(store.engine) as session:
            kinds = dict(session.execute(select(Scan.kind, func.count()).group_by(Scan.kind)).all())
            kinds["merged"] = session.scalar(select(func.count()).select_from(MergedWork))
            name = session.scalar(select(Repository.name))
        return kinds, ({} if name is None else store.weekly_ages(name))


def iso(seconds_ago: float) -> str:
    return datetime.fromtimestamp(time.time() - seconds_ago, UTC).isoformat()


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        (["--now", iso(3 * 86400)], "--now is in the past"),
        (["--now", iso(-86400)], "--now is in the future"),
        (["--exclude", "*/old"], "--include/--exclude leave branches out"),
        (["--include", "feature/*"], "--include/--exclude leave branches out"),
        (["--trunk", "feature/new"], "--trunk is not the repository's default trunk"),
        (["--pulls", "all"], "--pulls all is not the default"),
        (["--pull-days", "5"], "--pull-days is not the default"),
        (["--open-pulls", "7"], "--open-pulls chooses the pull request heads"),
    ],
)
def test_an_exploratory_run_is_not_stored_unless_asked(db_url, team_repo, options, reason):
    path = str(team_repo.path)
    assert run("scan", path, "--db", db_url).exit_code == 0  # this week's real scan
    before = kept(db_url)
    for command in ("scan", "conflicts"):
        result = run(command, path, "--db", db_url, "--json", *options)
        assert result.exit_code == 0, result.output
        assert f"trunkguard: not stored: {reason}; --store keeps it\n" in result.stderr
        json.loads(result.stdout)
    assert kept(db_url) == before

    result = run("scan", path, "--db", db_url, "--json", "--store", *options)
    assert result.exit_code == 0 and "not stored" not in result.stderr
    assert kept(db_url)[0]["scan"] == before[0]["scan"] + 1


def test_the_defaults_spelled_out_and_a_clock_a_minute_off_are_stored(db_url, team_repo):
    path = str(team_repo.path)
    same = ["--trunk", "main", "--pulls", "recent", "--pull-days", "30", "--now", iso(60)]
    result = run("scan", path, "--db", db_url, *same)
    assert result.exit_code == 0 and "not stored" not in result.stderr
    assert kept(db_url)[0] == {"scan": 1, "merged": 0}
    unkept = run("scan", path, "--db", db_url, "--exclude", "x", "--no-store").stderr
    assert "not stored" not in unkept  # (the clone's age is said: its commits are from NOW)


def test_trends_and_report_keep_nothing_with_no_store(db_url, make_repo, team_repo):
    path = str(team_repo.path)
    result = run("report", path, "--db", db_url, "--json", "--no-store")
    assert result.exit_code == 0, result.output
    with Store(db_url) as store:
        assert store.revisions()[0] is None  # not even created
    assert run("trends", path, "--db", db_url, "--json", "--no-store").exit_code == 0

    moment = ["--now", iso(10)]  # one moment for both reports: the same ages
    stored = json.loads(run("report", path, "--db", db_url, "--json", *moment).stdout)
    before = kept(db_url)
    assert before[0]["scan"] == before[0]["conflicts"] == 1
    unkept = json.loads(run("report", path, "--db", db_url, "--json", "--no-store", *moment).stdout)
    assert run("trends", path, "--db", db_url, "--json", "--no-store").exit_code == 0
    assert kept(db_url) == before
    # The report reads this run's figures as if they were stored.
    for key in ("week", "open_branches", "oldest", "headline"):
        assert unkept[key] == stored[key], key


def test_a_report_at_another_moment_is_not_stored(db_url, make_repo):
    t = make_repo()
    c1 = t.commit({"a.txt": lines(5)}, days_ago=40)
    f1 = t.commit({"f.txt": "f\n"}, days_ago=30, parents=[c1])
    t.commit({"f.txt": "f\n"}, days_ago=20, parents=[c1, f1], branch="main")
    args = ["report", str(t.path), "--db", db_url, "--json", "--now", "2026-05-28T20:26:40Z"]
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert "not stored: --now is in the past; --store keeps it" in result.stderr
    with Store(db_url) as store:
        assert store.revisions()[0] is None
    assert run(*args, "--store").exit_code == 0
    assert kept(db_url)[0] == {"scan": 1, "conflicts": 1, "merged": 1}
