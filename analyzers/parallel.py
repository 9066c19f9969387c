"""Spread read-only repository work over processes: pygit2 holds the GIL, so threads do not help."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Generic, TypeVar

import pygit2

T = TypeVar("T")
R = TypeVar("R")

_worker_repo: pygit2.Repository | None = None


def _open(path: str, scratch: str | None) -> None:
    global _worker_repo
    if scratch is None:
        _worker_repo = pygit2.Repository(path)
    else:
        from analyzers.objects import layered, objects_dir

        _worker_repo = layered(objects_dir(pygit2.Repository(path)), scratch)


def _run(fn: Callable[[pygit2.Repository, Sequence[T]], list[R]], items: Sequence[T]) -> list[R]:
    assert _worker_repo is not None
    return fn(_worker_repo, items)


def default_workers() -> int:
    """Return how many processes to use: the cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class ProcessMap(Generic[T, R]):
    """Maps `fn` over chunks of `items` in forked processes, started at once, results on demand.

    Each worker opens the repository anew (through the same scratch store as the caller, if
    `scratch` is given, so that objects one process writes the others can read). With one
    worker, or no fork, the caller does the work itself when it asks for the results.
    """

    def __init__(
        self,
        repo: pygit2.Repository,
        fn: Callable[[pygit2.Repository, Sequence[T]], list[R]],
        items: Sequence[T],
        workers: int,
        chunk_size: int = 64,
        path: str | None = None,
        scratch: str | None = None,
    ) -> None:
        self._repo = repo
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
                initargs=(path or repo.path, scratch),
            )
            self._futures = [self._pool.submit(_run, fn, chunk) for chunk in self._chunks]

    def results(self, progress: Callable[[int], None] | None = None) -> list[R]:
        """Return every result in item order; `progress` hears how many items are done."""
        out: list[R] = []
        try:
            for index, chunk in enumerate(self._chunks):
                if self._pool is None:
                    out.extend(self._fn(self._repo, chunk))
                else:
                    out.extend(self._futures[index].result())
                if progress is not None:
                    progress(len(out))
        finally:
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)
        return out
