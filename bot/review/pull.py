"""Review one pull request: its figures from the mirror, the verdict, and what is posted on
GitHub (one check run, one comment kept up to date). The App's jobs and `pr-check` both call
`review_pull_request`."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import pygit2

from analyzers.divergence import BranchReport, scan
from analyzers.errors import AnalysisError
from analyzers.forecast import ForecastMemo, forecast
from analyzers.refs import BranchRef, Inventory, PullHeads, PullRule, inventory
from analyzers.trunk import TrunkIndex
from bot.github.client import GitHubClient, OpenPull
from bot.mirrors.fetch import app_mirror_path
from bot.mirrors.promisor import fetch_objects
from bot.policy import ConfigError, RepositoryConfig, default_config, load_config
from bot.review.evaluation import (
    Conclusion,
    Evaluation,
    PullRequest,
    clashes_for,
    comment_body,
    evaluate,
    resolved_body,
)
from bot.review.mirror import fetch_under_lock
from bot.store import PullRecord, Store

logger = logging.getLogger(__name__)

CONFIG_PATH = ".github/trunkguard.yml"
NO_COMMENT = "none"  # the comment digest of a pull request with no comment of ours


class Outcome(StrEnum):
    """How a review ended."""

    POSTED = "posted"  # a new check run and/or comment change went to GitHub
    UNCHANGED = "unchanged"  # the same result as last time: nothing posted
    NOT_OPEN = "not open"  # closed or gone before we got to it
    HEAD_MOVED = "head moved"  # pushed to while we looked: the push's own event reviews it


@dataclass(frozen=True)
class Review:
    """What one review found and did."""

    outcome: Outcome
    number: int
    head_sha: str | None = None
    evaluation: Evaluation | None = None
    comment: str | None = None  # "created", "edited", "deleted" or None


def read_config(repo: pygit2.Repository, branch: str) -> RepositoryConfig:
    """Read .github/trunkguard.yml from `branch` of the mirror (no API call), over the defaults.

    Raises ConfigError for a file that cannot be used.
    """
    reference = repo.references.get(f"refs/heads/{branch}")
    if reference is None:
        return default_config()
    return config_at(repo, reference.peel(pygit2.Commit))


def config_at(repo: pygit2.Repository, commit: pygit2.Commit) -> RepositoryConfig:
    """Read .github/trunkguard.yml as `commit` has it, over the defaults (none: the defaults).

    Raises ConfigError for a file that cannot be used.
    """
    try:
        entry = commit.tree[CONFIG_PATH]
    except KeyError:
        return default_config()
    blob = repo[entry.id]
    if not isinstance(blob, pygit2.Blob):
        raise ConfigError(CONFIG_PATH, None, "is not a file")
    return load_config(blob.data, CONFIG_PATH)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def _config_failure(error: ConfigError) -> Evaluation:
    title = f"Invalid {CONFIG_PATH}: {error.key + ': ' if error.key else ''}{error.problem}"
    summary = (
        f"trunkguard cannot check this pull request until `{CONFIG_PATH}` on the default "
        f"branch is fixed.\n\n```\n{error}\n```\n\nCheck a file locally with "
        f"`trunkguard config check {CONFIG_PATH}`."
    )
    return Evaluation(Conclusion.FAILURE, title[:1000], summary, (), ())


def _entry(found: Inventory, number: int) -> BranchRef | None:
    return next((b for b in found.branches if number in b.pulls), None)


_TRUNKS: OrderedDict[tuple[str, pygit2.Oid], TrunkIndex] = OrderedDict()
_TRUNKS_LOCK = threading.Lock()
TRUNKS_KEPT = 4  # trunk indexes kept between reviews (rails/rails: about 1.3 s to build each)


def trunk_index(repo: pygit2.Repository, head: pygit2.Oid) -> TrunkIndex:
    """Return the index of trunk's history at `head`, built once per mirror and head: the
    next pull request event of a repository whose trunk has not moved reuses it."""
    key = (repo.path, head)
    with _TRUNKS_LOCK:
        if key in _TRUNKS:
            _TRUNKS.move_to_end(key)
            return _TRUNKS[key]
    index = TrunkIndex(repo, head)
    with _TRUNKS_LOCK:
        _TRUNKS[key] = index
        while len(_TRUNKS) > TRUNKS_KEPT:
            _TRUNKS.popitem(last=False)
    return index


def figures(
    repo: pygit2.Repository,
    pull: OpenPull,
    open_pulls: list[OpenPull],
    config: RepositoryConfig,
    memo: ForecastMemo,
    now: int,
) -> tuple[BranchRef, BranchReport, Evaluation] | None:
    """Measure one pull request against its base and the other open pull requests on the
    same base; None when the mirror has no head for it (deleted while we looked)."""
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
    on_trunk = next((t for t in result.with_trunk if t.branch == ours.name), None)
    by_entry = {
        b.name: (p.number, p.author)
        for b in found.branches
        for p in open_pulls
        if p.number in b.pulls and p.number != pull.number
    }
    clashes = clashes_for(ours.name, result.pairs, by_entry)
    subject = PullRequest.of(pull)
    verdict = evaluate(
        subject, branch, on_trunk.conflicts if on_trunk else (), clashes, config.policy
    )
    return ours, branch, verdict


def publish(
    client: GitHubClient,
    store: Store,
    full_name: str,
    pull: OpenPull,
    evaluation: Evaluation,
    config: RepositoryConfig | None,
    force: bool = False,
) -> Review:
    """Post the check run and keep the one comment, unless both are what was posted last
    (`force`: post the check run anyway, as the "Re-run" button asks). Workers reviewing
    the same pull request at once take turns, so the second sees what the first posted."""
    with store.lock(f"publish:{full_name}#{pull.number}"):
        last = store.pull_request(full_name, pull.number)
        # The verdict, not the figures table: trunk moving on by a commit changes "behind" on
        # every pull request, and a new check run for each would spend the API budget on nothing.
        findings = [f.text for f in evaluation.findings]
        check_digest = _digest(pull.head_sha, evaluation.conclusion, evaluation.title, *findings)
        check_run_id = last.check_run_id if last else None
        posted = False
        if (
            force
            or last is None
            or (last.check_digest, last.head_sha) != (check_digest, pull.head_sha)
        ):
            # A job redone after a crash between posting and storing (a killed worker, a database
            # restart) finds its check run on GitHub instead of posting it twice.
            shown = None if force else client.latest_check_run(full_name, pull.head_sha)
            if shown is not None and shown[1] == check_digest:
                check_run_id = shown[0]
            else:
                check_run_id = client.create_check_run(
                    full_name, pull.head_sha, evaluation, check_digest
                )
                posted = True

        comment_id = last.comment_id if last else None
        comment_digest = last.comment_digest if last else None
        action = None
        if config is not None:  # an unusable configuration leaves the comment as it was
            subject = PullRequest.of(pull)
            body = comment_body(subject, evaluation, config.policy.comment.when)
            # What an existing comment should say now; with nothing to act on, only a comment
            # already there is touched (resolved, or deleted), and a silent PR stays silent.
            wanted = body
            if body is None and config.policy.comment.resolved == "edit":
                wanted = resolved_body()
            target = _digest(wanted) if wanted is not None else NO_COMMENT
            silent = body is None and comment_digest == NO_COMMENT
            if target != comment_digest and not silent:
                action, comment_id = _keep_comment(client, full_name, pull.number, body, wanted)
                comment_digest = NO_COMMENT if comment_id is None else target
                posted = posted or action is not None
        store.save_pull_request(
            full_name,
            PullRecord(
                pull.number,
                "open",
                pull.head_ref,
                pull.head_sha,
                check_run_id,
                comment_id,
                check_digest,
                comment_digest,
            ),
        )
        return Review(
            Outcome.POSTED if posted else Outcome.UNCHANGED,
            pull.number,
            pull.head_sha,
            evaluation,
            action,
        )


def _keep_comment(
    client: GitHubClient,
    full_name: str,
    number: int,
    body: str | None,
    wanted: str | None,
) -> tuple[str | None, int | None]:
    """Create, edit or delete our one comment; return what was done and its id."""
    found = client.find_comment(full_name, number)  # the marker finds it even if we forgot it
    if found is None:
        if body is None:
            return None, None  # nothing to act on and nothing said: stay silent
        return "created", client.create_comment(full_name, number, body)
    comment_id, current = found
    if wanted is None:
        client.delete_comment(full_name, number, comment_id)
        return "deleted", None
    if current == wanted:
        return None, comment_id
    client.edit_comment(full_name, number, comment_id, wanted)
    return "edited", comment_id


def review_pull_request(
    client: GitHubClient,
    store: Store,
    mirror_dir: Path,
    full_name: str,
    number: int,
    now: int | None = None,
    open_pulls: list[OpenPull] | None = None,
    memo: ForecastMemo | None = None,
    fetch: bool = True,
    force: bool = False,
) -> Review:
    """Review pull request `number` of `full_name`: fetch the mirror, measure, post."""
    now = int(datetime.now(UTC).timestamp()) if now is None else now
    open_pulls = client.open_pulls(full_name) if open_pulls is None else open_pulls
    pull = next((p for p in open_pulls if p.number == number), None)
    if pull is None:
        return Review(Outcome.NOT_OPEN, number)
    path = app_mirror_path(mirror_dir, full_name)
    if fetch or not path.exists():
        repo = fetch_under_lock(store, mirror_dir, client, full_name)
    else:
        repo = pygit2.Repository(str(path))
    head = repo.references.get(f"refs/pull/{number}/head")
    if head is None or str(head.target) != pull.head_sha:
        # Pushed (or deleted) between GitHub's answer and our fetch: that push sends its own
        # event, which reviews the new head; posting on either head now would be a guess.
        logger.info("head moved", extra={"repository": full_name, "pull": number})
        return Review(Outcome.HEAD_MOVED, number, pull.head_sha)
    default = repo.head.shorthand if not repo.head_is_unborn else pull.base_ref
    try:
        config = read_config(repo, default)
    except ConfigError as error:
        return publish(client, store, full_name, pull, _config_failure(error), None, force)
    if memo is None:
        memo = stored_memo(store, repo, pull.base_ref)
    known = set(memo.merges)
    try:
        measured = figures(repo, pull, open_pulls, config, memo, now)
    except AnalysisError as error:
        failure = Evaluation(
            Conclusion.NEUTRAL, f"Not measured: {error}"[:1000], str(error), (), ()
        )
        return publish(client, store, full_name, pull, failure, config, force)
    store.add_to_merge_cache({k: v for k, v in memo.merges.items() if k not in known})
    if measured is None:
        return Review(Outcome.HEAD_MOVED, number, pull.head_sha)
    _, _, verdict = measured
    return publish(client, store, full_name, pull, verdict, config, force)


_MEMOS: OrderedDict[tuple[str, str], ForecastMemo] = OrderedDict()
_MEMOS_LOCK = threading.Lock()


def stored_memo(store: Store, repo: pygit2.Repository, base: str) -> ForecastMemo:
    """Start from the merges already done on this trunk tree: the store's merge cache, read
    once per mirror and trunk tree and then kept in this process (its entries never go
    stale), as the reviews of one push to trunk come here in parts."""
    reference = repo.references.get(f"refs/heads/{base}")
    if reference is None:
        return ForecastMemo()
    tree = str(reference.peel(pygit2.Commit).tree_id)
    key = (repo.path, tree)
    with _MEMOS_LOCK:
        if key in _MEMOS:
            _MEMOS.move_to_end(key)
            return _MEMOS[key]
    memo = ForecastMemo(store.merge_cache(tree))
    with _MEMOS_LOCK:
        _MEMOS[key] = memo
        while len(_MEMOS) > TRUNKS_KEPT:
            _MEMOS.popitem(last=False)
    return memo
