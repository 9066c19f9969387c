"""The webhook server's limits, piece by piece: the throttled refusal lines, accept() failing
for want of descriptors, the connection limit the descriptor limit leaves room for."""

from __future__ import annotations

import asyncio
import errno
import logging
import resource

from bot.service.limits import (
    RESERVED_FILES,
    BodyBudget,
    Limits,
    Refusal,
    Throttle,
    loop_errors,
    within_descriptors,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def refusal_lines(caplog) -> list[tuple[str, int]]:
    return [
        (record.reason, record.suppressed)
        for record in caplog.records
        if record.getMessage() == "request refused"
    ]


def test_one_line_per_reason_every_ten_seconds_saying_how_many_were_not(caplog):
    clock = Clock()
    throttle = Throttle(every=10, clock=clock)
    with caplog.at_level(logging.WARNING):
        for _ in range(500):
            throttle.note(Refusal.UNSIGNED)
        throttle.note(Refusal.TOO_LARGE)
        clock.now += 10
        throttle.note(Refusal.UNSIGNED)
        throttle.note(Refusal.UNSIGNED)
    assert refusal_lines(caplog) == [("unsigned", 0), ("too_large", 0), ("unsigned", 499)]
    assert all(record.exc_info is None for record in caplog.records)


def test_accept_failing_for_want_of_descriptors_is_one_line_not_a_traceback(caplog):
    throttle = Throttle(clock=Clock())
    loop = asyncio.new_event_loop()
    try:
        loop.set_exception_handler(loop_errors(throttle))
        error = OSError(errno.EMFILE, "Too many open files")
        with caplog.at_level(logging.WARNING):
            for _ in range(100):  # asyncio retries every second
                loop.call_exception_handler(
                    {"message": "socket.accept() out of system resource", "exception": error}
                )
        assert refusal_lines(caplog) == [("accept_failed", 0)]
        assert "Traceback" not in caplog.text
        caplog.clear()
        with caplog.at_level(logging.ERROR):  # anything else: as asyncio says it
            loop.call_exception_handler({"message": "something else", "exception": error})
        assert "something else" in caplog.text
    finally:
        loop.close()


def test_the_connection_limit_leaves_room_in_the_descriptor_limit(monkeypatch, caplog):
    monkeypatch.setattr(resource, "getrlimit", lambda _: (256, 4096))
    assert within_descriptors(Limits(max_connections=100)).max_connections == 100
    with caplog.at_level(logging.WARNING):
        lowered = within_descriptors(Limits(max_connections=1000))
    assert lowered.max_connections == 256 - RESERVED_FILES
    assert caplog.records[0].max_connections == 256 - RESERVED_FILES


def test_the_body_budget_is_taken_and_given_back():
    budget = BodyBudget(100)
    assert budget.take(60)
    assert not budget.take(41)
    budget.give(60)
    assert budget.take(100)
