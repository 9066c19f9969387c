"""What the engine says of the conflicts a forecast predicts with trunk: which a machine resolves
(and by which rule), and how hard the others are for a person."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

import pygit2

from analyzers.conflicts import Conflict, ConflictKind
from analyzers.forecast import Forecast, PairForecast, TrunkForecast
from analyzers.missing import READ_ERRORS
from analyzers.resolve.diff3 import Diff3Error, line_merge
from analyzers.resolve.engine import SHIPPED, resolve
from analyzers.resolve.records import Grade, NeedsPerson, Outcome, Resolved

# Kinds whose three contents the engine reads; the others need a person whatever they hold.
_READ = (ConflictKind.CONTENT, ConflictKind.ADD_ADD)
_BY_KIND = {
    ConflictKind.MODIFY_DELETE: "one side deleted the file, the other changed it",
    ConflictKind.RENAME: "the sides renamed or moved it differently",
    ConflictKind.BINARY: "a binary file changed on both sides",
    ConflictKind.MODE: "the sides changed its mode differently",
    ConflictKind.SUBMODULE: "the sides moved the submodule to different commits",
    ConflictKind.FILE_DIRECTORY: "a file on one side, a directory on the other",
    ConflictKind.DISTINCT_TYPES: "a different kind of entry on each side",
}

Label = dict[tuple[str, str], Outcome]  # (branch, path): the engine's answer
PairLabel = dict[tuple[str, str, str], Outcome]  # (a, b, path): the engine's answer


@dataclass(frozen=True)
class ForecastLabels:
    """What the engine said of a forecast's conflicts, where it was asked, and with which
    rules; `whole`: every conflict of the active branches has its label."""

    trunk: Label = field(default_factory=dict)
    pairs: PairLabel = field(default_factory=dict)
    rules: tuple[str, ...] = SHIPPED
    whole: bool = False

    def merged(self, other: ForecastLabels) -> ForecastLabels:
        """These labels and `other`'s (this one's kept where both said)."""
        return replace(
            self, trunk={**other.trunk, **self.trunk}, pairs={**other.pairs, **self.pairs}
        )


def label_forecast(
    repo: pygit2.Repository,
    forecast: Forecast,
    with_trunk: Iterable[TrunkForecast],
    pairs: Iterable[PairForecast] | None = None,
    rules: tuple[str, ...] = SHIPPED,
    known: ForecastLabels | None = None,
) -> ForecastLabels:
    """Label the conflicts with trunk of the branches `with_trunk`, and of `pairs` (default:
    all the forecast's), but for those `known` (with the same rules) already labels."""
    known = ForecastLabels(rules=rules) if known is None else known
    if forecast.trunk_head is None:
        return known
    new_pairs = [
        p
        for p in (forecast.pairs if pairs is None else pairs)
        if any((p.a, p.b, c.path) not in known.pairs for c in p.conflicts)
    ]
    return known.merged(
        ForecastLabels(
            label_trunk_conflicts(
                repo,
                forecast.trunk_head,
                with_trunk,
                rules,
                lambda branch, path: (branch, path) not in known.trunk,
            ),
            label_pair_conflicts(repo, forecast, new_pairs, rules),
            rules,
        )
    )


def label_active(
    repo: pygit2.Repository, forecast: Forecast, rules: tuple[str, ...] = SHIPPED
) -> ForecastLabels:
    """Label the conflicts of the forecast's active branches, with trunk and between them.
    Active only: a mirror's years of abandoned branches hold tens of thousands of conflicted
    paths (35,694 on hashicorp/terraform, two minutes of the engine), and no one will land
    them."""
    active = [x for x in forecast.with_trunk if x.branch in forecast.ages]
    said = label_forecast(repo, forecast, active, None, rules)
    asked = sum(len(x.conflicts) for x in active) + sum(len(p.conflicts) for p in forecast.pairs)
    return replace(said, whole=len(said.trunk) + len(said.pairs) == asked)


def _blob(tree: pygit2.Tree | None, path: str, repo: pygit2.Repository) -> bytes | None:
    if tree is None:
        return None
    try:
        entry = tree[path]
    except KeyError:
        return None
    blob = repo[entry.id]
    return blob.data if isinstance(blob, pygit2.Blob) else None


def label_trunk_conflicts(
    repo: pygit2.Repository,
    trunk_head: str,
    with_trunk: Iterable[TrunkForecast],
    rules: tuple[str, ...] = SHIPPED,
    wanted: Callable[[str, str], bool] = lambda branch, path: True,
) -> Label:
    """Run the engine on each conflicted path of each branch's landing on trunk (`wanted`:
    which of them, e.g. only those shown), from the merge base, trunk's head and the
    branch's head: the same three versions `git merge` meets. A path whose objects cannot be
    read is left out (the forecast says why elsewhere)."""
    trunk = repo[pygit2.Oid(hex=trunk_head)].peel(pygit2.Commit)
    out: Label = {}
    for landing in with_trunk:
        paths = [c for c in landing.conflicts if wanted(landing.branch, c.path)]
        if not paths:
            continue
        try:
            head = repo[pygit2.Oid(hex=landing.head)].peel(pygit2.Commit)
            base_id = repo.merge_base(trunk.id, head.id)
            base = None if base_id is None else repo[base_id].peel(pygit2.Tree)
        except READ_ERRORS:
            continue
        for conflict in paths:
            try:
                out[(landing.branch, conflict.path)] = _label(
                    repo, conflict, base, trunk, head, rules
                )
            except (*READ_ERRORS, Diff3Error):
                continue
    return out


def label_pair_conflicts(
    repo: pygit2.Repository,
    forecast: Forecast,
    pairs: Iterable[PairForecast] | None = None,
    rules: tuple[str, ...] = SHIPPED,
) -> PairLabel:
    """Run the engine on each conflicted path of each pair of landings (`pairs`: which of the
    forecast's; default all), from the three versions the second to land meets: trunk's, and
    each branch's landing on it (T, T+A, T+B). A path whose objects cannot be read is left
    out."""
    if forecast.trunk_head is None:
        return {}
    trunk = repo[pygit2.Oid(hex=forecast.trunk_head)].peel(pygit2.Commit)
    heads = {x.branch: x.head for x in forecast.with_trunk}
    out: PairLabel = {}
    for pair in forecast.pairs if pairs is None else pairs:
        names = (pair.a, pair.b)
        sides = [{path: blob for path, blob, _ in forecast.landed.get(x, ())} for x in names]
        for conflict in pair.conflicts:
            path = conflict.path
            try:
                base = _blob(trunk.tree, path, repo)
                ours, theirs = (
                    _landed(repo, trunk, heads.get(name), path, side[path])
                    if path in side
                    else base
                    for name, side in zip(names, sides, strict=True)
                )
                out[(pair.a, pair.b, path)] = (
                    resolve(path, base, ours, theirs, rules)
                    if conflict.kind in _READ
                    else _by_kind(conflict)
                )
            except (*READ_ERRORS, LookupError, Diff3Error):
                continue
    return out


def _landed(
    repo: pygit2.Repository,
    trunk: pygit2.Commit,
    head: str | None,
    path: str,
    blob_id: str | None,
) -> bytes | None:
    """A file of a branch's landing on trunk: its blob, or, where the trial merge wrote it only
    to its scratch store, git's line merge of the branch into trunk again."""
    try:
        return _read(repo, blob_id)
    except KeyError:
        if head is None:
            raise
    branch = repo[pygit2.Oid(hex=head)].peel(pygit2.Commit)
    base_id = repo.merge_base(trunk.id, branch.id)
    base = None if base_id is None else repo[base_id].peel(pygit2.Tree)
    ours, theirs = _blob(trunk.tree, path, repo), _blob(branch.tree, path, repo)
    if ours is None or theirs is None:
        raise LookupError(path)
    merged, conflicts = line_merge(_blob(base, path, repo) or b"", ours, theirs)
    if conflicts:
        raise LookupError(path)  # git's line merge differs from the trial merge's here
    return merged


def _read(repo: pygit2.Repository, blob_id: str | None) -> bytes | None:
    if blob_id is None:
        return None
    blob = repo[pygit2.Oid(hex=blob_id)]
    return blob.data if isinstance(blob, pygit2.Blob) else None


def _by_kind(conflict: Conflict) -> NeedsPerson:
    reason = _BY_KIND.get(conflict.kind, str(conflict.kind))
    return NeedsPerson(Grade("hard", 0, 0, "whole file"), reason)


def label_merges(
    repo: pygit2.Repository,
    merges: Iterable[tuple[str, Iterable[Conflict]]],
    rules: tuple[str, ...] = SHIPPED,
) -> Label:
    """Run the engine on the conflicted paths of recorded merges (commit id, conflicts), from
    their first parent, second parent and merge base: what the person who merged met. Keys
    are (commit, path)."""
    out: Label = {}
    for commit_id, conflicts in merges:
        try:
            commit = repo[pygit2.Oid(hex=commit_id)].peel(pygit2.Commit)
            if len(commit.parent_ids) != 2:
                continue
            ours, theirs = (repo[p].peel(pygit2.Commit) for p in commit.parent_ids)
            base_id = repo.merge_base(ours.id, theirs.id)
            base = None if base_id is None else repo[base_id].peel(pygit2.Tree)
        except READ_ERRORS:
            continue
        for conflict in conflicts:
            try:
                out[(commit_id, conflict.path)] = _label(repo, conflict, base, ours, theirs, rules)
            except (*READ_ERRORS, Diff3Error):
                continue
    return out


def _label(
    repo: pygit2.Repository,
    conflict: Conflict,
    base: pygit2.Tree | None,
    ours: pygit2.Commit,
    theirs: pygit2.Commit,
    rules: tuple[str, ...],
) -> Outcome:
    if conflict.kind not in _READ:
        return _by_kind(conflict)
    return resolve(
        conflict.path,
        _blob(base, conflict.path, repo),
        _blob(ours.tree, conflict.path, repo),
        _blob(theirs.tree, conflict.path, repo),
        rules,
    )


def machine_only(forecast: Forecast, pair_labels: PairLabel) -> Forecast:
    """The forecast with a land order that leaves out the pairs whose every conflict a machine
    resolves (`pair_labels`): landing one costs the other no update worth ranking."""
    resolved = [
        (p.a, p.b)
        for p in forecast.pairs
        if p.conflicts
        and all(isinstance(pair_labels.get((p.a, p.b, c.path)), Resolved) for c in p.conflicts)
    ]
    if not resolved:
        return forecast
    return replace(forecast, land_order=forecast.land_order_without(resolved))
