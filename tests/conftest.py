"""Fixtures shared by the tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gitrepo import GitRepo


@pytest.fixture
def make_repo(tmp_path: Path):
    """Return a factory of fresh repositories under tmp_path."""
    counter = iter(range(1000))

    def make(bare: bool = True) -> GitRepo:
        return GitRepo(tmp_path / f"repo{next(counter)}", bare=bare)

    return make
