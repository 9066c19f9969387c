"""The webhook server's limits: bodies read with a cap and a deadline, request heads with a
deadline, connections bounded, and one rate-limited line (no traceback) per request refused."""

from __future__ import annotations

import asyncio
import logging
import resource
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from starlette.requests import ClientDisconnect, Request
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.service import metrics

logger = logging.getLogger(__name__)

# "Payloads are capped at 25 MB": GitHub sends nothing larger
# (https://docs.github.com/en/webhooks/webhook-events-and-payloads#payload-cap).
MAX_BODY = 25 * 1024 * 1024
MAX_HEAD = 16 * 1024  # request line and headers: GitHub's are well under 2 KB
RESERVED_FILES = 64  # descriptors kept for the store, the broker, git and the logs
_BUSY = b"the server is busy; send it again later"
BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: %d\r\nretry-after: 5\r\nconnection: close\r\n\r\n%s" % (len(_BUSY), _BUSY)
)


@dataclass(frozen=True)
class Limits:
    """What one client may take from the server, and how long it may take it."""

    max_body: int = MAX_BODY
    body_budget: int = 4 * MAX_BODY  # bytes of bodies held at once, over every request
    read_timeout: float = 10.0  # seconds for a request's head, and again for its body
    max_connections: int = 100
    keep_alive: int = 5  # seconds an idle connection stays open between requests
    backlog: int = 128  # connections the kernel holds before the server accepts them


class Refusal(StrEnum):
    """Why a request was refused or dropped before it was a verified delivery."""

    UNSIGNED = "unsigned"
    TOO_LARGE = "too_large"
    BUSY = "busy"
    BODY_TIMEOUT = "body_timeout"
    HEAD_TIMEOUT = "head_timeout"
    DISCONNECTED = "disconnected"
    TOO_MANY_CONNECTIONS = "too_many_connections"
    BAD_HTTP = "bad_http"
    ACCEPT_FAILED = "accept_failed"


class Throttle:
    """Log one line per reason at most every `every` seconds, saying how many were not."""

    def __init__(self, every: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self._clock = clock
        self._lock = threading.Lock()  # the event loop and the intake's threads both note
        self._seen: dict[Refusal, tuple[float, int]] = {}

    def note(self, reason: Refusal, **fields: Any) -> None:
        """Count a refusal; log it unless one with the same reason was logged lately."""
        metrics.REFUSED.labels(reason.value).inc()
        with self._lock:
            now = self._clock()
            last = self._seen.get(reason)
            if last is not None and now - last[0] < self.every:
                self._seen[reason] = (last[0], last[1] + 1)
                return
            self._seen[reason] = (now, 0)
        suppressed = last[1] if last is not None else 0
        extra = {"reason": reason.value, "suppressed": suppressed, **fields}
        logger.warning("request refused", extra=extra)


REFUSALS = Throttle()  # the process's: one line per reason per 10 s, whoever refuses


class Refused(Exception):
    """A request answered before its body was read whole."""

    def __init__(self, reason: Refusal, status: int, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status


class BodyBudget:
    """The bytes of request bodies the server holds at once, over every request; used from
    the event loop's thread only."""

    def __init__(self, total: int) -> None:
        self.left = total

    def take(self, size: int) -> bool:
        """Take `size` bytes if that many are left."""
        if size > self.left:
            return False
        self.left -= size
        return True

    def give(self, size: int) -> None:
        """Return bytes taken."""
        self.left += size


@asynccontextmanager
async def body_of(request: Request, limits: Limits, budget: BodyBudget) -> AsyncIterator[bytes]:
    """Read a request's body within `limits`, or raise Refused: larger than the cap (413,
    from Content-Length before reading, else at the cap), not all sent in time (408), more
    than the server holds at once (503), the client gone (400, never read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_body:
        raise Refused(Refusal.TOO_LARGE, 413, f"the body is over {limits.max_body} bytes")
    chunks: list[bytes] = []
    held = 0
    try:
        try:
            async with asyncio.timeout(limits.read_timeout), aclosing(request.stream()) as stream:
                async for chunk in stream:
                    if held + len(chunk) > limits.max_body:
                        raise Refused(
                            Refusal.TOO_LARGE, 413, f"the body is over {limits.max_body} bytes"
                        )
                    if not budget.take(len(chunk)):
                        raise Refused(Refusal.BUSY, 503, "the server is busy; send it again")
                    held += len(chunk)
                    chunks.append(chunk)
        except TimeoutError:
            raise Refused(Refusal.BODY_TIMEOUT, 408, "the body did not arrive in time") from None
        except ClientDisconnect:
            raise Refused(Refusal.DISCONNECTED, 400, "the client went away") from None
        body = b"".join(chunks)
        chunks.clear()
        yield body
    finally:
        budget.give(held)


def guarded_protocol(limits: Limits, refusals: Throttle) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a deadline for each request head (uvicorn has none: a
    client could send half a head and hold its connection for ever) and connections past
    `limits.max_connections` answered 503 and closed at once, freeing their descriptors."""

    class Guarded(H11Protocol):
        _refused = False
        _head_deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) <= limits.max_connections:
                self._await_head()
                return
            self.connections.discard(self)
            self._refused = True
            refusals.note(Refusal.TOO_MANY_CONNECTIONS)
            self.transport.write(BUSY_RESPONSE)
            # Half-close and read on a moment: closing with the request unread would reset
            # the connection, and the client could lose the answer.
            if self.transport.can_write_eof():
                self.transport.write_eof()
            self.loop.call_later(1.0, self.transport.close)

        def data_received(self, data: bytes) -> None:
            if self._refused:
                return
            super().data_received(data)
            self._await_head()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_deadline()
            super().connection_lost(exc)

        def _await_head(self) -> None:
            """Give the next request's head `read_timeout` seconds, in all, unless one is
            being answered (the endpoint's own deadline covers its body)."""
            if self.cycle is not None and not self.cycle.response_complete:
                self._stop_deadline()
            elif self._head_deadline is None and not self.transport.is_closing():
                self._head_deadline = self.loop.call_later(limits.read_timeout, self._head_late)

        def _stop_deadline(self) -> None:
            if self._head_deadline is not None:
                self._head_deadline.cancel()
                self._head_deadline = None

        def _head_late(self) -> None:
            self._head_deadline = None
            if self.cycle is not None and not self.cycle.response_complete:
                return
            if not self.transport.is_closing():
                refusals.note(Refusal.HEAD_TIMEOUT, client=_client(self.client))
                self.transport.close()

    return Guarded


def _client(address: tuple[str, int] | None) -> str:
    return address[0] if address else "unknown"


class _UvicornLines(logging.Filter):
    """uvicorn's own warning per refused request, through the throttle instead."""

    REASONS = {
        "Exceeded concurrency limit.": Refusal.TOO_MANY_CONNECTIONS,
        "Invalid HTTP request received.": Refusal.BAD_HTTP,
    }

    def __init__(self, refusals: Throttle) -> None:
        super().__init__()
        self.refusals = refusals

    def filter(self, record: logging.LogRecord) -> bool:
        reason = self.REASONS.get(record.msg) if isinstance(record.msg, str) else None
        if reason is None:
            return True
        self.refusals.note(reason)
        return False


def loop_errors(refusals: Throttle) -> Callable[[asyncio.AbstractEventLoop, dict[str, Any]], None]:
    """An event loop exception handler: accept() failing (out of descriptors: asyncio retries
    every second) is one throttled line, not a traceback each time; the rest as asyncio says."""

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        if isinstance(error, OSError) and str(context.get("message")).startswith("socket.accept"):
            refusals.note(Refusal.ACCEPT_FAILED, error=str(error))
            return
        loop.default_exception_handler(context)

    return handle


def within_descriptors(limits: Limits) -> Limits:
    """Lower the connection limit to what the process's descriptor limit leaves room for."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    room = soft - RESERVED_FILES
    if soft == resource.RLIM_INFINITY or limits.max_connections <= room:
        return limits
    lowered = max(room, 1)
    logger.warning(
        "fewer connections than asked: the descriptor limit leaves room for fewer",
        extra={"max_connections": lowered, "descriptor_limit": soft},
    )
    return replace(limits, max_connections=lowered)


def run(app: Any, host: str, port: int, limits: Limits, refusals: Throttle = REFUSALS) -> None:
    """Serve the ASGI `app` with uvicorn within `limits` until stopped (SIGINT, SIGTERM)."""
    import uvicorn

    limits = within_descriptors(limits)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=guarded_protocol(limits, refusals),
        # uvicorn counts the connection asking too: its 503 then begins where ours does
        limit_concurrency=limits.max_connections + 1,
        backlog=limits.backlog,
        timeout_keep_alive=limits.keep_alive,
        h11_max_incomplete_event_size=MAX_HEAD,
        log_config=None,  # its lines go through trunkguard's handler (text or JSON)
        log_level="warning",
    )
    server = uvicorn.Server(config)
    lines = _UvicornLines(refusals)
    uvicorn_log = logging.getLogger("uvicorn.error")
    uvicorn_log.addFilter(lines)

    async def serve() -> None:
        asyncio.get_running_loop().set_exception_handler(loop_errors(refusals))
        await server.serve()

    try:
        asyncio.run(serve())
    finally:
        uvicorn_log.removeFilter(lines)
