"""The `trunkguard` command as people and scripts use it."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from bot.cli.main import cli
from bot.mirrors.fetch import mirror_path
from tests.gitrepo import DAY, NOW, git

NOW_ISO = "2026-05-28T20:26:40Z"


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def team_repo(make_repo):
    t = make_repo()
    c1 = t.commit({"a.txt": "a\n"}, days_ago=10)
    c2 = t.commit({"a.txt": "a2\n"}, days_ago=5, parents=[c1], branch="main")
    t.commit({"a.txt": "old\n"}, days_ago=9, parents=[c1], branch="feature/old")
    t.commit({"a.txt": "mine\n"}, days_ago=1, parents=[c2], branch="feature/new")
    return t


def run(runner, *args):
    return runner.invoke(cli, list(args), catch_exceptions=False)


def test_scan_json_document(runner, team_repo):
    result = run(runner, "scan", str(team_repo.path), "--now", NOW_ISO, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["repository"] == str(team_repo.path)
    assert doc["trunk"]["name"] == "main"
    assert doc["trunk"]["head"] == str(team_repo.repo.references["refs/heads/main"].target)
    assert doc["scanned_at"] == NOW_ISO
    assert [b["name"] for b in doc["branches"]] == ["feature/old", "feature/new"]
    old = doc["branches"][0]
    assert set(old) == {
        "name",
        "ref",
        "head",
        "ahead",
        "behind",
        "merge_base",
        "merge_base_time",
        "age_seconds",
        "base_age_seconds",
        "idle_seconds",
        "authors",
        "files_changed",
        "pull_requests",
        "unknown",
        "lines_added",
        "lines_deleted",
        "trunk_files_changed",
        "overlap_files",
        "base",
    }
    assert old["base"] is None  # measured against trunk
    assert doc["release_lines"] == []
    assert (old["ahead"], old["behind"], old["age_seconds"]) == (1, 1, 9 * DAY)
    assert old["merge_base_time"] == "2026-05-18T20:26:40Z"
    assert old["authors"] == ["Ada Lovelace"]
    assert old["overlap_files"] == ["a.txt"]
    assert doc["branches"][1]["overlap_files"] == []


def test_scan_table_for_people(runner, team_repo):
    result = run(runner, "scan", str(team_repo.path), "--now", NOW_ISO)
    assert result.exit_code == 0
    assert "feature/old" in result.output and "9 days" in result.output


def test_include_exclude(runner, team_repo):
    result = run(runner, "scan", str(team_repo.path), "--json", "--exclude", "*/old")
    assert [b["name"] for b in json.loads(result.stdout)["branches"]] == ["feature/new"]


def test_now_accepts_offsets_and_naive_utc(runner, team_repo):
    a = run(runner, "scan", str(team_repo.path), "--json", "--now", "2026-05-28T22:26:40+02:00")
    b = run(runner, "scan", str(team_repo.path), "--json", "--now", "2026-05-28T20:26:40")
    assert json.loads(a.stdout)["scanned_at"] == json.loads(b.stdout)["scanned_at"] == NOW_ISO
    assert NOW == 1_780_000_000


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["scan", "/no/such/path"], "no such file or directory", 1),
        (["scan", "{tmp}"], "not a git repository", 1),
        (["scan", "{repo}", "--trunk", "develop"], "trunk 'develop' is not a branch", 1),
        (["scan", "{repo}", "--now", "last tuesday"], "not an ISO 8601 date", 2),
        (["scan", "{repo}", "--include", "feature/[x"], "bad glob", 2),
        (["scan", "file:///no/such/repo.git", "--cache-dir", "{tmp}/cache"], "cannot fetch", 1),
    ],
)
def test_bad_input_is_one_line_and_non_zero(runner, team_repo, tmp_path, args, message, code):
    args = [a.format(tmp=tmp_path, repo=team_repo.path) for a in args]
    (tmp_path / "empty").mkdir(exist_ok=True)
    args = [str(tmp_path / "empty") if a == str(tmp_path) else a for a in args]
    result = runner.invoke(cli, args)
    assert result.exit_code == code
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_empty_repository(runner, make_repo):
    t = make_repo()
    result = run(runner, "scan", str(t.path))
    assert result.exit_code == 0 and "no commits yet" in result.output
    doc = json.loads(run(runner, "scan", str(t.path), "--json").stdout)
    assert doc["trunk"] == {"name": "main", "head": None} and doc["branches"] == []


def test_url_is_mirrored_then_fetched(runner, team_repo, tmp_path):
    url = f"file://{team_repo.path}"
    cache = tmp_path / "cache"
    first = run(runner, "scan", url, "--cache-dir", str(cache), "--json")
    assert first.exit_code == 0, first.output
    assert len(json.loads(first.stdout)["branches"]) == 2
    mirror = mirror_path(url, cache)
    assert (mirror / "HEAD").read_text().strip() == "ref: refs/heads/main"
    marker = mirror / "kept"
    marker.write_text("the mirror is fetched again, not cloned anew")

    tip = team_repo.repo.references["refs/heads/main"].target
    team_repo.commit({"c.txt": "c\n"}, days_ago=0, parents=[tip], branch="feature/newer")
    team_repo.repo.references.delete("refs/heads/feature/old")
    second = run(runner, "scan", url, "--cache-dir", str(cache), "--json")
    names = [b["name"] for b in json.loads(second.stdout)["branches"]]
    assert sorted(names) == ["feature/new", "feature/newer"]
    assert marker.exists()


def test_url_mirror_includes_pull_request_heads(runner, team_repo, tmp_path):
    tip = team_repo.repo.references["refs/heads/main"].target
    pr = team_repo.commit({"pr.txt": "pr\n"}, days_ago=2, parents=[tip])
    team_repo.ref("refs/pull/7/head", pr)
    result = run(
        runner,
        "scan",
        f"file://{team_repo.path}",
        "--cache-dir",
        str(tmp_path),
        "--now",
        NOW_ISO,
        "--json",
    )
    assert "pull/7" in [b["name"] for b in json.loads(result.stdout)["branches"]]


def test_working_clone_path(runner, team_repo, tmp_path):
    clone = tmp_path / "work"
    git(tmp_path, "clone", "--quiet", str(team_repo.path), str(clone))
    result = run(runner, "scan", str(clone / "."), "--json")
    doc = json.loads(result.stdout)
    assert doc["trunk"]["name"] == "main"
    assert sorted(b["name"] for b in doc["branches"]) == ["feature/new", "feature/old"]


def demo_repo(runner, tmp_path):
    """Build the demo in tmp_path/demo; return its repository's path."""
    result = run(runner, "demo", "--path", str(tmp_path / "demo"), "--json")
    assert result.exit_code == 0, result.output
    return tmp_path / "demo" / "repo.git"


def test_demo_builds_and_scans(runner, tmp_path):
    result = run(runner, "demo", "--path", str(tmp_path / "demo"), "--json")
    doc = json.loads(result.stdout)
    names = {b["name"]: b for b in doc["branches"]}
    assert names["chore/deps"]["ahead"] == 0
    assert names["feature/checkout-redesign"]["overlap_files"] == ["src/billing.py"]
    assert "pull/7" in names and "docs/übersetzung" in names
    # A release line apart, and a backport measured against it.
    assert "release/1.0" not in names
    assert names["pull/12"]["base"] == "release/1.0"
    assert names["pull/12"]["ahead"] == 1
    [line] = doc["release_lines"]
    assert (line["name"], line["ahead"], line["based_on_it"]) == (
        "release/1.0",
        2,
        ["pull/12"],
    )


def commands(group, path=()):
    for name, command in group.commands.items():
        yield [*path, name], command
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))


def test_every_command_has_help_with_an_example(runner):
    seen = []
    for path, command in commands(cli):
        assert command.help and "Example" in command.help, path
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0 and "Example" in result.output, path
        seen.append(" ".join(path))
    assert {
        "scan",
        "conflicts",
        "replay",
        "trends",
        "demo",
        "db upgrade",
        "db current",
        "config check",
        "app manifest",
        "serve",
        "report",
        "schedule",
        "scheduler",
    } <= set(seen)


def test_conflicts_json_document(runner, tmp_path):
    demo = demo_repo(runner, tmp_path)
    result = run(runner, "conflicts", str(demo), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc) >= {"trunk", "with_trunk", "pairs", "at_risk", "land_order"}
    blocked = {x["branch"]: x["conflicts"] for x in doc["with_trunk"] if x["conflicts"]}
    assert blocked["feature/checkout-redesign"] == [
        {
            "path": "src/billing.py",
            "kind": "content",
            "ours_ranges": [[1, 8]],
            "theirs_ranges": [[1, 6]],
        }
    ]
    assert [(p["a"], p["b"]) for p in doc["pairs"]] == [
        ("feature/invoices", "feature/tax-rounding")
    ]
    order = [s["branch"] for s in doc["land_order"]]
    assert order.index("feature/invoices") < order.index("feature/tax-rounding")
    assert all(s["reason"] for s in doc["land_order"])
    # Only the freshest branches count as active with a short window.
    narrow = json.loads(run(runner, "conflicts", str(demo), "--json", "--active-days", "1").stdout)
    assert narrow["stats"]["active"] < doc["stats"]["active"]
    people = run(runner, "conflicts", str(demo))
    assert "Suggested land order" in people.output and "feature/invoices ↔" in people.output


def test_conflicts_rejects_bad_active_days(runner, team_repo):
    result = runner.invoke(cli, ["conflicts", str(team_repo.path), "--active-days", "0"])
    assert result.exit_code == 2 and "--active-days" in result.stderr


def test_replay_json_document(runner, tmp_path):
    demo = demo_repo(runner, tmp_path)
    doc = json.loads(run(runner, "replay", str(demo), "--json", "--merges", "5").stdout)
    assert doc["summary"]["into trunk"] == {"merges": 2, "conflicted": 0, "rate": 0.0}
    assert doc["summary"]["trunk into branch"] == {"merges": 1, "conflicted": 1, "rate": 1.0}
    # The demo's paid conflict: trunk changed the line 17 days ago, trunk was merged in 13.
    paid = next(m for m in doc["merges"] if m["conflicts"])
    assert paid["lead_time_seconds"] == 4 * DAY
    assert doc["summary"]["lead_time"] == {
        "merges": 1,
        "median_seconds": 4 * DAY,
        "p90_seconds": 4 * DAY,
    }
    assert [m["matches_recorded"] for m in doc["merges"] if not m["conflicts"]] == [True, True]


def test_an_internal_error_is_one_line(runner, team_repo, monkeypatch):
    import bot.service.scanning

    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(bot.service.scanning, "scan_and_store", broken)
    result = runner.invoke(cli, ["scan", str(team_repo.path)])
    assert result.exit_code == 1
    assert "internal error: ZeroDivisionError" in result.stderr
    assert "Traceback" not in result.output


def test_replay_checks_itself_against_git(runner, make_repo):
    t = make_repo()
    c1 = t.commit({"a.txt": "1\n2\n3\n", "b.txt": "b\n"}, days_ago=10)
    c2 = t.commit({"a.txt": "1\ntrunk\n3\n"}, days_ago=9, parents=[c1])
    f1 = t.commit({"a.txt": "1\nmine\n3\n"}, days_ago=8, parents=[c1])
    f2 = t.commit({"a.txt": "1\nboth\n3\n"}, days_ago=7, parents=[f1, c2])  # trunk into branch
    t.commit({"a.txt": "1\nboth\n3\n"}, days_ago=6, parents=[c2, f2], branch="main")
    doc = json.loads(run(runner, "replay", str(t.path), "--json", "--check-git").stdout)
    assert doc["summary"]["trunk into branch"] == {"merges": 1, "conflicted": 1, "rate": 1.0}
    assert doc["summary"]["into trunk"] == {"merges": 1, "conflicted": 0, "rate": 0.0}
    assert doc["git_agreement"] == {
        "merges": 2,
        "same_outcome": 2,
        "same_paths": 2,
        "skipped": 0,
    }
    people = run(runner, "replay", str(t.path), "--check-git").output
    assert "agreement with git merge-tree: yes/no 2 of 2, conflicted paths 2 of 2" in people


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("{tmp}/nonexistent/r.html", "nonexistent does not exist"),
        ("{tmp}/notes.txt/r.html", "notes.txt is not a folder"),
        ("{tmp}", "is a directory"),
    ],
)
def test_report_output_is_checked_before_any_work(
    runner, team_repo, tmp_path, monkeypatch, output, message
):
    import bot.service.jobs.gather

    def never(*args, **kwargs):
        raise AssertionError("the report was gathered")

    monkeypatch.setattr(bot.service.jobs.gather, "gather_report", never)
    (tmp_path / "notes.txt").write_text("mine")
    db = tmp_path / "store.db"
    output = output.format(tmp=tmp_path)
    args = ["report", str(team_repo.path), "--format", "html", "--output", output]
    result = runner.invoke(cli, [*args, "--db", f"sqlite:///{db}"])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert not db.exists()  # nothing stored, not even the store created


def test_scan_summary_says_what_the_weeks_forecast_found(runner, make_repo, tmp_path):
    t = make_repo()
    base = t.commit({"a.txt": "a\n", "b.txt": "b\n"}, days_ago=3)
    t.commit({"a.txt": "trunk\n"}, days_ago=2, parents=[base], branch="main")
    t.commit({"a.txt": "mine\n"}, days_ago=1, parents=[base], branch="feature/x")
    t.commit({"b.txt": "one\n"}, days_ago=1, parents=[base], branch="feature/y")
    t.commit({"b.txt": "two\n"}, days_ago=1, parents=[base], branch="feature/z")
    stored = ("--db", f"sqlite:///{tmp_path / 'store.db'}", "--now", NOW_ISO, "--store")
    # Without a forecast this week, the summary says nothing of conflicts.
    first = run(runner, "scan", str(t.path), *stored)
    assert first.exit_code == 0, first.output
    assert "conflict" not in first.stdout.splitlines()[0]
    assert run(runner, "conflicts", str(t.path), *stored).exit_code == 0
    result = run(runner, "scan", str(t.path), *stored)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith(
        "3 branches: 0 over the 14-day limit, 1 conflicts with trunk, 1 pair will conflict once "
        "either lands (forecast under a minute ago); oldest: "
    )
