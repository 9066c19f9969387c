"""What `trunkguard` loads: nothing heavy before a command is chosen, and a command only what
it uses. Checked on the modules a fresh process holds at exit, not on a time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from analyzers.refs import PullHeads
from bot.cli.main import cli
from bot.cli.options import PULL_HEADS

# The command as installed, in a fresh interpreter, writing the modules it loaded to a file.
PROBE = """
import atexit, json, os, sys
atexit.register(lambda: open(os.environ["MODULES_OUT"], "w").write(json.dumps(sorted(sys.modules))))
sys.argv = ["trunkguard", *sys.argv[1:]]
from bot.cli.main import main
main()
"""
WEB_GITHUB_QUEUE = {
    "fastapi",
    "starlette",
    "uvicorn",
    "github",
    "celery",
    "kombu",
    "redis",
    "apscheduler",
    "prometheus_client",
    "jinja2",
}
STORE = {"sqlalchemy", "alembic", "psycopg"}
# What listing the commands needs none of: the analyzers, git, the terminal's tables, the
# configuration's validation.
HEAVY = WEB_GITHUB_QUEUE | STORE | {"pygit2", "analyzers", "rich", "pydantic", "yaml"}


def loaded(tmp_path: Path, *args: str) -> set[str]:
    """Run `trunkguard ARGS` in a fresh process; return the top-level packages it loaded."""
    out = tmp_path / "modules.json"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env={**os.environ, "MODULES_OUT": str(out)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return {name.split(".")[0] for name in json.loads(out.read_text())}


def command_paths(group: click.Group, path: tuple[str, ...] = ()) -> list[list[str]]:
    out = []
    for name, command in group.commands.items():
        out.append([*path, name])
        if isinstance(command, click.Group):
            out += command_paths(command, (*path, name))
    return out


@pytest.mark.parametrize("args", [["--help"], ["scan", "--help"], ["--version"]])
def test_listing_the_commands_loads_nothing_heavy(tmp_path, args):
    assert loaded(tmp_path, *args) & HEAVY == set()


def test_every_command_help_loads_nothing_heavy(tmp_path):
    # One process for all of them: CliRunner in a fresh interpreter, like the probe.
    code = (
        "import json, sys\n"
        "from click.testing import CliRunner\n"
        "from bot.cli.main import cli\n"
        "for path in json.loads(sys.argv[1]):\n"
        "    assert CliRunner().invoke(cli, [*path, '--help']).exit_code == 0, path\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    paths = json.dumps(command_paths(cli))
    result = subprocess.run(
        [sys.executable, "-c", code, paths], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    names = {name.split(".")[0] for name in json.loads(result.stdout)}
    assert names & HEAVY == set()


@pytest.fixture
def small_repo(make_repo):
    t = make_repo()
    c1 = t.commit({"a.txt": "1\n2\n3\n"}, days_ago=10)
    c2 = t.commit({"a.txt": "1\ntrunk\n3\n"}, days_ago=5, parents=[c1], branch="main")
    t.commit({"a.txt": "1\nmine\n3\n"}, days_ago=3, parents=[c1], branch="feature/a")
    t.commit({"b.txt": "b\n"}, days_ago=1, parents=[c2], branch="feature/b")
    return t


def test_scan_without_the_store_loads_no_service_library(tmp_path, small_repo):
    names = loaded(tmp_path, "scan", str(small_repo.path), "--no-store", "--json")
    assert names & (WEB_GITHUB_QUEUE | STORE) == set()
    assert "rich" not in names  # JSON needs no terminal tables
    names = loaded(tmp_path, "scan", str(small_repo.path), "--no-store")
    assert names & (WEB_GITHUB_QUEUE | STORE) == set()


@pytest.mark.parametrize(
    "args",
    [["conflicts", "--no-store"], ["replay"], ["replay", "--check-git", "--json"]],
)
def test_analysis_commands_load_no_web_github_or_queue_library(tmp_path, small_repo, args):
    names = loaded(tmp_path, args[0], str(small_repo.path), *args[1:])
    assert names & (WEB_GITHUB_QUEUE | STORE) == set()


@pytest.mark.parametrize("command", ["trends", "report"])
def test_trends_and_report_load_no_web_github_or_queue_library(tmp_path, small_repo, command):
    db = f"sqlite:///{tmp_path / 'store.db'}"
    names = loaded(tmp_path, command, str(small_repo.path), "--db", db, "--json")
    assert names & WEB_GITHUB_QUEUE == set()


def test_pull_heads_choices_are_the_analyzers_own():
    assert PULL_HEADS == tuple(p.value for p in PullHeads)
