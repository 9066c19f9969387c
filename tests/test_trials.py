"""Trial merges: git where it must, libgit2 otherwise, and libgit2 again where git fails."""

from __future__ import annotations

import stat
from pathlib import Path

import pygit2
import pytest

from analyzers import trials
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
