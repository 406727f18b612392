"""The one query of the owner's metadata read (`vault.documents.lane`), on connections of its own.

Through SQLAlchemy's async engine this primary-key lookup cost more than everything else the read does: a pool
checkout, a greenlet switch per call, a thread hop per statement on SQLite (aiosqlite), a BEGIN and a ROLLBACK
around it on PostgreSQL (asyncpg). `OwnerReader` runs the same statement, compiled once for the engine's dialect,
with the column types' own conversions, on:

- SQLite (a file): a read-only sqlite3 connection, on the event loop. In WAL mode a reader never waits for
  writers; its busy timeout is 0, so the rare moment it would wait (a checkpoint resetting the WAL) is an error
  and the request goes on to the app.
- PostgreSQL (asyncpg): a `vault.core.raw_pg.RawPool` of its own (`POOL_SIZE` connections). The reads
  are batched like the audit's group commit: the documents asked for while one query is in flight are read
  together by the next (`OWNERS_READ`, `id = ANY(...)`, outside any transaction), so a busy instance pays one
  round trip, one pool checkout and one query plan per batch rather than per request.
- anything else (an in-memory SQLite database, another driver): the engine itself.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import any_, bindparam, func, select, true
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import aliased

from vault.accounts.models import Account
from vault.core import raw_pg, raw_sqlite
from vault.core.batching import Batcher
from vault.documents.models import Document, DocumentVersion

__all__ = ("BATCH_SIZE", "POOL_SIZE", "READ_ERRORS", "Found", "OwnerReader")

POOL_SIZE = 2  # PostgreSQL connections of the lane's own, per instance (one batch is read at a time)
BATCH_SIZE = 256  # most documents read by one PostgreSQL query
# what a database that does not answer raises, whichever way the reader reached it
READ_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, sqlite3.Error, OSError, TimeoutError, *raw_pg.ERRORS)

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
# the same for several documents at once, each row led by the document's id (PostgreSQL: a lateral join)
_latest = (
    select(DocumentVersion.media_type, DocumentVersion.size, DocumentVersion.sha256, DocumentVersion.number)
    .where(DocumentVersion.document_id == Document.id)
    .order_by(DocumentVersion.number.desc())
    .limit(1)
    .lateral("latest")
)
_IDS = bindparam("document_ids", type_=postgresql.ARRAY(postgresql.UUID(as_uuid=True)))
OWNERS_READ = (
    select(
        Document.id,
        *list(OWNER_READ.selected_columns)[:9],  # the document and its owner
        *_latest.c,  # its current version
        OWNER_READ.selected_columns.versions,  # how many versions it has
    )
    .join(Account, Account.id == Document.owner_id)
    .join(_latest, true())
    .where(Document.id == any_(_IDS))
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
        self.kind = _kind(engine)
        dialect = engine.dialect
        statement, name = (OWNERS_READ, "document_ids") if self.kind == "asyncpg" else (OWNER_READ, "document_id")
        compiled = statement.compile(dialect=dialect)
        defaults = compiled.construct_params({name: None})
        self._sql = compiled.string
        names = list(compiled.positiontup or ())
        self._params = [defaults[name] for name in names]
        self._id_at = names.index(name)
        bind = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        self._bind: Callable[[Any], Any] = bind or (lambda value: value)
        kinds = [column.type.dialect_impl(dialect) for column in statement.selected_columns]
        self._convert = [kind.result_processor(dialect, None) for kind in kinds]
        self._sqlite: sqlite3.Connection | None = None
        self._pool = raw_pg.RawPool(engine, POOL_SIZE)
        self._batches: Batcher[uuid.UUID, Found | None] = Batcher(
            self._read_batch,
            max_items=BATCH_SIZE,
            name="owner-read-batches",
            abandoned=lambda: OSError("the owner read lane closed"),
        )

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
        if self.kind == "asyncpg":
            return await self._batches.submit(document_id)
        raw = self._sqlite_connection().execute(self._sql, self._with_ids(document_id)).fetchone()
        return None if raw is None else Found._make(self._converted(raw))

    async def _read_batch(self, ids: list[uuid.UUID]) -> list[Found | None]:
        """The rows of documents asked for together, in order (None for a missing document)."""
        pool = await self._pool.get()
        rows = await pool.fetch(self._sql, *self._with_ids(ids))
        found = {values[0]: Found._make(values[1:]) for values in map(self._converted, rows)}
        return [found.get(ident) for ident in ids]

    def _with_ids(self, ids: object) -> list[Any]:
        params = list(self._params)
        params[self._id_at] = self._bind(ids)
        return params

    def _converted(self, raw: Any) -> list[Any]:
        """A row's values with the columns' own conversions applied (as SQLAlchemy gives them)."""
        return [value if convert is None else convert(value) for convert, value in zip(self._convert, raw, strict=True)]

    def _sqlite_connection(self) -> sqlite3.Connection:
        if self._sqlite is None:
            path = Path(str(self.engine.url.database)).resolve()
            self._sqlite = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=0, check_same_thread=False)
        return self._sqlite

    async def close(self) -> None:
        """Close the reader's own connections (the app's shutdown)."""
        await self._batches.close(cancel=True)
        sqlite_connection, self._sqlite = self._sqlite, None
        if sqlite_connection is not None:
            sqlite_connection.close()
        await self._pool.close()


def _kind(engine: AsyncEngine) -> str:
    if raw_sqlite.usable(engine):
        return "sqlite"
    if raw_pg.usable(engine):
        return "asyncpg"
    return "engine"
