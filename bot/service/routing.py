"""Webhook routing: which jobs a GitHub delivery asks for, from its event and payload."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.service.jobs import Job

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


def jobs_for(event: str, payload: Mapping[str, Any]) -> list[Job]:
    """Return the jobs a webhook delivery asks for; none for what trunkguard does not act on.

    Raises KeyError, TypeError or ValueError for a payload without the fields its event must
    have.
    """
    action = payload.get("action")
    if event == "installation":
        installation = int(payload["installation"]["id"])
        if action in ("created", "new_permissions_accepted", "unsuspend"):
            names = _names(payload.get("repositories"))
            return [Job("register_repositories", {"installation": installation, "added": names})]
        if action in ("deleted", "suspend"):
            return [Job("forget_repositories", {"installation": installation, "removed": None})]
        return []
    if event == "installation_repositories":
        installation = int(payload["installation"]["id"])
        jobs = []
        if payload.get("repositories_added"):
            added = _names(payload["repositories_added"])
            jobs.append(
                Job("register_repositories", {"installation": installation, "added": added})
            )
        if payload.get("repositories_removed"):
            removed = _names(payload["repositories_removed"])
            jobs.append(
                Job("forget_repositories", {"installation": installation, "removed": removed})
            )
        return jobs
    if event not in ("pull_request", "push", "check_suite", "check_run"):
        return []
    where = {
        "installation": int(payload["installation"]["id"]),
        "repository": str(payload["repository"]["full_name"]),
    }
    if event == "pull_request":
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
    if event == "push":
        trunk = f"refs/heads/{payload['repository']['default_branch']}"
        if payload["ref"] != trunk or payload.get("deleted"):
            return []
        return [Job("evaluate_open_pulls", where)]  # trunk moved: new conflicts may appear
    # check_suite requested/rerequested, check_run rerequested: the "Re-run" buttons.
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
