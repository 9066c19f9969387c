"""Errors raised by the analyzers."""


class AnalysisError(Exception):
    """Base of every error the analyzers raise on purpose."""


class TrunkNotFoundError(AnalysisError):
    """No trunk could be found, or the one asked for does not exist."""

    def __init__(self, message: str, name: str | None = None) -> None:
        super().__init__(message)
        self.name = name


class MergeError(AnalysisError):
    """A trial merge could not be done."""


class WorkerError(Exception):
    """An unexpected error in a worker process, carried back by its type name and message."""

    def __init__(self, type_name: str, message: str) -> None:
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name
        self.message = message


class WorkerDiedError(AnalysisError):
    """A worker process died (a signal, or out of memory) and its work could not be redone."""


class MissingObjectError(AnalysisError):
    """An object the analysis needs is not in the repository (partial clone, damaged mirror)."""

    def __init__(self, message: str, oid: str | None = None) -> None:
        super().__init__(message)
        self.oid = oid
