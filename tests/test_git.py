"""The git driver: which git, found once; what `git merge-tree` answers; the engine it names."""

from __future__ import annotations

import pickle
import stat
from pathlib import Path

import pygit2
import pytest

from analyzers.errors import MergeError
from analyzers.git import (
    Git,
    GitError,
    Message,
    Staged,
    find_git,
    parse_merge_batch,
    parse_merge_tree,
)
from analyzers.mergejobs import ENGINE_VERSION, MergeJob, PairJob, engine_id

BLOB = 0o100644


@pytest.fixture
def lookup_again():
    """Forget the git found (and the engine named after it) before and after the test."""
    find_git.cache_clear()
    engine_id.cache_clear()
    yield
    find_git.cache_clear()
    engine_id.cache_clear()


def fake_git(directory: Path, version_line: str) -> Path:
    """Put an executable `git` in `directory` that only answers `--version`."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "git"
    script.write_text(f'#!/bin/sh\necho "{version_line}"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def git_env(t, tmp_path: Path) -> dict[str, str]:
    store = tmp_path / "store"
    store.mkdir(exist_ok=True)
    return {
        "GIT_DIR": str(t.path),
        "GIT_OBJECT_DIRECTORY": str(store),
        "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(t.path / "objects"),
    }


def real_git() -> Git:
    git = find_git()
    if git is None:
        pytest.skip("needs git 2.38 or newer on the PATH")
    return git


def blob_id(repo: pygit2.Repository, commit: pygit2.Oid, path: str) -> str:
    return str(repo[commit].peel(pygit2.Commit).tree[path].id)


def test_a_conflicted_merge_is_read_stage_by_stage(make_repo, tmp_path):
    t = make_repo()
    base = t.commit({"a.txt": "1\n2\n3\n", "b.txt": "b\n"}, days_ago=3)
    ours = t.commit({"a.txt": "1\nours\n3\n", "b.txt": "b changed\n"}, days_ago=2, parents=[base])
    theirs = t.commit({"a.txt": "1\ntheirs\n3\n", "b.txt": None}, days_ago=1, parents=[base])

    merged = real_git().merge_tree(str(ours), str(theirs), git_env(t, tmp_path))

    assert not merged.clean
    a = [(base, 1), (ours, 2), (theirs, 3)]
    b = [(base, 1), (ours, 2)]  # deleted by theirs: no stage 3
    assert merged.staged == tuple(
        [Staged("a.txt", stage, BLOB, blob_id(t.repo, c, "a.txt")) for c, stage in a]
        + [Staged("b.txt", stage, BLOB, blob_id(t.repo, c, "b.txt")) for c, stage in b]
    )
    assert [(m.paths, m.kind) for m in merged.messages if m.conflict] == [
        (("a.txt",), "CONFLICT (contents)"),
        (("b.txt",), "CONFLICT (modify/delete)"),
    ]
    assert merged.conflicted_paths == {"a.txt", "b.txt"}
    assert len(merged.tree) == 40  # the tree with conflict markers, written to the store


def test_a_clean_merge_gives_the_merged_tree(make_repo, tmp_path):
    t = make_repo()
    base = t.commit({"a.txt": "1\n2\n3\n", "c.txt": "c\n"}, days_ago=3)
    ours = t.commit({"a.txt": "1\nours\n3\n"}, days_ago=2, parents=[base])
    theirs = t.commit({"c.txt": "c theirs\n"}, days_ago=1, parents=[base])

    merged = real_git().merge_tree(str(ours), str(theirs), git_env(t, tmp_path))

    expected = t.repo.merge_commits(ours, theirs).write_tree(t.repo)
    assert merged.clean and merged.staged == () and merged.conflicted_paths == frozenset()
    assert merged.tree == str(expected)


def test_a_merge_git_cannot_do_raises_with_its_words(make_repo, tmp_path):
    t = make_repo()
    base = t.commit({"a.txt": "a\n"}, days_ago=1)
    with pytest.raises(GitError) as caught:
        real_git().merge_tree(str(base), "1" * 40, git_env(t, tmp_path))
    assert isinstance(caught.value, MergeError)  # a trial merge falls back to libgit2 on it
    assert "1" * 40 in caught.value.stderr
    assert str(caught.value).startswith("git merge-tree failed: ")
    again = pickle.loads(pickle.dumps(caught.value))  # it may cross from a worker process
    assert (str(again), again.returncode, again.stderr) == (
        str(caught.value),
        caught.value.returncode,
        caught.value.stderr,
    )


def test_a_conflict_on_no_file_is_named_by_its_messages(make_repo, tmp_path):
    # Ours splits old/ in two, theirs adds to old/: git cannot tell where the new file goes,
    # stages nothing and only says so.
    t = make_repo()
    base = t.commit({"old/a.txt": "a\n", "old/b.txt": "b\n"}, days_ago=3)
    moved = {"old/a.txt": None, "old/b.txt": None, "x/a.txt": "a\n", "y/b.txt": "b\n"}
    ours = t.commit(moved, days_ago=2, parents=[base])
    theirs = t.commit({"old/c.txt": "c\n"}, days_ago=1, parents=[base])

    merged = real_git().merge_tree(str(ours), str(theirs), git_env(t, tmp_path))

    assert not merged.clean and merged.staged == ()
    [message] = merged.messages
    assert message.paths == ("old",) and message.conflict  # "CONFLICT(directory rename ...)"
    assert merged.conflicted_paths == {"old"}


def test_one_git_process_answers_many_merges_as_one_merge_each(make_repo, tmp_path):
    t = make_repo()
    base = t.commit({"a.txt": "1\n2\n3\n", "old/a.txt": "a\n", "old/b.txt": "b\n"}, days_ago=3)
    moved = {"old/a.txt": None, "old/b.txt": None, "x/a.txt": "a\n", "y/b.txt": "b\n"}
    ours = t.commit({"a.txt": "1\nours\n3\n", **moved}, days_ago=2, parents=[base])
    theirs = t.commit({"a.txt": "1\ntheirs\n3\n"}, days_ago=1, parents=[base])
    split = t.commit({"old/c.txt": "c\n"}, days_ago=1, parents=[base])
    clean = t.commit({"c.txt": "c\n"}, days_ago=1, parents=[base])
    merges = [(ours, theirs), (ours, clean), (ours, split), (ours, "1" * 40), (theirs, clean)]
    merges = [(str(a), str(b)) for a, b in merges]
    git, env = real_git(), git_env(t, tmp_path)

    answers = git.merge_trees(merges, env)

    assert len(answers) == len(merges)
    # git stops at the merge it cannot do; that one is its error, the ones after are answered.
    assert isinstance(answers[3], GitError) and "1" * 40 in answers[3].stderr
    for (a, b), answer in zip(merges, answers, strict=True):
        if not isinstance(answer, GitError):
            assert answer == git.merge_tree(a, b, env)
    assert [a.clean for a in answers if not isinstance(a, GitError)] == [False, True, False, True]
    assert answers[2].conflicted_paths == {"old"}  # a conflict on no file, by its message


def test_a_batch_cut_off_by_git_keeps_the_merges_it_finished():
    finished = b"1\0" + b"a" * 40 + b"\0\0"
    conflicted = b"0\0" + b"b" * 40 + b"\x00100644 " + b"c" * 40 + b" 2\tf\0\0"
    messages = b"1\0f\0CONFLICT (contents)\0CONFLICT (content): Merge conflict in f\n\0\0"

    assert [m.tree for m in parse_merge_batch(finished + conflicted + messages)] == [
        "a" * 40,
        "b" * 40,
    ]
    for cut in range(1, len(conflicted + messages)):
        merges = parse_merge_batch(finished + (conflicted + messages)[:cut])
        assert [m.tree for m in merges] == ["a" * 40]
    assert parse_merge_batch(b"") == []


def test_messages_are_read_after_the_staged_entries():
    tree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
    blob = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    out = f"{tree}\x00100644 {blob} 2\tx.txt\x00\x00"
    out += "2\x00x.txt\x00y.txt\x00CONFLICT (rename/delete)\x00x.txt renamed...\n\x00"
    out += "1\x00z.txt\x00Auto-merging\x00Auto-merging z.txt\n\x00"

    merged = parse_merge_tree(out.encode(), clean=False)

    assert merged.tree == tree and merged.staged == (Staged("x.txt", 2, BLOB, blob),)
    assert merged.messages == (
        Message(("x.txt", "y.txt"), "CONFLICT (rename/delete)"),
        Message(("z.txt",), "Auto-merging"),
    )
    assert merged.conflicted_paths == {"x.txt"}


def test_paths_git_names_oddly_are_kept_as_they_are():
    path = "dir with space/tab\there/ünïcode.txt"
    blob = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    out = f"{'0' * 40}\x00100755 {blob} 2\t{path}\x00\x00"

    merged = parse_merge_tree(out.encode(), clean=False)

    assert merged.staged == (Staged(path, 2, 0o100755, blob),)


def test_no_git_on_the_path_is_no_git(tmp_path, monkeypatch, lookup_again):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert find_git() is None
    assert engine_id().endswith(" git none")


def test_git_is_looked_up_once(tmp_path, monkeypatch, lookup_again):
    fake_git(tmp_path / "bin", "git version 2.40.1")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    found = find_git()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert find_git() is found == Git(str(tmp_path / "bin" / "git"), "2.40.1")


@pytest.mark.parametrize(
    ("line", "version"),
    [
        ("git version 2.39.5", "2.39.5"),
        ("git version 2.39.3 (Apple Git-146)", "2.39.3"),
        ("git version 2.41.0.windows.1", "2.41.0.windows.1"),
        ("git version 2.37.1", None),  # no `merge-tree --write-tree` before 2.38
        ("not git at all", None),
    ],
)
def test_the_version_git_reports(tmp_path, monkeypatch, lookup_again, line, version):
    fake_git(tmp_path / "bin", line)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    found = find_git()
    assert (found.version if found else None) == version


def test_the_engine_names_the_git_found(tmp_path, monkeypatch, lookup_again):
    ids = []
    for version in ("2.39.5", "2.45.0"):
        fake_git(tmp_path / version, f"git version {version}")
        monkeypatch.setenv("PATH", str(tmp_path / version))
        find_git.cache_clear()
        engine_id.cache_clear()
        ids.append(engine_id())
    assert ids == [
        f"{ENGINE_VERSION} libgit2 {pygit2.LIBGIT2_VERSION} git 2.39.5",
        f"{ENGINE_VERSION} libgit2 {pygit2.LIBGIT2_VERSION} git 2.45.0",
    ]
    # Two workers with different gits never share an answer under one key.
    job = MergeJob(None, "a" * 40, "b" * 40)
    pair = PairJob("c" * 40, (), ())
    assert job.key[3] == pair.key[3] == ids[1]
