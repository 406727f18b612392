"""A bounded pool of verification worker processes, off the event loop and off the shared thread pool.

pyHanko's validation is CPU-bound Python and the GIL serialises it, so verification runs in processes (one per
core by default). Admission is bounded: at most ``workers + queue_size`` verifications are admitted at once and
the next caller gets :class:`Busy` at once (the service answers 503 with ``Retry-After``), so nothing queues
without bound. A verification over its time budget is stopped by killing its worker, which is replaced.
Pure bytes go in and a frozen report comes out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Literal, Protocol

from ._errors import Busy, SigningError, VerificationTimeout
from ._report import VerificationReport

__all__ = ("VerificationPool",)

logger = logging.getLogger(__name__)

_START_TIMEOUT = 120.0
_KILL_GRACE = 1.0  # seconds past the budget before the worker is killed (the worker's own timeout fires first)
JobKind = Literal["verify", "etsi"]


class _BlockingVerifier(Protocol):
    time_budget: float

    def verify_blocking(self, pdf: bytes, validation_time: datetime | None = None) -> Any: ...

    def etsi_report_xml_blocking(self, pdf: bytes, validation_time: datetime | None = None) -> Any: ...


def _worker_main(conn: Connection, verifier: _BlockingVerifier) -> None:
    """Worker process: say it is ready (imports done), then answer jobs until the pipe closes or ``None``."""
    # pyHanko logs a traceback per suspicious signature; a hostile document must cost one line per signature.
    logging.getLogger("pyhanko").setLevel(logging.ERROR)
    conn.send(("ready", None))
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        kind, pdf, when = job
        try:
            if kind == "verify":
                conn.send(("ok", verifier.verify_blocking(pdf, when)))
            else:
                conn.send(("ok", verifier.etsi_report_xml_blocking(pdf, when)))
        except SigningError as exc:
            conn.send(("error", exc))
        except Exception as exc:  # a bug, not the caller's fault: one line in the worker's log, a generic error
            logger.error("verification worker failed: %s: %s", type(exc).__name__, str(exc)[:200])
            conn.send(("error", SigningError("The document could not be verified.")))


class _Worker:
    def __init__(self, ctx: Any, verifier: _BlockingVerifier) -> None:
        self.conn, child = ctx.Pipe()
        self.process: BaseProcess = ctx.Process(target=_worker_main, args=(child, verifier), daemon=True)
        self.process.start()
        child.close()

    def wait_ready(self, timeout: float) -> None:
        """Wait for the worker's imports (pyHanko takes seconds on a loaded machine) before timing jobs."""
        if not self.conn.poll(timeout) or self.conn.recv() != ("ready", None):
            self.kill()
            raise SigningError("A verification worker did not start.")

    def call(self, job: tuple[JobKind, bytes, datetime | None], deadline: float) -> tuple[str, Any] | None:
        """Send a job and wait up to `deadline` seconds; ``None`` when it did not answer in time."""
        self.conn.send(job)
        if not self.conn.poll(deadline):
            return None
        answer: tuple[str, Any] = self.conn.recv()
        return answer

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # already gone
            self.conn.send(None)
        self.process.join(5)
        if self.process.is_alive():
            self.kill()
        else:
            self.conn.close()


class VerificationPool:
    """Runs a verifier's work in worker processes, bounded in number, waiting line and time.

    Args:
        verifier: What each worker runs (a :class:`PdfVerifier`; pickled into every worker). Its
            ``time_budget`` is the budget per verification.
        workers: Worker processes (default: the number of CPU cores).
        queue_size: Verifications that may wait for a worker (default: ``workers``); beyond, :class:`Busy`.
        retry_after: Seconds suggested to a caller turned away with :class:`Busy`.
    """

    def __init__(
        self,
        verifier: _BlockingVerifier,
        *,
        workers: int | None = None,
        queue_size: int | None = None,
        retry_after: int = 5,
    ) -> None:
        self._verifier = verifier
        self._size = workers or os.cpu_count() or 1
        self._limit = self._size + (self._size if queue_size is None else queue_size)
        self._retry_after = retry_after
        self._ctx = multiprocessing.get_context("spawn")  # never fork a process that runs an event loop
        self._threads = ThreadPoolExecutor(max_workers=self._size, thread_name_prefix="verify-pool")
        self._idle: asyncio.Queue[_Worker] | None = None
        self._all: set[_Worker] = set()
        self._admitted = 0
        self._closed = False

    @property
    def admitted(self) -> int:
        """Verifications running or waiting right now."""
        return self._admitted

    async def verify(self, pdf: bytes, *, validation_time: datetime | None = None) -> VerificationReport:
        """:meth:`PdfVerifier.verify` in a worker process.

        Raises:
            Busy: Every worker is busy and the waiting line is full.
            VerificationTimeout: The verification ran over its time budget (its worker was replaced).
            InvalidPdf: As :meth:`PdfVerifier.verify`.
        """
        report: VerificationReport = await self._submit(("verify", pdf, validation_time))
        return report

    async def etsi_report_xml(self, pdf: bytes, *, validation_time: datetime | None = None) -> list[str]:
        """:meth:`PdfVerifier.etsi_report_xml` in a worker process (same errors as :meth:`verify`)."""
        reports: list[str] = await self._submit(("etsi", pdf, validation_time))
        return reports

    async def _submit(self, job: tuple[JobKind, bytes, datetime | None]) -> Any:
        if self._closed:
            raise SigningError("The verification pool is closed.")
        if self._admitted >= self._limit:
            raise Busy(retry_after=self._retry_after)
        self._admitted += 1
        try:
            idle = await self._started()
            worker = await idle.get()
            return await self._run(worker, idle, job)
        finally:
            self._admitted -= 1

    async def _run(
        self, worker: _Worker, idle: asyncio.Queue[_Worker], job: tuple[JobKind, bytes, datetime | None]
    ) -> Any:
        loop = asyncio.get_running_loop()
        deadline = self._verifier.time_budget + _KILL_GRACE
        try:
            answer = await loop.run_in_executor(self._threads, worker.call, job, deadline)
        except (EOFError, OSError) as exc:  # the worker died (killed by the OS, crashed in C code)
            await self._replace(worker, idle)
            raise SigningError("The document could not be verified.") from exc
        if answer is None:
            logger.warning("verification over its %.1f s budget: worker replaced", self._verifier.time_budget)
            await self._replace(worker, idle)
            raise VerificationTimeout()
        idle.put_nowait(worker)
        status, value = answer
        if status == "error":
            raise value
        return value

    async def _started(self) -> asyncio.Queue[_Worker]:
        if self._idle is None:
            self._idle = asyncio.Queue()
            for worker in await asyncio.to_thread(self._spawn, self._size):
                self._idle.put_nowait(worker)
        return self._idle

    def _spawn(self, count: int) -> list[_Worker]:
        workers = [_Worker(self._ctx, self._verifier) for _ in range(count)]
        self._all.update(workers)
        for worker in workers:
            worker.wait_ready(_START_TIMEOUT)
        return workers

    async def _replace(self, worker: _Worker, idle: asyncio.Queue[_Worker]) -> None:
        self._all.discard(worker)
        await asyncio.to_thread(worker.kill)
        if not self._closed:
            for fresh in await asyncio.to_thread(self._spawn, 1):
                idle.put_nowait(fresh)

    async def aclose(self) -> None:
        """Stop every worker (running verifications are killed)."""
        self._closed = True
        workers, self._all = list(self._all), set()
        await asyncio.gather(*(asyncio.to_thread(w.stop) for w in workers))
        self._threads.shutdown(wait=False, cancel_futures=True)
