"""Fetching an App's mirror over smart HTTP: nothing transferred when nothing changed."""

from __future__ import annotations

from bot.mirrors.fetch import fetch_mirror
from tests.gitrepo import GitRepo, lines

INSTALLATION = 5


def test_a_mirror_as_the_remote_has_it_is_not_fetched_again(tmp_path, github):
    path = github.add_repository("acme/lib", INSTALLATION, "main")
    builder = GitRepo(tmp_path / "build.git")
    base = builder.commit({"a.txt": lines(3)}, days_ago=3, branch="main")
    builder.ref("refs/pull/1/head", builder.commit({"a.txt": lines(4)}, days_ago=2, parents=[base]))
    builder.git("push", "--quiet", str(path), "+refs/*:refs/*")
    github.tokens["ghs_test"] = INSTALLATION
    mirror = tmp_path / "mirrors" / "acme" / "lib.git"
    url = github.clone_url("acme/lib")

    repo = fetch_mirror(mirror, url, "ghs_test")
    assert github.git_uploads == 1
    assert set(repo.references) >= {"refs/heads/main", "refs/pull/1/head"}
    fetch_mirror(mirror, url, "ghs_test")
    assert (github.git_fetches, github.git_uploads) == (2, 1)  # refs compared, no pack

    moved = builder.commit({"a.txt": lines(5)}, days_ago=1, parents=[base], branch="main")
    builder.git("push", "--quiet", str(path), "+refs/*:refs/*")
    repo = fetch_mirror(mirror, url, "ghs_test")
    assert github.git_uploads == 2 and repo.references["refs/heads/main"].target == moved

    builder.git("push", "--quiet", str(path), ":refs/pull/1/head")  # gone upstream
    repo = fetch_mirror(mirror, url, "ghs_test")
    assert "refs/pull/1/head" not in set(repo.references)
