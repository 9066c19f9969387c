"""Conflict forecasts on small histories, checked against git merge-tree."""

from __future__ import annotations

import pygit2
import pytest

from analyzers.conflicts import ConflictKind
from analyzers.forecast import ForecastMemo, forecast, land_order
from analyzers.refs import inventory
from tests.gitrepo import NOW, GitRepo, git_landed, git_merge_tree, numbered


@pytest.fixture
def base(make_repo):
    """Trunk: x.txt and y.txt of 40 lines, then trunk edits x.txt line 5 (today: NOW - 1 day)."""
    t = make_repo()
    c1 = t.commit({"x.txt": numbered(40), "y.txt": numbered(40)}, days_ago=20)
    c2 = t.commit(
        {"x.txt": numbered(40, {5: "trunk five"})}, days_ago=1, parents=[c1], branch="main"
    )
    return t, c1, c2


def run(t: GitRepo, **kw):
    return forecast(t.repo, inventory(t.repo), NOW, **kw)


def with_trunk(f):
    return {x.branch: x for x in f.with_trunk}


def assert_trunk_merges_match_git(t: GitRepo, f) -> None:
    for x in f.with_trunk:
        if x.integrated:
            continue
        conflicted, paths = git_merge_tree(t.path, f.trunk_head, x.head)
        if x.unrelated:
            continue
        assert (bool(x.conflicts), {c.path for c in x.conflicts}) == (conflicted, paths), x.branch


def test_content_conflict_with_trunk_and_its_ranges(base):
    t, c1, _ = base
    t.commit(
        {"x.txt": numbered(40, {5: "mine", 6: "mine too"})}, days_ago=2, parents=[c1], branch="b"
    )
    f = run(t)
    (conflict,) = with_trunk(f)["b"].conflicts
    assert (conflict.path, conflict.kind) == ("x.txt", ConflictKind.CONTENT)
    assert conflict.ours_ranges == ((5, 5),)  # trunk's side
    assert conflict.theirs_ranges == ((5, 6),)  # the branch's side
    assert_trunk_merges_match_git(t, f)


def test_kinds(base):
    t, c1, c2 = base
    t.commit({"new.txt": "mine\n"}, days_ago=2, parents=[c1], branch="add-add")
    t.commit({"x.txt": None}, days_ago=2, parents=[c1], branch="modify-delete")
    t.commit({"z.bin": b"\x00mine"}, days_ago=2, parents=[c1], branch="binary")
    trunk = t.commit(
        {"new.txt": "trunk\n", "z.bin": b"\x00trunk"}, days_ago=0.5, parents=[c2], branch="main"
    )
    f = run(t)
    kinds = {name: [c.kind for c in x.conflicts] for name, x in with_trunk(f).items()}
    assert kinds == {
        "add-add": [ConflictKind.ADD_ADD],
        "modify-delete": [ConflictKind.MODIFY_DELETE],
        "binary": [ConflictKind.ADD_ADD],
    }
    assert trunk
    assert_trunk_merges_match_git(t, f)


def test_binary_content_conflict(base):
    t, c1, c2 = base
    c3 = t.commit({"z.bin": b"\x00base"}, days_ago=0.9, parents=[c2], branch="main")
    t.commit({"z.bin": b"\x00mine"}, days_ago=0.5, parents=[c3], branch="bin")
    t.commit({"z.bin": b"\x00trunk"}, days_ago=0.4, parents=[c3], branch="main")
    f = run(t)
    assert [c.kind for c in with_trunk(f)["bin"].conflicts] == [ConflictKind.BINARY]
    assert c1
    assert_trunk_merges_match_git(t, f)


def test_unrelated_history_is_reported_not_merged(base):
    t, *_ = base
    t.commit({"x.txt": "other\n"}, days_ago=1, branch="orphan")
    x = with_trunk(run(t))["orphan"]
    assert x.unrelated and not x.conflicts


def test_pair_conflict_when_both_land_on_trunk(base):
    t, _, c2 = base
    t.commit({"y.txt": numbered(40, {10: "A"})}, days_ago=0.5, parents=[c2], branch="a")
    t.commit({"y.txt": numbered(40, {10: "B"})}, days_ago=0.5, parents=[c2], branch="b")
    f = run(t)
    (pair,) = f.pairs
    assert (pair.a, pair.b, [c.path for c in pair.conflicts]) == ("a", "b", ["y.txt"])
    assert pair.conflicts[0].ours_ranges == ((10, 10),)
    assert [s.branch for s in f.land_order] == ["a", "b"] or [s.branch for s in f.land_order] == [
        "b",
        "a",
    ]


def test_stale_branch_does_not_conflict_with_fresh_one_because_of_trunk(base):
    # a forked before trunk edited x.txt line 5; b forked after and also touches x.txt far away.
    # Merging a and b directly would see trunk's line-5 change as b's; landing both does not.
    t, c1, c2 = base
    t.commit({"x.txt": numbered(40, {30: "A"})}, days_ago=3, parents=[c1], branch="stale")
    t.commit(
        {"x.txt": numbered(40, {5: "trunk five", 4: "B"})},
        days_ago=0.5,
        parents=[c2],
        branch="fresh",
    )
    f = run(t)
    assert f.pairs == () and f.at_risk == ()
    assert f.stats.pairs_merged == 1  # both touch x.txt: a trial merge, which is clean


def test_near_changes_are_at_risk(base):
    t, _, c2 = base
    t.commit({"y.txt": numbered(40, {10: "A"})}, days_ago=0.5, parents=[c2], branch="a")
    t.commit({"y.txt": numbered(40, {13: "B"})}, days_ago=0.5, parents=[c2], branch="b")
    t.commit({"y.txt": numbered(40, {30: "C"})}, days_ago=0.5, parents=[c2], branch="c")
    f = run(t)
    assert f.pairs == ()
    assert [(r.a, r.b, r.paths) for r in f.at_risk] == [("a", "b", ("y.txt",))]


def test_rename_on_one_side_edit_on_the_other(base):
    t, _, c2 = base
    t.commit(
        {"y.txt": None, "moved/y.txt": numbered(40)}, days_ago=0.5, parents=[c2], branch="mover"
    )
    t.commit({"y.txt": numbered(40, {10: "edit"})}, days_ago=0.5, parents=[c2], branch="editor")
    f = run(t)
    assert f.stats.pairs_merged == 1  # the prefilter kept the pair: y.txt is on both sides
    _check_pairs_with_git(t, f)


def _check_pairs_with_git(t: GitRepo, f) -> None:
    trunk = pygit2.Oid(hex=f.trunk_head)
    trunk_tree = t.repo[trunk].peel(pygit2.Commit).tree_id
    landed = {}
    for x in f.with_trunk:
        if x.integrated or x.unrelated or x.conflicts:
            continue
        landed[x.branch] = git_landed(t, f.trunk_head, x.head)
    assert trunk_tree
    predicted = {(p.a, p.b): {c.path for c in p.conflicts} for p in f.pairs}
    names = sorted(landed)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            conflicted, paths = git_merge_tree(t.path, str(landed[a]), str(landed[b]))
            assert predicted.get((a, b), set()) == (paths if conflicted else set()), (a, b)


def test_cache_merges_only_what_moved(base):
    t, _, c2 = base
    for name, line in (("a", 10), ("b", 10), ("c", 20), ("d", 21)):
        t.commit({"y.txt": numbered(40, {line: name})}, days_ago=0.5, parents=[c2], branch=name)
    memo = ForecastMemo()
    first = run(t, memo=memo)
    assert first.stats.merges_computed == 4 + first.stats.pairs_merged
    again = run(t, memo=memo)
    assert again.stats.merges_computed == 0 and again == first.__class__(
        **{**first.__dict__, "stats": again.stats}
    )
    tip = t.repo.references["refs/heads/c"].target
    t.commit({"y.txt": numbered(40, {20: "c", 35: "c2"})}, days_ago=0.1, parents=[tip], branch="c")
    moved = run(t, memo=memo)
    # c's trunk merge, and its trial merges with the branches it still overlaps (all of them).
    assert moved.stats.merges_computed == 1 + 3


def test_active_days_and_pull_requests(base):
    t, c1, c2 = base
    t.commit({"y.txt": numbered(40, {1: "old"})}, days_ago=60, parents=[c1], branch="dormant")
    pr = t.commit({"y.txt": numbered(40, {1: "pr"})}, days_ago=90, parents=[c1])
    t.ref("refs/pull/3/head", pr)
    t.commit({"y.txt": numbered(40, {1: "new"})}, days_ago=0.5, parents=[c2], branch="fresh")
    f = run(t, active_days=30)
    assert f.stats.active == 2  # fresh, and the pull request whatever its age
    assert [(p.a, p.b) for p in f.pairs] == [("fresh", "pull/3")]


def test_land_order_lands_the_hub_first():
    active = ["hub", "x", "y", "free", "stuck"]
    age = {"hub": 5, "x": 9, "y": 1, "free": 3, "stuck": 7}
    pairs = {"hub": {"x": 1, "y": 2}, "x": {"hub": 1}, "y": {"hub": 2}}
    steps = land_order(active, age, pairs, {"stuck": 2})
    assert [s.branch for s in steps] == ["free", "hub", "x", "y", "stuck"]
    assert steps[1].reason == "conflicts with x, y: landing it first means each updates once"
    assert steps[2].reason == "after hub: update from trunk, then land"
    assert steps[4].reason == "conflicts with trunk on 2 files: update it from trunk first"


def test_empty_repository(make_repo):
    f = run(make_repo())
    assert f.trunk_head is None and f.with_trunk == ()


def test_forecast_writes_nothing_into_the_repository(base):
    t, c1, c2 = base
    # a and b land cleanly and touch the same files: a pair merge. d's landing merges x.txt's
    # content with trunk's (a new blob); c conflicts with trunk.
    t.commit(
        {"y.txt": numbered(40, {10: "A"}), "x.txt": numbered(40, {5: "trunk five", 9: "A"})},
        days_ago=0.5,
        parents=[c2],
        branch="a",
    )
    t.commit(
        {"y.txt": numbered(40, {30: "B"}), "x.txt": numbered(40, {5: "trunk five", 20: "B"})},
        days_ago=0.5,
        parents=[c2],
        branch="b",
    )
    t.commit({"x.txt": numbered(40, {5: "C"})}, days_ago=0.5, parents=[c1], branch="c")
    t.commit({"x.txt": numbered(40, {35: "D"})}, days_ago=0.5, parents=[c1], branch="d")
    before = sorted(p.relative_to(t.path) for p in (t.path / "objects").rglob("*"))
    f = run(t)
    assert f.stats.pairs_merged >= 1 and with_trunk(f)["c"].conflicts  # merges did happen
    after = sorted(p.relative_to(t.path) for p in (t.path / "objects").rglob("*"))
    assert after == before
