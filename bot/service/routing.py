"""Webhook routing: which jobs a GitHub delivery asks for, from its event and payload; a small
router per concern (installations, pull requests, pushes, "Re-run"s), joined in ROUTERS. Each
router first checks the fields it uses (bot.service.payloads), then reads only those."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.review.evaluation import RESOLVE_ACTION
from bot.service.job import Job
from bot.service.payloads import (
    CheckEvent,
    CheckRunEvent,
    CheckSuiteEvent,
    InstallationEvent,
    InvalidPayload,
    Listed,
    PullRequestEvent,
    PushEvent,
    Repository,
    parse,
)

Router = Callable[[str, Mapping[str, Any]], list[Job]]  # (event, payload) -> jobs

# pull_request actions that can change a verdict: the head, the base, draft state, labels.
REVIEWED_ACTIONS = frozenset(
    {
        "opened",
        "synchronize",
        "reopened",
        "ready_for_review",
        "converted_to_draft",
        "labeled",
        "unlabeled",
    }
)
RERUN_ACTIONS = {"check_suite": ("requested", "rerequested"), "check_run": ("rerequested",)}


def _names(repositories: list[Listed] | None) -> list[str]:
    return [r.full_name for r in repositories or [] if r.full_name is not None]


def _where(installation: int, repository: Repository) -> dict[str, Any]:
    """The installation and repository a delivery is about."""
    return {"installation": installation, "repository": repository.full_name}


def installations(event: str, payload: Mapping[str, Any]) -> list[Job]:
    """An installation created, deleted, suspended, or given or taken repositories."""
    delivery = parse(InstallationEvent, payload)
    installation = delivery.installation.id
    action = delivery.action
    if event == "installation":
        if action in ("created", "new_permissions_accepted", "unsuspend"):
            names = _names(delivery.repositories)
            return [Job("register_repositories", {"installation": installation, "added": names})]
        if action in ("deleted", "suspend"):
            return [Job("forget_repositories", {"installation": installation, "removed": None})]
        return []
    jobs = []
    if delivery.repositories_added:
        added = _names(delivery.repositories_added)
        jobs.append(Job("register_repositories", {"installation": installation, "added": added}))
    if delivery.repositories_removed:
        removed = _names(delivery.repositories_removed)
        jobs.append(Job("forget_repositories", {"installation": installation, "removed": removed}))
    return jobs


def pull_requests(event: str, payload: Mapping[str, Any]) -> list[Job]:
    """A pull request changed in a way that can change its verdict, or closed."""
    delivery = parse(PullRequestEvent, payload)
    where = _where(delivery.installation.id, delivery.repository)
    action = delivery.action
    pull = delivery.pull_request
    base_changed = delivery.changes is not None and delivery.changes.base is not None
    if action in REVIEWED_ACTIONS or (action == "edited" and base_changed):
        return [Job("evaluate_pull", {**where, "number": pull.number})]
    if action == "closed":
        if pull.head is None:
            raise InvalidPayload("pull_request.head", "missing")
        if pull.merged and pull.merge_commit_sha is None:
            raise InvalidPayload("pull_request.merge_commit_sha", "missing")
        closed = {
            "number": pull.number,
            "head_ref": pull.head.ref,
            "head_sha": pull.head.sha,
            "merge_commit": pull.merge_commit_sha if pull.merged else None,
        }
        return [Job("pull_closed", {**where, **closed})]
    return []


def pushes(event: str, payload: Mapping[str, Any]) -> list[Job]:
    """Trunk moved: new conflicts may appear in every open pull request, and its config may
    have moved the weekly report."""
    delivery = parse(PushEvent, payload)
    trunk = f"refs/heads/{delivery.repository.default_branch}"
    if delivery.ref != trunk or delivery.deleted:
        return []
    where = _where(delivery.installation.id, delivery.repository)
    return [Job("evaluate_open_pulls", where), Job("follow_report_schedule", where)]


def reruns(event: str, payload: Mapping[str, Any]) -> list[Job]:
    """check_suite requested/rerequested, check_run rerequested: the "Re-run" buttons."""
    checks = parse(CheckSuiteEvent if event == "check_suite" else CheckRunEvent, payload)
    if isinstance(checks, CheckRunEvent) and checks.action == "requested_action":
        return _resolve_pressed(checks)
    if checks.action not in RERUN_ACTIONS[event]:
        return []
    where = _where(checks.installation.id, checks.repository)
    # The suite's own commit, which may be older than its pull request's newest head.
    rerun = {**where, "head_sha": checks.suite.head_sha, "force": checks.action == "rerequested"}
    numbers = _listed(checks)
    # A fork's pull request is not listed in the suite: found by its head commit.
    return [Job("rerun_commit", {**rerun, "numbers": numbers or None})]


def _resolve_pressed(checks: CheckRunEvent) -> list[Job]:
    """check_run requested_action: the "Resolve conflicts" button, on that run's commit."""
    pressed = checks.requested_action
    if pressed is None or pressed.identifier != RESOLVE_ACTION:
        return []
    where = _where(checks.installation.id, checks.repository)
    numbers = _listed(checks)
    return [Job("resolve_pull", {**where, "head_sha": checks.suite.head_sha, "numbers": numbers})]


def _listed(checks: CheckEvent) -> list[int]:
    """The numbers of this repository's pull requests the suite or run lists."""
    listed = checks.suite.pull_requests or []
    return sorted({p.number for p in listed if p.of(checks.repository)})


ROUTERS: Mapping[str, Router] = {
    "installation": installations,
    "installation_repositories": installations,
    "pull_request": pull_requests,
    "push": pushes,
    "check_suite": reruns,
    "check_run": reruns,
}


def jobs_for(event: str, payload: Mapping[str, Any]) -> list[Job]:
    """Return the jobs a webhook delivery asks for; none for what trunkguard does not act on.

    Raises InvalidPayload, naming the field, for a payload without the fields its event must
    have or with one of them wrong.
    """
    router = ROUTERS.get(event)
    return [] if router is None else router(event, payload)
