"""Redoing recorded merges: which conflicted, which way they went."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pygit2
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from analyzers.conflicts import ConflictKind
from analyzers.replay import MergeDirection, replay
from tests.gitrepo import DAY, NOW, GitCrashed, git_merge_tree, lines, numbered
from tests.test_forecast_properties import OPS, build


def test_replay_tells_directions_and_conflicts(make_repo):
    t = make_repo()
    c1 = t.commit({"a.txt": lines(10), "b.txt": lines(10)}, days_ago=10)
    c2 = t.commit({"a.txt": lines(10).replace("line 3\n", "trunk 3\n")}, days_ago=9, parents=[c1])
    f1 = t.commit({"a.txt": lines(10).replace("line 3\n", "mine 3\n")}, days_ago=8, parents=[c1])
    # Trunk merged into the branch, conflict resolved by hand: where conflicts are paid.
    f2 = t.commit(
        {"a.txt": lines(10).replace("line 3\n", "both 3\n")}, days_ago=7, parents=[f1, c2]
    )
    # The branch lands cleanly; an extra edit sneaks into the merge commit.
    m = t.commit(
        {"a.txt": lines(10).replace("line 3\n", "both 3\n"), "b.txt": "sneaky\n"},
        days_ago=6,
        parents=[c2, f2],
        branch="main",
    )

    report = replay(t.repo, m, limit=10)

    by_commit = {x.commit: x for x in report.merges}
    into_branch, into_trunk = by_commit[str(f2)], by_commit[str(m)]
    assert into_branch.direction is MergeDirection.TRUNK_INTO_BRANCH
    assert [(c.path, c.kind) for c in into_branch.conflicts] == [("a.txt", ConflictKind.CONTENT)]
    assert into_branch.conflicts[0].ours_ranges == ((3, 3),)
    assert into_branch.matches_recorded is None
    assert into_trunk.direction is MergeDirection.INTO_TRUNK
    assert into_trunk.conflicts == () and into_trunk.matches_recorded is False
    assert report.rate(MergeDirection.TRUNK_INTO_BRANCH) == (1, 1)
    assert report.rate(MergeDirection.INTO_TRUNK) == (0, 1)
    for merge in report.merges:
        commit = t.repo[merge.commit]
        conflicted, paths = git_merge_tree(t.path, *(str(p) for p in commit.parent_ids))
        assert (bool(merge.conflicts), {c.path for c in merge.conflicts}) == (conflicted, paths)


def test_replay_limit(make_repo):
    t = make_repo()
    tip = t.commit({"a": "0\n"}, days_ago=30)
    for n in range(5):
        side = t.commit({f"s{n}": "s\n"}, days_ago=29 - n, parents=[tip])
        tip = t.commit({f"s{n}": "s\n"}, days_ago=28.5 - n, parents=[tip, side], branch="main")
    assert len(replay(t.repo, tip, limit=3).merges) == 3


def test_first_warning_and_lead_time_of_a_paid_conflict(make_repo):
    t = make_repo()
    c0 = t.commit({"a.txt": numbered(40, {}), "b.txt": "b\n", "c.txt": "c\n"}, days_ago=40)
    # Trunk: a.txt line 5 changes 30 days ago, line 30 changes 12 days ago.
    t1 = t.commit({"b.txt": "b1\n"}, days_ago=35, parents=[c0])
    t2 = t.commit({"a.txt": numbered(40, {5: "trunk 5"})}, days_ago=30, parents=[t1])
    t3 = t.commit({"c.txt": "c3\n"}, days_ago=20, parents=[t2])
    t4 = t.commit(
        {"a.txt": numbered(40, {5: "trunk 5", 30: "trunk 30"})}, days_ago=12, parents=[t3]
    )
    t5 = t.commit({"b.txt": "b5\n"}, days_ago=5, parents=[t4], branch="main")
    # The branch changes line 5 too, 25 days ago: from then on, the two sides conflict.
    f1 = t.commit({"d.txt": "d\n"}, days_ago=33, parents=[c0])
    f2 = t.commit({"a.txt": numbered(40, {5: "mine 5"})}, days_ago=25, parents=[f1])
    f3 = t.commit({"a.txt": numbered(40, {5: "mine 5", 30: "mine 30"})}, days_ago=15, parents=[f2])
    f4 = t.commit({"e.txt": "e\n"}, days_ago=8, parents=[f3])
    resolved = numbered(40, {5: "both 5", 30: "both 30"})
    m = t.commit({"a.txt": resolved}, days_ago=3, parents=[f4, t5], branch="feature")
    landed = t.commit({"a.txt": resolved}, days_ago=2, parents=[t5, m], branch="main")

    report = replay(t.repo, landed, limit=10)

    paid = next(x for x in report.merges if x.commit == str(m))
    assert paid.direction is MergeDirection.TRUNK_INTO_BRANCH
    warning = paid.first_warning
    assert warning is not None
    assert warning.time == NOW - 25 * DAY
    assert (warning.ours, warning.theirs) == (str(f2), str(t2))
    assert (warning.before_ours, warning.before_theirs) == (str(f1), str(t2))
    assert paid.lead_time_seconds == 22 * DAY
    assert report.lead_times() == [22 * DAY]
    # Checkable with git itself: that moment conflicts on the same paths, the one before not.
    assert git_merge_tree(t.path, warning.ours, warning.theirs) == (True, {"a.txt"})
    assert git_merge_tree(t.path, warning.before_ours, warning.before_theirs)[1] != {"a.txt"}
    clean = next(x for x in report.merges if x.commit == str(landed))
    assert clean.first_warning is None and clean.lead_time_seconds is None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 2**32)), min_size=4, max_size=25))
def test_every_first_warning_is_checkable_with_git(ops):
    """At each first warning git's merge conflicts on the same paths; a second before, not."""
    try:
        _warnings_checkable(ops)
    except GitCrashed:
        reject()  # git itself failed an assertion: no reference to check against


def _warnings_checkable(ops):
    with tempfile.TemporaryDirectory() as tmp:
        t = build(ops, Path(tmp) / "repo.git")
        tips = {r.peel(pygit2.Commit).id for r in t.repo.references.iterator()}
        for tip in tips:
            for merge in replay(t.repo, tip, limit=50).merges:
                paths = {c.path for c in merge.conflicts}
                warning = merge.first_warning
                if not paths:
                    assert warning is None
                    continue
                assert warning is not None, merge.commit
                assert warning.time <= merge.time
                assert git_merge_tree(t.path, warning.ours, warning.theirs) == (True, paths)
                before = git_merge_tree(t.path, warning.before_ours, warning.before_theirs)
                assert before[1] != paths
