"""A repository's .github/trunkguard.yml, read from its mirror (no API call), and the check
run that says it cannot be used."""

from __future__ import annotations

import pygit2

from bot.markup import code_block, shortened, visible
from bot.policy import ConfigError, RepositoryConfig, default_config, load_config
from bot.review.evaluation import Evaluation
from bot.review.findings import Conclusion

CONFIG_PATH = ".github/trunkguard.yml"


def read_config(repo: pygit2.Repository, branch: str) -> RepositoryConfig:
    """Read .github/trunkguard.yml from `branch` of the mirror (no API call), over the defaults.

    Raises ConfigError for a file that cannot be used.
    """
    reference = repo.references.get(f"refs/heads/{branch}")
    if reference is None:
        return default_config()
    return config_at(repo, reference.peel(pygit2.Commit))


def config_at(repo: pygit2.Repository, commit: pygit2.Commit) -> RepositoryConfig:
    """Read .github/trunkguard.yml as `commit` has it, over the defaults (none: the defaults).

    Raises ConfigError for a file that cannot be used.
    """
    try:
        entry = commit.tree[CONFIG_PATH]
    except KeyError:
        return default_config()
    blob = repo[entry.id]
    if not isinstance(blob, pygit2.Blob):
        raise ConfigError(CONFIG_PATH, None, "is not a file")
    return load_config(blob.data, CONFIG_PATH)


def config_failure(error: ConfigError) -> Evaluation:
    """Return the failing verdict for a configuration that cannot be used, and how to fix it."""
    title = f"Invalid {CONFIG_PATH}: {error.key + ': ' if error.key else ''}{error.problem}"
    summary = (
        f"trunkguard cannot check this pull request until `{CONFIG_PATH}` on the default "
        f"branch is fixed.\n\n{code_block(str(error))}\n\nCheck a file locally with "
        f"`trunkguard config check {CONFIG_PATH}`."
    )
    return Evaluation(Conclusion.FAILURE, shortened(visible(title), 1000), summary, (), ())
