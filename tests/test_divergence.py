"""Branch age and divergence on small histories whose answers can be read off the test."""

from __future__ import annotations

import pygit2
import pytest

from analyzers.divergence import scan
from analyzers.refs import inventory
from tests.gitrepo import BOB, DAY, NOW, GitRepo, assert_matches_git, git, lines


def scan_all(t: GitRepo, **options):
    return scan(t.repo, inventory(t.repo, **options), NOW)


def by_name(report):
    return {b.name: b for b in report.branches}


@pytest.fixture
def trunk3(make_repo):
    """Trunk of three commits: c1 (10 days ago), c2 (8), c3 (5, changes a.txt)."""
    t = make_repo()
    c1 = t.commit({"a.txt": lines(10), "b.txt": lines(5)}, days_ago=10)
    c2 = t.commit({"b.txt": lines(6)}, days_ago=8, parents=[c1])
    c3 = t.commit({"a.txt": lines(11)}, days_ago=5, parents=[c2], branch="main")
    return t, (c1, c2, c3)


def test_branch_figures(trunk3):
    t, (c1, c2, c3) = trunk3
    f1 = t.commit({"a.txt": lines(10) + "x\ny\n"}, days_ago=7, parents=[c2])
    t.commit({"c.txt": "new\n"}, days_ago=6, parents=[f1], branch="feature", author=BOB)

    b = by_name(scan_all(t))["feature"]

    assert (b.ahead, b.behind) == (2, 1)
    assert b.merge_base == str(c2)
    assert b.age_seconds == 7 * DAY
    assert b.base_age_seconds == 8 * DAY
    assert b.idle_seconds == 6 * DAY
    assert b.authors == ("Ada Lovelace", "Bob Kahn")
    assert (b.files_changed, b.lines_added, b.lines_deleted) == (2, 3, 0)
    assert b.trunk_files_changed == 1
    assert b.overlap_files == ("a.txt",)
    assert_matches_git(t.path, scan_all(t))


def test_branch_equal_to_trunk_is_integrated(trunk3):
    t, (_, _, c3) = trunk3
    t.ref("refs/heads/same", c3)
    b = by_name(scan_all(t))["same"]
    assert (b.ahead, b.behind, b.age_seconds, b.files_changed) == (0, 0, 0, 0)
    assert b.integrated
    assert b.merge_base == str(c3)


def test_branch_behind_only(trunk3):
    t, (c1, _, _) = trunk3
    t.ref("refs/heads/old", c1)
    b = by_name(scan_all(t))["old"]
    assert (b.ahead, b.behind, b.age_seconds) == (0, 2, 0)
    assert b.base_age_seconds == 10 * DAY
    assert b.trunk_files_changed == 2


def test_merged_branch_is_integrated(trunk3):
    t, (_, c2, c3) = trunk3
    f1 = t.commit({"d.txt": "d\n"}, days_ago=7, parents=[c2], branch="done")
    t.commit({"d.txt": "d\n"}, days_ago=4, parents=[c3, f1], branch="main", message="Merge done")
    b = by_name(scan_all(t))["done"]
    assert (b.ahead, b.behind) == (0, 2)
    assert b.integrated
    assert b.merge_base == str(f1)
    assert_matches_git(t.path, scan_all(t))


def test_unrelated_history_has_no_merge_base(trunk3):
    t, _ = trunk3
    root = t.commit({"z.txt": "z\n", "a.txt": "other\n"}, days_ago=30)
    t.commit({"z.txt": "zz\n"}, days_ago=20, parents=[root], branch="orphan")
    b = by_name(scan_all(t))["orphan"]
    assert (b.ahead, b.behind) == (2, 3)
    assert b.merge_base is None and b.base_age_seconds is None
    assert b.age_seconds == 30 * DAY
    assert b.trunk_files_changed == 2  # everything on trunk is new to it
    assert b.overlap_files == ("a.txt",)
    assert_matches_git(t.path, scan_all(t))


def test_trunk_merged_into_branch_moves_the_merge_base(trunk3):
    t, (c1, _, c3) = trunk3
    f1 = t.commit({"e.txt": "e\n"}, days_ago=9, parents=[c1])
    t.commit({"e.txt": "e\n"}, days_ago=4, parents=[f1, c3], branch="synced", message="Merge main")
    b = by_name(scan_all(t))["synced"]
    assert (b.ahead, b.behind) == (2, 0)
    assert b.merge_base == str(c3)
    assert b.trunk_files_changed == 0
    assert b.age_seconds == 9 * DAY
    assert_matches_git(t.path, scan_all(t))


def test_branch_from_a_side_commit_later_merged(trunk3):
    # s1 is on trunk only through the merge m, not on trunk's first-parent line.
    t, (c1, c2, c3) = trunk3
    s1 = t.commit({"s.txt": "s\n"}, days_ago=9, parents=[c1])
    m = t.commit({"s.txt": "s\n"}, days_ago=3, parents=[c3, s1], branch="main")
    t.commit({"t.txt": "t\n"}, days_ago=2, parents=[s1], branch="stacked")
    b = by_name(scan_all(t))["stacked"]
    assert (b.ahead, b.behind) == (1, 3)  # behind: c2, c3, m
    assert b.merge_base == str(s1)
    assert m
    assert_matches_git(t.path, scan_all(t))


def test_rebase_does_not_make_old_work_young(trunk3):
    # Authored 20 days ago, rebased (committed) yesterday: the work is 20 days old.
    t, (_, _, c3) = trunk3
    t.commit({"r.txt": "r\n"}, days_ago=20, committed_days_ago=1, parents=[c3], branch="rebased")
    b = by_name(scan_all(t))["rebased"]
    assert b.age_seconds == 20 * DAY
    assert b.idle_seconds == 1 * DAY


def test_names_with_slashes_and_non_ascii(trunk3):
    t, (_, _, c3) = trunk3
    t.commit({"ü.txt": "ü\n"}, days_ago=1, parents=[c3], branch="team/ünïcode/straße")
    b = by_name(scan_all(t))["team/ünïcode/straße"]
    assert b.ahead == 1 and b.files_changed == 1
    assert_matches_git(t.path, scan_all(t))


def test_packed_refs_give_the_same_answer(trunk3):
    t, (_, c2, _) = trunk3
    t.commit({"p.txt": "p\n"}, days_ago=7, parents=[c2], branch="packed/one")
    before = scan_all(t)
    git(t.path, "pack-refs", "--all")
    assert not (t.path / "refs" / "heads" / "packed").exists()
    after = scan(pygit2.Repository(str(t.path)), inventory(pygit2.Repository(str(t.path))), NOW)
    assert after == before


def test_pull_request_heads_count_and_tags_do_not(trunk3):
    t, (_, c2, c3) = trunk3
    pr = t.commit({"f.txt": "fork\n"}, days_ago=3, parents=[c2])
    t.ref("refs/pull/42/head", pr)
    t.ref("refs/pull/42/merge", c3)
    t.ref("refs/tags/v1", pr)
    names = [b.name for b in scan_all(t).branches]
    assert names == ["pull/42"]


def test_a_move_counts_under_both_names(trunk3):
    t, (_, c2, _) = trunk3
    t.commit({"a.txt": None, "moved/a.txt": lines(10)}, days_ago=1, parents=[c2], branch="move")
    b = by_name(scan_all(t))["move"]
    assert (b.files_changed, b.lines_added, b.lines_deleted) == (2, 10, 10)
    assert b.overlap_files == ("a.txt",)  # trunk edited a.txt, which the branch moved away
    assert_matches_git(t.path, scan_all(t))


def test_binary_and_mode_changes(trunk3):
    t, (_, c2, _) = trunk3
    t.commit(
        {
            "bin.dat": b"\x00\x01\x02" * 100,
            "b.txt": (lines(6), pygit2.enums.FileMode.BLOB_EXECUTABLE),
        },
        days_ago=2,
        parents=[c2],
        branch="assets",
    )
    assert_matches_git(t.path, scan_all(t))


def test_empty_repository(make_repo):
    t = make_repo()
    report = scan_all(t)
    assert report.trunk.head is None and report.branches == ()
    assert report.trunk.name == "main"


def test_working_clone_uses_remote_tracking_branches(tmp_path, trunk3):
    t, (_, c2, c3) = trunk3
    t.commit({"w.txt": "w\n"}, days_ago=2, parents=[c2], branch="shared")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(t.path), str(clone))
    git(clone, "branch", "--quiet", "local-only", str(c3))
    git(clone, "branch", "--quiet", "shared", "origin/shared")
    repo = pygit2.Repository(str(clone))

    found = inventory(repo)

    assert found.trunk is not None and found.trunk.ref == "refs/remotes/origin/main"
    assert {b.name: b.ref for b in found.branches} == {
        "local-only": "refs/heads/local-only",
        "shared": "refs/remotes/origin/shared",
    }
    assert_matches_git(clone, scan(repo, found, NOW))
