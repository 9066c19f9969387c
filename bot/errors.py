"""Errors the bot raises on purpose; the CLI turns each into one line and an exit code."""


class TrunkguardError(Exception):
    """Base of every error trunkguard reports to a person instead of a traceback."""


class RepositoryError(TrunkguardError):
    """A path or URL that is not a repository trunkguard can read."""
