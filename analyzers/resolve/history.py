"""Proof on history: redo a repository's merges in memory, run the engine on every path that
conflicted in content, and compare with what the person who merged committed."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import pygit2

from analyzers.resolve import kinds
from analyzers.resolve.engine import SHIPPED, resolve
from analyzers.resolve.records import NeedsPerson, Resolved

AGREES = "same"  # byte for byte
WHITESPACE = "whitespace"  # equal but for whitespace
ORDER = "order"  # the same lines, in another order
DIFFERS = "differs"  # in the resolved hunks
OUTSIDE = "outside"  # the person also changed lines outside every conflict hunk


@dataclass(frozen=True)
class PathResult:
    """One conflicted path of one merge, the engine's answer, and how it compares."""

    merge: str
    path: str
    file_type: str
    rule: str | None  # None: needs a person
    verdict: str | None  # AGREES, WHITESPACE, ORDER, DIFFERS; None when not resolved
    reason: str = ""
    grade: str = ""


@dataclass
class Report:
    """What the walk found: the merges redone and every content-conflicted path."""

    merges: int = 0  # two-parent merges redone
    conflicted_merges: int = 0  # with at least one content-conflicted path
    skipped: int = 0  # merges whose objects are missing (a partial or shallow copy)
    paths: list[PathResult] = field(default_factory=list)

    @property
    def resolved(self) -> list[PathResult]:
        return [p for p in self.paths if p.rule is not None]

    def coverage(self) -> float:
        return len(self.resolved) / len(self.paths) if self.paths else 0.0

    def precision(self, verdicts: Sequence[str] = (AGREES,)) -> float:
        resolved = self.resolved
        if not resolved:
            return 0.0
        return sum(p.verdict in verdicts for p in resolved) / len(resolved)

    def precision_without(self, verdict: str) -> float:
        """Precision among the resolutions whose verdict is not `verdict`."""
        kept = [p for p in self.resolved if p.verdict != verdict]
        return sum(p.verdict == AGREES for p in kept) / len(kept) if kept else 0.0

    def by(self, key: Callable[[PathResult], str]) -> dict[str, dict[str, int]]:
        """Counts per rule or per file type: paths, resolved, and each verdict."""
        table: dict[str, Counter[str]] = {}
        for p in self.paths:
            row = table.setdefault(key(p), Counter())
            row["paths"] += 1
            if p.rule is not None:
                row["resolved"] += 1
                row[p.verdict or DIFFERS] += 1
        return {name: dict(row) for name, row in sorted(table.items())}

    def differing(self) -> list[PathResult]:
        return [p for p in self.resolved if p.verdict != AGREES]


_SPACE = re.compile(rb"\s+")


def compare(
    ours: bytes | None, committed: bytes | None, spans: Sequence[tuple[int, int]] | None = None
) -> str:
    """How a resolution compares with the committed file.

    With the resolved hunks' line spans, a difference that lies wholly outside them (in what
    git merged cleanly) is told apart: the person changed more than the conflicts, and no
    resolution of the conflicts alone could have matched.
    """
    if ours == committed:
        return AGREES
    if ours is None or committed is None:
        return DIFFERS
    if _SPACE.sub(b"", ours) == _SPACE.sub(b"", committed):
        return WHITESPACE
    if sorted(ours.splitlines()) == sorted(committed.splitlines()):
        return ORDER
    if spans is not None and _outside(ours, committed, spans):
        return OUTSIDE
    return DIFFERS


def _outside(ours: bytes, committed: bytes, spans: Sequence[tuple[int, int]]) -> bool:
    """Whether some difference lies away from every resolved hunk."""
    import difflib

    mine, theirs = ours.splitlines(), committed.splitlines()
    matcher = difflib.SequenceMatcher(None, mine, theirs, autojunk=False)
    for tag, i1, i2, _, _ in matcher.get_opcodes():
        if tag == "equal":
            continue
        if not any(start <= i2 and i1 <= end for start, end in spans):
            return True
    return False


def merges(
    repo: pygit2.Repository, start: pygit2.Oid, first_parent: bool = False
) -> Iterator[pygit2.Commit]:
    """Two-parent merge commits reachable from start, newest first."""
    walker = repo.walk(start, pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.TIME)
    if first_parent:
        walker.simplify_first_parent()
    for commit in walker:
        if len(commit.parent_ids) == 2:
            yield commit


def _blob(repo: pygit2.Repository, entry: pygit2.IndexEntry | None) -> bytes | None:
    if entry is None:
        return None
    return repo[entry.id].read_raw()


def _committed(tree: pygit2.Tree, path: str, repo: pygit2.Repository) -> bytes | None:
    try:
        entry = tree[path]
    except KeyError:
        return None
    obj = repo[entry.id]
    return obj.read_raw() if isinstance(obj, pygit2.Blob) else None


def redo(
    repo: pygit2.Repository, commit: pygit2.Commit, rules: Sequence[str] = SHIPPED
) -> list[PathResult]:
    """Redo one merge in memory; compare the engine's answer on each conflicted path."""
    ours_id, theirs_id = commit.parent_ids
    index = repo.merge_commits(ours_id, theirs_id)
    if index.conflicts is None:
        return []
    results = []
    for base_e, ours_e, theirs_e in index.conflicts:
        path = (ours_e or theirs_e or base_e).path
        if ours_e is not None and theirs_e is not None and ours_e.mode != theirs_e.mode:
            # the sides disagree on the mode (executable or not): never a rule's to settle
            reason = "the sides set different file modes"
            results.append(
                PathResult(str(commit.id), path, kinds.file_type(path), None, None, reason)
            )
            continue
        if (ours_e is not None and not _is_file(ours_e.mode)) or (
            theirs_e is not None and not _is_file(theirs_e.mode)
        ):
            continue  # submodules and symbolic links: not content conflicts
        outcome = resolve(
            path, _blob(repo, base_e), _blob(repo, ours_e), _blob(repo, theirs_e), rules
        )
        if isinstance(outcome, Resolved):
            committed = _committed(commit.tree, path, repo)
            results.append(
                PathResult(
                    str(commit.id),
                    path,
                    kinds.file_type(path),
                    outcome.rule,
                    compare(outcome.content, committed, outcome.spans),
                )
            )
        else:
            assert isinstance(outcome, NeedsPerson)
            results.append(
                PathResult(
                    str(commit.id),
                    path,
                    kinds.file_type(path),
                    None,
                    None,
                    outcome.reason,
                    str(outcome.grade),
                )
            )
    return results


def _is_file(mode: int) -> bool:
    return mode in (pygit2.enums.FileMode.BLOB, pygit2.enums.FileMode.BLOB_EXECUTABLE)


def walk(
    repo: pygit2.Repository,
    start: pygit2.Oid,
    limit: int,
    rules: Sequence[str] = SHIPPED,
    first_parent: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Redo up to `limit` merges reachable from start (newest first) and compare."""
    report = Report()
    for commit in merges(repo, start, first_parent):
        if report.merges >= limit:
            break
        report.merges += 1
        try:
            found = redo(repo, commit, rules)
        except (KeyError, pygit2.GitError):
            report.skipped += 1
            continue
        if found:
            report.conflicted_merges += 1
            report.paths.extend(found)
        if progress is not None:
            progress(report.merges)
    return report
