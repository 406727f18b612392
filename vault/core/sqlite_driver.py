"""SQLAlchemy's aiosqlite adapter with one thread hop per statement instead of four.

aiosqlite runs each sqlite3 call in the connection's own thread, and SQLAlchemy's adapter makes four such calls
per statement (open a cursor, execute, fetch all rows, close the cursor). Every call is a round trip between the
event loop and that thread: a queue put, a GIL hand-over, a wake-up of the loop. Under load those hops, not
SQLite, were the largest cost of a statement. This cursor does the four in one function run in the connection's
thread and keeps what SQLAlchemy reads afterwards (description, rows, rowcount, lastrowid) in the cursor's place.

Used by `vault.core.database.create_engine` for `sqlite+aiosqlite` URLs (`module=`); nothing else changes:
transactions, errors (the adapter's own mapping) and server-side cursors are SQLAlchemy's.
"""

from __future__ import annotations

import collections
import sqlite3
from dataclasses import dataclass
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

__all__ = ("OneHopDBAPI",)


@dataclass
class _Ran:
    """What a statement left behind, in the place of the sqlite3 cursor: SQLAlchemy's cursor adapter reads
    `description`, `rowcount`, `lastrowid` and `arraysize` from it (the rows are already in its deque)."""

    description: Any = None
    rowcount: int = -1
    lastrowid: int | None = None
    arraysize: int = 1


def _run(connection: sqlite3.Connection, many: bool, operation: str, parameters: Any) -> tuple[_Ran, list[Any]]:
    """Open a cursor, execute, fetch everything, close: in the connection's thread, in one go."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return _Ran(description, cursor.rowcount, cursor.lastrowid), rows
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statement costs one hop to the connection's thread."""

    __slots__ = ()

    def __init__(self, adapt_connection: Any) -> None:  # no aiosqlite cursor: `_run` opens its own
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = _Ran()  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()

    async def _async_soft_close(self) -> None:
        return None  # nothing open: the sqlite3 cursor was closed in the thread

    def close(self) -> None:
        self._rows.clear()

    async def _hop(self, many: bool, operation: Any, parameters: Any) -> None:
        async with self._adapt_connection._execute_mutex:
            ran, rows = await self._connection._execute(_run, self._connection._conn, many, operation, parameters)
        ran.arraysize = self._cursor.arraysize
        self._cursor, self._rows = ran, collections.deque(rows)

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        await self._hop(False, operation, parameters)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> None:
        await self._hop(True, operation, seq_of_parameters)


class _OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneHopCursor


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The aiosqlite DBAPI adapter, handing out connections with `OneHopCursor`s."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        creator_fn = kw.pop("async_creator_fn", None)
        connection = creator_fn(*arg, **kw) if creator_fn else self.aiosqlite.connect(*arg, **kw)
        if not creator_fn:
            connection._thread.daemon = True  # as SQLAlchemy does: a forgotten connection must not hold exit
        return _OneHopConnection(self, await_(connection))
