"""Which ref is trunk and which refs are branches."""

from __future__ import annotations

import pytest

from analyzers.errors import TrunkNotFoundError
from analyzers.refs import check_glob, display_name, inventory
from tests.gitrepo import git


@pytest.fixture
def repo3(make_repo):
    t = make_repo()
    c1 = t.commit({"a": "1\n"}, days_ago=3)
    t.commit({"a": "2\n"}, days_ago=2, parents=[c1], branch="main")
    for name in ("feature/x", "release/1.0", "release/2.0", "bugfix"):
        t.commit({name: "x\n"}, days_ago=1, parents=[c1], branch=name)
    return t


@pytest.mark.parametrize(
    ("ref", "name"),
    [
        ("refs/heads/feature/x", "feature/x"),
        ("refs/remotes/origin/feature/x", "feature/x"),
        ("refs/remotes/origin/HEAD", None),
        ("refs/remotes/fork/feature/x", None),
        ("refs/pull/12/head", "pull/12"),
        ("refs/pull/12/merge", None),
        ("refs/tags/v1", None),
    ],
)
def test_display_name(ref, name):
    assert display_name(ref, "origin") == name


def test_trunk_follows_head(repo3):
    found = inventory(repo3.repo)
    assert found.trunk is not None and found.trunk.name == "main"
    assert [b.name for b in found.branches] == ["bugfix", "feature/x", "release/1.0", "release/2.0"]


def test_named_trunk(repo3):
    found = inventory(repo3.repo, trunk="release/2.0")
    assert found.trunk is not None and found.trunk.ref == "refs/heads/release/2.0"
    assert "main" in [b.name for b in found.branches]


def test_unknown_trunk_is_an_error(repo3):
    with pytest.raises(TrunkNotFoundError, match="'nope' is not a branch"):
        inventory(repo3.repo, trunk="nope")


def test_master_when_head_is_dangling(make_repo):
    t = make_repo()
    t.commit({"a": "1\n"}, days_ago=1, branch="master")
    t.commit({"b": "1\n"}, days_ago=1, branch="topic")
    found = inventory(t.repo)  # HEAD points at the unborn refs/heads/main
    assert found.trunk is not None and found.trunk.name == "master"


def test_no_recognisable_trunk_is_an_error(make_repo):
    t = make_repo()
    t.commit({"a": "1\n"}, days_ago=1, branch="topic")
    with pytest.raises(TrunkNotFoundError, match="--trunk"):
        inventory(t.repo)


def test_include_and_exclude(repo3):
    found = inventory(repo3.repo, include=["release/*", "feature/*"], exclude=["release/1.*"])
    assert [b.name for b in found.branches] == ["feature/x", "release/2.0"]


def test_symbolic_branch_is_resolved(repo3):
    git(repo3.path, "symbolic-ref", "refs/heads/alias", "refs/heads/bugfix")
    found = inventory(repo3.repo)
    alias = next(b for b in found.branches if b.name == "alias")
    bugfix = next(b for b in found.branches if b.name == "bugfix")
    assert alias.target == bugfix.target


@pytest.mark.parametrize(
    ("pattern", "ok"), [("release/*", True), ("[ab]*", True), ("[ab", False), ("", False)]
)
def test_check_glob(pattern, ok):
    assert (check_glob(pattern) is None) == ok
