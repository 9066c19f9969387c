"""Proof on history: a constructed history whose merges have known resolutions."""

from __future__ import annotations

from pathlib import Path

import pygit2
from click.testing import CliRunner

from analyzers.resolve.engine import RULES
from analyzers.resolve.history import AGREES, DIFFERS, walk
from bot.cli.main import cli

SIG = pygit2.Signature("Ada", "ada@example.com", 1_700_000_000, 0)


class History:
    def __init__(self, path: Path) -> None:
        self.repo = pygit2.init_repository(str(path), bare=True, initial_head="main")

    def commit(self, files: dict[str, str], parents: list[pygit2.Oid], ref: str | None = None):
        builder = self.repo.TreeBuilder()
        for name, text in sorted(files.items()):
            builder.insert(name, self.repo.create_blob(text.encode()), pygit2.GIT_FILEMODE_BLOB)
        return self.repo.create_commit(ref, SIG, SIG, "c", builder.write(), parents)

    def merge(
        self,
        base: dict[str, str],
        ours: dict[str, str],
        theirs: dict[str, str],
        committed: dict[str, str],
        on: pygit2.Oid | None,
    ) -> pygit2.Oid:
        root = self.commit(base, [on] if on else [])
        left = self.commit(ours, [root])
        right = self.commit(theirs, [root])
        merged = self.commit(committed, [left, right])
        self.repo.references.create("refs/heads/main", merged, force=True)
        return merged


CHANGELOG = "# Changelog\n\n* old\n"


def build(path: Path) -> pygit2.Repository:
    h = History(path)
    # 1. a changelog, resolved as the engine does (ours first): agrees
    one = h.merge(
        {"CHANGELOG.md": CHANGELOG},
        {"CHANGELOG.md": "# Changelog\n\n* a\n\n* old\n"},
        {"CHANGELOG.md": "# Changelog\n\n* b\n\n* old\n"},
        {"CHANGELOG.md": "# Changelog\n\n* a\n\n* b\n\n* old\n"},
        None,
    )
    # 2. a changelog the person ordered the other way: differs (order)
    two = h.merge(
        {"CHANGELOG.md": CHANGELOG},
        {"CHANGELOG.md": "# Changelog\n\n* c\n\n* old\n"},
        {"CHANGELOG.md": "# Changelog\n\n* d\n\n* old\n"},
        {"CHANGELOG.md": "# Changelog\n\n* d\n\n* c\n\n* old\n"},
        one,
    )
    # 3. code both sides changed on the same line: needs a person
    three = h.merge(
        {"app.py": "x = 1\n"},
        {"app.py": "x = 2\n"},
        {"app.py": "x = 3\n"},
        {"app.py": "x = 4\n"},
        two,
    )
    # 4. a clean merge: not counted as conflicted
    h.merge(
        {"a": "1\n", "b": "1\n"},
        {"a": "2\n", "b": "1\n"},
        {"a": "1\n", "b": "2\n"},
        {"a": "2\n", "b": "2\n"},
        three,
    )
    return h.repo


def test_walk_compares_with_what_was_committed(tmp_path: Path) -> None:
    repo = build(tmp_path / "history.git")
    report = walk(repo, repo.head.target, 100, RULES)
    assert report.merges == 4
    assert report.conflicted_merges == 3
    assert len(report.paths) == 3
    by_rule = report.by(lambda p: p.rule or "needs a person")
    assert by_rule["changelog"] == {"paths": 2, "resolved": 2, AGREES: 1, "order": 1}
    assert by_rule["needs a person"] == {"paths": 1}
    assert report.coverage() == 2 / 3
    assert report.precision() == 0.5
    assert [p.verdict for p in report.differing()] == ["order"]
    assert DIFFERS not in {p.verdict for p in report.resolved}


def test_walk_stops_at_the_limit(tmp_path: Path) -> None:
    repo = build(tmp_path / "history.git")
    assert walk(repo, repo.head.target, 2).merges == 2


def test_resolve_history_command_json(tmp_path: Path) -> None:
    import json

    build(tmp_path / "history.git")
    done = CliRunner().invoke(
        cli, ["resolve-history", str(tmp_path / "history.git"), "--all-rules", "--json"]
    )
    assert done.exit_code == 0, done.output
    payload = json.loads(done.output)
    assert payload["conflicted_paths"] == 3
    assert payload["resolved_paths"] == 2
    assert payload["precision"] == 0.5
    assert payload["differing"][0]["path"] == "CHANGELOG.md"
    assert payload["needs_a_person"][0]["path"] == "app.py"


def test_resolve_history_command_text(tmp_path: Path) -> None:
    build(tmp_path / "history.git")
    done = CliRunner().invoke(
        cli, ["resolve-history", str(tmp_path / "history.git"), "--rule", "changelog"]
    )
    assert done.exit_code == 0, done.output
    assert "coverage  66.7 %" in done.output
    assert "precision 50.0 % byte for byte" in done.output


def test_shipped_rules_resolve_none_of_these(tmp_path: Path) -> None:
    repo = build(tmp_path / "history.git")
    report = walk(repo, repo.head.target, 100)
    assert len(report.paths) == 3 and report.resolved == []


def test_replay_resolve_runs_the_proof_with_the_shipped_rules(tmp_path: Path) -> None:
    import json

    from analyzers.resolve.engine import SHIPPED

    build(tmp_path / "history.git")
    done = CliRunner().invoke(cli, ["replay", str(tmp_path / "history.git"), "--resolve", "--json"])
    assert done.exit_code == 0, done.output
    payload = json.loads(done.output)
    assert payload["rules"] == list(SHIPPED)
    assert (payload["merges"], payload["conflicted_paths"]) == (4, 3)


def test_resolve_history_text_gives_no_precision_when_nothing_was_resolved(tmp_path: Path) -> None:
    build(tmp_path / "history.git")
    done = CliRunner().invoke(cli, ["resolve-history", str(tmp_path / "history.git")])
    assert done.exit_code == 0, done.output
    assert "coverage  0.0 % (0 of 3 paths resolved)" in done.output
    assert "precision: nothing resolved to compare" in done.output
