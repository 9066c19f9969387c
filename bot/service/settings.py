"""The server's settings, from TRUNKGUARD_* environment variables, checked at start-up."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import TrunkguardError
from bot.github.app import key_problem
from bot.github.registration import load_credentials
from bot.urls import mask_url

# A host name or an IPv4 address, or an IPv6 address in brackets (urlsplit strips those).
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*")


class SettingsError(TrunkguardError):
    """Settings the server cannot start with: one line per problem."""

    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems

    def lines(self) -> list[str]:
        """Each problem on a line of its own (a newline inside one is shown, not obeyed)."""
        return list(self.problems)


class Settings(BaseSettings):
    """What `trunkguard serve` needs; secrets are SecretStr, so they never print."""

    model_config = SettingsConfigDict(env_prefix="TRUNKGUARD_", extra="ignore", frozen=True)

    app_id: int | None = Field(default=None, ge=1)
    private_key_path: Path | None = None
    private_key: SecretStr | None = None
    webhook_secret: SecretStr | None = None
    database_url: str | None = None
    broker_url: str | None = None  # redis://host:6379/0: jobs go to Celery workers
    visibility_timeout: int = Field(default=300, ge=10)  # s before a dead worker's job is redone
    mirror_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("trunkguard")) / "mirrors"
    )
    report_dir: Path | None = None  # weekly reports as HTML pages, one folder per repository
    github_api_url: str = "https://api.github.com"
    public_url: str | None = None  # the server's address as GitHub reaches it (setup page)
    credentials_file: Path = Field(
        default_factory=lambda: (
            Path(platformdirs.user_data_dir("trunkguard")) / "app-credentials.json"
        )
    )

    @field_validator("github_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL, e.g. https://ghe.example/api/v3")
        return value.rstrip("/")

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is not None and not _is_public_url(value):
            raise ValueError(f"{mask_url(value)!r} is not an http(s)://host[:port][/path] URL")
        return value.rstrip("/") if value else value

    @field_validator("broker_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://")):
            raise ValueError("must be a Redis URL, e.g. redis://127.0.0.1:6379/0")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _not_empty(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            raise ValueError("is empty")
        return value

    def private_key_text(self) -> str | None:
        """Return the App's private key, from TRUNKGUARD_PRIVATE_KEY or the file named."""
        if self.private_key is not None:
            return self.private_key.get_secret_value()
        if self.private_key_path is not None:
            return self.private_key_path.read_text(encoding="utf-8")
        return None


def _is_public_url(url: str) -> bool:
    """Tell whether `url` is http(s)://host[:port][/path]: no credentials, query or fragment."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  raises ValueError for a port that is not 0-65535
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and parts.hostname is not None
        and _HOST.fullmatch(parts.hostname) is not None
        and "@" not in parts.netloc
        and not (parts.query or parts.fragment or url.endswith(("?", "#")))
        and url.isprintable()
        and " " not in url
    )


_APP_SETTINGS = {
    "app_id": "TRUNKGUARD_APP_ID: missing (the App's id, on its settings page)",
    "private_key": (
        "TRUNKGUARD_PRIVATE_KEY_PATH: missing (or TRUNKGUARD_PRIVATE_KEY: the App's key)"
    ),
    "webhook_secret": "TRUNKGUARD_WEBHOOK_SECRET: missing (the secret set on the GitHub App)",
}


def _missing(values: Mapping[str, str]) -> list[str]:
    """Name each of the App's three settings that is missing once any of them is given."""
    given = {name: name in values for name in _APP_SETTINGS}
    given["private_key"] = "private_key" in values or "private_key_path" in values
    if not any(given.values()):
        return []
    return [line for name, line in _APP_SETTINGS.items() if not given[name]]


def _key_problems(values: Mapping[str, str]) -> list[str]:
    """Check the App's private key now: a key that cannot sign would fail every job later."""
    if "private_key" in values:
        problem = key_problem(values["private_key"])
        return [f"TRUNKGUARD_PRIVATE_KEY: {problem}"] if problem else []
    if "private_key_path" not in values:
        return []
    path = Path(values["private_key_path"])
    if not path.exists():
        return [f"TRUNKGUARD_PRIVATE_KEY_PATH: no such file: {path}"]
    if not path.is_file():
        return [f"TRUNKGUARD_PRIVATE_KEY_PATH: not a file: {path}"]
    try:
        problem = key_problem(path.read_text(encoding="utf-8"))
    except OSError as error:
        return [f"TRUNKGUARD_PRIVATE_KEY_PATH: cannot read {path}: {error.strerror}"]
    except UnicodeDecodeError:
        problem = key_problem("")
    return [f"TRUNKGUARD_PRIVATE_KEY_PATH: {path}: {problem}"] if problem else []


def load_settings(
    environ: Mapping[str, str], *, broker: bool = False, app: bool = False
) -> Settings:
    """Read and check the settings in `environ` (with `broker`: a broker; with `app`: the App's
    credentials, from the environment or the setup page's file), or raise SettingsError
    naming every problem, one line each."""
    values = {
        key[len("TRUNKGUARD_") :].lower(): value
        for key, value in environ.items()
        if key.startswith("TRUNKGUARD_")
    }
    problems: list[str] = []
    settings = None
    try:
        settings = Settings.model_validate(values)
    except ValidationError as error:
        problems += [
            f"TRUNKGUARD_{'_'.join(str(p) for p in e['loc']).upper()}: "
            f"{str(e['msg']).removeprefix('Value error, ')}"
            for e in error.errors()
        ]
    problems += _missing(values) + _key_problems(values)
    if broker and not values.get("broker_url"):
        problems.append(
            "TRUNKGUARD_BROKER_URL is not set: a worker takes its jobs from Redis "
            "(e.g. redis://127.0.0.1:6379/0); without one, `trunkguard serve` runs them itself"
        )
    given = any(name in values for name in (*_APP_SETTINGS, "private_key_path"))
    if app and settings is not None and not given and not settings.credentials_file.exists():
        problems.append(
            "no GitHub App credentials: set TRUNKGUARD_APP_ID, TRUNKGUARD_PRIVATE_KEY_PATH "
            "and TRUNKGUARD_WEBHOOK_SECRET, or register the App with `trunkguard serve`"
        )
    if problems or settings is None:
        raise SettingsError(*problems)
    return settings


@dataclass(frozen=True)
class AppCredentials:
    """What the server needs to act as the App; repr never shows the key or the secret."""

    app_id: int
    private_key: str = field(repr=False)
    webhook_secret: str = field(repr=False)


def app_credentials(settings: Settings) -> AppCredentials | None:
    """The App's credentials: from the environment, else from the file the setup page wrote;
    None when there are none yet (the server then offers its setup page)."""
    key = settings.private_key_text()
    if settings.app_id is not None and key is not None and settings.webhook_secret is not None:
        return AppCredentials(settings.app_id, key, settings.webhook_secret.get_secret_value())
    saved = load_credentials(settings.credentials_file)
    if saved is None:
        return None
    problem = key_problem(saved.private_key)
    if problem:
        raise SettingsError(f"{settings.credentials_file}: the App's private key: {problem}")
    return AppCredentials(saved.app_id, saved.private_key, saved.webhook_secret)
