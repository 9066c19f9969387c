"""A store for a run that keeps nothing: it reads what is kept and holds its own writes in
memory, so that a report made with --no-store reads as if its figures were stored."""

from __future__ import annotations

from typing import Self

from analyzers.mergejobs import MergeKey, MergeResult
from bot.store import Store
from bot.store.engine import stored_nowhere
from bot.store.models import Base
from bot.store.records import StoredForecast, StoredScan


class Unkept(Store):
    """Writes go to a scratch database in memory, dropped at the end; the weekly views and
    the merge cache read the kept store with this run's figures over it. A reader not
    overridden here sees this run's figures only: it can miss history, never change it."""

    def __init__(self, kept: Store | None) -> None:
        super().__init__("sqlite://")
        Base.metadata.create_all(self.engine)
        self.kept = kept

    @classmethod
    def over(cls, url: str) -> Self:
        """Read the store at `url` if it exists and has a schema; never create it."""
        if stored_nowhere(url):
            return cls(None)
        kept = Store(url)
        if kept.revisions()[0] is None:
            kept.close()
            return cls(None)
        return cls(kept.ready())

    def close(self) -> None:
        """Drop this run's figures and close the kept store."""
        super().close()
        if self.kept is not None:
            self.kept.close()

    def weekly_ages(self, repository: str) -> dict[int, list[int]]:
        """Ages of the open branches in each week's last scan, this run's scan counting."""
        kept = {} if self.kept is None else self.kept.weekly_ages(repository)
        return {**kept, **super().weekly_ages(repository)}

    def weekly_predicted(self, repository: str) -> dict[int, int]:
        """Conflicts predicted by each week's last forecast, this run's counting."""
        kept = {} if self.kept is None else self.kept.weekly_predicted(repository)
        return {**kept, **super().weekly_predicted(repository)}

    def week_scan(self, repository: str, week: int) -> StoredScan | None:
        """Return this run's scan if it was measured in that week, else the kept one's."""
        mine = super().week_scan(repository, week)
        if mine is not None or self.kept is None:
            return mine
        return self.kept.week_scan(repository, week)

    def week_forecast(self, repository: str, week: int) -> StoredForecast | None:
        """Return this run's forecast if it was made in that week, else the kept one's."""
        mine = super().week_forecast(repository, week)
        if mine is not None or self.kept is None:
            return mine
        return self.kept.week_forecast(repository, week)

    def merge_cache(self, trunk_tree: str) -> dict[MergeKey, MergeResult]:
        """Load the kept cached merges a forecast on `trunk_tree` can use, and this run's."""
        kept = {} if self.kept is None else self.kept.merge_cache(trunk_tree)
        return {**kept, **super().merge_cache(trunk_tree)}
