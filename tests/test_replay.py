"""Redoing recorded merges: which conflicted, which way they went."""

from __future__ import annotations

from analyzers.merges import ConflictKind
from analyzers.replay import MergeDirection, replay
from tests.gitrepo import git_merge_tree, lines


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
