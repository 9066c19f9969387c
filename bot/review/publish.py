"""What a review posts on GitHub: one check run per head, edited when its verdict changes, one
comment kept up to date, and nothing when both are what was posted last. The texts are built
by pure functions; `publish` only reads what was posted, calls them and posts."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bot.github.client import GitHubClient
from bot.github.records import CheckRun, OpenPull
from bot.policy import CommentPolicy, RepositoryConfig
from bot.review.evaluation import (
    MARKER,
    Evaluation,
    PullRequest,
    check_run,
    comment_body,
    resolved_body,
)
from bot.store import PullRecord, Store

NO_COMMENT = "none"  # the comment digest of a pull request with no comment of ours


@dataclass(frozen=True)
class Published:
    """What publishing did."""

    posted: bool  # a check run posted or edited and/or a comment change went to GitHub
    comment: str | None = None  # "created", "edited", "deleted" or None


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def check_digest(evaluation: Evaluation) -> str:
    """Return the digest of what a check run's verdict is: its conclusion and what each finding
    is about, not its figures. Trunk moving on by a commit changes "behind" on every pull
    request (and the all-is-well title that says it); a post for each would spend the API
    budget on nothing. Without findings, an exemption, an unusable configuration or a failed
    measurement is said by the title alone, which then is the verdict."""
    said = (
        evaluation.title if not evaluation.findings and evaluation.conclusion != "success" else ""
    )
    offer = [f"offer:{evaluation.offer}"] if evaluation.offer else []
    return _digest(evaluation.conclusion, said, *offer, *(f.identity for f in evaluation.findings))


def comment_texts(
    pull: OpenPull, evaluation: Evaluation, comment: CommentPolicy
) -> tuple[str | None, str | None]:
    """Return the comment to start (None: none) and what a comment of ours already there
    should say now (None: delete it): with nothing to act on, a comment is only resolved or
    deleted, never started."""
    body = comment_body(PullRequest.of(pull), evaluation, comment.when)
    if body is None and comment.resolved == "edit":
        return None, resolved_body(evaluation.resolved_by)
    return body, body


def comment_digest(wanted: str | None) -> str:
    """Return the digest stored for the comment text `wanted` (no comment: NO_COMMENT)."""
    return _digest(wanted) if wanted is not None else NO_COMMENT


def publish(
    client: GitHubClient,
    store: Store,
    full_name: str,
    pull: OpenPull,
    evaluation: Evaluation,
    config: RepositoryConfig | None,
    force: bool = False,
) -> Published:
    """Keep the head's check run and the one comment, unless both say what was posted last
    (`force`: post a new check run anyway, as the "Re-run" button asks). Workers reviewing
    the same pull request at once take turns, so the second sees what the first posted."""
    with store.lock(f"publish:{full_name}#{pull.number}"):
        last = store.pull_request(full_name, pull.number)
        digest = check_digest(evaluation)
        check_run_id = last.check_run_id if last else None
        posted = False
        if force or last is None or (last.check_digest, last.head_sha) != (digest, pull.head_sha):
            run = check_run(evaluation, pull.head_sha, digest)
            check_run_id, posted = _keep_check_run(client, full_name, run, force)

        comment_id = last.comment_id if last else None
        said = last.comment_digest if last else None
        action = None
        if config is not None:  # an unusable configuration leaves the comment as it was
            body, wanted = comment_texts(pull, evaluation, config.policy.comment)
            target = comment_digest(wanted)
            silent = body is None and said == NO_COMMENT  # a silent pull request stays silent
            if target != said and not silent:
                action, comment_id = _keep_comment(client, full_name, pull.number, body, wanted)
                said = NO_COMMENT if comment_id is None else target
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
                digest,
                said,
            ),
        )
        return Published(posted, action)


def post_check_run(
    client: GitHubClient, full_name: str, head_sha: str, evaluation: Evaluation
) -> None:
    """Post a new check run on `head_sha`, a commit before its pull request's newest head (a
    "Re-run" of that commit's suite); the comment and the store follow the newest head only."""
    client.create_check_run(full_name, check_run(evaluation, head_sha, check_digest(evaluation)))


def _keep_check_run(
    client: GitHubClient, full_name: str, run: CheckRun, force: bool
) -> tuple[int, bool]:
    """Keep one check run per head: edit the one GitHub shows when the verdict changed, post one
    when there is none (or a "Re-run" asks for a new one); return its id and whether anything
    went to GitHub."""
    if force:
        return client.create_check_run(full_name, run), True
    # Asked of GitHub, not of the store: a job redone after a crash between posting (or
    # editing) and storing finds the run with this verdict in its external id, and posts
    # nothing twice.
    shown = client.latest_check_run(full_name, run.head_sha, run.name)
    if shown is not None and shown.external_id == run.external_id:
        return shown.id, False
    if shown is None or shown.annotations:
        # An edit adds annotations to those already there ("Update a check run",
        # docs.github.com): a run pointing at lines must be replaced, not edited.
        return client.create_check_run(full_name, run), True
    client.update_check_run(full_name, shown.id, run)
    return shown.id, True


def _keep_comment(
    client: GitHubClient,
    full_name: str,
    number: int,
    body: str | None,
    wanted: str | None,
) -> tuple[str | None, int | None]:
    """Create, edit or delete our one comment; return what was done and its id."""
    # Found even if we forgot its id, and only among our own: anyone can copy the marker.
    found = client.find_comment(full_name, number, MARKER)
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
