"""`trunkguard merge`: git's merge in a real work tree, then the engine on what git left."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import cli
from tests.gitrepo import IDENTITY

CHANGELOG = "# Changelog\n\n## Unreleased\n\n* old entry\n"


def git(tree: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=tree, capture_output=True, text=True, check=check)


def commit(tree: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(text)
    git(tree, "add", "-A")
    git(tree, "commit", "-q", "-m", message)


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A work tree on `topic`, which forked from `main`; both moved since."""
    for key, value in IDENTITY.items():
        monkeypatch.setenv(key, value)
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    commit(work, {"CHANGELOG.md": CHANGELOG, "app.py": "a = 1\nb = 2\nc = 3\n"}, "base")
    git(work, "checkout", "-q", "-b", "topic")
    return work


def diverge(tree: Path, main: dict[str, str], topic: dict[str, str]) -> None:
    commit(tree, topic, "topic")
    git(tree, "checkout", "-q", "main")
    commit(tree, main, "main")
    git(tree, "checkout", "-q", "topic")


def entry(text: str) -> str:
    return CHANGELOG.replace("## Unreleased\n\n", f"## Unreleased\n\n* {text}\n")


def run(tree: Path, *args: str):
    return CliRunner().invoke(cli, ["merge", "-C", str(tree), *args])


def test_a_changelog_both_sides_added_to_is_resolved_and_staged_not_committed(tree):
    diverge(tree, {"CHANGELOG.md": entry("from main")}, {"CHANGELOG.md": entry("from topic")})
    head = git(tree, "rev-parse", "HEAD").stdout

    result = run(tree, "--rule", "changelog")

    assert result.exit_code == 0, result.output
    assert "1 conflicted path(s), 1 resolved by trunkguard" in result.output
    assert "resolved  CHANGELOG.md (changelog)" in result.output
    text = (tree / "CHANGELOG.md").read_text()
    assert "* from main\n" in text and "* from topic\n" in text and "<<<<<<<" not in text
    assert git(tree, "ls-files", "-u").stdout == ""  # staged: nothing left unmerged
    assert git(tree, "rev-parse", "HEAD").stdout == head  # not committed
    assert git(tree, "rev-parse", "-q", "--verify", "MERGE_HEAD", check=False).returncode == 0


def test_with_commit_the_merge_commit_names_what_trunkguard_resolved(tree):
    diverge(tree, {"CHANGELOG.md": entry("from main")}, {"CHANGELOG.md": entry("from topic")})

    result = run(tree, "main", "--rule", "changelog", "--commit", "--json")

    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["resolved"] == [{"path": "CHANGELOG.md", "rule": "changelog"}]
    assert payload["committed"] == git(tree, "rev-parse", "HEAD").stdout.strip()
    message = git(tree, "log", "-1", "--format=%B").stdout
    assert message.startswith("Merge branch 'main' into topic")
    assert "Resolved by trunkguard:\n  CHANGELOG.md: changelog" in message
    assert "# Conflicts" not in message
    parents = git(tree, "log", "-1", "--format=%P").stdout.split()
    assert len(parents) == 2
    assert git(tree, "status", "--porcelain").stdout == ""


def test_what_needs_a_person_keeps_diff3_markers_and_exits_1_uncommitted(tree):
    diverge(
        tree,
        {"app.py": "a = 1\nb = 20\nc = 3\n", "CHANGELOG.md": entry("from main")},
        {"app.py": "a = 1\nb = 200\nc = 3\n", "CHANGELOG.md": entry("from topic")},
    )
    head = git(tree, "rev-parse", "HEAD").stdout

    result = run(tree, "main", "--rule", "changelog", "--commit")

    assert result.exit_code == 1
    assert "needs you app.py: both sides changed the same lines [easy:" in result.output
    assert "not committed" in result.output
    text = (tree / "app.py").read_text()
    assert "<<<<<<< " in text and "||||||| " in text and "b = 2\n" in text  # diff3: the base
    assert git(tree, "ls-files", "-u", "app.py").stdout  # still unmerged, for the person
    assert git(tree, "ls-files", "-u", "CHANGELOG.md").stdout == ""  # resolved and staged
    assert git(tree, "rev-parse", "HEAD").stdout == head


def test_without_rules_asked_for_only_the_shipped_rules_run(tree):
    diverge(tree, {"CHANGELOG.md": entry("from main")}, {"CHANGELOG.md": entry("from topic")})

    result = run(tree, "main", "--json")

    assert result.exit_code == 1
    [left] = json.loads(result.output)["needs_a_person"]
    assert left["path"] == "CHANGELOG.md" and left["grade"].startswith("easy")


def test_without_rules_asked_for_the_rules_the_branchs_config_trusts_run(tree):
    trusts = {".github/trunkguard.yml": "resolve:\n  rules: [changelog]\n"}
    diverge(
        tree,
        {"CHANGELOG.md": entry("from main")},
        {"CHANGELOG.md": entry("from topic"), **trusts},
    )

    result = run(tree, "main", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["resolved"] == [{"path": "CHANGELOG.md", "rule": "changelog"}]
    # An unusable config is the defaults: the shipped rules only.
    git(tree, "merge", "--abort")
    commit(tree, {".github/trunkguard.yml": "resolve: [oops\n"}, "broken config")
    result = run(tree, "main", "--json")
    assert result.exit_code == 1
    [left] = json.loads(result.output)["needs_a_person"]
    assert left["path"] == "CHANGELOG.md"


def test_trunk_is_merged_when_no_branch_is_named(tree):
    diverge(tree, {"main.txt": "trunk work\n"}, {"topic.txt": "topic work\n"})

    result = run(tree)

    assert result.exit_code == 0, result.output
    assert "merged refs/heads/main into topic: no conflict" in result.output
    assert (tree / "main.txt").read_text() == "trunk work\n"
    assert "not committed" in result.output


def test_a_fast_forward_is_not_taken_without_commit(tree):
    git(tree, "checkout", "-q", "main")
    commit(tree, {"main.txt": "trunk work\n"}, "main")
    git(tree, "checkout", "-q", "topic")
    head = git(tree, "rev-parse", "HEAD").stdout

    assert run(tree, "main").exit_code == 0
    assert git(tree, "rev-parse", "HEAD").stdout == head
    git(tree, "merge", "--abort")

    result = run(tree, "main", "--commit")
    assert result.exit_code == 0 and "fast-forwarded topic to main" in result.output
    assert git(tree, "rev-parse", "HEAD").stdout == git(tree, "rev-parse", "main").stdout


def test_up_to_date(tree):
    result = run(tree, "main")
    assert result.exit_code == 0 and "topic is already up to date with main" in result.output


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda t: (t / "app.py").write_text("dirty\n"), "the work tree has uncommitted changes"),
        (lambda t: None, "no branch or commit named 'nosuch'"),
    ],
)
def test_refusals_are_one_line_and_change_nothing(tree, setup, message):
    diverge(tree, {"main.txt": "m\n"}, {"topic.txt": "t\n"})
    setup(tree)
    before = git(tree, "status", "--porcelain").stdout

    result = run(tree, "nosuch" if "nosuch" in message else "main")

    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert git(tree, "status", "--porcelain").stdout == before


def test_not_a_work_tree(tmp_path):
    result = CliRunner().invoke(cli, ["merge", "-C", str(tmp_path)])
    assert result.exit_code != 0 and "is not in a git work tree" in result.output
    missing = CliRunner().invoke(cli, ["merge", "-C", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    assert "internal error" not in missing.output


def test_hostile_path_names_are_shown_escaped(tree):
    name = "evil\x1b[31m.py"
    commit(tree, {name: "x = 1\n"}, "add evil")
    git(tree, "checkout", "-q", "main")
    git(tree, "merge", "-q", "topic")
    git(tree, "checkout", "-q", "topic")
    diverge(tree, {name: "x = 2\n"}, {name: "x = 3\n"})

    result = run(tree, "main")

    assert result.exit_code == 1
    assert "\x1b" not in result.output and "evil\\x1b[31m.py" in result.output
