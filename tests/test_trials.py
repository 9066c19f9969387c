"""Trial merges: git where it must, libgit2 otherwise, and libgit2 again where git fails."""

from __future__ import annotations

import stat
from pathlib import Path

import pygit2
import pytest

from analyzers import routing, trials
from analyzers.conflicts import Conflict, ConflictKind
from analyzers.git import Git, find_git
from analyzers.mergejobs import MergeJob
from analyzers.objects import scratch_view
from analyzers.trials import run_job


def conflicted_pair(make_repo):
    t = make_repo()
    base = t.commit({"a.txt": "1\n2\n3\n", "b.txt": "b\n"}, days_ago=3)
    ours = t.commit({"a.txt": "1\nours\n3\n", "b.txt": "b ours\n"}, days_ago=2, parents=[base])
    theirs = t.commit({"a.txt": "1\ntheirs\n3\n", "b.txt": None}, days_ago=1, parents=[base])
    return t, MergeJob(None, str(ours), str(theirs))


EXPECTED = (
    Conflict("a.txt", ConflictKind.CONTENT, ((2, 2),), ((2, 2),)),
    Conflict("b.txt", ConflictKind.MODIFY_DELETE),
)


def failing_git(directory: Path) -> Git:
    """A git that aborts as git 2.39's merge-ort does on a failed assertion."""
    script = directory / "git"
    script.write_text("#!/bin/sh\necho 'merge-ort.c: Assertion failed' >&2\nexit 134\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return Git(str(script), "2.39.5")


@pytest.mark.parametrize("git", ["real", "none", "failing"])
def test_every_engine_gives_the_same_answer_here(make_repo, tmp_path, monkeypatch, git):
    t, job = conflicted_pair(make_repo)
    if git == "real" and find_git() is None:
        pytest.skip("needs git 2.38 or newer on the PATH")
    if git == "none":
        monkeypatch.setattr(trials, "find_git", lambda: None)
    elif git == "failing":
        monkeypatch.setattr(trials, "find_git", lambda: failing_git(tmp_path))
    with scratch_view(t.repo) as scratch:
        result = run_job(scratch, job)
    assert result.conflicts == EXPECTED and result.unknown is None


def test_a_clean_merge_says_what_it_changes_on_ours(make_repo):
    t = make_repo()
    base = t.commit({"a.txt": "1\n2\n3\n", "c.txt": "c\n"}, days_ago=3)
    ours = t.commit({"a.txt": "1\nours\n3\n"}, days_ago=2, parents=[base])
    theirs = t.commit({"c.txt": "c theirs\n", "d.txt": "new\n"}, days_ago=1, parents=[base])
    head = t.repo[theirs].peel(pygit2.Commit).tree
    with scratch_view(t.repo) as scratch:
        by_git = trials.run_merge(scratch, MergeJob(None, str(ours), str(theirs)), find_git())
        by_libgit2 = trials.run_merge(scratch, MergeJob(None, str(ours), str(theirs)), None)
    blob = 0o100644
    expected = (
        ("c.txt", str(head["c.txt"].id), blob),
        ("d.txt", str(head["d.txt"].id), blob),
    )
    assert by_git.clean and by_git.changes == expected
    assert by_libgit2.clean and by_libgit2.changes == expected


def test_trunk_renamed_what_the_branch_only_edited_goes_to_git(make_repo):
    # The commonest refactor: trunk moves a file, the branch keeps editing it at the old path.
    t = make_repo()
    text = "".join(f"core line {n}\n" for n in range(30))
    base = t.commit({"pkg/core.py": text, "x.txt": "x\n"}, days_ago=3)
    trunk = t.commit({"pkg/core.py": None, "lib/core.py": text}, days_ago=2, parents=[base])
    edit = t.commit({"pkg/core.py": text.replace("line 20", "edit")}, days_ago=1, parents=[base])
    other = t.commit({"x.txt": "y\n"}, days_ago=1, parents=[base])
    trees = {c: str(t.repo[c].peel(pygit2.Commit).tree_id) for c in (base, trunk, edit, other)}

    def job(branch):
        return MergeJob(trees[base], trees[trunk], trees[branch], commits=(str(trunk), str(branch)))

    with scratch_view(t.repo) as scratch:
        assert routing.goes_to_git(scratch.view, job(edit))
        assert not routing.goes_to_git(scratch.view, job(other))  # nothing a rename could meet
        assert run_job(scratch, job(edit)).clean


F, LINK, SUB = 0o100644, 0o120000, 0o160000
BASE = {"f": ("a", F), "sub": ("a", SUB), "l": ("a", LINK), "d/x": ("a", F), "keep": ("a", F)}


def entries(spec):
    return {
        path: None if e is None else (pygit2.Oid(hex=e[0] * 40), e[1]) for path, e in spec.items()
    }


def tree_of(repo, spec):
    from analyzers.objects import apply_changes

    return repo[apply_changes(repo, None, entries(spec))].peel(pygit2.Tree)


def changed(spec):
    # The side's changes against BASE: what it holds at each path it changed (None: deleted).
    out = {p: None for p in BASE if p not in spec}
    out.update({p: e for p, e in spec.items() if BASE.get(p) != e})
    return out


@pytest.mark.parametrize(
    ("side", "other", "expected"),
    [
        ({"f": ("b", F)}, {"f": ("c", F)}, True),  # both edit a file: git aligns its lines
        ({"f": ("b", F)}, {"f": ("b", F)}, False),  # both made the same edit: nothing to merge
        ({"f": ("b", F)}, {"g": ("c", F)}, False),  # edits to different files
        ({"f": ("b", F)}, {"f": None, "g": ("a", F)}, True),  # the other moved it
        ({"f": ("b", F)}, {"f/y": ("c", F)}, True),  # the other made it a directory
        ({"sub": ("b", SUB)}, {"sub": ("c", SUB)}, True),  # a submodule moved both ways
        ({"sub": ("b", SUB)}, {}, False),  # only one side moves it
        ({"l": ("b", LINK)}, {"l": ("c", LINK)}, True),  # a symlink retargeted both ways
        ({"keep/y": ("b", F)}, {}, True),  # a directory where the other has a file
        ({"d/y": ("b", F)}, {"d/x": None, "e/x": ("a", F)}, True),  # d moved on the other
        ({"d/x": None}, {"d/z": ("b", F)}, True),  # d emptied here (moved?), added to there
        ({"d/x": None}, {}, False),  # d emptied here, untouched there
    ],
)
def test_where_the_sides_meet(make_repo, side, other, expected):
    # Only path lookups: what the side changed, looked up in the other side's tree.
    repo = make_repo().repo
    side_spec = {p: e for p, e in {**BASE, **side}.items() if e is not None}
    other_spec = {p: e for p, e in {**BASE, **other}.items() if e is not None}
    if "f/y" in other_spec:
        other_spec.pop("f")
    if "keep/y" in side_spec:
        side_spec.pop("keep")
    got = routing.sides_meet(
        tree_of(repo, BASE),
        entries(changed(side_spec)),
        tree_of(repo, side_spec),
        tree_of(repo, other_spec),
    )
    assert got is expected


def test_identical_copies_make_renames_ambiguous(make_repo):
    same = (pygit2.Oid(hex="1" * 40), 0o100644)
    t = make_repo()
    from analyzers.objects import apply_changes

    base = t.repo[apply_changes(t.repo, None, {"a": same, "b": same, "c": (same[0], 0o100644)})]
    one = {"a": None, "moved/a": same}
    assert not routing._copies_may_pair(one, base)  # one rename, one way to pair it
    assert routing._copies_may_pair({"a": None, "b": None, "moved": same}, base)
    assert routing._copies_may_pair({"a": None, "x/a": same, "y/a": same}, base)


def test_a_gitlink_conflict_is_a_submodule_conflict_with_either_engine(make_repo, monkeypatch):
    # The submodule's commits are never in the parent repository: never read them as blobs.
    from tests.gitrepo import Gitlink

    t = make_repo()
    base = t.commit({"sub": Gitlink("1" * 40), "a.txt": "a\n"}, days_ago=3)
    ours = t.commit({"sub": Gitlink("2" * 40)}, days_ago=2, parents=[base])
    theirs = t.commit({"sub": Gitlink("3" * 40)}, days_ago=1, parents=[base])
    trees = [str(t.repo[c].peel(pygit2.Commit).tree_id) for c in (base, ours, theirs)]
    job = MergeJob(*trees, commits=(str(ours), str(theirs)))
    expected = (Conflict("sub", ConflictKind.SUBMODULE),)
    with scratch_view(t.repo) as scratch:
        assert run_job(scratch, job).conflicts == expected  # git
        monkeypatch.setattr(trials, "find_git", lambda: None)
        assert run_job(scratch, job).conflicts == expected  # libgit2


def test_at_risk_check_skips_a_directory_on_trunk(make_repo):
    # A directory on trunk, a file on both branches: no lines to compare, and no crash.
    t = make_repo()
    from analyzers.objects import apply_changes

    blob = t.repo.create_blob(b"x\n")
    trunk = t.repo[apply_changes(t.repo, None, {"p/x": (blob, 0o100644)})]
    a = {"p": (t.repo.create_blob(b"1\n"), 0o100644), "p/x": None}
    b = {"p": (t.repo.create_blob(b"2\n"), 0o100644), "p/x": None}
    assert trials._near_paths(t.repo, trunk, a, b) == ()


def test_one_failing_merge_is_that_merges_unknown(make_repo, monkeypatch):
    # Any exception in one trial merge is that merge's unknown, with the reason; the run goes on.
    from analyzers.forecast import forecast
    from analyzers.refs import inventory
    from tests.gitrepo import NOW

    t = make_repo()
    base = t.commit({"a.txt": "a\n", "b.txt": "b\n"}, days_ago=3, branch="main")
    t.commit({"a.txt": "a2\n"}, days_ago=2, parents=[base], branch="main")
    t.commit({"b.txt": "b2\n"}, days_ago=1, parents=[base], branch="good")
    bad = t.commit({"b.txt": "b3\n"}, days_ago=1, parents=[base], branch="bad")
    bad_tree = str(t.repo[bad].peel(pygit2.Commit).tree_id)
    real = trials.run_merge

    def run_merge(scratch, job, git, by_git=None):
        if job.theirs == bad_tree:
            raise AssertionError("a bug")
        return real(scratch, job, git, by_git)

    monkeypatch.setattr(trials, "run_merge", run_merge)
    f = forecast(t.repo, inventory(t.repo), NOW, workers=1)
    by = {x.branch: x for x in f.with_trunk}
    assert by["good"].unknown is None and by["good"].conflicts == ()
    assert by["bad"].unknown is not None
    assert by["bad"].unknown.reason == "the trial merge failed: AssertionError: a bug"
