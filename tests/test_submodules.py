"""Submodule pointers (gitlinks, mode 160000) as git handles them in a bare repository.

The submodule's commits are never in the parent repository: a gitlink is never read as a blob
or a tree, in scan figures, trunk merges, pairs, the at-risk check or replay.
"""

from __future__ import annotations

from analyzers.conflicts import Conflict, ConflictKind
from analyzers.divergence import scan
from analyzers.forecast import forecast
from analyzers.refs import inventory
from analyzers.replay import replay
from tests.gitrepo import NOW, Gitlink, git, git_merge_tree


def sha(n: int) -> Gitlink:
    return Gitlink(f"{n:040x}")


def test_a_submodule_bump_is_one_path_and_no_lines(make_repo):
    t = make_repo()
    base = t.commit({"sub": sha(1), "a.txt": "a\n"}, days_ago=3, branch="main")
    t.commit({"sub": sha(2)}, days_ago=2, parents=[base], branch="bump")
    t.commit({"sub": sha(2), "a.txt": "a\nb\n"}, days_ago=2, parents=[base], branch="bump-edit")
    t.commit({"sub": None, "new": sha(3)}, days_ago=1, parents=[base], branch="move")
    report = {b.name: b for b in scan(t.repo, inventory(t.repo), NOW).branches}
    figures = {n: (b.files_changed, b.lines_added, b.lines_deleted) for n, b in report.items()}
    assert figures == {"bump": (1, 0, 0), "bump-edit": (2, 1, 0), "move": (2, 0, 0)}
    assert all(b.unknown == () for b in report.values())
    assert report["bump"].overlap_files == ()


def test_submodule_pointer_conflicts_in_trunk_merges_and_pairs(make_repo):
    t = make_repo()
    base = t.commit({"sub": sha(1), "a.txt": "a\n"}, days_ago=5, branch="main")
    t.commit({"a.txt": "trunk\n"}, days_ago=4, parents=[base], branch="main")
    t.commit({"sub": sha(2)}, days_ago=3, parents=[base], branch="x/one")
    t.commit({"sub": sha(3)}, days_ago=3, parents=[base], branch="x/two")
    t.commit({"sub": sha(2)}, days_ago=2, parents=[base], branch="x/same")
    t.commit({"sub": None, "sub/src.c": "vendored\n"}, days_ago=2, parents=[base], branch="vendor")
    f = forecast(t.repo, inventory(t.repo), NOW, active_days=30)
    assert all(x.unknown is None and x.conflicts == () for x in f.with_trunk)
    assert not f.undecided
    pairs = {(p.a, p.b): p.conflicts for p in f.pairs}
    submodule = (Conflict("sub", ConflictKind.SUBMODULE),)
    assert pairs[("x/one", "x/two")] == submodule
    assert pairs[("x/same", "x/two")] == submodule
    assert ("x/one", "x/same") not in pairs  # the same pointer on both sides: no conflict
    # The submodule replaced by a directory: git moves the submodule aside, named by branch.
    assert {c.path for c in pairs[("vendor", "x/one")]} == {"sub~x_one"}
    assert {c.kind for c in pairs[("vendor", "x/one")]} == {ConflictKind.FILE_DIRECTORY}
    # Against trunk, by name, as git merge-tree answers.
    t.commit({"sub": sha(9)}, days_ago=1, parents=[base], branch="main")
    f = forecast(t.repo, inventory(t.repo), NOW, active_days=30)
    for x in f.with_trunk:
        conflicted, paths = git_merge_tree(t.path, "main", x.branch)
        assert (bool(x.conflicts), {c.path for c in x.conflicts}) == (conflicted, paths)
    by = {x.branch: x for x in f.with_trunk}
    assert by["x/one"].conflicts == submodule
    assert [c.path for c in by["vendor"].conflicts] == ["sub~main"]


def test_replay_of_a_submodule_conflict(make_repo):
    t = make_repo()
    base = t.commit({"sub": sha(1), "a.txt": "a\n"}, days_ago=5, branch="main")
    ours = t.commit({"sub": sha(2)}, days_ago=4, parents=[base])
    theirs = t.commit({"sub": sha(3)}, days_ago=3, parents=[base])
    merged = t.commit({"sub": sha(3)}, days_ago=2, parents=[ours, theirs], branch="main")
    report = replay(t.repo, merged, limit=5)
    [m] = report.merges
    assert m.unknown is None
    assert m.conflicts == (Conflict("sub", ConflictKind.SUBMODULE),)
    assert git(t.path, "rev-parse", "--is-bare-repository").strip() == "true"
