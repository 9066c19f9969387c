"""Conflicts as git names them: their kinds, and the clashing line ranges of content conflicts."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import pygit2

from analyzers.git import Staged

if TYPE_CHECKING:
    from analyzers.resolve.records import Outcome

Range = tuple[int, int]


class ConflictKind(StrEnum):
    """Why git would stop on a path."""

    CONTENT = "content"
    ADD_ADD = "add/add"
    MODIFY_DELETE = "modify/delete"
    RENAME = "rename"
    BINARY = "binary"
    MODE = "mode"
    SUBMODULE = "submodule"  # a submodule pointer moved differently on each side
    # git moved one side's entry aside, to `path~LABEL`: a file where the other side has a
    # directory (or a submodule), or two kinds of entry (file, symlink, submodule) at one path
    FILE_DIRECTORY = "file/directory"
    DISTINCT_TYPES = "distinct types"


GITLINK = 0o160000  # a submodule pointer: a commit of another repository, never a blob here
TREE = 0o040000
MOVED_ASIDE = (ConflictKind.FILE_DIRECTORY, ConflictKind.DISTINCT_TYPES)
# How a trial merge names the two sides where git moves an entry aside (`path~ours`): the
# same for every merge, so that cached answers stay neutral; `relabel` puts the branch names.
OURS, THEIRS = "ours", "theirs"
_LABELLED = re.compile(r"~(ours|theirs)((?:_[0-9]+)?)$")


def is_blob_mode(mode: int) -> bool:
    """Tell whether an entry of this mode is a blob (a file or a symlink)."""
    return mode & 0o170000 in (0o100000, 0o120000)


@dataclass(frozen=True)
class Conflict:
    """One conflicted path; for content conflicts, the clashing line ranges on each side."""

    path: str
    kind: ConflictKind
    ours_ranges: tuple[Range, ...] = ()
    theirs_ranges: tuple[Range, ...] = ()


def conflict_json(conflict: Conflict, outcome: Outcome | None = None) -> dict[str, Any]:
    """Return a conflict as the store keeps it and the CLI's JSON shows it, with what the
    resolution engine said of it when it was asked (`outcome`)."""
    out: dict[str, Any] = {
        "path": conflict.path,
        "kind": str(conflict.kind),
        "ours_ranges": [list(r) for r in conflict.ours_ranges],
        "theirs_ranges": [list(r) for r in conflict.theirs_ranges],
    }
    if outcome is not None:
        from analyzers.resolve.records import outcome_json  # the engine loads only when used

        out["resolution"] = outcome_json(outcome)
    return out


def _hunks(repo: pygit2.Repository, old: pygit2.Oid, new: pygit2.Oid) -> list[tuple[Range, Range]]:
    """Return each change from blob `old` to blob `new` as (old range, new range), 1-based."""
    old_blob, new_blob = repo[old], repo[new]
    assert isinstance(old_blob, pygit2.Blob) and isinstance(new_blob, pygit2.Blob)
    patch = pygit2.Patch.create_from(old_blob, new_blob, context_lines=0)
    out = []
    for hunk in patch.hunks:
        # A pure insertion or deletion has an empty range on one side: pin it to its position.
        old_range = (hunk.old_start, hunk.old_start + max(hunk.old_lines, 1) - 1)
        new_range = (hunk.new_start, hunk.new_start + max(hunk.new_lines, 1) - 1)
        out.append((old_range, new_range))
    return out


def relabel(conflicts: Iterable[Conflict], ours: str, theirs: str) -> tuple[Conflict, ...]:
    """Name the sides of the entries git moved aside as `git merge` would: `path~BRANCH`.

    Trial merges name them `path~ours` and `path~theirs` (see OURS); git writes the label given
    for each side, with "/" replaced by "_" (`a~feature_x`), and a `_N` after it where that
    name was taken.
    """
    names = {OURS: ours.replace("/", "_"), THEIRS: theirs.replace("/", "_")}
    out = []
    for conflict in conflicts:
        if conflict.kind in MOVED_ASIDE:
            path = _LABELLED.sub(lambda m: f"~{names[m.group(1)]}{m.group(2)}", conflict.path)
            conflict = replace(conflict, path=path)
        out.append(conflict)
    return tuple(out)


def neutral_labels(conflicts: Iterable[Conflict], ours: str, theirs: str) -> tuple[Conflict, ...]:
    """Replace git's labels `ours` and `theirs` (commit ids) in moved-aside names by OURS and
    THEIRS."""
    out = []
    for conflict in conflicts:
        if conflict.kind in MOVED_ASIDE:
            path = conflict.path
            for label, token in ((ours, OURS), (theirs, THEIRS)):
                head, sep, tail = path.rpartition("~" + label)
                if sep and (not tail or re.fullmatch(r"_[0-9]+", tail)):
                    path = f"{head}~{token}{tail}"
                    break
            conflict = replace(conflict, path=path)
        out.append(conflict)
    return tuple(out)


def _near(a: Range, b: Range, slack: int) -> bool:
    return a[0] <= b[1] + slack and b[0] <= a[1] + slack


def clashing_ranges(
    repo: pygit2.Repository, base: pygit2.Oid, ours: pygit2.Oid, theirs: pygit2.Oid, slack: int = 1
) -> tuple[tuple[Range, ...], tuple[Range, ...]]:
    """Return the line ranges of ours and of theirs whose changes touch the same base lines.

    Adjacent changes count (slack 1), as they do for git's merge.
    """
    ours_hunks = _hunks(repo, base, ours)
    theirs_hunks = _hunks(repo, base, theirs)
    ours_out: set[Range] = set()
    theirs_out: set[Range] = set()
    for o_base, o_new in ours_hunks:
        for t_base, t_new in theirs_hunks:
            if _near(o_base, t_base, slack):
                ours_out.add(o_new)
                theirs_out.add(t_new)
    return tuple(sorted(ours_out)), tuple(sorted(theirs_out))


def _is_binary(repo: pygit2.Repository, blob_id: pygit2.Oid) -> bool:
    blob = repo[blob_id]
    return isinstance(blob, pygit2.Blob) and blob.is_binary


def staged_conflict(repo: pygit2.Repository, path: str, stages: dict[int, Staged]) -> Conflict:
    """Describe a conflict from git's index stages (1 base, 2 ours, 3 theirs) at one path."""
    base, ours, theirs = stages.get(1), stages.get(2), stages.get(3)
    if ours is None or theirs is None:
        return Conflict(path, ConflictKind.MODIFY_DELETE if base else ConflictKind.RENAME)
    if base is None:
        return Conflict(path, ConflictKind.ADD_ADD)
    if GITLINK in (base.mode, ours.mode, theirs.mode):
        return Conflict(path, ConflictKind.SUBMODULE)  # never read as a blob
    if ours.blob == theirs.blob and ours.mode != theirs.mode:
        return Conflict(path, ConflictKind.MODE)
    base_id, ours_id, theirs_id = (pygit2.Oid(hex=s.blob) for s in (base, ours, theirs))
    if any(_is_binary(repo, blob) for blob in (base_id, ours_id, theirs_id)):
        return Conflict(path, ConflictKind.BINARY)
    ours_ranges, theirs_ranges = clashing_ranges(repo, base_id, ours_id, theirs_id)
    return Conflict(path, ConflictKind.CONTENT, ours_ranges, theirs_ranges)


def raw_conflicts(index: pygit2.Index) -> tuple[Conflict, ...]:
    """Name every conflicted path of `index` a rename: libgit2 left it, but could not say why."""
    assert index.conflicts is not None
    return tuple(
        Conflict(str(next(e.path for e in entry if e is not None)), ConflictKind.RENAME)
        for entry in index.conflicts
    )


def _kind(
    repo: pygit2.Repository,
    ancestor: pygit2.IndexEntry | None,
    ours: pygit2.IndexEntry | None,
    theirs: pygit2.IndexEntry | None,
) -> ConflictKind:
    present = [e for e in (ancestor, ours, theirs) if e is not None]
    if len({e.path for e in present}) > 1:
        return ConflictKind.RENAME
    if ours is None or theirs is None:
        return ConflictKind.MODIFY_DELETE
    if ancestor is None:
        return ConflictKind.ADD_ADD
    if any(e.mode == GITLINK for e in present):
        return ConflictKind.SUBMODULE  # never read as a blob
    if ours.id == theirs.id and ours.mode != theirs.mode:
        return ConflictKind.MODE
    if any(_is_binary(repo, entry.id) for entry in present):
        return ConflictKind.BINARY
    return ConflictKind.CONTENT


def _one_sided(
    entries: list[tuple[pygit2.IndexEntry | None, ...]], side: int, source: pygit2.IndexEntry
) -> list[str]:
    """Paths where only one side (1: ours, 2: theirs) holds `source`'s content or file name."""
    name = str(source.path).rsplit("/", 1)[-1]
    out = []
    for entry in entries:
        present = [i for i, e in enumerate(entry) if e is not None]
        held = entry[side]
        if present == [side] and held is not None and held.path != source.path:
            if held.id == source.id or str(held.path).rsplit("/", 1)[-1] == name:
                out.append(str(held.path))
    return out


def conflicts_of(repo: pygit2.Repository, index: pygit2.Index) -> tuple[Conflict, ...]:
    """Describe every conflict a merge left in `index`, sorted by path, named as git names them.

    libgit2 leaves a rename conflict as one-sided entries: the old path with only the ancestor,
    the new path(s) with only one side. git records rename/delete at the new path alone,
    rename/rename (one file renamed two ways) at the old path and both new ones, and two files
    renamed to one name at that name alone.
    """
    if index.conflicts is None:
        return ()
    entries = list(index.conflicts)
    renamed: set[str | os.PathLike[str]] = set()
    out = []
    for ancestor, ours, theirs in entries:
        if ours is None and theirs is None:
            assert ancestor is not None
            to_ours = _one_sided(entries, 1, ancestor)
            to_theirs = _one_sided(entries, 2, ancestor)
            if to_ours and to_theirs:
                renamed.update([ancestor.path, *to_ours, *to_theirs])
            continue
    held: dict[int, dict[pygit2.Oid, str | os.PathLike[str]]] = {1: {}, 2: {}}
    only: dict[int, list[str]] = {1: [], 2: []}  # paths that only one side has, and no base
    for entry in entries:
        for side in (1, 2):
            if (present := entry[side]) is not None:
                held[side][present.id] = present.path
                if entry[0] is None and entry[3 - side] is None:
                    only[side].append(str(present.path))

    def moved(side: int, path: str | os.PathLike[str]) -> bool:
        # `path` left `side`, which has a file of the same name (or a single file) only it adds.
        name = str(path).rsplit("/", 1)[-1]
        targets = [q for q in only[side] if q.rsplit("/", 1)[-1] == name] or (
            only[side] if len(only[side]) == 1 else []
        )
        renamed.update(targets)
        return bool(targets)

    # First find the rename sources git does not record, and so the targets that are renames.
    sources = set()
    for ancestor, ours, theirs in entries:
        path = next(e.path for e in (ours, theirs, ancestor) if e is not None)
        if (
            ancestor is not None
            and path not in renamed
            and (
                (ours is None and theirs is None)
                or (ours is None and held[1].get(ancestor.id, path) != path)
                or (theirs is None and held[2].get(ancestor.id, path) != path)
                or (ours is None and theirs is not None and moved(1, path))
                or (theirs is None and ours is not None and moved(2, path))
            )
        ):
            # Gone from a side that holds its content, or a file of its name, under another
            # conflicted name: a rename's source, which git records at the new name only (two
            # files renamed to one name, a renamed file the other side changed).
            sources.add(path)
    for ancestor, ours, theirs in entries:
        path = next(e.path for e in (ours, theirs, ancestor) if e is not None)
        if path in sources:
            continue
        kind = ConflictKind.RENAME if path in renamed else _kind(repo, ancestor, ours, theirs)
        if kind is ConflictKind.CONTENT and ancestor and ours and theirs:
            ours_ranges, theirs_ranges = clashing_ranges(repo, ancestor.id, ours.id, theirs.id)
            out.append(Conflict(path, kind, ours_ranges, theirs_ranges))
        else:
            out.append(Conflict(path, kind))
    return tuple(sorted(out, key=lambda c: c.path))
