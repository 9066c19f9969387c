"""Log lines on stderr: one set-up for every entry point, as text or as JSON objects.

A record's `extra=` fields are part of its line: `key=value` pairs after the message in text,
keys of the object in JSON.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bot.markup import visible

FORMATS = ("text", "json")
FORMAT_VARIABLE = "TRUNKGUARD_LOG_FORMAT"
# Every attribute a LogRecord has without `extra=`; the others are the caller's fields.
_STANDARD = frozenset(
    {
        *logging.LogRecord("", 0, "", 0, "", (), None).__dict__,
        "message",
        "asctime",
        "taskName",
        "color_message",  # uvicorn's copy of the message with terminal colours
    }
)


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """Return the fields a record was given with `extra=`, in the order given."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD}


def _time(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _value(value: Any) -> str:
    """Write a field's value so that the line stays one line and splits back into pairs."""
    if isinstance(value, str):
        plain = value and not any(c.isspace() or c in '"=\\' for c in value)
        return visible(value) if plain else visible(json.dumps(value, ensure_ascii=False))
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)
    return json.dumps(value, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message key=value ...`, then the traceback if there is one."""

    def format(self, record: logging.LogRecord) -> str:
        # Names from git or a payload reach messages: the line stays one line, nothing acts.
        message = visible(record.getMessage())
        line = f"{_time(record)} {record.levelname} {record.name}: {message}"
        pairs = " ".join(f"{key}={_value(value)}" for key, value in fields(record).items())
        text = f"{line} {pairs}" if pairs else line
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            text += "\n" + self.formatStack(record.stack_info)
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the extra fields, exc_info."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in fields(record).items():
            document.setdefault(key, value)
        if record.exc_info:
            document["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            document["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(document, ensure_ascii=False, default=str)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """The one handler `configure` installs: stderr as it was then, so that a library that
    later swaps sys.stderr for a logger of its own (Celery's worker does) cannot loop back."""


def format_from(environ: Mapping[str, str]) -> str:
    """Return the log format the environment asks for (TRUNKGUARD_LOG_FORMAT), else text."""
    chosen = environ.get(FORMAT_VARIABLE, "").strip().lower()
    return chosen if chosen in FORMATS else "text"


def _ours() -> logging.Handler | None:
    return next((h for h in logging.getLogger().handlers if isinstance(h, _Stderr)), None)


def configure(log_format: str | None = None, level: int = logging.WARNING) -> logging.Handler:
    """Send records at `level` and above to stderr, one line each, as `log_format` ("text"
    or "json"; default: TRUNKGUARD_LOG_FORMAT, else text). Called again, change the one
    handler installed instead of adding another."""
    handler = _ours()
    if handler is None:
        handler = _Stderr(sys.stderr)
        logging.getLogger().addHandler(handler)
    _set(handler, log_format or format_from(os.environ), level)
    return handler


def adjust(log_format: str | None = None, level: int | None = None) -> None:
    """Change the format or level that `configure` set; without its handler (trunkguard used
    as a library, or under a test runner) leave logging as it is."""
    handler = _ours()
    if handler is None:
        return
    current = "json" if isinstance(handler.formatter, JsonFormatter) else "text"
    root = logging.getLogger()
    _set(handler, log_format or current, root.level if level is None else level)


def _set(handler: logging.Handler, log_format: str, level: int) -> None:
    if log_format not in FORMATS:
        raise ValueError(f"log format {log_format!r} is not one of {', '.join(FORMATS)}")
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    logging.getLogger().setLevel(level)
