"""Objects the analyzers create (merged trees): kept out of the repository being analysed."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pygit2

from analyzers.missing import promisor_remote

Entry = tuple[pygit2.Oid, int] | None  # blob id and file mode; None removes the path
# Fetches objects a partial clone lacks (git_env, promisor remote, ids) -> None or why not.
Fetcher = Callable[[dict[str, str], str, list[str]], str | None]


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
        elif all(entry is None for entry in sub_changes.values()):
            # Deletions under a name that holds no directory (a directory replaced by a file,
            # or by a submodule, written above): nothing to delete, and the file stays.
            continue
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
    (which takes all writes), then the repository's loose objects, then packs fetched into the
    scratch store (blobs a partial clone lacked).
    """
    # A landing's tree names blobs a partial clone may lack, as every tree there does: libgit2
    # must not insist that they exist (process-wide, and only trees of existing entries are
    # ever built here).
    pygit2.option(pygit2.enums.Option.ENABLE_STRICT_OBJECT_CREATION, False)
    odb = pygit2.Odb()
    odb.add_backend(pygit2.OdbBackendPack(objects), 4)
    odb.add_backend(pygit2.OdbBackendLoose(scratch, 1, False), 3)
    odb.add_backend(pygit2.OdbBackendLoose(objects, 1, False), 2)
    os.makedirs(os.path.join(scratch, "pack"), exist_ok=True)
    odb.add_backend(pygit2.OdbBackendPack(scratch), 1)
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
    promisor: str | None = None  # the remote a partial clone fetches missing objects from
    fetcher: Fetcher | None = None

    @classmethod
    def open(
        cls, git_dir: str, store: str, promisor: str | None = None, fetcher: Fetcher | None = None
    ) -> Scratch:
        """Open the view over `git_dir`'s objects and `store` (in a worker process, say)."""
        view = layered(str(Path(git_dir) / "objects"), store)
        return cls(view, git_dir, store, promisor, fetcher)

    def git_env(self) -> dict[str, str]:
        """Return the environment that makes git read the repository and write to the store."""
        return {
            "GIT_DIR": self.git_dir,
            "GIT_OBJECT_DIRECTORY": self.store,
            "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(Path(self.git_dir) / "objects"),
        }


@contextmanager
def scratch_view(repo: pygit2.Repository, fetcher: Fetcher | None = None) -> Iterator[Scratch]:
    """Yield a Scratch over `repo`; its store lives in memory where the system offers it.

    `fetcher`, given by the caller that may use the network, brings objects a partial clone
    lacks into the store.
    """
    where = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    store = tempfile.mkdtemp(prefix="trunkguard-objects-", dir=where)
    try:
        yield Scratch.open(repo.path, store, promisor_remote(repo), fetcher)
    finally:
        shutil.rmtree(store, ignore_errors=True)
