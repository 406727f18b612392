"""Signing in the worker pool vs on the event loop: signatures per second with 8 in flight vs one at a time.

The service (API) path first: the vault app on its embedded defaults (development PKI, SQLite, filesystem store,
`VAULT_SIGN_WORKERS` at its default of one worker per core) under uvicorn with `vault serve`'s options, on this
process's event loop, where a 5 ms probe task sees every stall of the service's loop; the HTTP client runs in a
process of its own. A citizen (`alice`) signs freshly uploaded copies of tests/data/pdf/minimal.pdf (`POST
/api/v1/documents/{id}/signatures`, B-T: key and certificate made and logged by the service, signed and
timestamped in a worker); uploads are not timed. Printed: 8 in flight / one at a time (target >= 1.6x on 2
cores) and the longest stall with 8 in flight and one at a time (target < 50 ms).

Then the library, per PAdES level (B-B: pure CPU; B-T: plus a timestamp from the development PKI's TSA served on
loopback):
- pool, 8 in flight / pool, one at a time (issue 12: target >= 1.6x on 2 cores);
- event loop (PdfSigningService in-process, today's path), 8 in flight / one at a time;
- pool 8 in flight / event loop 8 in flight;
- the longest event-loop stall seen by a 5 ms probe while 8 signatures run, pool vs in-process (target: < 50 ms);
- CPU time the event loop's process spends per signature, pool vs in-process (robust on a loaded machine, where
  the rates above mostly measure the other tenants).

Usage: .venv/bin/python -m bench.signing_pool [--total 48] [--levels B-B,B-T] [--workers N] [--parts service,library]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import signing
from bench._harness import MINIMAL_PDF
from tests.services.devpki_http import DevPkiServer

Sign = Callable[[], Awaitable[bytes]]


async def _rate(sign: Sign, total: int, concurrency: int) -> tuple[float, float, float]:
    """(signatures per second, longest event-loop stall in ms, CPU ms this process spent per signature) for
    `total` signatures with `concurrency` in flight."""
    stall = 0.0
    running = True

    async def probe() -> None:
        nonlocal stall
        while running:
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            stall = max(stall, (time.perf_counter() - before - 0.005) * 1000)

    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            await sign()

    probe_task = asyncio.create_task(probe())
    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one() for _ in range(total)))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    running = False
    await probe_task
    return total / elapsed, stall, cpu / total * 1000


async def _level(level: str, pki: signing.DevPki, workers: int, total: int) -> None:
    pdf = MINIMAL_PDF.read_bytes()
    request = signing.SignRequest(level=signing.PadesLevel(level))
    config = signing.SigningWorkerConfig(
        trust_roots=(pki.root_cert_path.read_bytes(),),
        tsa_url=pki.tsa_url,
        seal=signing.KeyFileSpec(pki.seal_key_path, pki.seal_cert_path, (pki.issuing_cert_path,)),
    )
    pool = signing.SigningPool(config, workers=workers, max_queue=total)
    inline = signing.PdfSigningService(pki.load_signer(), tsa_url=pki.tsa_url, trust_roots=pki.trust_roots())
    try:
        await pool.start()

        async def pooled() -> bytes:
            return await pool.seal(pdf, request)

        async def on_loop() -> bytes:
            return await inline.sign(pdf, request)

        for sign in (pooled, on_loop):  # warm-up: imports, signer checks, HTTP connections
            await _rate(sign, 4, 2)
        pool_one, _, _ = await _rate(pooled, total // 2, 1)
        pool_eight, pool_stall, pool_cpu = await _rate(pooled, total, 8)
        loop_one, _, _ = await _rate(on_loop, total // 2, 1)
        loop_eight, loop_stall, loop_cpu = await _rate(on_loop, total, 8)
    finally:
        await pool.aclose()
        await inline.aclose()
    print(
        f"{level:5} pool 8 in flight / pool 1 at a time: {pool_eight / pool_one:5.2f}x "
        f"({pool_eight:.1f} vs {pool_one:.1f} sig/s, {workers} workers; target >= 1.6x)"
    )
    print(
        f"{level:5} event loop 8 in flight / 1 at a time: {loop_eight / loop_one:5.2f}x "
        f"({loop_eight:.1f} vs {loop_one:.1f} sig/s)"
    )
    print(f"{level:5} pool 8 in flight / event loop 8 in flight: {pool_eight / loop_eight:5.2f}x")
    print(
        f"{level:5} longest event-loop stall with 8 in flight: pool {pool_stall:.0f} ms, "
        f"in-process {loop_stall:.0f} ms (target < 50 ms)"
    )
    print(
        f"{level:5} CPU on the event loop's process per signature, pool / in-process: {pool_cpu / loop_cpu:5.3f}x "
        f"({pool_cpu:.1f} vs {loop_cpu:.1f} ms)"
    )


@dataclass(frozen=True)
class Probed:
    """What a probed run measured: signatures/s, CPU ms of this process per signature, and the probe's stalls
    (how late each 5 ms sleep of the probe woke up, in ms: the longest and the 99th percentile)."""

    rate: float
    cpu_ms: float
    longest_ms: float
    p99_ms: float

    @property
    def stalls(self) -> str:
        return f"{self.longest_ms:.0f} ms (p99 {self.p99_ms:.0f} ms)"


async def _probed(work: Awaitable[tuple[float, float]]) -> Probed:
    """Run `work` (it returns signatures/s and seconds) with a 5 ms probe on this event loop."""
    lateness: list[float] = []
    running = True

    async def probe() -> None:
        while running:
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            lateness.append((time.perf_counter() - before - 0.005) * 1000)

    probe_task = asyncio.create_task(probe())
    cpu = time.process_time()
    rate, seconds = await work
    running = False
    await probe_task
    lateness.sort()
    p99 = lateness[min(len(lateness) - 1, int(len(lateness) * 0.99))]
    return Probed(rate, (time.process_time() - cpu) / (rate * seconds) * 1000, lateness[-1], p99)


def _uploads(url: str, token: str, count: int) -> list[str]:
    """Upload `count` copies of the PDF (before the timed part); their document ids."""
    import httpx

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/pdf", "X-Document-Title": "bench"}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        responses = [client.post("/api/v1/documents", content=MINIMAL_PDF.read_bytes()) for _ in range(count)]
    return [str(response.raise_for_status().json()["id"]) for response in responses]


def _signatures(url: str, token: str, documents: list[str], concurrency: int) -> tuple[float, float]:
    """In a process of its own (the load generator must share neither the service's loop nor its GIL): sign each
    document (B-T) with `concurrency` requests in flight; (signatures/s, seconds)."""
    import httpx

    async def run() -> tuple[float, float]:
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
            gate = asyncio.Semaphore(concurrency)

            async def sign(document_id: str) -> None:
                async with gate:
                    response = await client.post(f"/api/v1/documents/{document_id}/signatures", json={"level": "B-T"})
                if response.status_code != 201:
                    raise RuntimeError(f"sign: {response.status_code} {response.text[:300]}")

            start = time.perf_counter()
            await asyncio.gather(*(sign(document_id) for document_id in documents))
            seconds = time.perf_counter() - start
            return len(documents) / seconds, seconds

    return asyncio.run(run())


async def _service(total: int) -> None:
    """The API path: 8 citizen signatures in flight vs one at a time, with the service's event loop probed."""
    import uvicorn

    from tests.services._proc import free_port
    from tests.support.vault_app import make_settings, migrate
    from vault.app import create_app, services_of
    from vault.serving import uvicorn_options

    with tempfile.TemporaryDirectory(prefix="bench-sign-service-") as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        settings = make_settings(Path(tmp), public_url=url)
        await asyncio.to_thread(migrate, settings)
        app = create_app(settings)
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
        options = uvicorn_options(settings.serve_limits)  # the limits `vault serve` runs with
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", **options)
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve())  # on this loop, the one the probe watches
        client = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        try:
            while not server.started:
                await asyncio.sleep(0.05)
            provider = services_of(app).dev_idp
            assert provider is not None
            token = provider.issue_access_token("alice")
            workers = services_of(app).signing_pool.workers

            async def measure(count: int, concurrency: int) -> Probed:
                documents = await asyncio.to_thread(_uploads, url, token, count)  # not timed, not probed
                load = asyncio.get_running_loop().run_in_executor(
                    client, _signatures, url, token, documents, concurrency
                )
                return await _probed(load)

            await measure(2 * workers, workers)  # warm-up: worker start (imports), caches, the audit log
            one = await measure(max(total // 2, 4), 1)
            eight = await measure(total, 8)
        finally:
            client.shutdown()
            server.should_exit = True
            await serving
    print(
        f"service B-T citizen signatures through the API, 8 in flight / 1 at a time: {eight.rate / one.rate:5.2f}x "
        f"({eight.rate:.1f} vs {one.rate:.1f} sig/s, {workers} workers; target >= 1.6x)"
    )
    print(
        f"service longest event-loop stall: {eight.stalls} with 8 in flight, {one.stalls} one at a time "
        f"(target < 50 ms); CPU of the service's process per signature: {eight.cpu_ms:.1f} ms"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--total", type=int, default=48, help="signatures per 8-in-flight measurement")
    parser.add_argument("--levels", default="B-B,B-T")
    parser.add_argument("--workers", type=int, default=signing.default_worker_count())
    parser.add_argument("--parts", default="service,library", help="service (the API path), library (the pool)")
    args = parser.parse_args()
    parts = {part.strip() for part in args.parts.split(",")}
    if "service" in parts:
        await _service(args.total)
    if "library" not in parts:
        return
    server = DevPkiServer()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-pool-") as tmp:
            pki = signing.ensure_dev_pki(Path(tmp) / "pki", base_url=server.base_url)
            server.serve(signing.DevPkiResponders(pki))
            for level in args.levels.split(","):
                await _level(level.strip(), pki, args.workers, args.total)
    finally:
        server.close()


if __name__ == "__main__":
    asyncio.run(main())
