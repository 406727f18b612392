"""Expiry bounds for grants, links and requests: timezone required, future, bounded, and never a crash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from vault.core.clock import checked_expiry
from vault.core.errors import UnprocessableContent

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "expires_at",
    [
        datetime(2026, 12, 1),  # no time zone
        NOW - timedelta(seconds=1),  # past
        NOW + timedelta(days=31),  # too far
        datetime(9999, 12, 31, 23, 59, tzinfo=timezone(-timedelta(hours=1))),  # beyond datetime.max in UTC
        datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=1))),  # before datetime.min in UTC
    ],
    ids=["naive", "past", "too-far", "overflow-high", "overflow-low"],
)
def test_bad_expiries_are_422(expires_at: datetime) -> None:
    with pytest.raises(UnprocessableContent):
        checked_expiry(expires_at, NOW, timedelta(days=30), "a link's")


def test_a_valid_expiry_is_returned_in_utc() -> None:
    local = datetime(2026, 12, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert checked_expiry(local, NOW, timedelta(days=30), "a link's") == datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
