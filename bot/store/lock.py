"""A lock held across every process that uses one store."""

from __future__ import annotations

import fcntl
import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.store.engine import Database, StoreError


class Locks(Database):
    """Named locks: PostgreSQL advisory locks, or files beside a SQLite database."""

    @contextmanager
    def lock(self, name: str, wait: float = 600.0) -> Iterator[None]:
        """Hold the lock called `name` across every process using this store, waiting up to
        `wait` seconds for it: a PostgreSQL advisory lock (let go when its holder's
        connection ends, so a killed worker never leaves it held), or a file lock beside a
        SQLite database (whose users all share its machine)."""
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        if self.engine.dialect.name == "postgresql":
            with self._errors(), self.engine.connect() as connection:
                connection.execute(text(f"SET lock_timeout = {int(wait * 1000)}"))
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
                connection.commit()
                try:
                    yield
                finally:
                    try:
                        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                        connection.execute(text("RESET lock_timeout"))
                        connection.commit()
                    except DBAPIError:  # the connection died: so did the lock
                        connection.invalidate()
            return
        folder = Path(self.url.database or ".").expanduser().parent / ".trunkguard-locks"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{key & 0xFFFFFFFFFFFF:012x}.lock", "a+b") as handle:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise StoreError(f"lock {name}: not had within {wait:.0f} s") from None
                    time.sleep(0.02)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
