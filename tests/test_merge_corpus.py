"""Every merge of the corner-case corpus (tests/corpus) gives git merge-tree's answer.

For each scenario, every branch is trunk once and every other branch is merged into it through
the forecast: the same yes/no and the same conflicted paths as `git merge-tree --write-tree`
on the two branch names (so entries git moves aside carry the branch names: `conf~main`). Then
every pair of branches that land cleanly: T+A and T+B as git lands them, against the forecast's
pair answer. No merge may crash or be unknown.
"""

from __future__ import annotations

import pytest

from analyzers import trials
from analyzers.forecast import forecast
from analyzers.refs import inventory
from tests.corpus.scenarios import SCENARIOS, build
from tests.gitrepo import NOW, GitCrashed, as_named, git, git_landed, git_merge_tree


def _branches(t) -> list[str]:
    return sorted(
        r.removeprefix("refs/heads/") for r in t.repo.references if r.startswith("refs/heads/")
    )


def _git_pair(t, trunk: str, a: str, b: str, landed: dict[str, str]) -> tuple[bool, set[str]]:
    conflicted, paths = git_merge_tree(t.path, landed[a], landed[b])
    # git labels the sides with what it was given (commit ids here); the forecast, by name.
    return conflicted, as_named(paths, {landed[a]: a, landed[b]: b})


def check_scenario(t, *, pairs: bool = True) -> tuple[int, int]:
    """Compare every trunk merge (and pair) of `t` with git; return how many were compared."""
    merges = pair_count = 0
    for trunk in _branches(t):
        f = forecast(t.repo, inventory(t.repo, trunk=trunk), NOW, active_days=3650)
        landed = {}
        for x in f.with_trunk:
            assert x.unknown is None, (trunk, x.branch, x.unknown)
            if x.unrelated:
                continue
            try:
                conflicted, paths = git_merge_tree(t.path, trunk, x.branch)
            except GitCrashed:
                continue
            got = (bool(x.conflicts), {c.path for c in x.conflicts})
            assert got == (conflicted, paths), (trunk, x.branch, x.conflicts)
            merges += 1
            if not conflicted:
                landed[x.branch] = git_landed(t, f.trunk_head, x.head)
        if not pairs:
            continue
        assert not f.undecided, (trunk, f.undecided)
        predicted = {(p.a, p.b): {c.path for c in p.conflicts} for p in f.pairs}
        names = sorted(landed)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                try:
                    conflicted, paths = _git_pair(t, trunk, a, b, landed)
                except GitCrashed:
                    continue
                assert predicted.get((a, b), set()) == (paths if conflicted else set()), (
                    trunk,
                    a,
                    b,
                )
                pair_count += 1
    return merges, pair_count


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_corpus_agrees_with_git(scenario, tmp_path):
    t = build(scenario, tmp_path / "repo.git")
    merges, pairs = check_scenario(t)
    assert merges > 0


def test_corpus_covers_every_kind(tmp_path):
    # The corpus exercises what it claims: submodule conflicts, entries moved aside, renames.
    kinds = set()
    named = set()
    for scenario in SCENARIOS:
        t = build(scenario, tmp_path / f"{scenario}.git")
        for trunk in _branches(t):
            f = forecast(t.repo, inventory(t.repo, trunk=trunk), NOW, active_days=3650)
            for x in f.with_trunk:
                kinds.update(c.kind.value for c in x.conflicts)
                named.update(c.path for c in x.conflicts if "~" in c.path)
    assert {"submodule", "file/directory", "rename", "modify/delete", "content"} <= kinds
    assert "conf~feature_conf-dir" in named or "conf~main" in named


def test_trunk_merges_routed_to_git_in_corpus(tmp_path):
    # Every merge where a rename meets a change is git's: here, trunk moved pkg/core.py and
    # the branch only edited it (the case issue 17 found on real mirrors).
    t = build("renames_under_edits", tmp_path / "repo.git")
    f = forecast(t.repo, inventory(t.repo, trunk="main"), NOW, active_days=3650)
    by = {x.branch: x for x in f.with_trunk}
    assert by["feature/edit-far"].conflicts == ()  # git carries the edit to lib/core.py
    assert [c.path for c in by["feature/edit-near"].conflicts] == ["lib/core.py"]
    assert trials.find_git() is not None


def test_corpus_trees_are_what_they_say(tmp_path):
    # Read by git itself: the builders share apply_changes with the landings of pairs, so a
    # bug there (a directory replaced by a file lost the file) must not hide in both.
    t = build("file_directory", tmp_path / "fd.git")
    assert git(t.path, "ls-tree", "--name-only", "docs-file").split() == ["conf", "docs", "keep"]
    assert git(t.path, "ls-tree", "-r", "--name-only", "keep-dir").split()[-1] == "keep/inner"
    t = build("submodules", tmp_path / "sub.git")
    listing = git(t.path, "ls-tree", "-r", "vendor/in-tree").splitlines()
    assert [line.split()[0] for line in listing if "vendor/" in line] == ["100644"]
    assert "160000 commit" in git(t.path, "ls-tree", "main", "ext")


def test_a_directory_replaced_by_a_file_keeps_the_file(make_repo):
    from analyzers.objects import apply_changes

    repo = make_repo().repo
    blob = repo.create_blob(b"x\n")
    base = repo[apply_changes(repo, None, {"d/x": (blob, 0o100644)})]
    for order in (("d/x", "d"), ("d", "d/x")):
        changes = {p: None if p == "d/x" else (blob, 0o100644) for p in order}
        tree = repo[apply_changes(repo, base, changes)]
        assert [(e.name, e.filemode) for e in tree] == [("d", 0o100644)]
