"""Errors the bot raises on purpose; the CLI turns each into one line and an exit code."""


class TrunkguardError(Exception):
    """Base of every error trunkguard reports to a person instead of a traceback."""

    def lines(self) -> list[str]:
        """What to tell a person, a line each: one, unless the error lists several problems."""
        return [str(self)]


class RepositoryError(TrunkguardError):
    """A path or URL that is not a repository trunkguard can read."""


class Unavailable(TrunkguardError):
    """A service the work needs (GitHub, the database) failed in a way that may pass: the
    work is worth trying again, after `retry_after` seconds when the service said how long
    (None: the caller's own backoff)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
