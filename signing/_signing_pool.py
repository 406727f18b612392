"""Signing off the event loop: a bounded pool of worker processes.

pyHanko's signing is CPU-bound Python: threads would serialise on the GIL, so each worker is a process with its
own keys, token session, HTTP session and event loop (built from a :class:`SigningWorkerConfig`). At most
``workers + max_queue`` jobs are accepted at once; one more raises :class:`Busy`, which a service answers with
503 and ``Retry-After``.

Personal signatures (:meth:`SigningPool.sign_once`): the service makes the one-signature key, has its identity CA
issue the certificate and logs it (the CA key and the audit log stay in the service), then hands key and
certificate to a worker, which signs, timestamps and forgets the key. The key is made in the service rather than
in the worker because a worker job cannot ask the service for a certificate half way; P-256 key generation costs
a fraction of a millisecond, and the key crosses a local pipe between two processes of the same service once, in
memory (PKCS#8 DER, never written, never logged; the job's arguments appear in no error or log line).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import multiprocessing
import multiprocessing.util
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ._errors import Busy, SignerUnavailable
from ._identity import sign_once
from ._model import SignRequest
from ._pool_setup import SignerSpec, SigningWorkerConfig, WorkerServices

__all__ = ("SigningPool", "default_worker_count")

T = TypeVar("T")
_BUSY = "The signing service is busy; try again shortly."


def default_worker_count() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


# --- inside a worker process -------------------------------------------------------------------------------

_loop: asyncio.AbstractEventLoop | None = None
_services: WorkerServices | None = None


_NICENESS = 5  # workers yield the CPU to the service's event loop: a request waits less than a signature does


def _init_worker(config: SigningWorkerConfig) -> None:
    global _loop, _services  # noqa: PLW0603 - one set of services per worker process, by design
    with contextlib.suppress(OSError):  # not allowed here: run at the service's priority
        os.nice(_NICENESS)
    _loop = asyncio.new_event_loop()
    asyncio.set_event_loop(_loop)
    _services = WorkerServices(config)
    # Run at the worker's exit (multiprocessing's own exit hook; atexit does not run in pool workers).
    multiprocessing.util.Finalize(None, _shutdown_worker, exitpriority=10)


def _run(make: Callable[[WorkerServices], Any]) -> Any:
    assert _loop is not None
    assert _services is not None
    return _loop.run_until_complete(make(_services))


def _with_crls(crls: tuple[bytes, ...], fn: Callable[..., T], *args: Any) -> T:
    """Run job `fn` with the CRLs the service publishes as they are now (a worker runs one job at a time)."""
    assert _services is not None
    _services.known_crls = crls
    return fn(*args)


def _ready() -> int:
    assert _services is not None
    return os.getpid()


def _seal(pdf: bytes, request: SignRequest) -> bytes:
    return _run(lambda s: s.seal.sign(pdf, request))  # type: ignore[no-any-return]


def _seal_as(agency: str, pdf: bytes, request: SignRequest) -> bytes:
    return _run(lambda s: s.agencies.seal(agency, pdf, request))  # type: ignore[no-any-return]


def _sign_once(
    key_der: bytes, certificate_der: bytes, chain_der: tuple[bytes, ...], pdf: bytes, request: SignRequest
) -> tuple[bytes, dt.datetime | None]:
    key = serialization.load_der_private_key(key_der, password=None)
    del key_der
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise SignerUnavailable("A one-signature key must be an EC key.")
    certificate = x509.load_der_x509_certificate(certificate_der)
    chain = tuple(x509.load_der_x509_certificate(der) for der in chain_der)
    return _run(lambda s: sign_once(s.seal, key, certificate, chain, pdf, request))  # type: ignore[no-any-return]


def _seal_with(spec: SignerSpec, pdf: bytes, request: SignRequest) -> bytes:
    return _run(lambda s: s.sealer(spec).sign(pdf, request))  # type: ignore[no-any-return]


def _renew(pdf: bytes) -> bytes:
    return _run(lambda s: s.seal.renew_archival_timestamp(pdf))  # type: ignore[no-any-return]


def _shutdown_worker() -> None:
    global _services  # noqa: PLW0603
    if _services is not None and _loop is not None:
        _loop.run_until_complete(_services.aclose())
        _services = None


# --- in the service --------------------------------------------------------------------------------------


class SigningPool:
    """Signs in worker processes, never on the caller's event loop.

    Args:
        config: What each worker builds (keys, TSA, trust roots, seals).
        workers: Worker processes; default: the cores available to this process.
        max_queue: Jobs accepted beyond those running; default ``4 * workers``.
        retry_after: Seconds suggested to callers refused with :class:`Busy`.
        known_crls: Returns the CRLs (DER) the service publishes itself (see :class:`PdfSigningService`): each job
            carries them as they are when it is submitted (they change at most hourly), so B-LT embeds them and
            the signer check uses them without fetching.
    """

    def __init__(
        self,
        config: SigningWorkerConfig,
        *,
        workers: int | None = None,
        max_queue: int | None = None,
        retry_after: int = 1,
        known_crls: Callable[[], Sequence[bytes]] | None = None,
    ) -> None:
        self._config = config
        self._known_crls = known_crls
        self._workers = workers or default_worker_count()
        self._capacity = self._workers + (4 * self._workers if max_queue is None else max_queue)
        self._retry_after = retry_after
        self._in_flight = 0
        self._executor: ProcessPoolExecutor | None = None

    @property
    def config(self) -> SigningWorkerConfig:
        """What each worker builds."""
        return self._config

    @property
    def workers(self) -> int:
        """How many worker processes sign at once."""
        return self._workers

    @property
    def capacity(self) -> int:
        """Jobs accepted at once (running or queued); one more is refused with :class:`Busy`."""
        return self._capacity

    @property
    def in_flight(self) -> int:
        """Jobs accepted and not finished (running or queued)."""
        return self._in_flight

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # spawn: a fresh interpreter per worker (forking a process with threads and an event loop is unsafe)
            self._executor = ProcessPoolExecutor(
                self._workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self._config,),
            )
        return self._executor

    async def start(self) -> None:
        """Start every worker and wait until each has built its services (imports take seconds).

        Raises:
            SignerUnavailable: A worker could not build its services (a key file is missing, a token refuses the
                PIN); the cause is on the worker's stderr.
        """
        pool = self._pool()
        loop = asyncio.get_running_loop()
        pids: set[int] = set()
        try:
            for _ in range(4):  # a finished warm-up job can let one worker take the next: ask until all answered
                jobs = (loop.run_in_executor(pool, _ready) for _ in range(self._workers))
                pids |= set(await asyncio.gather(*jobs))
                if len(pids) >= self._workers:
                    break
        except BrokenProcessPool as exc:  # the initializer failed (its traceback is on the worker's stderr)
            self._discard_broken_pool()
            raise SignerUnavailable("The signing workers could not start.") from exc

    @contextlib.contextmanager
    def admit(self) -> Iterator[None]:
        """Hold one place in the pool (running or queued) for the job made inside; :class:`Busy` when full.

        Taken before a personal signature's certificate is issued, so a full pool refuses before anything is
        issued or logged.
        """
        if self._in_flight >= self._capacity:
            raise Busy(_BUSY, retry_after=self._retry_after)
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1

    async def _submit(self, fn: Callable[..., T], *args: Any) -> T:
        with self.admit():
            return await self._run_admitted(fn, *args)

    async def _run_admitted(self, fn: Callable[..., T], *args: Any) -> T:
        # the identity CA's list of a new period is signed here once an hour (maybe on a token): off the loop
        crls = () if self._known_crls is None else tuple(await asyncio.to_thread(self._known_crls))
        try:
            job = self._pool().submit(_with_crls, crls, fn, *args)  # raises at once when the pool is known broken
            return await asyncio.wrap_future(job)
        except BrokenProcessPool as exc:
            self._discard_broken_pool()
            raise SignerUnavailable("A signing worker stopped; the job was not completed.") from exc
        except asyncio.CancelledError:
            self._hold_until_done(job)
            raise

    def _hold_until_done(self, job: Future[Any]) -> None:
        """A caller gave up (its client went away) while a worker runs its job: the job keeps its place until it
        ends, so callers that give up cannot pile up work beyond the pool's capacity."""
        if job.cancel():  # not started: nothing to hold
            return
        self._in_flight += 1
        loop = asyncio.get_running_loop()

        def release(_: Future[Any]) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is counting any more
                loop.call_soon_threadsafe(self._release)

        job.add_done_callback(release)

    def _release(self) -> None:
        self._in_flight -= 1

    def _discard_broken_pool(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    async def seal(self, pdf: bytes, request: SignRequest) -> bytes:
        """Sign with the deployment seal (see :meth:`PdfSigningService.sign`); :class:`Busy` when full."""
        return await self._submit(_seal, pdf, request)

    async def seal_as(self, agency: str, pdf: bytes, request: SignRequest) -> bytes:
        """Sign with `agency`'s seal (see :meth:`AgencySeals.seal`); :class:`Busy` when full."""
        return await self._submit(_seal_as, agency, pdf, request)

    async def seal_with(self, spec: SignerSpec, pdf: bytes, request: SignRequest) -> bytes:
        """Sign with the seal `spec` names (each worker opens it once and keeps it; see
        :meth:`PdfSigningService.sign`); :class:`Busy` when full."""
        return await self._submit(_seal_with, spec, pdf, request)

    async def sign_once(
        self,
        key: ec.EllipticCurvePrivateKey,
        certificate: x509.Certificate,
        chain: tuple[x509.Certificate, ...],
        pdf: bytes,
        request: SignRequest,
    ) -> tuple[bytes, dt.datetime | None]:
        """Sign with a one-signature key in a worker, within a place taken by :meth:`admit` (use it through
        :class:`IdentitySigner`); returns the signed PDF and the signature timestamp's time."""
        if self._in_flight < 1:
            raise RuntimeError("sign_once runs inside SigningPool.admit()")
        key_der = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        der = serialization.Encoding.DER
        chain_der = tuple(c.public_bytes(der) for c in chain)
        return await self._run_admitted(_sign_once, key_der, certificate.public_bytes(der), chain_der, pdf, request)

    async def renew_archival_timestamp(self, pdf: bytes) -> bytes:
        """Add a document timestamp (see :meth:`PdfSigningService.renew_archival_timestamp`)."""
        return await self._submit(_renew, pdf)

    async def aclose(self) -> None:
        """Stop the workers (each closes its sessions and token handles as it exits)."""
        if self._executor is None:
            return
        pool, self._executor = self._executor, None
        await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
