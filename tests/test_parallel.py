"""Work spread over processes: errors cross back as themselves, a dying worker loses one chunk."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pygit2
import pytest

from analyzers.errors import WorkerDiedError
from analyzers.parallel import DIED, ProcessMap


def _state(path: str) -> str:
    return path


def _square_or_fail(state: str, items):
    out = []
    for item in items:
        if item == "git":
            # What libgit2 raises for a missing object; its class cannot be pickled.
            raise pygit2.GitError("object not found - no match for id (7be73ce)")
        if item == "bug":
            raise KeyError("oops")
        if item == "die":
            os.kill(os.getpid(), signal.SIGKILL)
        if item == "die-once":
            marker = Path(state) / "died"
            if not marker.exists():
                marker.write_text("x")
                os.kill(os.getpid(), signal.SIGKILL)
            item = 0
        out.append(item * item)
    return out


def _map(tmp_path, items, on_failure=None):
    state = str(tmp_path)
    return ProcessMap(
        state,
        _state,
        (state,),
        _square_or_fail,
        items,
        workers=2,
        chunk_size=2,
        on_failure=on_failure,
        caller_helps=False,  # every chunk in a worker: a kill must never reach pytest itself
    ).results()


def test_results_in_item_order(tmp_path):
    assert _map(tmp_path, list(range(9))) == [n * n for n in range(9)]


def test_libgit2_error_in_a_worker_arrives_as_a_git_error(tmp_path):
    with pytest.raises(pygit2.GitError, match="object not found - no match for id"):
        _map(tmp_path, [1, "git", 2, 3, 4, 5, 6, 7])


def test_unexpected_error_in_a_worker_keeps_its_type_name(tmp_path):
    with pytest.raises(KeyError, match="oops"):
        _map(tmp_path, [1, "bug", 2, 3, 4, 5, 6, 7])


def test_a_dying_worker_takes_down_only_its_chunk(tmp_path):
    items = [1, 2, "die", 3, 4, 5, 6, 7, 8, 9]
    out = _map(tmp_path, items, on_failure=lambda item, reason: (item, reason))
    assert out[:2] == [1, 4]
    assert out[2:4] == [("die", DIED), (3, DIED)]
    assert out[4:] == [16, 25, 36, 49, 64, 81]


def test_a_worker_that_died_once_has_its_chunk_redone(tmp_path):
    out = _map(tmp_path, [1, 2, "die-once", 3, 4, 5], on_failure=lambda item, reason: reason)
    assert out == [1, 4, 0, 9, 16, 25]


def test_without_on_failure_a_dead_worker_is_a_clear_error(tmp_path):
    with pytest.raises(WorkerDiedError, match="worker process died"):
        _map(tmp_path, [1, 2, "die", 3, 4, 5, 6, 7])
