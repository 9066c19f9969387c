"""Merges in the store: the merge cache that outlives a run, and the merged work from trunk."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analyzers.conflicts import Conflict, ConflictKind, conflict_json
from analyzers.forecast import ForecastMemo
from analyzers.history import MergedWork as MergedWorkRecord
from analyzers.mergejobs import MergeKey, MergeResult, engine_id
from bot.store.engine import Database, moment, upsert
from bot.store.models import MergeCacheEntry, MergedWork


class Merges(Database):
    """The merge cache and the merged work."""

    def merge_cache(self, trunk_tree: str) -> dict[MergeKey, MergeResult]:
        """Load the cached merges a forecast on `trunk_tree` can use (answered by this engine)."""
        engine = engine_id()
        with self._errors(), Session(self.engine) as session:
            rows = session.execute(
                select(MergeCacheEntry).where(
                    MergeCacheEntry.engine == engine,
                    (MergeCacheEntry.ours == trunk_tree) | (MergeCacheEntry.base == trunk_tree),
                )
            ).scalars()
            return {(r.base, r.ours, r.theirs, r.engine): _result_from_json(r.result) for r in rows}

    def add_to_merge_cache(self, entries: Mapping[MergeKey, MergeResult]) -> None:
        """Keep new merge results; a result for the same key never changes, so a clash is kept."""
        if not entries:
            return
        rows = [
            {
                "base": k[0],
                "ours": k[1],
                "theirs": k[2],
                "engine": k[3],
                "result": _result_to_json(v),
            }
            for k, v in entries.items()
        ]
        with self._errors(), self.engine.begin() as connection:
            connection.execute(upsert(self.engine.dialect.name, MergeCacheEntry), rows)

    def merge_memo(self, trunk_tree: str | None) -> ForecastMemo:
        """Return a memo holding the cached merges a forecast on `trunk_tree` can use."""
        return ForecastMemo(None if trunk_tree is None else self.merge_cache(trunk_tree))

    @contextmanager
    def merge_session(
        self, trunk_tree: str | None = None, memo: ForecastMemo | None = None
    ) -> Iterator[ForecastMemo]:
        """Yield `memo` (else `trunk_tree`'s cached merges); on a clean exit keep those added."""
        if memo is None:
            memo = self.merge_memo(trunk_tree)
        known = set(memo.merges)
        yield memo
        self.add_to_merge_cache({k: v for k, v in memo.merges.items() if k not in known})

    def save_merged_work(self, repository: str, merged: Sequence[MergedWorkRecord]) -> int:
        """Keep mined merged work; a merge already kept is left as it is. Return how many new."""
        if not merged:
            return 0
        with self._errors(), Session(self.engine) as session, session.begin():
            repository_id = self._repository_id(session, repository, datetime.now(UTC))
            kept = (
                select(func.count())
                .select_from(MergedWork)
                .where(MergedWork.repository_id == repository_id)
            )
            before = session.scalar(kept)
            rows = [
                {
                    "repository_id": repository_id,
                    "merge_commit": w.merge_commit,
                    "landed_at": moment(w.landed_at),
                    "first_commit_at": moment(w.first_commit_at),
                    "lifetime_seconds": w.lifetime_seconds,
                    "commits": w.commits,
                    "files_changed": w.files_changed,
                    "lines_added": w.lines_added,
                    "lines_deleted": w.lines_deleted,
                    "conflicted": w.conflicted,
                    "first_warning_at": moment(w.first_warning_at),
                }
                for w in merged
            ]
            session.execute(upsert(self.engine.dialect.name, MergedWork), rows)
            after = session.scalar(kept)
            return int(after or 0) - int(before or 0)


def _result_to_json(result: MergeResult) -> dict[str, Any]:
    return {
        "conflicts": [conflict_json(c) for c in result.conflicts],
        "tree": result.tree,
        "near": list(result.near),
        "changes": [list(change) for change in result.changes],
    }


def _result_from_json(data: dict[str, Any]) -> MergeResult:
    conflicts = tuple(
        Conflict(
            c["path"],
            ConflictKind(c["kind"]),
            tuple((a, b) for a, b in c["ours_ranges"]),
            tuple((a, b) for a, b in c["theirs_ranges"]),
        )
        for c in data["conflicts"]
    )
    changes = tuple((path, blob, mode) for path, blob, mode in data["changes"])
    return MergeResult(conflicts, data["tree"], tuple(data["near"]), changes)
