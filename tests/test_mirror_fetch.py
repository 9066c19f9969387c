"""Fetching an App's mirror over smart HTTP: nothing transferred when nothing changed."""

from __future__ import annotations

import pygit2
import pytest

from bot.errors import RepositoryError
from bot.mirrors.fetch import (
    MIRROR_REFSPECS,
    app_mirror_path,
    fetch_mirror,
    mirror_path,
    push_commit,
    sync_mirror,
)
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


def test_a_mirror_of_a_url_with_credentials_keeps_none_of_them(tmp_path, github):
    path = github.add_repository("acme/app", INSTALLATION, "main")
    builder = GitRepo(tmp_path / "build.git")
    builder.commit({"a.txt": lines(3)}, days_ago=3, branch="main")
    builder.git("push", "--quiet", str(path), "+refs/*:refs/*")
    github.tokens["ghs_mirrorsecret"] = INSTALLATION
    url = github.clone_url("acme/app")
    with_token = url.replace("http://", "http://x-access-token:ghs_mirrorsecret@")
    assert mirror_path(with_token, tmp_path) == mirror_path(url, tmp_path)
    # A mirror made before credentials were kept out has them in its remote: they go.
    old = pygit2.init_repository(str(mirror_path(url, tmp_path)), bare=True)
    old.remotes.create("origin", with_token, MIRROR_REFSPECS[0])

    repo = sync_mirror(with_token, tmp_path)
    assert repo.remotes["origin"].url == url and "refs/heads/main" in set(repo.references)
    config = (mirror_path(url, tmp_path) / "config").read_text()
    assert "ghs_mirrorsecret" not in config and "x-access-token" not in config


@pytest.mark.parametrize(
    "name", ["acme/app\n", "acme/app\nx", "../app", "acme/..", "acme", "a/b/c"]
)
def test_an_app_mirror_is_named_after_a_repository_name_only(tmp_path, name):
    with pytest.raises(RepositoryError):
        app_mirror_path(tmp_path, name)


def test_a_push_lands_only_on_the_commit_it_was_made_on(tmp_path):
    # The branch pushed back to an older commit between the evaluation and the push: a
    # fast-forward all the same, but it would bring back what its owner dropped.
    remote = GitRepo(tmp_path / "remote.git")
    older = remote.commit({"f.txt": "1\n"}, days_ago=3, branch="topic")
    head = remote.commit({"f.txt": "2\n"}, days_ago=2, parents=[older], branch="topic")
    mirror = pygit2.Repository(str(tmp_path / "remote.git"))
    who = pygit2.Signature("trunkguard", "bot@example.com")
    tree = mirror[head].peel(pygit2.Commit).tree.id
    merge = str(mirror.create_commit(None, who, who, "merge", tree, [head, older]))
    url = str(tmp_path / "remote.git")
    mirror.references["refs/heads/topic"].set_target(older)  # pushed back meanwhile

    said = push_commit(mirror, url, "token", merge, "topic")

    assert said is not None and said.startswith("the branch moved: refs/heads/topic is at")
    assert mirror.references["refs/heads/topic"].target == older
    mirror.references["refs/heads/topic"].set_target(head)
    assert push_commit(mirror, url, "token", merge, "topic") is None
    assert str(mirror.references["refs/heads/topic"].target) == merge
