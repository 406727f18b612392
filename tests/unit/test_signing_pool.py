"""The verification pool's bounds with a stand-in verifier: admission (Busy), the time budget (the stuck worker
is killed and replaced), errors carried back from the worker."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import pytest

from signing import Busy, InvalidPdf, VerificationPool, VerificationReport, VerificationTimeout


class StandInVerifier:
    """Picklable stand-in: b"hang" blocks the worker (CPU-stuck, no await), b"bad" is an invalid PDF."""

    time_budget = 0.5

    def verify_blocking(self, pdf: bytes, validation_time: datetime | None = None) -> VerificationReport:
        if pdf == b"hang":
            time.sleep(3600)
        if pdf == b"bad":
            raise InvalidPdf("not a PDF at all")
        return VerificationReport(signatures=(), notes=(pdf.decode(),))

    def etsi_report_xml_blocking(self, pdf: bytes, validation_time: datetime | None = None) -> list[str]:
        return [f"<report>{pdf.decode()}</report>"]


@pytest.fixture
async def pool():
    p = VerificationPool(StandInVerifier(), workers=1, queue_size=1, retry_after=7)
    yield p
    await p.aclose()


async def test_pool_returns_the_workers_report(pool: VerificationPool) -> None:
    report = await pool.verify(b"hello")
    assert report.notes == ("hello",)
    assert await pool.etsi_report_xml(b"x") == ["<report>x</report>"]


async def test_pool_carries_library_errors_back(pool: VerificationPool) -> None:
    with pytest.raises(InvalidPdf, match="not a PDF at all"):
        await pool.verify(b"bad")
    assert (await pool.verify(b"after")).notes == ("after",)


async def test_full_pool_is_busy_at_once_and_never_queues_without_bound(pool: VerificationPool) -> None:
    first = asyncio.create_task(pool.verify(b"hang"))
    second = asyncio.create_task(pool.verify(b"waits"))
    await asyncio.sleep(0)  # both admitted: one running, one waiting (queue_size=1)
    assert pool.admitted == 2
    with pytest.raises(Busy) as caught:
        await pool.verify(b"third")
    assert caught.value.retry_after == 7
    with pytest.raises(VerificationTimeout):
        await first
    assert (await second).notes == ("waits",)  # the replacement worker took the waiting job


async def test_stuck_verification_is_stopped_and_its_worker_replaced(pool: VerificationPool) -> None:
    with pytest.raises(VerificationTimeout):
        await pool.verify(b"hang")
    assert (await pool.verify(b"next")).notes == ("next",)
    assert pool.admitted == 0
