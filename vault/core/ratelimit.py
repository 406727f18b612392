"""Rate limits held in the database, so they hold behind a load balancer (fixed windows, one row per key)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, DateTime, Integer, String, delete, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Mapped, mapped_column

from vault.core.base import Base
from vault.core.clock import Clock
from vault.core.database import Database
from vault.core.errors import TooManyRequests

__all__ = ("RateLimiter", "RateWindow")


class RateWindow(Base):
    """How many hits `key` made in the window starting at `window` (seconds since the epoch)."""

    __tablename__ = "rate_windows"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    window: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class RateLimiter:
    """`hit(key, limit, per)` counts one hit and refuses (429 with Retry-After) past `limit` per `per` seconds."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def hit(self, key: str, limit: int, per: float) -> None:
        now = self._clock()
        window = int(now.timestamp() // per)
        async with self._db.transaction() as session:
            counted = await session.execute(
                update(RateWindow)
                .where(RateWindow.key == key, RateWindow.window == window)
                .values(hits=RateWindow.hits + 1)
                .returning(RateWindow.hits)
            )
            hits = counted.scalar_one_or_none()
            if hits is None:
                try:
                    async with session.begin_nested():
                        expires = now + timedelta(seconds=2 * per)
                        session.add(RateWindow(key=key, window=window, hits=1, expires_at=expires))
                    hits = 1
                except sa_exc.IntegrityError:  # another instance opened the window first
                    hits = await session.scalar(
                        update(RateWindow)
                        .where(RateWindow.key == key, RateWindow.window == window)
                        .values(hits=RateWindow.hits + 1)
                        .returning(RateWindow.hits)
                    )
        if hits is not None and hits > limit:
            retry = math.ceil((window + 1) * per - now.timestamp())
            raise TooManyRequests(f"at most {limit} of these per {int(per)} s; try again later", retry_after=retry)

    async def forget_expired(self) -> int:
        """Remove windows that ended (the sweep calls this)."""
        async with self._db.transaction() as session:
            result = await session.execute(delete(RateWindow).where(RateWindow.expires_at < self._clock()))
            return int(getattr(result, "rowcount", 0) or 0)

    async def hits(self, key: str) -> int:
        """Hits of `key` in its newest window (tests, metrics)."""
        async with self._db.transaction() as session:
            value = await session.scalar(
                select(RateWindow.hits).where(RateWindow.key == key).order_by(RateWindow.window.desc()).limit(1)
            )
            return int(value or 0)
