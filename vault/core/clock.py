"""Time in sharing: an injectable clock and the bounds every expiry must respect."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from vault.core.errors import UnprocessableContent

__all__ = ("Clock", "checked_expiry", "utcnow")

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The wall clock, timezone-aware (the default `Clock`)."""
    return datetime.now(UTC)


def checked_expiry(expires_at: datetime, now: datetime, longest: timedelta, what: str) -> datetime:
    """`expires_at` in UTC if it is timezone-aware, in the future and at most `longest` ahead; else 422."""
    if expires_at.tzinfo is None:
        raise UnprocessableContent(f"{what} expiry needs a time zone (e.g. 2027-01-31T12:00:00Z)")
    try:
        moment = expires_at.astimezone(UTC)
    except OverflowError as exc:  # e.g. 9999-12-31T23:59:59-01:00 is past the largest datetime in UTC
        raise UnprocessableContent(f"{what} expiry is out of range") from exc
    if moment <= now:
        raise UnprocessableContent(f"{what} expiry must be in the future")
    if moment > now + longest:
        raise UnprocessableContent(f"{what} expiry can be at most {longest.days} days ahead")
    return moment
