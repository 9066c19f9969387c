"""Errors raised by the analyzers."""


class AnalysisError(Exception):
    """Base of every error the analyzers raise on purpose."""


class TrunkNotFoundError(AnalysisError):
    """No trunk could be found, or the one asked for does not exist."""

    def __init__(self, message: str, name: str | None = None) -> None:
        super().__init__(message)
        self.name = name
