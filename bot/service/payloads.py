"""Webhook payloads: exactly the fields trunkguard uses from each event, checked (types and
GitHub's own limits) before anything is queued; anything else in a payload is ignored."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, PlainValidator, ValidationError
from pydantic_core import PydanticCustomError

from bot.errors import TrunkguardError

# GitHub's limits: a login is 1-39 of [A-Za-z0-9-], not starting with '-'; a repository name
# 1-100 of [A-Za-z0-9._-], not '.' or '..' (which would resolve away in an API path).
_FULL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}/(?!\.\.?\Z)[A-Za-z0-9._-]{1,100}")
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1, or SHA-256 repositories
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # git refuses them in ref names (check-ref-format)
MAX_REF = 1024
MAX_ID = 2**63 - 1  # the store keeps ids and numbers as 64-bit integers
# pydantic's own error types, said the way the rest of trunkguard says things
_SAID = {
    "missing": "missing",
    "model_type": "not an object",
    "model_attributes_type": "not an object",
    "list_type": "not a list",
}


class InvalidPayload(TrunkguardError):
    """A verified delivery whose payload lacks a field trunkguard uses, or has it wrong; the
    message is one line naming the field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


def _check(kind: str, problem: str, test: Callable[[Any], bool]) -> PlainValidator:
    """A validator that takes a value as it is when `test` passes (no coercion)."""

    def validate(value: Any) -> Any:
        if not test(value):
            raise PydanticCustomError(kind, problem)
        return value

    return PlainValidator(validate)


def _full_name(value: Any) -> bool:
    return isinstance(value, str) and _FULL_NAME.fullmatch(value) is not None


def _positive(value: Any) -> bool:
    # type(), not isinstance: JSON's true is not installation 1
    return type(value) is int and 0 < value <= MAX_ID


def _ref(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_REF and not _CONTROL.search(value)


FullName = Annotated[str, _check("full_name", "not an owner/name", _full_name)]
PositiveInt = Annotated[int, _check("positive_int", "not a positive integer", _positive)]
Sha = Annotated[
    str, _check("sha", "not a commit id", lambda v: isinstance(v, str) and bool(_SHA.fullmatch(v)))
]
Ref = Annotated[str, _check("ref", "not a git ref name", _ref)]
Action = Annotated[
    str, _check("action", "not an action name", lambda v: isinstance(v, str) and len(v) <= 64)
]
Flag = Annotated[bool, _check("flag", "not true or false", lambda v: type(v) is bool)]


class _Fields(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Installation(_Fields):
    id: PositiveInt


class Repository(_Fields):
    full_name: FullName
    id: PositiveInt | None = None


class Listed(_Fields):
    """An entry of an installation's repository list; one without a name is skipped."""

    full_name: FullName | None = None


class InstallationEvent(_Fields):
    """installation and installation_repositories."""

    action: Action | None = None
    installation: Installation
    repositories: list[Listed] | None = None
    repositories_added: list[Listed] | None = None
    repositories_removed: list[Listed] | None = None


class Head(_Fields):
    ref: Ref
    sha: Sha


class Pull(_Fields):
    number: PositiveInt
    merged: Flag | None = None
    merge_commit_sha: Sha | None = None
    head: Head | None = None  # needed when closed (see routing)


class Changes(_Fields):
    base: Any = None  # only whether the base changed counts


class PullRequestEvent(_Fields):
    action: Action
    installation: Installation
    repository: Repository
    pull_request: Pull
    changes: Changes | None = None


class PushRepository(Repository):
    default_branch: Ref


class PushEvent(_Fields):
    ref: Ref
    deleted: Flag = False
    installation: Installation
    repository: PushRepository


class RepositoryId(_Fields):
    id: PositiveInt | None = None


class PullBase(_Fields):
    repo: RepositoryId | None = None


class PullNumber(_Fields):
    """A pull request a check suite or run lists: its number, and whose it is (GitHub lists
    those of other repositories too, e.g. the same commit proposed to an upstream)."""

    number: PositiveInt
    base: PullBase | None = None

    def of(self, repository: Repository) -> bool:
        """Whether it is `repository`'s pull request (when either id is missing: assumed)."""
        base = None if self.base is None or self.base.repo is None else self.base.repo.id
        return base is None or repository.id is None or base == repository.id


class Suite(_Fields):
    """A check suite, or a check run: its head commit and the pull requests listed."""

    head_sha: Sha
    pull_requests: list[PullNumber] | None = None


class CheckEvent(_Fields):
    """check_suite and check_run: both name a suite (a check run's own fields stand for it)."""

    action: Action
    installation: Installation
    repository: Repository

    @property
    def suite(self) -> Suite:
        """The suite, or the check run, the delivery is about."""
        raise NotImplementedError


class CheckSuiteEvent(CheckEvent):
    check_suite: Suite

    @property
    def suite(self) -> Suite:
        return self.check_suite


class RequestedAction(_Fields):
    """The button pressed on a check run: the identifier trunkguard gave it."""

    identifier: Action


class CheckRunEvent(CheckEvent):
    check_run: Suite
    requested_action: RequestedAction | None = None

    @property
    def suite(self) -> Suite:
        return self.check_run


M = TypeVar("M", bound=_Fields)


def _where(location: tuple[int | str, ...]) -> str:
    """Write an error's location as a path: repositories[0].full_name."""
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path or "payload"


def parse(model: type[M], payload: Mapping[str, Any]) -> M:
    """Return the fields `model` names from `payload`, checked; raise InvalidPayload naming
    the first field that is missing or wrong."""
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        first = error.errors(include_url=False, include_input=False)[0]
        raise InvalidPayload(_where(first["loc"]), _SAID.get(first["type"], first["msg"])) from None
