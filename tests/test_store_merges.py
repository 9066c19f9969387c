"""The merge cache in the store: keyed by the engine that answered, saved in one session."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from analyzers.conflicts import Conflict, ConflictKind
from analyzers.forecast import ForecastMemo
from analyzers.mergejobs import MergeResult, engine_id
from bot.store import Store
from bot.store.models import MergeCacheEntry

TREE = "7" * 40  # trunk's tree: the base of every merge below
CLASH = MergeResult((Conflict("src/billing.py", ConflictKind.CONTENT, ((3, 5),), ((4, 4),)),))
CLEAN = MergeResult(
    (), tree="c" * 40, near=("README.md",), changes=(("a.txt", "b" * 40, 0o100644),)
)


def key(n: int, engine: str | None = None):
    """The key of the n-th merge on TREE, answered by `engine` (this one's by default)."""
    return (TREE, f"{n:040x}", "f" * 40, engine or engine_id())


@pytest.fixture
def store(db_url):
    with Store(db_url) as opened:
        yield opened.ready()


def kept(store: Store) -> set:
    """The keys of every row of the merge cache, whichever engine answered."""
    with Session(store.engine) as session:
        return {
            (r.base, r.ours, r.theirs, r.engine) for r in session.scalars(select(MergeCacheEntry))
        }


def test_a_merge_comes_back_as_it_was_kept(store):
    store.add_to_merge_cache({key(1): CLASH, key(2): CLEAN})
    assert store.merge_cache(TREE) == {key(1): CLASH, key(2): CLEAN}
    assert store.merge_cache("0" * 40) == {}  # another trunk tree


def test_the_cache_keeps_which_engine_answered(store):
    other = "2 libgit2 1.7.2 git 2.30.0"  # a worker with another git
    assert engine_id() != other
    store.add_to_merge_cache({key(1): CLASH, key(2, other): CLEAN})
    assert kept(store) == {key(1), key(2, other)}
    assert store.merge_cache(TREE) == {key(1): CLASH}  # only what this engine answered


def test_a_session_saves_only_the_merges_added_during_it(store):
    store.add_to_merge_cache({key(1): CLASH})
    with store.merge_session(TREE) as memo:
        assert memo.merges == {key(1): CLASH}  # loaded from the store
        memo.merges[key(2)] = CLEAN
    assert store.merge_cache(TREE) == {key(1): CLASH, key(2): CLEAN}


def test_a_session_on_a_given_memo_does_not_read_the_store(store):
    store.add_to_merge_cache({key(1): CLASH})
    kept_in_process = ForecastMemo({key(3): CLASH})
    with store.merge_session(TREE, kept_in_process) as memo:
        assert memo is kept_in_process and key(1) not in memo.merges
        memo.merges[key(2)] = CLEAN
    # What the memo held before the session is not saved again; the new merge is.
    assert kept(store) == {key(1), key(2)}


def test_a_session_that_fails_saves_nothing(store):
    with pytest.raises(RuntimeError), store.merge_session(TREE) as memo:
        memo.merges[key(1)] = CLASH
        raise RuntimeError("the forecast failed")
    assert kept(store) == set()


def test_a_session_without_a_trunk_starts_empty(store):
    store.add_to_merge_cache({key(1): CLASH})
    with store.merge_session() as memo:
        assert memo.merges == {}
        memo.merges[key(2)] = CLEAN
    assert kept(store) == {key(1), key(2)}
