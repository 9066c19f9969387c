"""A repository's policy: .github/trunkguard.yml merged over config/default.yml, validated."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal
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

if TYPE_CHECKING:
    from analyzers.refs import BranchRule

MAX_BYTES = 64 * 1024  # a policy is a few lines; anything bigger is a mistake or an attack
MAX_ALIASES = 100  # YAML aliases can expand exponentially ("billion laughs") ...
MAX_NODES = 10_000  # ... so the document, aliases expanded, must stay this small too
MAX_DEPTH = 20  # collections within collections: the defaults need 4; PyYAML's composer recurses
# What a repository may set:
REPOSITORY_SECTIONS = ("policy", "branches", "forecast", "pulls", "report", "nudges", "resolve")
# What only the server's config/default.yml sets: checked in any file, ignored in a repository's
# (a copy of the defaults is a natural start for .github/trunkguard.yml).
SERVER_SECTIONS = ("store",)

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
    """What a predicted conflict does to the check: with trunk, and with another open PR; one
    the resolution engine resolves is a warning at most (`resolvable`)."""

    with_trunk: Switch
    between_pulls: Switch
    resolvable: Literal["warn", "off"] = "warn"


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


class BranchKinds(_Strict):
    """Which branches are release lines (shown apart, never held to feature work's limits) and
    which are left out."""

    release: tuple[str, ...] = Field(strict=False)
    ignore: tuple[str, ...] = Field(strict=False)
    tagged: bool

    @field_validator("release", "ignore")
    @classmethod
    def _usable_globs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from analyzers.refs import check_glob

        for pattern in value:
            problem = check_glob(pattern)
            if problem:
                raise ValueError(f"bad glob {pattern!r}: {problem}")
        return value

    def rule(self) -> BranchRule:
        """Return these settings as the analyzers take them."""
        from analyzers.refs import BranchRule

        return BranchRule(self.release, self.ignore, self.tagged)


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


class Resolve(_Strict):
    """Whether a pull request whose every conflict a machine resolves gets the button, and
    which rules beyond the shipped ones this repository trusts (its own evidence: trunkguard
    resolve-history --rule NAME on its history)."""

    offer: bool
    rules: tuple[str, ...] = Field(strict=False)

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from analyzers.resolve.engine import RULES

        unknown = [name for name in value if name not in RULES]
        if unknown:
            raise ValueError(f"unknown rule {', '.join(unknown)} (rules: {', '.join(RULES)})")
        return value

    @property
    def trusted(self) -> tuple[str, ...]:
        """The rules the engine runs for this repository: the shipped ones, then its own, in
        the engine's order (safest first)."""
        from analyzers.resolve.engine import RULES, SHIPPED

        return tuple(name for name in RULES if name in SHIPPED or name in self.rules)


class RepositoryConfig(_Strict):
    """Everything a repository's .github/trunkguard.yml may set, merged over the defaults."""

    policy: Policy
    branches: BranchKinds
    forecast: Forecast
    pulls: Pulls
    report: ReportSettings
    nudges: Nudges
    resolve: Resolve


class StoreSettings(_Strict):
    """How long the store keeps every scan before thinning to one a week (the server's)."""

    keep_daily_days: int = Field(ge=1)


class ServerSettings(_Strict):
    """The sections of config/default.yml that the server alone sets."""

    store: StoreSettings


class _Refused(yaml.YAMLError):
    """A document that is valid YAML but not one trunkguard reads: too deep, a key set twice."""

    def __init__(self, key: str | None, problem: str) -> None:
        super().__init__(problem)
        self.key = key
        self.problem = problem


class _GuardedLoader(yaml.SafeLoader):
    """A safe loader that refuses, while composing, documents with more aliases or deeper
    nesting than a policy could need (before PyYAML's recursive composer runs out of stack)
    and mappings that set a key twice (PyYAML would keep the last), and that says a value
    its tag cannot take as a YAML error."""

    def __init__(self, stream: str | bytes) -> None:
        super().__init__(stream)
        self.aliases = 0
        self.path: list[int | str | None] = []  # where the collection being composed sits

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _Refused(None, f"more than {MAX_ALIASES} aliases")
        if not self.check_event(yaml.SequenceStartEvent, yaml.MappingStartEvent):
            return super().compose_node(parent, index)
        # The depth is checked on the start event, so the limit trips MAX_DEPTH levels down
        # however deep the document goes.
        if len(self.path) >= MAX_DEPTH:
            line = self.peek_event().start_mark.line + 1  # type: ignore[no-untyped-call]
            raise _Refused(None, f"more than {MAX_DEPTH} levels of nesting (line {line})")
        self.path.append(index.value if isinstance(index, yaml.ScalarNode) else index)
        try:
            return super().compose_node(parent, index)
        finally:
            self.path.pop()

    def compose_mapping_node(self, anchor: Any) -> Any:
        node = super().compose_mapping_node(anchor)
        first: dict[tuple[str, str], int] = {}
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                continue  # a merge key (<<) may bring keys set again here: YAML says these win
            line = key.start_mark.line + 1
            if (key.tag, key.value) in first:
                where = _key(tuple(p for p in self.path if p is not None) + (key.value,))
                seen = first[key.tag, key.value]
                lines = f"line {line}" if seen == line else f"lines {seen} and {line}"
                raise _Refused(where, f"set twice ({lines})")
            first[key.tag, key.value] = line
        return node

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ArithmeticError, AttributeError, LookupError, TypeError, ValueError):
            # PyYAML's constructors raise these for a value its tag cannot take (`!!int x`,
            # the date 2024-13-45, an int of 5,000 digits).
            tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
            value = _shown(node.value) if isinstance(node, yaml.ScalarNode) else "this"
            raise yaml.constructor.ConstructorError(
                None, None, f"{value} is not a valid {tag}", node.start_mark
            ) from None


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge `override` over `base` key by key; a mapping merges into a mapping."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _too_big(document: Any) -> str | None:
    """Say how a document, its aliases expanded, is too big or too deep (None: it is not).

    Walked without recursion: an alias may nest a whole anchored collection one level down.
    """
    budget = MAX_NODES
    stack = [(document, 1)]
    while stack:
        budget -= 1
        if budget < 0:
            return f"more than {MAX_NODES:,} values once aliases are expanded"
        value, depth = stack.pop()
        if isinstance(value, Mapping | list) and depth > MAX_DEPTH:
            return f"more than {MAX_DEPTH} levels of nesting once aliases are expanded"
        if isinstance(value, Mapping):
            stack.extend((key, depth + 1) for key in value.keys())
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
    return None


def _shown(value: Any, most: int = 60) -> str:
    """Return the repr of a value found in a file, its end cut off if long."""
    shown = repr(value)
    return shown if len(shown) <= most else shown[: most - 1] + "…"


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
    return f"{message}, got {_shown(found)}" if not isinstance(found, Mapping) else message


def load_config(text: str | bytes, source: str = ".github/trunkguard.yml") -> RepositoryConfig:
    """Validate a repository's configuration and merge it over the defaults.

    Raises ConfigError naming `source`, the key, the value and what was expected.
    """
    if len(text) > MAX_BYTES:
        raise ConfigError(source, None, f"{len(text):,} bytes; a configuration is at most 64 KiB")
    try:
        loader = _GuardedLoader(text)
        try:
            document = loader.get_single_data()
        finally:
            loader.dispose()
    except _Refused as refused:
        raise ConfigError(source, refused.key, refused.problem) from None
    except yaml.YAMLError as error:
        line = getattr(getattr(error, "problem_mark", None), "line", None)
        where = f" (line {line + 1})" if line is not None else ""
        detail = getattr(error, "problem", None) or str(error)
        raise ConfigError(source, None, f"not valid YAML{where}: {detail}") from None
    if document is None:
        document = {}
    too_big = _too_big(document)
    if too_big is not None:
        raise ConfigError(source, None, too_big)
    if not isinstance(document, Mapping):
        raise ConfigError(source, None, f"expected a mapping of settings, got {document!r:.40}")
    for key in document:
        if key not in REPOSITORY_SECTIONS and key not in SERVER_SECTIONS:
            allowed = ", ".join(REPOSITORY_SECTIONS)
            raise ConfigError(source, str(key), f"unknown key (a repository may set {allowed})")
    base = {key: defaults()[key] for key in REPOSITORY_SECTIONS}
    server = {key: defaults()[key] for key in SERVER_SECTIONS}
    try:
        ServerSettings.model_validate(
            _merge(server, {k: v for k, v in document.items() if k in SERVER_SECTIONS})
        )
        return RepositoryConfig.model_validate(
            _merge(base, {k: v for k, v in document.items() if k in REPOSITORY_SECTIONS})
        )
    except ValidationError as error:
        first = error.errors()[0]
        raise ConfigError(source, _key(first["loc"]), _problem(first)) from None


def server_sections(text: str | bytes) -> tuple[str, ...]:
    """Return the server's sections that a configuration load_config accepted sets."""
    document = yaml.safe_load(text)  # load_config has refused what is unsafe to read
    return tuple(k for k in SERVER_SECTIONS if isinstance(document, Mapping) and k in document)


def default_config() -> RepositoryConfig:
    """Return the configuration of a repository that has no .github/trunkguard.yml."""
    return load_config("", "config/default.yml")
