"""Signing in the worker pool vs on the event loop: signatures per second with 8 in flight vs one at a time.

Per PAdES level (B-B: pure CPU; B-T: plus a timestamp from the development PKI's TSA served on loopback):
- pool, 8 in flight / pool, one at a time (issue 12: target >= 1.6x on 2 cores);
- event loop (PdfSigningService in-process, today's path), 8 in flight / one at a time;
- pool 8 in flight / event loop 8 in flight;
- the longest event-loop stall seen by a 5 ms probe while 8 signatures run, pool vs in-process (target: < 50 ms);
- CPU time the event loop's process spends per signature, pool vs in-process (robust on a loaded machine, where
  the rates above mostly measure the other tenants).

Usage: .venv/bin/python -m bench.signing_pool [--total 48] [--levels B-B,B-T] [--workers N]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
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
        trust_roots=(pki.root_cert_path.read_bytes(),), tsa_url=pki.tsa_url,
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
    print(f"{level:5} pool 8 in flight / pool 1 at a time: {pool_eight / pool_one:5.2f}x "
          f"({pool_eight:.1f} vs {pool_one:.1f} sig/s, {workers} workers; target >= 1.6x)")
    print(f"{level:5} event loop 8 in flight / 1 at a time: {loop_eight / loop_one:5.2f}x "
          f"({loop_eight:.1f} vs {loop_one:.1f} sig/s)")
    print(f"{level:5} pool 8 in flight / event loop 8 in flight: {pool_eight / loop_eight:5.2f}x")
    print(f"{level:5} longest event-loop stall with 8 in flight: pool {pool_stall:.0f} ms, "
          f"in-process {loop_stall:.0f} ms (target < 50 ms)")
    print(f"{level:5} CPU on the event loop's process per signature, pool / in-process: {pool_cpu / loop_cpu:5.3f}x "
          f"({pool_cpu:.1f} vs {loop_cpu:.1f} ms)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--total", type=int, default=48, help="signatures per 8-in-flight measurement")
    parser.add_argument("--levels", default="B-B,B-T")
    parser.add_argument("--workers", type=int, default=signing.default_worker_count())
    args = parser.parse_args()
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
