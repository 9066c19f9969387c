"""A repository's mirror brought up to date for a review or a job, one fetch at a time."""

from __future__ import annotations

from pathlib import Path

import pygit2

from bot.github.client import GitHubClient
from bot.github.records import RepositoryInfo
from bot.mirrors.fetch import app_mirror_path, fetch_mirror
from bot.store import Store


def fetch_under_lock(
    store: Store,
    mirror_dir: Path,
    client: GitHubClient,
    repository: str,
    info: RepositoryInfo | None = None,
) -> pygit2.Repository:
    """Bring a repository's mirror up to date: one fetch of it at a time across all workers."""
    info = info or client.repository(repository)
    with store.lock(f"fetch:{repository}"):
        return fetch_mirror(app_mirror_path(mirror_dir, repository), info.clone_url, client.token())
