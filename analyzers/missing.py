"""Objects a repository does not have: partial clones, damaged or pruned mirrors."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pygit2

_OID = re.compile(r"\b([0-9a-f]{40}|[0-9a-f]{64})\b")
READ_ERRORS = (KeyError, pygit2.GitError)  # what libgit2 raises for an object it cannot read


@dataclass(frozen=True)
class Unknown:
    """Figures that could not be given, and why; `object_id` is the object that was missing."""

    figures: tuple[str, ...]
    reason: str
    object_id: str | None = None


def promisor_remote(repo: pygit2.Repository) -> str | None:
    """Return the remote a partial clone fetches missing objects from, or None."""
    config = repo.config
    try:
        name = config["extensions.partialclone"]
    except KeyError:
        name = None
    if name:
        return str(name)
    for entry in config:
        if entry.name.startswith("remote.") and entry.name.endswith(".promisor"):
            if (entry.value or "").lower() in ("true", "yes", "on", "1"):
                return entry.name[len("remote.") : -len(".promisor")]
    return None


def missing_object(error: BaseException) -> str | None:
    """Return the id of the object libgit2 could not find, if its error names one."""
    found = _OID.search(str(error))
    return found.group(1) if found else None


def unknown(
    repo: pygit2.Repository | str | None, figures: tuple[str, ...], error: BaseException
) -> Unknown:
    """Describe figures lost to an unreadable object, in words that say what to do about it.

    `repo` is the repository, or the name of its promisor remote (None: not a partial clone).
    """
    object_id = missing_object(error)
    if object_id is None:
        return Unknown(figures, f"the repository could not be read: {error}")
    remote = promisor_remote(repo) if isinstance(repo, pygit2.Repository) else repo
    if remote is not None:
        reason = f"objects not in this partial clone (promisor remote '{remote}')"
    else:
        reason = "objects missing from the repository (damaged or pruned)"
    return Unknown(figures, reason, object_id)
