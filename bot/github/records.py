"""What the GitHub client hands out and takes in, as plain records (no PyGithub: cheap to
import for code that only passes them around)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RepositoryInfo:
    """What the App needs to know of a repository before it can mirror it."""

    full_name: str
    clone_url: str
    default_branch: str


@dataclass(frozen=True)
class OpenPull:
    """An open pull request as GitHub lists it."""

    number: int
    author: str
    head_sha: str
    head_ref: str
    base_ref: str
    draft: bool
    labels: tuple[str, ...]
    # where its head is: None in this repository, else the fork's name ("" once deleted)
    fork: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OpenPull:
        """Read an open pull request from its JSON in the pulls list."""
        return cls(
            int(data["number"]),
            str((data.get("user") or {}).get("login") or "ghost"),
            str(data["head"]["sha"]),
            str(data["head"]["ref"]),
            str(data["base"]["ref"]),
            bool(data.get("draft")),
            tuple(str(label["name"]) for label in data.get("labels") or ()),
            _fork(data),
        )


@dataclass(frozen=True)
class CheckAnnotation:
    """A line range a check run points at (GitHub's annotation object)."""

    path: str
    start_line: int
    end_line: int
    annotation_level: str  # "notice", "warning" or "failure"
    message: str


@dataclass(frozen=True)
class ShownRun:
    """A check run GitHub shows on a commit: its id, our external id, how many annotations."""

    id: int
    external_id: str | None
    annotations: int


@dataclass(frozen=True)
class PullTarget:
    """Where a pull request's head lives, for pushing to it: its repository and branch, its
    commit, and whether a fork lets the base repository's maintainers push there."""

    number: int
    head_ref: str
    head_sha: str
    base_ref: str
    maintainer_can_modify: bool
    fork: str | None = None  # as OpenPull.fork

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PullTarget:
        """Read it from a pull request's JSON (GET /repos/{owner}/{repo}/pulls/{number})."""
        head = data["head"]
        return cls(
            int(data["number"]),
            str(head["ref"]),
            str(head["sha"]),
            str(data["base"]["ref"]),
            bool(data.get("maintainer_can_modify")),
            _fork(data),
        )


@dataclass(frozen=True)
class CheckAction:
    """A button on a completed check run; pressed, GitHub sends `check_run.requested_action`
    with its identifier (GitHub's limits: label 20, description 40, identifier 20 characters)."""

    label: str
    description: str
    identifier: str


@dataclass(frozen=True)
class CheckRun:
    """A completed check run to post: its fields as GitHub's checks API names them."""

    name: str
    head_sha: str
    conclusion: str
    title: str
    summary: str
    text: str | None = None
    annotations: tuple[CheckAnnotation, ...] = ()
    external_id: str | None = None
    actions: tuple[CheckAction, ...] = ()

    def actions_json(self) -> list[dict[str, str]]:
        """Return the run's buttons as the checks API takes them (an empty list removes them)."""
        return [
            {"label": a.label, "description": a.description, "identifier": a.identifier}
            for a in self.actions
        ]

    def output(self) -> dict[str, Any]:
        """Return the run's `output` object, as the checks API takes it."""
        output: dict[str, Any] = {"title": self.title, "summary": self.summary}
        if self.text is not None:
            output["text"] = self.text
        if self.annotations:
            output["annotations"] = [
                {
                    "path": a.path,
                    "start_line": a.start_line,
                    "end_line": a.end_line,
                    "annotation_level": a.annotation_level,
                    "message": a.message,
                }
                for a in self.annotations
            ]
        return output


def _fork(data: dict[str, Any]) -> str | None:
    """Where a pull request's head is: None in the base repository, else the fork's full name,
    "" when the fork is deleted (GitHub's `head.repo` is null). Told by repository id, which a
    rename or a name's case does not change."""
    head, base = data["head"].get("repo"), (data.get("base") or {}).get("repo")
    if not head:
        return ""
    if base and head.get("id") is not None and head.get("id") == base.get("id"):
        return None
    return str(head.get("full_name") or "")
