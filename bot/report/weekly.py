"""The weekly report's content, built by pure functions from stored and mined figures."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from analyzers.divergence import BranchReport
from analyzers.forecast import LandStep, land_order
from analyzers.history import PaidConflict
from analyzers.lines import ReleaseLine
from analyzers.trends import WEEK, WeekFigures
from bot.report.links import GitHubHome
from bot.text import DAY, natural_key

TREND_WEEKS = 12  # weeks shown in the charts
BASELINE_WEEKS = 4  # the trend a week is compared with: the mean of the weeks before it
LISTED = 10  # rows in each list of branches
# A change smaller than this is "about the same": what a team would not call a change.
SMALLEST_CHANGE = {"duration": float(DAY), "count": 1.0}
SMALLEST_SHARE = 0.10  # and at least this share of the figure it is compared with
AGE_BUCKETS = (  # upper bounds in seconds, and the label of the bucket below each
    (DAY, "<1d"),
    (2 * DAY, "1–2d"),
    (7 * DAY, "2–7d"),
    (14 * DAY, "1–2w"),
    (30 * DAY, "2–4w"),
    (90 * DAY, "1–3mo"),
    (None, ">3mo"),
)


class Unit(StrEnum):
    """How a headline figure is read: a duration in seconds, or a count."""

    DURATION = "duration"
    COUNT = "count"


class Direction(StrEnum):
    """A figure's change, in a person's words."""

    BETTER = "better"
    WORSE = "worse"
    SAME = "same"
    UNKNOWN = "no comparison"


@dataclass(frozen=True)
class Measure:
    """One headline figure this week, last week, and the mean of the four weeks before."""

    key: str
    label: str
    unit: Unit
    lower_is_better: bool
    value: float | None
    last_week: float | None
    baseline: float | None  # mean of the BASELINE_WEEKS weeks before this one

    def _direction(self, before: float | None) -> Direction:
        if self.value is None or before is None:
            return Direction.UNKNOWN
        least = max(SMALLEST_CHANGE[self.unit], SMALLEST_SHARE * abs(before))
        if abs(self.value - before) < least - 1e-9:
            return Direction.SAME
        lower = self.value < before
        return Direction.BETTER if lower == self.lower_is_better else Direction.WORSE

    @property
    def against_last_week(self) -> Direction:
        """Whether this week is better or worse than last week."""
        return self._direction(self.last_week)

    @property
    def against_trend(self) -> Direction:
        """Whether this week is better or worse than the four weeks before it."""
        return self._direction(self.baseline)

    def arrow(self, before: float | None) -> str:
        """An arrow for the change from `before`: up, down or flat."""
        if self.value is None or before is None:
            return "·"
        if self._direction(before) is Direction.SAME:
            return "→"
        return "↑" if self.value > before else "↓"


@dataclass(frozen=True)
class BranchLine:
    """A branch as the report lists it."""

    name: str
    pulls: tuple[int, ...]
    age_seconds: int
    idle_seconds: int
    ahead: int
    behind: int
    last_author: str | None
    blocks: int  # open branches the forecast says conflict with it
    conflicts_with_trunk: bool


@dataclass(frozen=True)
class PairLine:
    """Two branches the forecast says will conflict, and where."""

    a: str
    b: str
    paths: tuple[str, ...]


@dataclass(frozen=True)
class PaidResolution:
    """What the resolution engine says of one path a paid conflict conflicted on."""

    merge_commit: str
    merged_at: int
    path: str
    rule: str | None  # the rule a machine would have resolved it with; None: a person's
    level: str = ""  # for a person: easy, medium or hard


@dataclass(frozen=True)
class WeeklyReport:
    """Everything one repository's report for one ISO week says."""

    repository: str
    week: str
    start: int
    end: int  # the moment the figures are for: the week's end, or now if the week is current
    limit_days: int  # branches older than this are "over the limit"
    stale_days: int
    idle_days: int
    mention_authors: bool
    headline: tuple[Measure, ...]
    paid: tuple[PaidConflict, ...]  # conflicts paid this week, with the forecast's lead time
    scanned_at: int | None  # the stored scan the branch lists come from (None: none that week)
    open_branches: int
    oldest: tuple[BranchLine, ...]
    most_behind: tuple[BranchLine, ...]
    stale: tuple[BranchLine, ...]  # no pull request, no commit for stale_days: delete or land
    idle: tuple[BranchLine, ...]  # no commit for idle_days, blocking another branch
    forecast_at: int | None
    pairs: tuple[PairLine, ...]
    with_trunk: tuple[tuple[str, tuple[str, ...]], ...]
    land_order: tuple[LandStep, ...]
    age_buckets: tuple[tuple[str, int], ...]
    trend: tuple[WeekFigures, ...]  # the TREND_WEEKS weeks up to this one, oldest first
    home: GitHubHome | None = None  # where branches, pull requests and commits link to
    release_lines: tuple[ReleaseLine, ...] = ()  # as of the report, newest version first
    # the engine's answer for each path paid in the trend's weeks (empty: not asked)
    resolutions: tuple[PaidResolution, ...] = ()
    # the forecast's open conflicted paths a machine resolves, and those that need a person
    # (None: not asked; only for the current week, whose forecast is made for the report)
    forecast_split: tuple[int, int] | None = None

    @property
    def title(self) -> str:
        """The repository as people name it: owner/name on GitHub, else as it was given."""
        return self.repository if self.home is None else self.home.owner_name

    def resolved_in(self, start: int, end: int) -> tuple[PaidResolution, ...]:
        """The engine's answers for the paths paid from `start` to before `end`."""
        return tuple(r for r in self.resolutions if start <= r.merged_at < end)

    @property
    def week_resolutions(self) -> tuple[PaidResolution, ...]:
        """The engine's answers for the paths paid this week."""
        return self.resolved_in(self.start, self.end + 1)

    @property
    def warned_in_time(self) -> int:
        """Conflicts paid this week that the forecast would have warned of a day or more ahead."""
        return sum(1 for p in self.paid if (p.lead_time_seconds or 0) >= DAY)


def _mean(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def _measures(weeks: Sequence[WeekFigures]) -> tuple[Measure, ...]:
    """The headline figures of the last of `weeks`, against the week before and the trend."""
    specs = (
        ("median_age", "Median age of open branches", Unit.DURATION, True),
        ("p90_age", "90th percentile age of open branches", Unit.DURATION, True),
        ("over_limit", "Open branches over the age limit", Unit.COUNT, True),
        ("landings", "Integrations into trunk", Unit.COUNT, False),
        ("median_lifetime", "Median lifetime of merged work", Unit.DURATION, True),
        ("conflicts_at_merge", "Conflicts at merge", Unit.COUNT, True),
        ("predicted", "Forecast conflicts open", Unit.COUNT, True),
    )

    def value(week: WeekFigures, key: str) -> float | None:
        found: int | None = {
            "median_age": week.median_age_seconds,
            "p90_age": week.p90_age_seconds,
            "over_limit": week.over_limit,
            "landings": week.landings,
            "median_lifetime": week.median_lifetime_seconds,
            "conflicts_at_merge": week.conflicts_at_merge,
            "predicted": week.predicted_conflicts,
        }[key]
        return None if found is None else float(found)

    this, before = weeks[-1], weeks[:-1]
    out = []
    for key, label, unit, lower in specs:
        last = value(before[-1], key) if before else None
        baseline = _mean([value(w, key) for w in before[-BASELINE_WEEKS:]])
        out.append(Measure(key, label, unit, lower, value(this, key), last, baseline))
    return tuple(out)


def _buckets(ages: Sequence[int]) -> tuple[tuple[str, int], ...]:
    counts = []
    lower = 0
    for upper, label in AGE_BUCKETS:
        counts.append((label, sum(1 for a in ages if a >= lower and (upper is None or a < upper))))
        lower = upper or 0
    return tuple(counts)


def build_report(
    repository: str,
    weeks: Sequence[WeekFigures],
    now: int,
    paid: Sequence[PaidConflict],
    branches: Sequence[BranchReport] | None,
    scanned_at: int | None,
    with_trunk: dict[str, tuple[str, ...]] | None,
    pairs: Sequence[tuple[str, str, tuple[str, ...]]],
    forecast_at: int | None,
    *,
    limit_days: int,
    stale_days: int,
    idle_days: int,
    mention_authors: bool = False,
    home: GitHubHome | None = None,
    release_lines: Sequence[ReleaseLine] = (),
    resolutions: Sequence[PaidResolution] = (),
    forecast_split: tuple[int, int] | None = None,
) -> WeeklyReport:
    """Build the report of the last week in `weeks` (weekly figures, oldest first).

    `branches` are those of the week's last stored scan (None: no scan that week), `with_trunk`
    and `pairs` the conflicts of its last stored forecast, `paid` every conflict paid (those of
    the week are picked here).
    """
    this = weeks[-1]
    end = min(this.start + WEEK, now)
    week_paid = tuple(p for p in paid if this.start <= p.merged_at < end)
    conflicts_with: dict[str, set[str]] = defaultdict(set)
    for a, b, _ in pairs:
        conflicts_with[a].add(b)
        conflicts_with[b].add(a)
    on_trunk = with_trunk or {}
    # A scan stored before release lines were told apart lists them among the branches.
    apart = {x.name for x in release_lines}
    open_work = [b for b in branches or () if b.ahead > 0 and b.name not in apart]

    def line(b: BranchReport) -> BranchLine:
        return BranchLine(
            b.name,
            b.pulls,
            b.age_seconds,
            b.idle_seconds,
            b.ahead,
            b.behind,
            b.last_author,
            len(conflicts_with.get(b.name, ())),
            b.name in on_trunk,
        )

    oldest = sorted(open_work, key=lambda b: (-b.age_seconds, b.name))[:LISTED]
    # A branch already listed as one of the oldest is not listed again as most diverged.
    listed = {b.name for b in oldest}
    most_behind = sorted(
        (b for b in open_work if b.name not in listed), key=lambda b: (-b.behind, b.name)
    )[:LISTED]
    stale = sorted(
        (b for b in open_work if not b.pulls and b.idle_seconds >= stale_days * DAY),
        key=lambda b: (-b.idle_seconds, b.name),
    )
    idle = sorted(
        (b for b in open_work if b.idle_seconds >= idle_days * DAY and b.name in conflicts_with),
        key=lambda b: (-len(conflicts_with.get(b.name, ())), -b.idle_seconds, b.name),
    )[:LISTED]
    in_conflict = sorted(set(conflicts_with) | set(on_trunk))
    age = {b.name: b.age_seconds for b in open_work}
    order = land_order(
        [b for b in in_conflict if b in age],
        age,
        {b: dict.fromkeys(sorted(others), 1) for b, others in conflicts_with.items()},
        {b: len(paths) for b, paths in on_trunk.items() if b in age},
    )
    return WeeklyReport(
        repository=repository,
        week=this.week,
        start=this.start,
        end=end,
        limit_days=limit_days,
        stale_days=stale_days,
        idle_days=idle_days,
        mention_authors=mention_authors,
        headline=_measures(weeks),
        paid=week_paid,
        scanned_at=scanned_at,
        open_branches=len(open_work),
        oldest=tuple(line(b) for b in oldest),
        most_behind=tuple(line(b) for b in most_behind if b.behind > 0),
        stale=tuple(line(b) for b in stale),
        idle=tuple(line(b) for b in idle),
        forecast_at=forecast_at,
        pairs=tuple(PairLine(a, b, paths) for a, b, paths in pairs),
        with_trunk=tuple(sorted(on_trunk.items())),
        land_order=tuple(order),
        age_buckets=_buckets([b.age_seconds for b in open_work]),
        trend=tuple(weeks[-TREND_WEEKS:]),
        home=home,
        release_lines=tuple(sorted(release_lines, key=lambda x: natural_key(x.name), reverse=True)),
        resolutions=tuple(resolutions),
        forecast_split=forecast_split,
    )
