"""Scans and their figures in the store: branches measured, conflicts forecast, weeks, retention."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from analyzers.conflicts import conflict_json
from analyzers.divergence import BranchReport, ScanReport
from analyzers.forecast import Forecast
from analyzers.mergejobs import ENGINE_VERSION
from analyzers.missing import Unknown
from analyzers.trends import week_start
from bot.store.engine import Database, aware, moment
from bot.store.models import BranchSnapshot, PredictedConflict, Repository, Scan
from bot.store.records import StoredForecast, StoredScan
from bot.text import DAY

if TYPE_CHECKING:
    from analyzers.resolve.labels import ForecastLabels


class Scans(Database):
    """Scans and forecasts, one transaction each, and the weekly views of them."""

    def _add_scan(
        self,
        session: Session,
        repository: str,
        kind: str,
        started: datetime,
        measured: datetime,
        **outcome: Any,
    ) -> int:
        """Add the row of one run (status, trunk or error in `outcome`); return its id."""
        finished = datetime.now(UTC)
        scan = Scan(
            repository_id=self._repository_id(session, repository, finished),
            kind=kind,
            started_at=started,
            finished_at=finished,
            measured_at=measured,
            **{"status": "succeeded", **outcome},
        )
        session.add(scan)
        session.flush()
        return scan.id

    def save_scan(self, repository: str, report: ScanReport, started: datetime) -> int:
        """Store a scan and all its branches in one transaction; return the scan's id."""
        with self._errors(), Session(self.engine) as session, session.begin():
            scan_id = self._add_scan(
                session,
                repository,
                "scan",
                started,
                moment(report.now),
                trunk_name=report.trunk.name,
                trunk_head=report.trunk.head,
            )
            rows = [_snapshot(scan_id, b) for b in report.branches]
            if rows:
                session.execute(insert(BranchSnapshot), rows)
            return scan_id

    def save_failure(self, repository: str, kind: str, error: str, started: datetime) -> int:
        """Record a scan that failed, with its error text, so that the history shows the gap."""
        with self._errors(), Session(self.engine) as session, session.begin():
            return self._add_scan(
                session, repository, kind, started, started, status="failed", error=error
            )

    def save_forecast(
        self,
        repository: str,
        forecast: Forecast,
        now: int,
        started: datetime,
        labels: ForecastLabels | None = None,
    ) -> int:
        """Store a forecast's predicted conflicts in one transaction, each with what the
        resolution engine said of it where it was asked (`labels`: the weekly report counts
        them when they are whole, every active branch's conflict labelled); return the
        scan's id."""
        trunk_said = {} if labels is None else labels.trunk
        pairs_said = {} if labels is None else labels.pairs
        heads = {x.branch: x.head for x in forecast.with_trunk}
        assert forecast.trunk_head is not None
        with self._errors(), Session(self.engine) as session, session.begin():
            whole = labels is not None and labels.whole
            scan_id = self._add_scan(
                session,
                repository,
                "conflicts",
                started,
                moment(now),
                trunk_name=forecast.trunk,
                trunk_head=forecast.trunk_head,
                labelled_with=list(labels.rules) if whole and labels is not None else None,
            )
            common = {
                "scan_id": scan_id,
                "trunk_head": forecast.trunk_head,
                "engine_version": ENGINE_VERSION,
            }
            rows = [
                {
                    **common,
                    "branch": x.branch,
                    "other": None,
                    "head": x.head,
                    "other_head": None,
                    "conflicts": [
                        conflict_json(c, trunk_said.get((x.branch, c.path))) for c in x.conflicts
                    ],
                    "unknown": None if x.unknown is None else _unknown(x.unknown),
                }
                for x in forecast.with_trunk
                if x.conflicts or x.unknown
            ] + [
                {
                    **common,
                    "branch": p.a,
                    "other": p.b,
                    "head": heads[p.a],
                    "other_head": heads[p.b],
                    "conflicts": [
                        conflict_json(c, pairs_said.get((p.a, p.b, c.path))) for c in p.conflicts
                    ],
                    "unknown": None if p.unknown is None else _unknown(p.unknown),
                }
                for p in (*forecast.pairs, *forecast.undecided)
            ]
            if rows:
                session.execute(insert(PredictedConflict), rows)
            return scan_id

    def prune(self, repository: str, keep_daily_days: int, now: datetime) -> int:
        """Thin scans older than `keep_daily_days` to the last one of each ISO week.

        Returns how many scans were removed (their branches and conflicts go with them).
        """
        cutoff = now.timestamp() - keep_daily_days * DAY
        with self._errors(), Session(self.engine) as session, session.begin():
            rows = session.execute(
                select(Scan.id, Scan.kind, Scan.measured_at)
                .join(Repository, Repository.id == Scan.repository_id)
                .where(Repository.name == repository)
                .order_by(Scan.measured_at, Scan.id)
            ).all()
            last_of_week: dict[tuple[str, tuple[int, int]], int] = {}
            for scan_id, kind, measured in rows:
                last_of_week[(kind, _week(aware(measured)))] = scan_id
            keep = set(last_of_week.values())
            doomed = [
                scan_id
                for scan_id, _, measured in rows
                if aware(measured).timestamp() < cutoff and scan_id not in keep
            ]
            if doomed:
                session.execute(delete(BranchSnapshot).where(BranchSnapshot.scan_id.in_(doomed)))
                session.execute(delete(Scan).where(Scan.id.in_(doomed)))
            return len(doomed)

    def _last_scan_of_each_week(
        self, session: Session, repository: str, kind: str
    ) -> dict[int, int]:
        rows = session.execute(
            select(Scan.id, Scan.measured_at)
            .join(Repository, Repository.id == Scan.repository_id)
            .where(Repository.name == repository, Scan.kind == kind, Scan.status == "succeeded")
            .order_by(Scan.measured_at, Scan.id)
        ).all()
        last: dict[int, int] = {}
        for scan_id, measured in rows:
            last[week_start(int(aware(measured).timestamp()))] = scan_id
        return last

    def weekly_ages(self, repository: str) -> dict[int, list[int]]:
        """Ages of the open branches in each ISO week's last scan, keyed by week start."""
        with self._errors(), Session(self.engine) as session:
            last = self._last_scan_of_each_week(session, repository, "scan")
            ages: dict[int, list[int]] = {week: [] for week in last}
            by_scan = {scan_id: week for week, scan_id in last.items()}
            rows = session.execute(
                select(BranchSnapshot.scan_id, BranchSnapshot.age_seconds).where(
                    BranchSnapshot.scan_id.in_(list(by_scan)), BranchSnapshot.ahead > 0
                )
            )
            for scan_id, age in rows:
                ages[by_scan[scan_id]].append(age)
            return ages

    def weekly_predicted(self, repository: str) -> dict[int, int]:
        """Conflicts predicted by each ISO week's last forecast, keyed by week start."""
        with self._errors(), Session(self.engine) as session:
            last = self._last_scan_of_each_week(session, repository, "conflicts")
            counts = dict(
                session.execute(
                    select(PredictedConflict.scan_id, func.count())
                    .where(
                        PredictedConflict.scan_id.in_(list(last.values())),
                        PredictedConflict.unknown.is_(None),
                    )
                    .group_by(PredictedConflict.scan_id)
                ).all()
            )
            return {week: counts.get(scan_id, 0) for week, scan_id in last.items()}

    def week_scan(self, repository: str, week: int) -> StoredScan | None:
        """Return the last scan stored in the ISO week starting at `week`, with its branches."""
        with self._errors(), Session(self.engine) as session:
            scan_id = self._last_scan_of_each_week(session, repository, "scan").get(week)
            if scan_id is None:
                return None
            scan = session.get(Scan, scan_id)
            assert scan is not None
            rows = session.scalars(
                select(BranchSnapshot)
                .where(BranchSnapshot.scan_id == scan_id)
                .order_by(BranchSnapshot.name)
            )
            branches = tuple(_branch(row) for row in rows)
            measured = int(aware(scan.measured_at).timestamp())
            return StoredScan(measured, scan.trunk_name or "", branches)

    def week_forecast(self, repository: str, week: int) -> StoredForecast | None:
        """Return the conflicts predicted by the last forecast stored in the ISO week at `week`."""
        with self._errors(), Session(self.engine) as session:
            scan_id = self._last_scan_of_each_week(session, repository, "conflicts").get(week)
            if scan_id is None:
                return None
            scan = session.get(Scan, scan_id)
            assert scan is not None
            rows = session.scalars(
                select(PredictedConflict)
                .where(PredictedConflict.scan_id == scan_id, PredictedConflict.unknown.is_(None))
                .order_by(PredictedConflict.branch, PredictedConflict.other)
            ).all()
            with_trunk: dict[str, tuple[str, ...]] = {}
            pairs: list[tuple[str, str, tuple[str, ...]]] = []
            said = Counter(
                c["resolution"]["resolvable"]
                for row in rows
                for c in row.conflicts
                if "resolution" in c
            )
            for row in rows:
                paths = tuple(sorted({c["path"] for c in row.conflicts}))
                if row.other is None:
                    with_trunk[row.branch] = paths
                else:
                    pairs.append((row.branch, row.other, paths))
            measured = int(aware(scan.measured_at).timestamp())
            labelled = None if scan.labelled_with is None else (said[True], said[False])
            return StoredForecast(measured, with_trunk, tuple(pairs), labelled)


def _week(when: datetime) -> tuple[int, int]:
    year, week, _ = when.isocalendar()
    return year, week


def _unknown(gap: Unknown) -> dict[str, Any]:
    return {"figures": list(gap.figures), "reason": gap.reason, "object": gap.object_id}


def _snapshot(scan_id: int, b: BranchReport) -> dict[str, Any]:
    return {
        "scan_id": scan_id,
        "name": b.name,
        "ref": b.ref,
        "head": b.head,
        "ahead": b.ahead,
        "behind": b.behind,
        "merge_base": b.merge_base,
        "merge_base_time": moment(b.merge_base_time),
        "age_seconds": b.age_seconds,
        "base_age_seconds": b.base_age_seconds,
        "idle_seconds": b.idle_seconds,
        "authors": list(b.authors),
        "files_changed": b.files_changed,
        "lines_added": b.lines_added,
        "lines_deleted": b.lines_deleted,
        "trunk_files_changed": b.trunk_files_changed,
        "overlap_files": None if b.overlap_files is None else list(b.overlap_files),
        "pull_requests": list(b.pulls) or None,
        "unknown": [_unknown(gap) for gap in b.unknown] or None,
        "last_author": b.last_author,
    }


def _branch(row: BranchSnapshot) -> BranchReport:
    return BranchReport(
        name=row.name,
        ref=row.ref,
        head=row.head,
        ahead=row.ahead,
        behind=row.behind,
        merge_base=row.merge_base,
        merge_base_time=None
        if row.merge_base_time is None
        else int(aware(row.merge_base_time).timestamp()),
        age_seconds=row.age_seconds,
        base_age_seconds=row.base_age_seconds,
        idle_seconds=row.idle_seconds,
        authors=tuple(row.authors),
        files_changed=row.files_changed,
        lines_added=row.lines_added,
        lines_deleted=row.lines_deleted,
        trunk_files_changed=row.trunk_files_changed,
        overlap_files=None if row.overlap_files is None else tuple(row.overlap_files),
        pulls=tuple(row.pull_requests or ()),
        unknown=tuple(
            Unknown(tuple(g["figures"]), g["reason"], g.get("object")) for g in row.unknown or ()
        ),
        last_author=row.last_author,
    )
