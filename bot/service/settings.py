"""The server's settings, from TRUNKGUARD_* environment variables, checked at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import TrunkguardError
from bot.github.registration import load_credentials


class SettingsError(TrunkguardError):
    """Settings the server cannot start with: one line per problem."""


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


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Read the settings from `environ`, or raise SettingsError with one line per problem."""
    values = {
        key[len("TRUNKGUARD_") :].lower(): value
        for key, value in environ.items()
        if key.startswith("TRUNKGUARD_")
    }
    try:
        settings = Settings.model_validate(values)
    except ValidationError as error:
        lines = [
            f"TRUNKGUARD_{'_'.join(str(p) for p in e['loc']).upper()}: "
            f"{str(e['msg']).removeprefix('Value error, ')}"
            for e in error.errors()
        ]
        raise SettingsError("\n".join(lines)) from None
    problems = []
    given = (settings.app_id, settings.private_key or settings.private_key_path)
    if any(v is not None for v in given) and settings.webhook_secret is None:
        problems.append("TRUNKGUARD_WEBHOOK_SECRET: missing (the secret set on the GitHub App)")
    if settings.webhook_secret is not None and settings.app_id is None:
        problems.append("TRUNKGUARD_APP_ID: missing (the App's id, on its settings page)")
    if settings.webhook_secret is not None and given[1] is None:
        problems.append(
            "TRUNKGUARD_PRIVATE_KEY_PATH: missing (or TRUNKGUARD_PRIVATE_KEY: the App's key)"
        )
    if settings.private_key_path is not None and not settings.private_key_path.is_file():
        problems.append(f"TRUNKGUARD_PRIVATE_KEY_PATH: no such file: {settings.private_key_path}")
    if problems:
        raise SettingsError("\n".join(problems))
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
    return AppCredentials(saved.app_id, saved.private_key, saved.webhook_secret)
