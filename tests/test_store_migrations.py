"""Migrations of the store that change what older stores hold."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import inspect

from analyzers.conflicts import Conflict, ConflictKind
from analyzers.mergejobs import MergeResult, engine_id
from bot.store import Store

TREE = "7" * 40
# merge_cache and repositories as revision 0006 left them.
OLD_CACHE = sa.table(
    "merge_cache",
    sa.column("base"),
    sa.column("ours"),
    sa.column("theirs"),
    sa.column("engine_version"),
    sa.column("result", sa.JSON),
)
REPOSITORIES = sa.table("repositories", sa.column("name"), sa.column("created_at"))


@pytest.fixture
def store(db_url):
    with Store(db_url) as opened:
        yield opened


def at(store: Store, revision: str, upgrade: bool = True) -> None:
    """Bring the store's schema to `revision`, as a trunkguard of that revision would."""
    with store.engine.begin() as connection:
        move = command.upgrade if upgrade else command.downgrade
        move(store._config(connection), revision)


def columns(store: Store) -> tuple[list[str], list[str]]:
    """The merge cache's columns and its primary key's."""
    with store.engine.connect() as connection:
        found = inspect(connection)
        names = [c["name"] for c in found.get_columns("merge_cache")]
        return names, found.get_pk_constraint("merge_cache")["constrained_columns"]


def test_0007_keys_the_merge_cache_by_engine_and_drops_the_old_answers(store):
    at(store, "0006")
    result = {"conflicts": [], "tree": None, "near": [], "changes": []}
    with store.engine.begin() as connection:
        connection.execute(
            sa.insert(OLD_CACHE),
            [
                {
                    "base": TREE,
                    "ours": f"{n:040x}",
                    "theirs": "f" * 40,
                    "engine_version": 2,
                    "result": result,
                }
                for n in range(3)
            ],
        )
        connection.execute(
            sa.insert(REPOSITORIES).values(name="octo/cat", created_at=datetime.now(UTC))
        )
    assert columns(store)[1] == ["base", "ours", "theirs", "engine_version"]

    assert store.upgrade()[0] == "0006"  # `trunkguard db upgrade`
    assert columns(store) == (
        ["base", "ours", "theirs", "engine", "result"],
        ["base", "ours", "theirs", "engine"],
    )
    with store.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM merge_cache")).scalar() == 0
        names = connection.execute(sa.text("SELECT name FROM repositories")).scalars().all()
    assert names == ["octo/cat"]  # only the cache is dropped

    store.ready()
    answer = MergeResult((Conflict("a.txt", ConflictKind.CONTENT, ((1, 2),), ((1, 1),)),))
    key = (TREE, "a" * 40, "b" * 40, engine_id())
    store.add_to_merge_cache({key: answer})
    assert store.merge_cache(TREE) == {key: answer}


def test_0007_goes_back_to_an_engine_version(store):
    at(store, "0007")
    at(store, "0006", upgrade=False)
    assert columns(store) == (
        ["base", "ours", "theirs", "engine_version", "result"],
        ["base", "ours", "theirs", "engine_version"],
    )


def test_0009_goes_back_and_forth_keeping_every_scan_and_what_it_holds(store, make_repo):
    from analyzers.divergence import scan
    from analyzers.refs import inventory

    at(store, "0009")
    t = make_repo()
    t.commit({"a.txt": "a\n"}, days_ago=3, branch="main")
    t.commit({"a.txt": "b\n"}, days_ago=1, branch="feature")
    report = scan(t.repo, inventory(t.repo), now=int(datetime.now(UTC).timestamp()))
    store.save_scan("app", report, datetime.now(UTC))

    def held() -> tuple[int, int]:
        with store.engine.connect() as connection:
            scans = connection.execute(sa.text("SELECT count(*) FROM scans")).scalar_one()
            rows = connection.execute(sa.text("SELECT count(*) FROM branch_snapshots"))
            return scans, rows.scalar_one()

    kept = held()
    assert kept[0] == 1 and kept[1] >= 1
    at(store, "0008", upgrade=False)  # SQLite: in place, not by a copy that drops the rows
    assert held() == kept
    at(store, "0009")
    assert held() == kept
