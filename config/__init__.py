"""Defaults as data: policy defaults and the GitHub App manifest."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml


def _load(name: str) -> dict[str, Any]:
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    loaded = yaml.safe_load(text)
    assert isinstance(loaded, dict)
    return loaded


@cache
def defaults() -> dict[str, Any]:
    """Return trunkguard's defaults from config/default.yml."""
    return _load("default.yml")


@cache
def app_manifest() -> dict[str, Any]:
    """Return the GitHub App manifest from config/app.yml."""
    return _load("app.yml")
