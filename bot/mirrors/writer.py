"""Write commits straight into a repository's object database, with chosen authors and times."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pygit2

from analyzers.objects import Entry, apply_changes

FILE = pygit2.enums.FileMode.BLOB
EXECUTABLE = pygit2.enums.FileMode.BLOB_EXECUTABLE


@dataclass(frozen=True)
class Person:
    """An author, with the time zone offset (minutes) their commits carry."""

    name: str
    email: str
    offset: int = 0

    def at(self, when: int) -> pygit2.Signature:
        """Return a signature of this person at Unix time `when`."""
        return pygit2.Signature(self.name, self.email, when, self.offset)


Content = bytes | str | tuple[bytes | str, int] | None


class RepoWriter:
    """Commits whole snapshots: each commit states only the files it changes.

    `files` maps a path to its new content (str or bytes), to (content, mode), or to None to
    delete it; every other file stays as in the first parent.
    """

    def __init__(self, repo: pygit2.Repository) -> None:
        self.repo = repo

    def _blob(self, content: Content) -> Entry:
        if content is None:
            return None
        data, mode = content if isinstance(content, tuple) else (content, FILE)
        raw = data.encode() if isinstance(data, str) else data
        return self.repo.create_blob(raw), mode

    def commit(
        self,
        files: Mapping[str, Content],
        *,
        when: int,
        parents: Sequence[pygit2.Oid] = (),
        author: Person = Person("Ada Lovelace", "ada@example.com"),
        message: str = "change",
        ref: str | None = None,
        committed: int | None = None,
    ) -> pygit2.Oid:
        """Write a commit over the first parent's tree and move `ref` to it, if given."""
        base = None
        if parents:
            first = self.repo[parents[0]]
            assert isinstance(first, pygit2.Commit)
            base = first.tree
        tree = apply_changes(self.repo, base, {p: self._blob(c) for p, c in files.items()})
        signature = author.at(when)
        committer = author.at(committed if committed is not None else when)
        commit_id = self.repo.create_commit(
            None, signature, committer, message, tree, list(parents)
        )
        if ref is not None:
            self.repo.references.create(ref, commit_id, force=True)
        return commit_id
