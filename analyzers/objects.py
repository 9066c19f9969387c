"""Objects the analyzers create (merged trees): kept out of the repository being analysed."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pygit2

Entry = tuple[pygit2.Oid, int] | None  # blob id and file mode; None removes the path


def apply_changes(
    repo: pygit2.Repository, base: pygit2.Tree | None, changes: Mapping[str, Entry]
) -> pygit2.Oid:
    """Write the tree `base` with `changes` applied, rewriting only the subtrees they touch."""
    builder = repo.TreeBuilder(base) if base is not None else repo.TreeBuilder()
    nested: dict[str, dict[str, Entry]] = {}
    for path, entry in changes.items():
        head, sep, rest = path.partition("/")
        if sep:
            nested.setdefault(head, {})[rest] = entry
        elif entry is None:
            if builder.get(head) is not None:
                builder.remove(head)
        else:
            builder.insert(head, entry[0], entry[1])
    for name, sub_changes in nested.items():
        current = builder.get(name)
        sub_base = None
        if current is not None and current.type == pygit2.enums.ObjectType.TREE:
            sub_base = repo[current.id].peel(pygit2.Tree)
        sub_id = apply_changes(repo, sub_base, sub_changes)
        if len(repo[sub_id].peel(pygit2.Tree)) == 0:
            if current is not None:
                builder.remove(name)
        else:
            builder.insert(name, sub_id, pygit2.enums.FileMode.TREE)
    return builder.write()


def layered(objects: str, scratch: str) -> pygit2.Repository:
    """Open a repository view that reads `objects` and writes only into `scratch`.

    libgit2 writes to the first writable backend by priority, and reads from every backend:
    the repository's packs come first (they hold nearly everything), then the scratch store
    (which takes all writes), then the repository's loose objects.
    """
    odb = pygit2.Odb()
    odb.add_backend(pygit2.OdbBackendPack(objects), 3)
    odb.add_backend(pygit2.OdbBackendLoose(scratch, 1, False), 2)
    odb.add_backend(pygit2.OdbBackendLoose(objects, 1, False), 1)
    view = pygit2.Repository()
    view.set_odb(odb)
    view.set_refdb(pygit2.Refdb.new(view))
    return view


@dataclass(frozen=True)
class Scratch:
    """A view of a repository whose writes go to a throwaway store, and the paths behind it.

    `git_dir` and `store` let git itself, where it is needed, read the repository and write
    into the same store (GIT_OBJECT_DIRECTORY, with the repository as an alternate).
    """

    view: pygit2.Repository
    git_dir: str
    store: str

    @classmethod
    def open(cls, git_dir: str, store: str) -> Scratch:
        """Open the view over `git_dir`'s objects and `store` (in a worker process, say)."""
        return cls(layered(str(Path(git_dir) / "objects"), store), git_dir, store)

    def git_env(self) -> dict[str, str]:
        """Return the environment that makes git read the repository and write to the store."""
        return {
            "GIT_DIR": self.git_dir,
            "GIT_OBJECT_DIRECTORY": self.store,
            "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(Path(self.git_dir) / "objects"),
        }


@contextmanager
def scratch_view(repo: pygit2.Repository) -> Iterator[Scratch]:
    """Yield a Scratch over `repo`; its store lives in memory where the system offers it."""
    where = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    store = tempfile.mkdtemp(prefix="trunkguard-objects-", dir=where)
    try:
        yield Scratch.open(repo.path, store)
    finally:
        shutil.rmtree(store, ignore_errors=True)
