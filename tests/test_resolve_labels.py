"""What the resolution engine says of the conflicts `conflicts` predicts with trunk."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from analyzers.conflicts import Conflict, ConflictKind
from analyzers.forecast import forecast
from analyzers.refs import PullHeads, PullRule, inventory
from analyzers.resolve.labels import label_pair_conflicts, label_trunk_conflicts
from analyzers.resolve.records import NeedsPerson, Resolved
from analyzers.trends import week_start
from bot.cli.main import cli
from bot.store import Store
from bot.store.models import PredictedConflict, Scan
from tests.gitrepo import NOW, numbered

NOW_ISO = "2026-05-28T20:26:40Z"


def build(make_repo):
    t = make_repo()
    base = t.commit({"app.py": numbered(), "gone.txt": "x\n"}, days_ago=5)
    t.commit(
        {"app.py": numbered(40, {10: "trunk ten", 11: "trunk eleven"}), "gone.txt": None},
        days_ago=3,
        parents=[base],
        branch="main",
    )
    t.commit(
        {"app.py": numbered(40, {10: "mine ten"}), "gone.txt": "changed\n"},
        days_ago=2,
        parents=[base],
        branch="feature/x",
    )
    return t


def test_each_conflict_with_trunk_is_graded_from_the_three_versions_git_meets(make_repo):
    t = build(make_repo)
    found = inventory(t.repo, pulls=PullRule(PullHeads.NONE))
    result = forecast(t.repo, found, NOW)
    assert result.trunk_head is not None
    labels = label_trunk_conflicts(t.repo, result.trunk_head, result.with_trunk)
    content = labels[("feature/x", "app.py")]
    assert isinstance(content, NeedsPerson)
    assert content.reason == "both sides changed the same lines"
    assert (content.grade.hunks, content.grade.overlap) == (1, "same lines")
    deleted = labels[("feature/x", "gone.txt")]
    assert isinstance(deleted, NeedsPerson)
    assert deleted.reason == "one side deleted the file, the other changed it"
    kinds = {c.path: c.kind for x in result.with_trunk for c in x.conflicts}
    assert kinds == {"app.py": ConflictKind.CONTENT, "gone.txt": ConflictKind.MODIFY_DELETE}


def test_conflicts_text_says_what_needs_a_person_and_json_asks_for_it(make_repo):
    t = build(make_repo)
    args = ["conflicts", str(t.path), "--now", NOW_ISO, "--no-store"]
    text = CliRunner().invoke(cli, args).stdout
    assert "feature/x: 2 paths: " in text and "— 2 need a person (" in text
    plain = json.loads(CliRunner().invoke(cli, [*args, "--json"]).stdout)
    assert all("resolution" not in c for x in plain["with_trunk"] for c in x["conflicts"])
    labelled = json.loads(CliRunner().invoke(cli, [*args, "--json", "--resolve"]).stdout)
    by_path = {c["path"]: c["resolution"] for x in labelled["with_trunk"] for c in x["conflicts"]}
    assert by_path["app.py"]["resolvable"] is False
    assert by_path["app.py"]["grade"]["overlap"] == "same lines"
    quiet = CliRunner().invoke(cli, [*args, "--no-resolve"]).stdout
    assert "need a person" not in quiet


def week_forecast(url: str, path: Path):
    """The forecast the store keeps for the repository at `path`, this week."""
    with Store(url) as store:
        return store.week_forecast(str(path.resolve()), week_start(NOW))


def test_the_store_keeps_what_the_engine_said_of_each_conflict_on_active_branches(
    make_repo, db_url
):
    t = build(make_repo)
    # An abandoned branch (no commit for months) conflicts too: not counted, not labelled.
    t.commit({"app.py": numbered(40, {10: "old ten"})}, days_ago=90,
             parents=[t.repo.revparse_single("main^").id], branch="abandoned")  # fmt: skip
    args = ["conflicts", str(t.path), "--now", NOW_ISO, "--store", "--db", db_url]
    # Text shows labels of what it shows; JSON without --resolve shows none; both store the
    # active branches' labels, so that the week's forecast split holds whichever ran last.
    for shown in ([], ["--json"]):
        ran = CliRunner().invoke(cli, [*args, *shown])
        assert ran.exit_code == 0, ran.output
        stored = week_forecast(db_url, t.path)
        assert stored is not None
        assert stored.with_trunk == {
            "abandoned": ("app.py",),
            "feature/x": ("app.py", "gone.txt"),
        }
        assert stored.labelled == (0, 2)  # feature/x: a clash, a deletion against an edit
    engine = create_engine(db_url)
    with Session(engine) as session:
        rows = {row.branch: row for row in session.scalars(select(PredictedConflict))}
        assert session.scalars(select(Scan.labelled_with)).all()[-1] == [
            "same-change",
            "line-merge",
        ]
    engine.dispose()
    by_path = {c["path"]: c["resolution"] for c in rows["feature/x"].conflicts}
    assert by_path["gone.txt"]["reason"] == "one side deleted the file, the other changed it"
    assert by_path["app.py"] == {
        "resolvable": False,
        "reason": "both sides changed the same lines",
        "grade": {"level": "easy", "lines": 4, "hunks": 1, "overlap": "same lines"},
    }
    assert all("resolution" not in c for c in rows["abandoned"].conflicts)


def test_a_forecast_labelled_in_part_gives_the_week_no_split(
    make_repo, tmp_path, monkeypatch, caplog
):
    # Without git, the content conflict cannot be labelled (the deletion can): the forecast is
    # stored all the same, its week says nothing of what a machine could resolve, and the
    # log says why the split is missing.
    t = build(make_repo)
    monkeypatch.setattr("analyzers.resolve.diff3.find_git", lambda: None)
    url = f"sqlite:///{tmp_path / 'history.db'}"
    args = ["conflicts", str(t.path), "--now", NOW_ISO, "--store", "--db", url, "--json"]
    with caplog.at_level("WARNING", logger="bot.service.scanning"):
        result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "some conflicts on active branches could not be labelled" in caplog.messages
    stored = week_forecast(url, t.path)
    assert stored is not None and stored.with_trunk == {"feature/x": ("app.py", "gone.txt")}
    assert stored.labelled is None
    with Session(create_engine(url)) as session:
        [row] = session.scalars(select(PredictedConflict))
    said = {c["path"]: c.get("resolution") for c in row.conflicts}
    assert said["app.py"] is None  # git's line merge is needed for it
    assert said["gone.txt"]["reason"] == "one side deleted the file, the other changed it"


def test_conflicts_labels_with_the_rules_the_repository_trusts(make_repo):
    t = make_repo()
    log = "# Changelog\n\n* old\n"
    base = t.commit({"CHANGELOG.md": log}, days_ago=5)
    trusted = {".github/trunkguard.yml": "resolve:\n  rules: [changelog]\n"}
    t.commit({"CHANGELOG.md": log.replace("* old", "* trunk\n* old"), **trusted}, days_ago=3,
             parents=[base], branch="main")  # fmt: skip
    t.commit({"CHANGELOG.md": log.replace("* old", "* mine\n* old")}, days_ago=2,
             parents=[base], branch="feature/log")  # fmt: skip
    args = ["conflicts", str(t.path), "--now", NOW_ISO, "--no-store"]
    text = CliRunner().invoke(cli, args).stdout
    assert "feature/log: 1 path: CHANGELOG.md" in text
    assert "a machine resolves 1 (changelog)" in text


def test_replay_says_of_each_conflict_paid_what_the_person_met(make_repo):
    t = make_repo()
    base = t.commit({"app.py": numbered()}, days_ago=5)
    trunk = t.commit({"app.py": numbered(40, {10: "trunk ten"})}, days_ago=4, parents=[base])
    side = t.commit({"app.py": numbered(40, {10: "side ten"})}, days_ago=3, parents=[base])
    t.commit(
        {"app.py": numbered(40, {10: "both tens"})},
        days_ago=2,
        parents=[trunk, side],
        branch="main",
    )
    result = CliRunner().invoke(cli, ["replay", str(t.path)])
    assert result.exit_code == 0, result.output
    [line] = [x for x in result.stdout.splitlines() if "app.py" in x]
    assert line.endswith("app.py (lines 10 | 10) — needs a person (easy: 2 lines in 1 hunk)")


def build_pairs(make_repo):
    # Two branches that each land cleanly on trunk but conflict with each other: app.py
    # line 10 both ways, and an entry each at the top of the changelog.
    t = make_repo()
    log = "# Changelog\n\n## Unreleased\n\n* old\n"
    base = t.commit({"app.py": numbered(), "CHANGELOG.md": log, "t.txt": "t\n"}, days_ago=5)
    # Trunk changed app.py too, far from line 10: each landing's app.py is a new blob, one the
    # trial merge wrote only to its scratch store.
    trunk = {"t.txt": "trunk\n", "app.py": numbered(40, {30: "trunk thirty"})}
    t.commit(trunk, days_ago=3, parents=[base], branch="main")
    for name, line in (("a", "a ten"), ("b", "b ten")):
        entry = log.replace("\n* old", f"\n* from {name}\n* old")
        t.commit(
            {"app.py": numbered(40, {10: line}), "CHANGELOG.md": entry},
            days_ago=1,
            parents=[base],
            branch=name,
        )
    return t


def test_each_conflict_between_two_landings_is_graded_from_trunk_and_both_landings(make_repo):
    t = build_pairs(make_repo)
    result = forecast(t.repo, inventory(t.repo, pulls=PullRule(PullHeads.NONE)), NOW)
    [pair] = result.pairs
    assert {c.path for c in pair.conflicts} == {"app.py", "CHANGELOG.md"}
    assert set(result.landed) == {"a", "b"}

    labels = label_pair_conflicts(t.repo, result)
    content = labels[("a", "b", "app.py")]
    assert isinstance(content, NeedsPerson) and content.grade.overlap == "same lines"
    shipped = labels[("a", "b", "CHANGELOG.md")]
    assert isinstance(shipped, NeedsPerson)  # the changelog rule does not ship
    asked = label_pair_conflicts(t.repo, result, rules=("changelog",))
    changelog = asked[("a", "b", "CHANGELOG.md")]
    assert isinstance(changelog, Resolved) and changelog.rule == "changelog"
    assert b"* from a\n" in changelog.content and b"* from b\n" in changelog.content


def test_conflicts_says_what_the_engine_makes_of_a_pair_in_text_and_json(make_repo):
    t = build_pairs(make_repo)
    args = ["conflicts", str(t.path), "--now", NOW_ISO, "--no-store"]
    text = CliRunner().invoke(cli, args).stdout
    assert "a ↔ b: 2 paths: " in text and "— 2 need a person (2 easy)" in text
    labelled = json.loads(CliRunner().invoke(cli, [*args, "--json", "--resolve"]).stdout)
    [pair] = labelled["pairs"]
    by_path = {c["path"]: c["resolution"] for c in pair["conflicts"]}
    assert by_path["app.py"] == {
        "resolvable": False,
        "reason": "both sides changed the same lines",
        "grade": {"level": "easy", "lines": 2, "hunks": 1, "overlap": "same lines"},
    }
    plain = json.loads(CliRunner().invoke(cli, [*args, "--json"]).stdout)
    assert all("resolution" not in c for c in plain["pairs"][0]["conflicts"])


def test_a_pair_only_a_machine_conflicts_on_is_not_ranked_as_a_clash(make_repo):
    from analyzers.resolve.labels import machine_only

    t = make_repo()
    log = "# Changelog\n\n## Unreleased\n\n* old\n"
    base = t.commit({"CHANGELOG.md": log, "t.txt": "t\n"}, days_ago=5)
    t.commit({"t.txt": "trunk\n"}, days_ago=3, parents=[base], branch="main")
    for name, days in (("a", 2), ("b", 1)):
        entry = log.replace("\n* old", f"\n* from {name}\n* old")
        t.commit({"CHANGELOG.md": entry, f"{name}.txt": name}, days_ago=days, parents=[base],
                 branch=name)  # fmt: skip
    result = forecast(t.repo, inventory(t.repo, pulls=PullRule(PullHeads.NONE)), NOW)
    assert result.land_order_without(()) == result.land_order  # the same order, rebuilt
    assert [s.reason for s in result.land_order][0].startswith("conflicts with b")

    shipped = machine_only(result, label_pair_conflicts(t.repo, result))
    assert shipped.land_order == result.land_order  # the changelog rule does not ship
    asked = machine_only(result, label_pair_conflicts(t.repo, result, rules=("changelog",)))
    assert [(s.branch, s.reason) for s in asked.land_order] == [
        ("a", "conflicts with no other branch"),
        ("b", "conflicts with no other branch"),
    ]
    assert asked.pairs == result.pairs  # still shown, with what the engine says of them


def test_a_paid_conflict_that_cannot_be_read_leaves_the_merges_other_paths_labelled(
    make_repo, monkeypatch
):
    from analyzers.resolve import labels
    from analyzers.resolve.diff3 import Diff3Error

    t = make_repo()
    base = t.commit({"a.py": numbered(), "b.py": numbered()}, days_ago=5)
    trunk = t.commit({"a.py": numbered(40, {10: "t"}), "b.py": numbered(40, {10: "t"})},
                     days_ago=4, parents=[base])  # fmt: skip
    side = t.commit({"a.py": numbered(40, {10: "s"}), "b.py": numbered(40, {10: "s"})},
                    days_ago=3, parents=[base])  # fmt: skip
    merge = t.commit({"a.py": numbered(40, {10: "ts"}), "b.py": numbered(40, {10: "ts"})},
                     days_ago=2, parents=[trunk, side], branch="main")  # fmt: skip
    conflicts = [Conflict("a.py", ConflictKind.CONTENT), Conflict("b.py", ConflictKind.CONTENT)]
    real = labels._label

    def failing_on_a(repo, conflict, *rest):
        if conflict.path == "a.py":
            raise Diff3Error("git merge-file printed an unterminated conflict")
        return real(repo, conflict, *rest)

    monkeypatch.setattr(labels, "_label", failing_on_a)
    said = labels.label_merges(t.repo, [(str(merge), conflicts)])
    assert list(said) == [(str(merge), "b.py")]
    assert isinstance(said[(str(merge), "b.py")], NeedsPerson)
