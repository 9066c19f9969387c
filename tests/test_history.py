"""Merged work mined from trunk's history, checked against git."""

from __future__ import annotations

from analyzers.history import history
from analyzers.trunk import TrunkIndex
from tests.gitrepo import BOB, DAY, NOW, git, lines


def test_merged_work_lifetimes_sizes_and_conflicts(make_repo):
    t = make_repo()
    c1 = t.commit({"a.txt": lines(10), "b.txt": lines(3)}, days_ago=30)
    # feature: two commits (authored 20 and 18 days ago), merged 15 days ago.
    f1 = t.commit({"f.txt": "f\n"}, days_ago=20, parents=[c1], author=BOB)
    f2 = t.commit({"f.txt": "f\ng\n"}, days_ago=18, parents=[f1])
    c2 = t.commit({"b.txt": lines(4)}, days_ago=16, parents=[c1])
    m1 = t.commit({"f.txt": "f\ng\n"}, days_ago=15, parents=[c2, f2], message="Merge feature")
    # A direct commit (a squash) 10 days ago, then a merge whose parents conflict on a.txt.
    c3 = t.commit({"c.txt": "c\n"}, days_ago=10, parents=[m1])
    x1 = t.commit({"a.txt": lines(10).replace("line 5", "mine")}, days_ago=9, parents=[c1])
    c4 = t.commit({"a.txt": lines(10).replace("line 5", "trunk")}, days_ago=8, parents=[c3])
    m2 = t.commit(
        {"a.txt": lines(10).replace("line 5", "both")}, days_ago=7, parents=[c4, x1], branch="main"
    )

    found = history(t.repo, TrunkIndex(t.repo, m2), since=NOW - 60 * DAY)

    first, second = found.merged
    assert first.merge_commit == str(m1)
    assert (first.commits, first.first_commit_at, first.landed_at) == (
        2,
        NOW - 20 * DAY,
        NOW - 15 * DAY,
    )
    assert first.lifetime_seconds == 5 * DAY
    assert (first.files_changed, first.lines_added, first.conflicted) == (1, 2, False)
    assert int(git(t.path, "rev-list", "--count", f"{m1}^1..{m1}^2")) == first.commits
    assert (second.commits, second.conflicted, second.lifetime_seconds) == (1, True, 2 * DAY)
    # Both sides' changes to a.txt existed from day 8 on: the forecast would have warned then.
    assert (second.first_warning_at, second.lead_time_seconds) == (NOW - 8 * DAY, DAY)
    assert first.first_warning_at is None and first.lead_time_seconds is None
    assert [(p.merge_commit, p.lead_time_seconds) for p in found.paid] == [(str(m2), DAY)]
    # Landings: every first-parent commit in the window (c1, c2, m1, c3, c4, m2).
    assert len(found.landings) == 6 and found.merge_landings == (first.landed_at, second.landed_at)
    assert len(history(t.repo, TrunkIndex(t.repo, m2), since=NOW - 12 * DAY).merged) == 1
