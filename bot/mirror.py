"""Open a local repository, or keep a bare mirror of a remote one in the cache directory."""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
from pathlib import Path

import pygit2

from bot.errors import RepositoryError

logger = logging.getLogger(__name__)

# Branches as branches, and every pull request head, so that forks' PRs are seen too.
MIRROR_REFSPECS = ["+refs/heads/*:refs/heads/*", "+refs/pull/*/head:refs/pull/*/head"]
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:")


def is_url(target: str) -> bool:
    """Tell whether `target` names a remote repository rather than a local path."""
    return "://" in target or bool(_SCP_LIKE.match(target))


def mirror_path(url: str, cache_dir: Path) -> Path:
    """Return where the mirror of `url` lives: readable, and unique per URL."""
    stem = re.sub(r"[^\w.-]+", "-", url.rstrip("/").rsplit("/", 1)[-1]).strip("-") or "repo"
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return cache_dir / "mirrors" / f"{stem.removesuffix('.git')}-{digest}.git"


def open_local(path: str) -> pygit2.Repository:
    """Open the repository at or above `path`, bare or not."""
    if not Path(path).exists():
        raise RepositoryError(f"{path}: no such file or directory")
    found = pygit2.discover_repository(path)
    if found is None:
        raise RepositoryError(f"{path}: not a git repository")
    try:
        return pygit2.Repository(found)
    except pygit2.GitError as error:
        raise RepositoryError(f"{path}: cannot open repository: {error}") from error


def sync_mirror(url: str, cache_dir: Path) -> pygit2.Repository:
    """Clone `url` into a bare mirror on first use, fetch it on every later use."""
    path = mirror_path(url, cache_dir)
    created = not path.exists()
    if not created:
        repo = pygit2.Repository(str(path))
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        repo = pygit2.init_repository(str(path), bare=True)
        repo.remotes.create("origin", url, MIRROR_REFSPECS[0])
        repo.remotes.add_fetch("origin", MIRROR_REFSPECS[1])
    remote = repo.remotes["origin"]
    try:
        heads = remote.list_heads()
        remote.fetch(prune=pygit2.enums.FetchPrune.PRUNE)
    except pygit2.GitError as error:
        if created:
            shutil.rmtree(path, ignore_errors=True)
        raise RepositoryError(f"{url}: cannot fetch: {error}") from error
    default = next((h.symref_target for h in heads if h.name == "HEAD" and h.symref_target), None)
    if default:
        repo.references.create("HEAD", default, force=True)
    logger.info("mirror synced", extra={"url": url, "path": str(path)})
    return repo


def open_repository(target: str, cache_dir: Path) -> pygit2.Repository:
    """Open a local path directly; mirror a URL into `cache_dir` first."""
    if is_url(target):
        return sync_mirror(target, cache_dir)
    return open_local(target)
