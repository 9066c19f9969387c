"""Spread read-only repository work over processes: pygit2 holds the GIL, so threads do not help."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Generic, TypeVar

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

_worker_state: Any = None


def _open(opener: Callable[..., Any], args: tuple[Any, ...]) -> None:
    global _worker_state
    _worker_state = opener(*args)


def _run(fn: Callable[[Any, Sequence[T]], list[R]], items: Sequence[T]) -> list[R]:
    return fn(_worker_state, items)


def default_workers() -> int:
    """Return how many processes to use: the cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class ProcessMap(Generic[S, T, R]):
    """Maps `fn(state, chunk)` over chunks of `items` in forked processes, started at once.

    `state` is what the caller works with (a repository, say); each worker builds its own by
    calling `opener(*opener_args)`, since libgit2 handles do not cross a fork safely. With one
    worker, or no fork, the caller does the work itself when it asks for the results.
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
    ) -> None:
        self._state = state
        self._fn = fn
        self._chunks = [items[i : i + chunk_size] for i in range(0, len(items), chunk_size)]
        self._pool: ProcessPoolExecutor | None = None
        self._futures: list[Future[list[R]]] = []
        if (
            workers > 1
            and len(self._chunks) > 1
            and "fork" in multiprocessing.get_all_start_methods()
        ):
            self._pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_open,
                initargs=(opener, opener_args),
            )
            self._futures = [self._pool.submit(_run, fn, chunk) for chunk in self._chunks]

    def results(self, progress: Callable[[int], None] | None = None) -> list[R]:
        """Return every result in item order; `progress` hears how many items are done.

        The caller's process helps: a chunk no worker has started yet is done here.
        """
        out: list[R] = []
        try:
            for index, chunk in enumerate(self._chunks):
                if self._pool is None or self._futures[index].cancel():
                    out.extend(self._fn(self._state, chunk))
                else:
                    out.extend(self._futures[index].result())
                if progress is not None:
                    progress(len(out))
        finally:
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)
        return out
