"""Spread read-only repository work over processes: pygit2 holds the GIL, so threads do not help."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pygit2

from analyzers.errors import WorkerDiedError, WorkerError

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

DIED = "a worker process died while doing this (killed, or out of memory)"
_worker_state: Any = None
_pools_started = False  # whether this process ever forked workers (see pools_started)


def pools_started() -> bool:
    """Whether this process has forked worker processes: an interrupted program that has must
    not leave the exit to the pools' own at-exit hooks, which write to pipes of workers
    already gone."""
    return _pools_started


@dataclass(frozen=True)
class _Failure:
    """An exception raised in a worker that cannot cross back as itself (libgit2's cannot)."""

    type_name: str
    message: str
    git: bool

    def exception(self) -> Exception:
        """Rebuild it in the caller, as the caller's own error handling knows it."""
        if self.git:
            return pygit2.GitError(self.message)
        return WorkerError(self.type_name, self.message)


def _open(opener: Callable[..., Any], args: tuple[Any, ...]) -> None:
    global _worker_state
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked for the fork (_start)
    _worker_state = opener(*args)


def _run(fn: Callable[[Any, Sequence[T]], list[R]], items: Sequence[T]) -> list[R] | _Failure:
    try:
        return fn(_worker_state, items)
    except Exception as error:
        try:
            pickle.loads(pickle.dumps(error))
        except Exception:
            return _Failure(type(error).__name__, str(error), isinstance(error, pygit2.GitError))
        raise


@contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C back while workers are forked (at a pool's first submit).

    Python drops a signal that lands in a child before its fork is done, or in the parent's
    fork hooks: an interrupt lost so leaves a worker waiting for work forever, and the parent
    waiting for it. Held, it reaches each worker once it runs (_open) and this process after.
    """
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def default_workers() -> int:
    """Return how many processes to use: the cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


class ProcessMap(Generic[S, T, R]):
    """Maps `fn(state, chunk)` over chunks of `items` in forked processes, started at once.

    `state` is what the caller works with (a repository, say); each worker builds its own by
    calling `opener(*opener_args)`, since libgit2 handles do not cross a fork safely. With one
    worker, or no fork, the caller does the work itself when it asks for the results.

    An error raised in a worker reaches the caller as the same error (libgit2's are rebuilt as
    `pygit2.GitError` with their message). A worker that dies takes down only the chunk it was
    doing: the other chunks go to fresh workers, and that chunk is tried once more alone; if it
    kills its worker again, `on_failure(item, reason)` gives each of its items' results (without
    `on_failure`, WorkerDiedError is raised).
    """

    def __init__(
        self,
        state: S,
        opener: Callable[..., S],
        opener_args: tuple[Any, ...],
        fn: Callable[[S, Sequence[T]], list[R]],
        items: Sequence[T],
        workers: int,
        chunk_size: int = 64,
        on_failure: Callable[[T, str], R] | None = None,
        caller_helps: bool = True,
    ) -> None:
        self._state = state
        self._caller_helps = caller_helps
        self._fn = fn
        self._opener = (opener, opener_args)
        self._on_failure = on_failure
        self._chunks = [items[i : i + chunk_size] for i in range(0, len(items), chunk_size)]
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._futures: dict[int, Future[list[R] | _Failure]] = {}
        if workers > 1 and len(self._chunks) > 1 and _can_fork():
            self._start(range(len(self._chunks)))

    def _new_pool(self, workers: int) -> ProcessPoolExecutor:
        global _pools_started
        _pools_started = True
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_open,
            initargs=self._opener,
        )

    def _start(self, indexes: Sequence[int]) -> None:
        self._pool = self._new_pool(self._workers)
        with _interrupts_held():
            for index in indexes:
                self._futures[index] = self._pool.submit(_run, self._fn, self._chunks[index])

    def _shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _unwrap(self, value: list[R] | _Failure) -> list[R]:
        if isinstance(value, _Failure):
            raise value.exception()
        return value

    def _alone(self, chunk: Sequence[T]) -> list[R]:
        """Do one chunk in a worker of its own, so that if it dies it takes nothing else."""
        pool = self._new_pool(1)
        try:
            with _interrupts_held():
                future = pool.submit(_run, self._fn, chunk)
            return self._unwrap(future.result())
        except BrokenProcessPool:
            if self._on_failure is None:
                raise WorkerDiedError(DIED) from None
            return [self._on_failure(item, DIED) for item in chunk]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _collect(self, index: int) -> list[R]:
        try:
            return self._unwrap(self._futures[index].result())
        except BrokenProcessPool:
            # Which chunk killed the pool is unknown: the rest go to a fresh pool, this one alone.
            self._shutdown()
            self._start(range(index + 1, len(self._chunks)))
            return self._alone(self._chunks[index])

    def results(self, progress: Callable[[int], None] | None = None) -> list[R]:
        """Return every result in item order; `progress` hears how many items are done."""
        return list(self.iter_results(progress))

    def iter_results(self, progress: Callable[[int], None] | None = None) -> Iterator[R]:
        """Yield every result in item order, each chunk's as soon as it is there and then let
        go of, so that results need not all be held at once.

        The caller's process helps (unless told not to): a chunk no worker has started yet is
        done here.
        """
        done = 0
        try:
            for index, chunk in enumerate(self._chunks):
                if self._pool is None or (self._caller_helps and self._futures[index].cancel()):
                    out = self._fn(self._state, chunk)
                else:
                    out = self._collect(index)
                self._futures.pop(index, None)
                done += len(out)
                if progress is not None:
                    progress(done)
                yield from out
        finally:
            self._shutdown()
