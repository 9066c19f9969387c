"""The merge driver, through a real `git merge` in a temporary work tree."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import cli
from tests.gitrepo import IDENTITY

PROGRAM = f"{shlex.quote(sys.executable)} -m bot"
ENV = {**os.environ, **IDENTITY}


def git(tree: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=tree, env=ENV, capture_output=True, text=True, check=check
    )


def commit_all(tree: Path, message: str) -> None:
    git(tree, "add", "-A")
    git(tree, "commit", "-q", "-m", message)


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    (work / "CHANGELOG.md").write_text("# Changelog\n\n* old entry\n")
    (work / "app.py").write_text("x = 1\n")
    commit_all(work, "base")
    monkeypatch.chdir(work)
    result = CliRunner().invoke(
        cli, ["merge-file", "--install", "--program", PROGRAM, "--rule", "changelog"]
    )
    assert result.exit_code == 0, result.output
    commit_all(work, "driver")
    return work


def branch_edits(tree: Path, ours: dict[str, str], theirs: dict[str, str]) -> None:
    git(tree, "checkout", "-q", "-b", "topic")
    for name, text in theirs.items():
        (tree / name).write_text(text)
    commit_all(tree, "theirs")
    git(tree, "checkout", "-q", "main")
    for name, text in ours.items():
        (tree / name).write_text(text)
    commit_all(tree, "ours")


def test_install_writes_gitattributes_and_config(tree: Path) -> None:
    assert "* merge=trunkguard" in (tree / ".gitattributes").read_text().splitlines()
    driver = git(tree, "config", "merge.trunkguard.driver").stdout.strip()
    assert driver.endswith("merge-file --rule changelog --marker-size %L %O %A %B %P")
    again = CliRunner().invoke(cli, ["merge-file", "--install", "--program", PROGRAM])
    assert again.exit_code == 0
    assert (tree / ".gitattributes").read_text().count("merge=trunkguard") == 1


def test_git_merge_resolves_a_changelog_through_the_driver(tree: Path) -> None:
    branch_edits(
        tree,
        {"CHANGELOG.md": "# Changelog\n\n* ours entry\n\n* old entry\n"},
        {"CHANGELOG.md": "# Changelog\n\n* theirs entry\n\n* old entry\n"},
    )
    done = git(tree, "merge", "--no-edit", "topic", check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tree / "CHANGELOG.md").read_text() == (
        "# Changelog\n\n* ours entry\n\n* theirs entry\n\n* old entry\n"
    )
    assert "resolved CHANGELOG.md (changelog)" in done.stderr


def test_git_merge_falls_back_to_diff3_markers_and_fails(tree: Path) -> None:
    branch_edits(tree, {"app.py": "x = 2\n"}, {"app.py": "x = 3\n"})
    done = git(tree, "merge", "--no-edit", "topic", check=False)
    assert done.returncode != 0
    text = (tree / "app.py").read_text()
    assert "<<<<<<< ours\nx = 2\n||||||| base\nx = 1\n=======\nx = 3\n>>>>>>> theirs\n" in text
    assert "app.py" in git(tree, "diff", "--name-only", "--diff-filter=U").stdout


def test_driver_contract_on_files(tmp_path: Path) -> None:
    base, ours, theirs = (tmp_path / n for n in ("o", "a", "b"))
    base.write_bytes(b"alpha\ndelta\n")
    ours.write_bytes(b"alpha\nbeta\ndelta\n")
    theirs.write_bytes(b"alpha\ncharlie\ndelta\n")
    runner = CliRunner()
    done = runner.invoke(cli, ["merge-file", str(base), str(ours), str(theirs), "notes.txt"])
    assert done.exit_code != 0  # no rule for a plain text file: git's merge, markers
    assert b"|||||||" in ours.read_bytes()
    ours.write_bytes(b"alpha\nbeta\ndelta\n")
    done = runner.invoke(
        cli,
        [
            "merge-file",
            "--rule",
            "line-list",
            str(base),
            str(ours),
            str(theirs),
            "requirements.txt",
        ],
    )
    assert done.exit_code == 0
    assert ours.read_bytes() == b"alpha\nbeta\ncharlie\ndelta\n"
