"""A generated busy repository: the multi-process scan equals the in-process one, and git."""

from __future__ import annotations

import pytest

from analyzers.divergence import scan
from analyzers.refs import inventory
from tests.bench.monorepo import END, Shape, generate
from tests.gitrepo import assert_matches_git


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    path = tmp_path_factory.mktemp("generated") / "repo.git"
    return generate(Shape(trunk_commits=800, files=80, branches=150, merge_every=6), path)


def test_processes_give_the_same_report(generated):
    import pygit2

    repo = pygit2.Repository(str(generated))
    found = inventory(repo)
    seen = []
    serial = scan(repo, found, END, workers=1)
    parallel = scan(
        repo, found, END, progress=lambda done, total: seen.append((done, total)), workers=2
    )
    assert parallel == serial
    assert len(parallel.branches) == 150
    assert seen[-1] == (300, 300) and seen == sorted(seen)
    assert sum(b.ahead for b in serial.branches) > 150
    assert_matches_git(generated, parallel)
