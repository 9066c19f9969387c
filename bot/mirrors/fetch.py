"""Open a local repository, or keep a bare mirror of a remote one in the cache directory."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pygit2

from bot.errors import RepositoryError
from bot.urls import display_url, split_url

logger = logging.getLogger(__name__)

# Branches as branches, and every pull request head, so that forks' PRs are seen too.
MIRROR_REFSPECS = ["+refs/heads/*:refs/heads/*", "+refs/pull/*/head:refs/pull/*/head"]
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:")


def is_url(target: str) -> bool:
    """Tell whether `target` names a remote repository rather than a local path."""
    return "://" in target or bool(_SCP_LIKE.match(target))


def mirror_path(url: str, cache_dir: Path) -> Path:
    """Return where the mirror of `url` lives: readable, unique per URL, credentials aside."""
    shown = display_url(url)
    stem = re.sub(r"[^\w.-]+", "-", shown.rstrip("/").rsplit("/", 1)[-1]).strip("-") or "repo"
    digest = hashlib.sha256(shown.encode()).hexdigest()[:12]
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
    """Clone `url` into a bare mirror on first use, fetch it on every later use. Credentials
    in the URL reach git through a callback: the mirror's remote is the URL without them."""
    split = split_url(url)
    path = mirror_path(url, cache_dir)
    created = not path.exists()
    if not created:
        repo = pygit2.Repository(str(path))
        if repo.remotes["origin"].url != split.shown:  # a mirror from before credentials left
            repo.remotes.set_url("origin", split.shown)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        repo = pygit2.init_repository(str(path), bare=True)
        repo.remotes.create("origin", split.shown, MIRROR_REFSPECS[0])
        repo.remotes.add_fetch("origin", MIRROR_REFSPECS[1])
    remote = repo.remotes["origin"]
    callbacks = (
        _Credentials(split.username or "", split.password or "")
        if split.username or split.password
        else None
    )
    try:
        heads = remote.list_heads(callbacks=callbacks)
        remote.fetch(callbacks=callbacks, prune=pygit2.enums.FetchPrune.PRUNE)
    except pygit2.GitError as error:
        if created:
            shutil.rmtree(path, ignore_errors=True)
        reason = split.scrub(str(error))
        raise RepositoryError(f"{split.shown}: cannot fetch: {reason}") from None
    default = next((h.symref_target for h in heads if h.name == "HEAD" and h.symref_target), None)
    if default:
        repo.references.create("HEAD", default, force=True)
    logger.info("mirror synced", extra={"url": split.shown, "path": str(path)})
    return repo


def open_repository(target: str, cache_dir: Path) -> pygit2.Repository:
    """Open a local path directly; mirror a URL into `cache_dir` first."""
    if is_url(target):
        return sync_mirror(target, cache_dir)
    return open_local(target)


_FULL_NAME = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


def app_mirror_path(mirror_dir: Path, full_name: str) -> Path:
    """Return where the App keeps its mirror of GitHub repository `full_name` (owner/name)."""
    if not _FULL_NAME.fullmatch(full_name) or ".." in full_name:  # fullmatch: not "a/b\n"
        raise RepositoryError(f"{full_name!r}: not a repository name of the form owner/name")
    owner, name = full_name.split("/")
    return mirror_dir / owner / f"{name}.git"


class _Credentials(pygit2.RemoteCallbacks):
    """Hands git a user name and password (a token) as HTTP basic auth, from memory only."""

    def __init__(self, username: str, password: str) -> None:
        super().__init__()
        self._username = username
        self._password = password

    def credentials(self, url: str, username_from_url: str | None, allowed: int) -> Any:
        return pygit2.UserPass(self._username, self._password)


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold a lock on `path` across processes: one fetch per repository at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def fetch_mirror(path: Path, clone_url: str, token: str | None) -> pygit2.Repository:
    """Create or fetch the bare mirror at `path` from `clone_url`, branches and pull request
    heads, pruning what is gone. The URL is not stored and the token is never written down:
    the fetch goes through an anonymous remote with the token in memory."""
    with _exclusive(path.with_name(path.name + ".lock")):
        created = not path.exists()
        repo = (
            pygit2.init_repository(str(path), bare=True)
            if created
            else pygit2.Repository(str(path))
        )
        remote = repo.remotes.create_anonymous(clone_url)
        callbacks = _Credentials("x-access-token", token) if token else None
        try:
            heads = remote.list_heads(callbacks=callbacks)
            # A burst of events for one repository mostly finds it as the last fetch left it:
            # then the advertisement is all there is to transfer.
            if created or _advertised(heads) != _mirrored(repo):
                remote.fetch(
                    MIRROR_REFSPECS, callbacks=callbacks, prune=pygit2.enums.FetchPrune.PRUNE
                )
        except pygit2.GitError as error:
            if created:
                shutil.rmtree(path, ignore_errors=True)
            reason = str(error).replace(token, "***") if token else str(error)
            raise RepositoryError(f"{display_url(clone_url)}: cannot fetch: {reason}") from None
        default = next(
            (h.symref_target for h in heads if h.name == "HEAD" and h.symref_target), None
        )
        if default:
            repo.references.create("HEAD", default, force=True)
        # Anonymous-remote fetches keep refs they no longer see: prune by hand what is gone.
        seen = {h.name for h in heads}
        for name in list(repo.references):
            if _wanted(name) and name not in seen:
                repo.references.delete(name)
        logger.info("mirror fetched", extra={"repository": str(path)})
        return repo


def _wanted(name: str) -> bool:
    return name.startswith("refs/heads/") or (
        name.startswith("refs/pull/") and name.endswith("/head")
    )


def _advertised(heads: list[pygit2.remotes.RemoteHead]) -> dict[str, pygit2.Oid]:
    """The branches and pull request heads a remote advertises."""
    return {h.name: h.oid for h in heads if h.name and _wanted(h.name)}


def _mirrored(repo: pygit2.Repository) -> dict[str, pygit2.Oid]:
    """The branches and pull request heads a mirror holds (direct references only)."""
    found = {}
    for name in repo.references:
        if _wanted(name):
            target = repo.references[name].target
            if isinstance(target, pygit2.Oid):
                found[name] = target
    return found


def remove_mirror(path: Path) -> bool:
    """Delete a mirror (its repository was uninstalled or deleted); tell whether it existed."""
    with _exclusive(path.with_name(path.name + ".lock")):
        if not path.exists():
            return False
        shutil.rmtree(path)
        return True


BRANCH_MOVED = "the branch moved"  # how push_commit's refusal begins when the lease fails


class _Moved(Exception):
    """The branch is no longer where the push expects it."""


class _Pushing(_Credentials):
    """Credentials, the branch's expected commit (a lease), and what the server said of each
    ref pushed (None: accepted)."""

    def __init__(self, username: str, password: str, expected: dict[str, pygit2.Oid]) -> None:
        super().__init__(username, password)
        self.expected = expected
        self.refused: dict[str, str] = {}

    def push_negotiation(self, updates: list[pygit2.remotes.PushUpdate]) -> None:
        # `src` is the ref's value as the server advertised it for this push, and the push
        # names it as the old value, which receive-pack checks under the ref's lock: checked
        # here too, the push is a compare-and-swap (as git push --force-with-lease).
        for update in updates:
            wanted = self.expected.get(update.dst_refname)
            if wanted is not None and update.src != wanted:
                where = (
                    "is gone"
                    if update.src == pygit2.Oid(raw=bytes(20))
                    else (f"is at {str(update.src)[:10]}")
                )
                raise _Moved(f"{update.dst_refname} {where}")

    def push_update_reference(self, refname: str, message: str | None) -> None:
        if message is not None:
            self.refused[refname] = message


def push_commit(
    repo: pygit2.Repository, clone_url: str, token: str, commit: str, branch: str
) -> str | None:
    """Push `commit` from the mirror to `branch` of `clone_url` only while the branch is at
    the commit's first parent: never forced, and never over a branch pushed back to an older
    commit meanwhile (which a fast-forward would allow). Return None, or why it was not
    pushed. The token stays in memory, as for fetches."""
    remote = repo.remotes.create_anonymous(clone_url)
    target = f"refs/heads/{branch}"
    first_parent = repo[pygit2.Oid(hex=commit)].peel(pygit2.Commit).parent_ids[0]
    callbacks = _Pushing("x-access-token", token, {target: first_parent})
    try:
        remote.push([f"{commit}:{target}"], callbacks=callbacks)
    except _Moved as moved:
        return f"{BRANCH_MOVED}: {moved}"
    except pygit2.GitError as error:
        return str(error).replace(token, "***")
    refused = callbacks.refused.get(target)
    return None if refused is None else refused.replace(token, "***")
