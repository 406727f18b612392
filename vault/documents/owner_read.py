"""The one query of the owner's metadata read (`vault.documents.lane`), on connections of its own.

Through SQLAlchemy's async engine this primary-key lookup cost more than everything else the read does: a pool
checkout, a greenlet switch per call, a thread hop per statement on SQLite (aiosqlite), a BEGIN and a ROLLBACK
around it on PostgreSQL (asyncpg). `OwnerReader` runs the same statement, compiled once for the engine's dialect,
with the column types' own conversions, on:

- SQLite (a file): a read-only sqlite3 connection, on the event loop. In WAL mode a reader never waits for
  writers; its busy timeout is 0, so the rare moment it would wait (a checkpoint resetting the WAL) is an error
  and the request goes on to the app.
- PostgreSQL (asyncpg): a small asyncpg pool of its own (`POOL_SIZE` connections, opened on first use), with
  the engine's connection settings; one statement outside any transaction, prepared once per connection, and
  no reset round trip when a connection goes back to the pool.
- anything else (an in-memory SQLite database, another driver): the engine itself.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import aliased

from vault.accounts.models import Account
from vault.documents.models import Document, DocumentVersion

__all__ = ("POOL_SIZE", "READ_ERRORS", "Found", "OwnerReader")

POOL_SIZE = 4  # PostgreSQL connections of the lane's own, per instance
# what a database that does not answer raises, whichever way the reader reached it
READ_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, sqlite3.Error, OSError, TimeoutError)
try:
    import asyncpg

    READ_ERRORS += (asyncpg.PostgresError, asyncpg.InterfaceError)
except ImportError:  # pragma: no cover - PostgreSQL support not installed
    asyncpg = None

_counted = aliased(DocumentVersion)
# the document, its owner's identity, its current (highest-numbered) version and how many versions it has
OWNER_READ = (
    select(
        Document.title,
        Document.kind,
        Document.issuer_agency,
        Document.created_at,
        Document.updated_at,
        Document.filename,
        Document.owner_id,
        Account.issuer,
        Account.subject,
        DocumentVersion.media_type,
        DocumentVersion.size,
        DocumentVersion.sha256,
        DocumentVersion.number,
        select(func.count()).where(_counted.document_id == Document.id).scalar_subquery().label("versions"),
    )
    .join(Account, Account.id == Document.owner_id)
    .join(DocumentVersion, DocumentVersion.document_id == Document.id)
    .where(Document.id == bindparam("document_id"))
    .order_by(DocumentVersion.number.desc())
    .limit(1)
)


class Found(NamedTuple):
    """A row of `OWNER_READ`, as SQLAlchemy would give it."""

    title: str
    kind: str
    issuer_agency: str | None
    created_at: datetime
    updated_at: datetime
    filename: str | None
    owner_id: uuid.UUID
    issuer: str
    subject: str
    media_type: str
    size: int
    sha256: str
    number: int
    versions: int


class OwnerReader:
    """`OWNER_READ` for one engine (see the module's text for where it runs).

    Args:
        engine: the service's engine (its database, dialect and connection settings).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        dialect = engine.dialect
        compiled = OWNER_READ.compile(dialect=dialect)
        defaults = compiled.construct_params({"document_id": None})
        self._sql = compiled.string
        names = list(compiled.positiontup or ())
        self._params = [defaults[name] for name in names]
        self._id_at = names.index("document_id")
        bind = Document.id.type.dialect_impl(dialect).bind_processor(dialect)
        self._bind_id: Callable[[Any], Any] = bind or (lambda value: value)
        kinds = [column.type.dialect_impl(dialect) for column in OWNER_READ.selected_columns]
        self._convert = [kind.result_processor(dialect, None) for kind in kinds]
        self._sqlite: sqlite3.Connection | None = None
        self._pool: Any = None  # asyncpg.Pool, once opened
        self._opening = asyncio.Lock()
        self.kind = _kind(engine)

    async def row(self, document_id: uuid.UUID) -> Found | None:
        """The document's row, or None when there is no such document.

        Raises:
            sqlite3.Error, asyncpg.PostgresError, sqlalchemy.exc.SQLAlchemyError, OSError, TimeoutError: when the
                database did not answer (the caller leaves the request to the app).
        """
        if self.kind == "engine":
            async with self.engine.connect() as connection:
                found = (await connection.execute(OWNER_READ, {"document_id": document_id})).first()
            return None if found is None else Found._make(found)
        params = list(self._params)
        params[self._id_at] = self._bind_id(document_id)
        if self.kind == "sqlite":
            raw = self._sqlite_connection().execute(self._sql, params).fetchone()
        else:
            raw = await (await self._asyncpg_pool()).fetchrow(self._sql, *params)
        if raw is None:
            return None
        return Found._make(
            value if convert is None else convert(value) for convert, value in zip(self._convert, raw, strict=True)
        )

    def _sqlite_connection(self) -> sqlite3.Connection:
        if self._sqlite is None:
            path = Path(str(self.engine.url.database)).resolve()
            self._sqlite = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=0, check_same_thread=False)
        return self._sqlite

    async def _asyncpg_pool(self) -> Any:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    args, options = self.engine.dialect.create_connect_args(self.engine.url)
                    for adapter_only in ("prepared_statement_cache_size", "prepared_statement_name_func"):
                        options.pop(adapter_only, None)
                    self._pool = await asyncpg.create_pool(
                        *args,
                        **options,
                        min_size=0,
                        max_size=POOL_SIZE,
                        timeout=5,
                        command_timeout=5,
                        reset=_keep,
                    )
        return self._pool

    async def close(self) -> None:
        """Close the reader's own connections (the app's shutdown)."""
        sqlite_connection, self._sqlite = self._sqlite, None
        if sqlite_connection is not None:
            sqlite_connection.close()
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()


async def _keep(_connection: Any) -> None:
    """asyncpg resets a connection (a round trip: unlock, close cursors, unlisten, reset settings) each time it
    goes back to the pool; these only ever ran one SELECT outside a transaction, which leaves nothing to reset."""


def _kind(engine: AsyncEngine) -> str:
    database = engine.url.database or ""
    if engine.dialect.name == "sqlite" and database and database != ":memory:" and not database.startswith("file:"):
        return "sqlite"
    if engine.dialect.name == "postgresql" and engine.dialect.driver == "asyncpg" and asyncpg is not None:
        return "asyncpg"
    return "engine"
