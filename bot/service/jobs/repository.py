"""What several jobs read of a repository: its config on trunk, which pull request heads count."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import pygit2

from analyzers.refs import PullHeads, PullRule
from bot.policy import ConfigError, RepositoryConfig, default_config
from bot.review.repo_config import read_config
from config import defaults

logger = logging.getLogger(__name__)


def repository_config(repo: pygit2.Repository, branch: str, repository: str) -> RepositoryConfig:
    """The repository's config; the defaults (and a log line) when its file is unusable, since
    scheduled work must go on (its pull requests' checks say what is wrong)."""
    try:
        return read_config(repo, branch)
    except ConfigError as error:
        logger.warning(
            "config unusable, defaults used: %s", error, extra={"repository": repository}
        )
        return default_config()


def open_pulls_rule(numbers: Iterable[int]) -> PullRule:
    """Count the heads of these open pull requests (GitHub's list), no others."""
    return PullRule(PullHeads.NONE, defaults()["pulls"]["recent_days"], frozenset(numbers))
