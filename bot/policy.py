"""A repository's policy: .github/trunkguard.yml merged over config/default.yml, validated."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.errors import TrunkguardError
from config import defaults

MAX_BYTES = 64 * 1024  # a policy is a few lines; anything bigger is a mistake or an attack
MAX_ALIASES = 100  # YAML aliases can expand exponentially ("billion laughs") ...
MAX_NODES = 10_000  # ... so the document, aliases expanded, must stay this small too
# What a repository may set:
REPOSITORY_SECTIONS = ("policy", "forecast", "pulls", "report", "nudges")

Switch = Literal["fail", "warn", "off"]


class ConfigError(TrunkguardError):
    """A configuration file that cannot be used, naming the file, the key and what was wrong."""

    def __init__(self, source: str, key: str | None, problem: str) -> None:
        where = f"{source}: {key}: " if key else f"{source}: "
        super().__init__(where + problem)
        self.source = source
        self.key = key
        self.problem = problem


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class AgeLimits(_Strict):
    """How old a branch may get before a warning and before a failure, in days."""

    warn_days: int | None = Field(ge=1)
    fail_days: int | None = Field(ge=1)

    @model_validator(mode="after")
    def _warn_before_fail(self) -> AgeLimits:
        if self.warn_days is not None and self.fail_days is not None:
            if self.warn_days > self.fail_days:
                raise ValueError(
                    f"warn_days ({self.warn_days}) must not exceed fail_days ({self.fail_days})"
                )
        return self


class BehindLimits(_Strict):
    """How many trunk commits a branch may lack before a warning and a failure (None: off)."""

    warn_commits: int | None = Field(ge=1)
    fail_commits: int | None = Field(ge=1)


class ConflictPolicy(_Strict):
    """What a predicted conflict does to the check: with trunk, and with another open PR."""

    with_trunk: Switch
    between_pulls: Switch


class CommentPolicy(_Strict):
    """When the one pull request comment is written, and what happens to it once resolved."""

    when: Literal["problems", "always", "never"]
    resolved: Literal["edit", "delete"]


class Exemptions(_Strict):
    """Pull requests that get a neutral check with the reason instead of a verdict."""

    # YAML gives lists; a frozen policy keeps tuples (strict mode would refuse the list).
    labels: tuple[str, ...] = Field(strict=False)
    branches: tuple[str, ...] = Field(strict=False)
    drafts: bool


class Policy(_Strict):
    """The rules a repository's pull requests are checked against."""

    age: AgeLimits
    behind: BehindLimits
    conflicts: ConflictPolicy
    comment: CommentPolicy
    exempt: Exemptions


class Forecast(_Strict):
    """How the conflict forecast chooses the branches it pairs."""

    active_days: int = Field(ge=1)


class Pulls(_Strict):
    """How pull request heads are chosen when GitHub's list of open ones is not known."""

    recent_days: int = Field(ge=1)


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class ReportSettings(_Strict):
    """When and where the weekly divergence report is published."""

    weekday: Weekday
    time: str
    timezone: str
    issue: Literal["single", "weekly"]
    label: str = Field(min_length=1, max_length=50)
    mention_authors: bool
    stale_days: int = Field(ge=1)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("expected a timezone name such as UTC or Europe/Berlin") from None
        return value

    @field_validator("time", mode="before")
    @classmethod
    def _unquoted_time(cls, value: Any) -> Any:
        # YAML 1.1 reads an unquoted 10:30 as the base-60 number 630: read it back as a time.
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
            return f"{value // 60:02d}:{value % 60:02d}"
        return value

    @field_validator("time")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        if not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", value):
            raise ValueError("expected a 24-hour time of day such as 09:00")
        return value

    @property
    def hour_minute(self) -> tuple[int, int]:
        """The time of day as (hour, minute)."""
        hour, minute = self.time.split(":")
        return int(hour), int(minute)


class Nudges(_Strict):
    """Whether idle pull requests get a short comment, and after how many idle days."""

    enabled: bool
    idle_days: int = Field(ge=1)


class RepositoryConfig(_Strict):
    """Everything a repository's .github/trunkguard.yml may set, merged over the defaults."""

    policy: Policy
    forecast: Forecast
    pulls: Pulls
    report: ReportSettings
    nudges: Nudges


class _CountingLoader(yaml.SafeLoader):
    """A safe loader that refuses documents with more aliases than a policy could need."""

    aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise yaml.YAMLError(f"more than {MAX_ALIASES} aliases")
        return super().compose_node(parent, index)


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge `override` over `base` key by key; a mapping merges into a mapping."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _too_big(document: Any) -> bool:
    """Tell whether a document, its aliases expanded, has more than MAX_NODES values."""
    budget = MAX_NODES
    stack = [document]
    while stack:
        budget -= 1
        if budget < 0:
            return True
        value = stack.pop()
        if isinstance(value, Mapping):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def _key(location: tuple[int | str, ...]) -> str:
    key = ""
    for part in location:
        key += f"[{part}]" if isinstance(part, int) else f".{part}" if key else str(part)
    return key


def _problem(error: Mapping[str, Any]) -> str:
    """Say what a pydantic error means, with the value found, in a person's words."""
    kind, found = error["type"], error.get("input")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "missing"
    message = str(error["msg"]).removeprefix("Value error, ").replace("a valid tuple", "a list")
    return f"{message}, got {found!r}" if not isinstance(found, Mapping) else message


def load_config(text: str | bytes, source: str = ".github/trunkguard.yml") -> RepositoryConfig:
    """Validate a repository's configuration and merge it over the defaults.

    Raises ConfigError naming `source`, the key, the value and what was expected.
    """
    if len(text) > MAX_BYTES:
        raise ConfigError(source, None, f"{len(text):,} bytes; a configuration is at most 64 KiB")
    try:
        loader = _CountingLoader(text)
        try:
            document = loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as error:
        line = getattr(getattr(error, "problem_mark", None), "line", None)
        where = f" (line {line + 1})" if line is not None else ""
        detail = getattr(error, "problem", None) or str(error)
        raise ConfigError(source, None, f"not valid YAML{where}: {detail}") from None
    if document is None:
        document = {}
    if _too_big(document):
        raise ConfigError(source, None, f"more than {MAX_NODES:,} values once aliases are expanded")
    if not isinstance(document, Mapping):
        raise ConfigError(source, None, f"expected a mapping of settings, got {document!r:.40}")
    for key in document:
        if key not in REPOSITORY_SECTIONS:
            allowed = ", ".join(REPOSITORY_SECTIONS)
            raise ConfigError(source, str(key), f"unknown key (a repository may set {allowed})")
    base = {key: defaults()[key] for key in REPOSITORY_SECTIONS}
    try:
        return RepositoryConfig.model_validate(_merge(base, document))
    except ValidationError as error:
        first = error.errors()[0]
        raise ConfigError(source, _key(first["loc"]), _problem(first)) from None


def default_config() -> RepositoryConfig:
    """Return the configuration of a repository that has no .github/trunkguard.yml."""
    return load_config("", "config/default.yml")
