"""Webhook routing: which jobs a GitHub delivery asks for, from its event and payload; a small
router per concern (installations, pull requests, pushes, "Re-run"s), joined in ROUTERS."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.service.job import Job

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


def _names(repositories: Any) -> list[str]:
    return [str(r["full_name"]) for r in repositories or [] if "full_name" in r]


def _numbers(pulls: Any) -> list[int]:
    return sorted({int(p["number"]) for p in pulls or []})


def _where(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The installation and repository a delivery is about."""
    return {
        "installation": int(payload["installation"]["id"]),
        "repository": str(payload["repository"]["full_name"]),
    }


def installations(event: str, payload: Mapping[str, Any]) -> list[Job]:
    """An installation created, deleted, suspended, or given or taken repositories."""
    installation = int(payload["installation"]["id"])
    action = payload.get("action")
    if event == "installation":
        if action in ("created", "new_permissions_accepted", "unsuspend"):
            names = _names(payload.get("repositories"))
            return [Job("register_repositories", {"installation": installation, "added": names})]
        if action in ("deleted", "suspend"):
            return [Job("forget_repositories", {"installation": installation, "removed": None})]
        return []
    jobs = []
    if payload.get("repositories_added"):
        added = _names(payload["repositories_added"])
        jobs.append(Job("register_repositories", {"installation": installation, "added": added}))
    if payload.get("repositories_removed"):
        removed = _names(payload["repositories_removed"])
        jobs.append(Job("forget_repositories", {"installation": installation, "removed": removed}))
    return jobs


def pull_requests(event: str, payload: Mapping[str, Any]) -> list[Job]:
    """A pull request changed in a way that can change its verdict, or closed."""
    where = _where(payload)
    action = payload.get("action")
    pull = payload["pull_request"]
    number = int(pull["number"])
    if action in REVIEWED_ACTIONS or (action == "edited" and "base" in payload["changes"]):
        return [Job("evaluate_pull", {**where, "number": number})]
    if action == "closed":
        merged = bool(pull.get("merged"))
        closed = {
            "number": number,
            "head_ref": str(pull["head"]["ref"]),
            "head_sha": str(pull["head"]["sha"]),
            "merge_commit": str(pull["merge_commit_sha"]) if merged else None,
        }
        return [Job("pull_closed", {**where, **closed})]
    return []


def pushes(event: str, payload: Mapping[str, Any]) -> list[Job]:
    """Trunk moved: new conflicts may appear in every open pull request."""
    where = _where(payload)
    trunk = f"refs/heads/{payload['repository']['default_branch']}"
    if payload["ref"] != trunk or payload.get("deleted"):
        return []
    return [Job("evaluate_open_pulls", where)]


def reruns(event: str, payload: Mapping[str, Any]) -> list[Job]:
    """check_suite requested/rerequested, check_run rerequested: the "Re-run" buttons."""
    where = _where(payload)
    action = payload.get("action")
    if event == "check_suite" and action in ("requested", "rerequested"):
        suite = payload["check_suite"]
    elif event == "check_run" and action == "rerequested":
        suite = payload["check_run"]
    else:
        return []
    numbers = _numbers(suite.get("pull_requests"))
    rerun = {**where, "force": action == "rerequested"}
    if numbers:
        return [Job("evaluate_open_pulls", {**rerun, "numbers": numbers})]
    # A fork's pull request is not listed in the suite: find it by its head commit.
    return [Job("evaluate_open_pulls", {**rerun, "heads": [str(suite["head_sha"])]})]


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

    Raises KeyError, TypeError or ValueError for a payload without the fields its event must
    have.
    """
    router = ROUTERS.get(event)
    return [] if router is None else router(event, payload)
