"""One pull request measured on the mirror: its branch's figures, the forecast of its
conflicts with trunk and with the other open pull requests on the same base, and the verdict."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace

import pygit2
from cachetools import LRUCache, cached

from analyzers.divergence import BranchReport, scan
from analyzers.forecast import ForecastMemo, forecast
from analyzers.refs import BranchRef, Inventory, PullHeads, PullRule, inventory
from analyzers.resolve.labels import label_pair_conflicts, label_trunk_conflicts
from analyzers.trunk import TrunkIndex
from bot.github.records import OpenPull
from bot.mirrors.promisor import fetch_objects
from bot.policy import RepositoryConfig
from bot.review.evaluation import Evaluation, PullRequest, resolve_offer, verdict
from bot.review.resolution import pushed_by_trunkguard

TRUNKS_KEPT = 4  # trunk indexes kept between reviews (rails/rails: about 1.3 s to build each)
_TRUNKS: LRUCache[tuple[str, pygit2.Oid], TrunkIndex] = LRUCache(maxsize=TRUNKS_KEPT)


# The lock guards the cache only: two reviews missing at once both build, neither waits.
@cached(_TRUNKS, key=lambda repo, head: (repo.path, head), lock=threading.Lock())
def trunk_index(repo: pygit2.Repository, head: pygit2.Oid) -> TrunkIndex:
    """Return the index of trunk's history at `head`, built once per mirror and head: the
    next pull request event of a repository whose trunk has not moved reuses it."""
    return TrunkIndex(repo, head)


def _entry(found: Inventory, number: int) -> BranchRef | None:
    return next((b for b in found.branches if number in b.pulls), None)


def figures(
    repo: pygit2.Repository,
    pull: OpenPull,
    open_pulls: list[OpenPull],
    config: RepositoryConfig,
    memo: ForecastMemo,
    now: int,
    head: pygit2.Oid | None = None,
    may_push: Callable[[], bool] = lambda: False,
) -> tuple[BranchRef, BranchReport, Evaluation] | None:
    """Measure one pull request (at `head`, a commit before its newest, when a "Re-run" asks
    for that one) against its base and the other open pull requests on the same base; None
    when the mirror has no head for it (deleted while we looked). `may_push` says whether the
    App may push a resolution to its branch, asked only when the button would be offered."""
    same_base = frozenset(p.number for p in open_pulls if p.base_ref == pull.base_ref)
    rule = PullRule(PullHeads.NONE, config.pulls.recent_days, same_base | {pull.number})
    found = inventory(repo, trunk=pull.base_ref, pulls=rule, now=now)
    # Only pull requests are compared: a branch no pull request proposes is nobody's review.
    found = replace(found, branches=tuple(b for b in found.branches if b.pulls))
    ours = _entry(found, pull.number)
    if ours is None or found.trunk is None:
        return None
    # Trunk's history is indexed once for the scan and the forecast, and kept in the memo for
    # the next pull request on the same base (a push to trunk reviews them all).
    if memo.trunk is None or memo.trunk.head != found.trunk.target:
        memo.trunk = trunk_index(repo, found.trunk.target)
        memo.walks.clear()
    found = replace(found, index=memo.trunk)
    if head is not None:
        at = replace(ours, target=head)
        found = replace(found, branches=tuple(at if b == ours else b for b in found.branches))
        ours = at
    report = scan(repo, replace(found, branches=(ours,)), now, trunk=memo.trunk)
    branch = next((b for b in report.branches if b.name == ours.name), None)
    if branch is None:
        return None
    result = forecast(
        repo,
        found,
        now,
        active_days=config.forecast.active_days,
        memo=memo,
        fetcher=fetch_objects,
        focus=ours.name,
    )
    others = {
        b.name: (p.number, p.author)
        for b in found.branches
        for p in open_pulls
        if p.number in b.pulls and p.number != pull.number
    }
    release = config.branches.release
    labels, pair_labels = {}, {}
    if result.trunk_head is not None:
        on_trunk = [t for t in result.with_trunk if t.branch == ours.name]
        mine = [p for p in result.pairs if ours.name in (p.a, p.b)]
        rules = config.resolve.trusted
        labels = label_trunk_conflicts(repo, result.trunk_head, on_trunk, rules)
        pair_labels = label_pair_conflicts(repo, result, mine, rules)
    judged = verdict(
        PullRequest.of(pull),
        ours.name,
        branch,
        result,
        others,
        config.policy,
        release,
        labels,
        pair_labels,
    )
    conflicts = next((t.conflicts for t in result.with_trunk if t.branch == ours.name), ())
    by_path = {path: outcome for (name, path), outcome in labels.items() if name == ours.name}
    offered = config.resolve.offer and head is None
    judged = resolve_offer(judged, conflicts, by_path, lambda: offered and may_push())
    if pushed_by_trunkguard(repo, str(ours.target)):
        judged = replace(judged, resolved_by=str(ours.target))
    return ours, branch, judged
