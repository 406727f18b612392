"""A SQLite connection of the service's own beside SQLAlchemy's engine, for the group commit's queue INSERT.

Through the async engine each group commit cost a session, a pool checkout, greenlet switches, statement
construction and caching, and a thread hop per statement (BEGIN, INSERT, COMMIT) to aiosqlite's thread: more
than the database's work, all on the one event loop every request shares. A `RawSqlite` is one sqlite3
connection to the engine's database file, with the engine's pragmas and busy timeout, in a thread of its own:
one hop per transaction, and a waiting write lock blocks that thread, never the event loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from vault.core.database import SQLITE_PRAGMAS

__all__ = ("RawSqlite", "usable")

T = TypeVar("T")
BUSY_TIMEOUT = 30.0  # seconds a write waits for SQLite's write lock, as the engine's connections do


def usable(engine: AsyncEngine) -> bool:
    """Whether `engine` is on a SQLite file (not an in-memory database) a `RawSqlite` can open too."""
    database = engine.url.database or ""
    return (
        engine.dialect.name == "sqlite"
        and bool(database)
        and database != ":memory:"
        and not database.startswith("file:")
    )


class RawSqlite:
    """One read-write sqlite3 connection to the engine's database file, used only in a thread of its own.

    Args:
        engine: the service's engine (a `usable` one).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.path = Path(str(engine.url.database)).resolve()
        self._thread: ThreadPoolExecutor | None = None
        self._connection: sqlite3.Connection | None = None

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work(connection)` in the connection's thread (opened on first use); its result or its exception."""
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="raw-sqlite")
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._run, work)

    def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._connection is None:
            connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, check_same_thread=False)
            for pragma in SQLITE_PRAGMAS:
                connection.execute(pragma)
            self._connection = connection
        return work(self._connection)

    async def close(self) -> None:
        """Close the connection and its thread (the app's shutdown); a later `run` opens them again."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        await asyncio.get_running_loop().run_in_executor(thread, self._close)
        thread.shutdown(wait=False)

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()
