"""Repositories that lack objects: partial clones, a deleted blob, a removed large binary."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pygit2
import pytest
from click.testing import CliRunner

from analyzers.divergence import scan
from analyzers.forecast import forecast
from analyzers.refs import inventory
from analyzers.replay import replay
from bot.cli.main import cli
from tests.gitrepo import NOW, GitRepo, assert_matches_git, git, lines, numbered

NOW_ISO = "2026-05-28T20:26:40Z"
BIG = "".join(f"big line {n} of a file over one kilobyte\n" for n in range(60))


@pytest.fixture
def source(make_repo):
    """Trunk and four branches: two clash on shared.txt, one edits a small file, one a big one."""
    t = make_repo()
    c1 = t.commit(
        {"small.txt": lines(5), "big.txt": BIG, "shared.txt": numbered(40, {})}, days_ago=10
    )
    t.commit({"shared.txt": numbered(40, {30: "trunk"})}, days_ago=2, parents=[c1], branch="main")
    t.commit({"small.txt": lines(6)}, days_ago=3, parents=[c1], branch="edit-small")
    t.commit({"big.txt": BIG + "more\n"}, days_ago=3, parents=[c1], branch="edit-big")
    t.commit({"shared.txt": numbered(40, {10: "a"})}, days_ago=3, parents=[c1], branch="clash-a")
    t.commit({"shared.txt": numbered(40, {10: "b"})}, days_ago=3, parents=[c1], branch="clash-b")
    t.git("config", "uploadpack.allowFilter", "true")
    t.git("config", "uploadpack.allowAnySHA1InWant", "true")
    return t


def partial_clone(source: GitRepo, where: Path, spec: str) -> Path:
    git(
        where.parent,
        "clone",
        "--quiet",
        "--bare",
        f"--filter={spec}",
        f"file://{source.path}",
        str(where),
    )
    return where


def objects_of(path: Path) -> dict[str, int]:
    return {
        str(p.relative_to(path)): p.stat().st_size
        for p in (path / "objects").rglob("*")
        if p.is_file()
    }


def run(*args: str):
    return CliRunner().invoke(cli, [*args, "--now", NOW_ISO], catch_exceptions=False)


def test_partial_clone_scan_gives_every_figure_but_line_counts(source, tmp_path):
    clone = partial_clone(source, tmp_path / "partial.git", "blob:none")
    full = {b.name: b for b in scan(source.repo, inventory(source.repo), NOW).branches}
    result = run("scan", str(clone), "--json", "--no-store")
    assert result.exit_code == 0, result.output
    branches = json.loads(result.stdout)["branches"]
    for b in branches:
        expected = full[b["name"]]
        assert (b["ahead"], b["behind"], b["merge_base"]) == (
            expected.ahead,
            expected.behind,
            expected.merge_base,
        )
        assert b["files_changed"] == expected.files_changed
        assert b["overlap_files"] == list(expected.overlap_files)
        assert (b["lines_added"], b["lines_deleted"]) == (None, None)
        [gap] = b["unknown"]
        assert gap["figures"] == ["lines_added", "lines_deleted"]
        assert gap["reason"] == "objects not in this partial clone (promisor remote 'origin')"
    assert result.stderr.strip() == (
        f"trunkguard: {2 * len(branches)} figures unknown: objects not in "
        "this partial clone (promisor remote 'origin')"
    )
    table = run("scan", str(clone), "--no-store")
    assert "? unknown: objects not in this partial clone" in table.stdout


def test_partial_clone_with_a_blob_size_limit_misses_only_big_blobs(source, tmp_path):
    clone = partial_clone(source, tmp_path / "limited.git", "blob:limit=1k")
    report = scan(pygit2.Repository(str(clone)), inventory(pygit2.Repository(str(clone))), NOW)
    by_name = {b.name: b for b in report.branches}
    assert (by_name["edit-small"].lines_added, by_name["edit-small"].lines_deleted) == (1, 0)
    assert by_name["edit-big"].lines_added is None
    assert by_name["edit-big"].files_changed == 1


def test_partial_clone_forecast_fetches_what_it_needs_into_its_own_store(source, tmp_path):
    clone = partial_clone(source, tmp_path / "partial.git", "blob:none")
    before = objects_of(clone)
    expected = run("conflicts", str(source.path), "--json", "--no-store")
    result = run("conflicts", str(clone), "--json", "--no-store")
    assert result.exit_code == 0, result.output
    got, want = json.loads(result.stdout), json.loads(expected.stdout)
    for doc in (got, want):
        doc.pop("repository")
    assert got == want
    assert [p["a"] + "+" + p["b"] for p in got["pairs"]] == ["clash-a+clash-b"]
    assert result.stderr == ""
    assert objects_of(clone) == before  # nothing written into the repository analysed


def test_partial_clone_whose_remote_is_gone_says_so_and_goes_on(source, tmp_path):
    clone = partial_clone(source, tmp_path / "partial.git", "blob:none")
    shutil.move(source.path, tmp_path / "gone.git")
    result = run("conflicts", str(clone), "--json", "--no-store")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    unknown = {x["branch"]: x["unknown"] for x in doc["with_trunk"] if x["unknown"]}
    # Only merges that need a blob's content: both sides changed shared.txt.
    assert set(unknown) == {"clash-a", "clash-b"}
    assert "promisor remote 'origin'), which did not answer: fatal:" in unknown["clash-a"]["reason"]
    assert result.stderr.startswith("trunkguard: 2 merges unknown: objects not in this partial")
    assert doc["pairs"] == []  # a branch whose landing is unknown is not paired


def test_partial_clone_scan_is_stored_with_its_unknown_figures(source, tmp_path):
    clone = partial_clone(source, tmp_path / "partial.git", "blob:none")
    db = tmp_path / "store.db"
    result = run("scan", str(clone), "--db", f"sqlite:///{db}", "--store")  # --now: kept if asked
    assert result.exit_code == 0, result.output
    rows = (
        sqlite3.connect(db)
        .execute(
            "SELECT name, files_changed, lines_added, unknown FROM branch_snapshots ORDER BY name"
        )
        .fetchall()
    )
    assert [r[0] for r in rows] == ["clash-a", "clash-b", "edit-big", "edit-small"]
    for _, files, added, gaps in rows:
        assert files == 1 and added is None
        assert json.loads(gaps)[0]["figures"] == ["lines_added", "lines_deleted"]


def delete_object(t: GitRepo, oid: pygit2.Oid) -> None:
    hexa = str(oid)
    os.remove(t.path / "objects" / hexa[:2] / hexa[2:])


def test_a_deleted_blob_costs_only_the_figures_that_need_it(source):
    blob = source.repo.revparse_single("clash-a:shared.txt").id
    delete_object(source, blob)
    repo = pygit2.Repository(str(source.path))
    report = scan(repo, inventory(repo), NOW)
    by_name = {b.name: b for b in report.branches}
    gap = by_name["clash-a"].unknown[0]
    assert gap.reason == "objects missing from the repository (damaged or pruned)"
    assert gap.object_id == str(blob)
    known = [b for b in report.branches if b.name != "clash-a"]
    assert_matches_git(source.path, type(report)(report.trunk, NOW, tuple(known)))

    result = forecast(repo, inventory(repo), NOW)
    unknown = {x.branch for x in result.with_trunk if x.unknown}
    assert unknown == {"clash-a"}
    assert result.pairs == ()  # clash-b's only partner is unknown


def test_a_worker_process_meeting_a_missing_blob_reports_it(make_repo):
    t = make_repo()
    c1 = t.commit({"a.txt": lines(5)}, days_ago=10, branch="main")
    for n in range(140):
        t.commit({f"f{n}.txt": f"{n}\n"}, days_ago=2, parents=[c1], branch=f"b{n:03d}")
    delete_object(t, t.repo.revparse_single("b100:f100.txt").id)
    repo = pygit2.Repository(str(t.path))
    report = scan(repo, inventory(repo), NOW, workers=2)  # three chunks: two in workers
    gaps = {b.name for b in report.branches if b.unknown}
    assert gaps == {"b100"}
    assert all(b.lines_added == 1 for b in report.branches if b.name != "b100")


def test_stray_remote_refs_in_a_bare_mirror_are_not_branches(make_repo):
    t = make_repo()
    c1 = t.commit({"a.txt": "1\n"}, days_ago=10, branch="main")
    old = t.commit({"x.txt": "old\n"}, days_ago=9, parents=[c1])
    new = t.commit({"x.txt": "new\n"}, days_ago=1, parents=[c1], branch="x")
    t.ref("refs/remotes/origin/x", old)  # pushed by someone, long ago
    t.ref("refs/remotes/origin/ghost", old)
    t.ref("refs/remotes/origin/HEAD", c1)
    found = inventory(t.repo)
    assert [(b.name, b.ref, b.target) for b in found.branches] == [("x", "refs/heads/x", new)]


def test_a_large_binary_added_then_removed_and_lost(make_repo):
    t = make_repo()
    c1 = t.commit({"a.txt": lines(10)}, days_ago=30)
    c2 = t.commit({"assets/big.bin": bytes(range(256)) * 64}, days_ago=25, parents=[c1])
    fork = t.commit({"a.txt": lines(11)}, days_ago=20, parents=[c2])
    c4 = t.commit({"assets/big.bin": None}, days_ago=15, parents=[fork])
    side = t.commit({"b.txt": "side\n"}, days_ago=14, parents=[fork])
    c5 = t.commit({}, days_ago=13, parents=[c4, side], message="Merge side")
    t.commit({"a.txt": lines(12)}, days_ago=5, parents=[c5], branch="main")
    t.commit({"c.txt": "c\n"}, days_ago=3, parents=[fork], branch="old-feature")
    t.commit({"assets/big.bin": bytes(range(256)) * 65}, days_ago=3, parents=[c2], branch="bin")
    delete_object(t, t.repo.revparse_single(f"{c2}:assets/big.bin").id)
    repo = pygit2.Repository(str(t.path))
    report = scan(repo, inventory(repo), NOW)
    by_name = {b.name: b for b in report.branches}
    assert_matches_git(t.path, type(report)(report.trunk, NOW, (by_name["old-feature"],)))
    assert by_name["bin"].lines_added is None and by_name["bin"].files_changed == 1
    result = forecast(repo, inventory(repo), NOW)
    outcome = {x.branch: x for x in result.with_trunk}
    assert outcome["old-feature"].unknown is None and outcome["old-feature"].conflicts == ()
    # Trunk deleted the binary the branch changed: a conflict that needs no content to tell.
    assert [(c.path, str(c.kind)) for c in outcome["bin"].conflicts] == [
        ("assets/big.bin", "modify/delete")
    ]
    replayed = replay(repo, repo.references["refs/heads/main"].target, 10)
    assert len(replayed.merges) == 1
    for args in (["scan", "--now", NOW_ISO], ["conflicts"], ["replay"], ["trends"]):
        result = CliRunner().invoke(cli, [args[0], str(t.path), *args[1:]])
        assert result.exit_code == 0, (args, result.output)


def test_replay_of_a_merge_that_needs_a_lost_blob_is_unknown(make_repo):
    t = make_repo()
    c1 = t.commit({"f.txt": numbered(20, {})}, days_ago=10)
    side = t.commit({"f.txt": numbered(20, {2: "side"})}, days_ago=9, parents=[c1])
    c2 = t.commit({"f.txt": numbered(20, {18: "trunk"})}, days_ago=8, parents=[c1])
    t.commit({"f.txt": numbered(20, {2: "side", 18: "trunk"})}, days_ago=7, parents=[c2, side],
             branch="main")  # fmt: skip
    delete_object(t, t.repo.revparse_single(f"{side}:f.txt").id)
    repo = pygit2.Repository(str(t.path))
    report = replay(repo, repo.references["refs/heads/main"].target, 10)
    [merge] = report.merges
    assert merge.unknown is not None and merge.conflicts == ()
    assert merge.unknown.reason == "objects missing from the repository (damaged or pruned)"
    assert report.rate(merge.direction) == (0, 0)  # not counted as clean either
    result = CliRunner().invoke(cli, ["replay", str(t.path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"]["unknown"] == 1
    assert result.stderr.startswith("trunkguard: 1 merge unknown: objects missing")


def test_partial_clone_merges_that_git_does_fetch_through_git_into_the_scratch_store(
    make_repo, tmp_path
):
    t = make_repo()
    c1 = t.commit({"f.txt": numbered(30, {}), "g.txt": numbered(20, {})}, days_ago=10)
    t.commit({"g.txt": numbered(20, {3: "trunk"}), "f.txt": numbered(30, {9: "trunk"})},
             days_ago=2, parents=[c1], branch="main")  # fmt: skip
    # A rename on the branch while trunk edits the file: git, not libgit2, decides this merge.
    t.commit({"g.txt": None, "moved/g.txt": numbered(20, {}), "f.txt": numbered(30, {9: "mine"})},
             days_ago=3, parents=[c1], branch="move")  # fmt: skip
    t.git("config", "uploadpack.allowFilter", "true")
    t.git("config", "uploadpack.allowAnySHA1InWant", "true")
    clone = partial_clone(t, tmp_path / "partial.git", "blob:none")
    before = objects_of(clone)
    expected = json.loads(run("conflicts", str(t.path), "--json", "--no-store").stdout)
    result = run("conflicts", str(clone), "--json", "--no-store")
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert got["with_trunk"] == expected["with_trunk"]
    assert [c["path"] for c in got["with_trunk"][0]["conflicts"]] == ["f.txt"]
    assert objects_of(clone) == before
