"""Requests per second of an authenticated metadata read (GET /api/v1/documents/{id}) vs a bare Litestar handler.

Starts `vault serve` (filesystem store, SQLite) and, as the baseline, bench/_bare_app.py under uvicorn with the
same server options; both are separate processes on loopback. `--concurrency` workers, each with its own
httpx.AsyncClient, drive each target, bounded by `--requests` and `--seconds` per target; the targets alternate
in `--rounds` rounds (each gets an equal share of both bounds) so that load from other processes hits both alike.
The load generator shares the machine's cores with the server it measures: the bare figure is a lower bound.

Usage: .venv/bin/python -m bench.metadata_rps [--concurrency 32] [--requests 3000] [--seconds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench._harness import BIN, REPO, vault_process, workdir
from tests.services._proc import ServiceProcess, free_port, wait_for_http


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    headers: dict[str, str]


@dataclass
class Tally:
    """Completed requests, failures, wall seconds and latencies over all rounds of one target."""

    done: int = 0
    failed: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else float("nan")


@contextlib.contextmanager
def bare_app(directory: Path, workers: int = 1) -> Iterator[str]:
    """bench/_bare_app.py under uvicorn (options as `vault serve`, `workers` processes), killed by process group
    on exit."""
    port = free_port()
    argv = [
        str(BIN / "uvicorn"), "bench._bare_app:app", "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "info", "--no-proxy-headers", "--no-server-header", "--workers", str(workers),
    ]  # fmt: skip
    service = ServiceProcess(f"bare-{port}", argv, directory, env={"PYTHONPATH": str(REPO)}, cwd=REPO)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", timeout=60, proc=service.proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        service.stop()


async def load(target: Target, path: str, concurrency: int, requests: int, seconds: float, tally: Tally) -> None:
    """`concurrency` workers issue GET `path` until `requests` were sent or `seconds` passed; add to `tally`.

    Each worker has its own httpx.AsyncClient (one keep-alive connection): one client shared by 32 tasks
    collapsed to ~130 req/s here (pool contention in httpcore), a client-side limit, not the server's.
    """
    remaining = requests
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal remaining
        async with httpx.AsyncClient(base_url=target.url, headers=target.headers, timeout=30) as client:
            while remaining > 0 and time.perf_counter() < deadline:
                remaining -= 1
                sent = time.perf_counter()
                try:
                    ok = (await client.get(path)).status_code == 200
                except httpx.HTTPError:
                    ok = False
                tally.latencies.append(time.perf_counter() - sent)
                tally.done += ok
                tally.failed += not ok

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    tally.seconds += time.perf_counter() - started


async def compare(targets: list[Target], path: str, args: argparse.Namespace) -> dict[str, Tally]:
    """Warm each target up, then run the alternating rounds."""
    tallies = {target.name: Tally() for target in targets}
    for target in targets:
        await load(target, path, args.concurrency, 200, 10, Tally())
    for _ in range(args.rounds):
        for target in targets:
            share = args.requests // args.rounds
            await load(target, path, args.concurrency, share, args.seconds / args.rounds, tallies[target.name])
    return tallies


def upload_document(url: str, token: str) -> str:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/pdf", "X-Document-Title": "rps"}
    response = httpx.post(f"{url}/api/v1/documents", content=b"%PDF-1.4\n% metadata bench\n", headers=headers)
    response.raise_for_status()
    return str(response.json()["id"])


def run(args: argparse.Namespace) -> None:
    with workdir("metadata") as tmp, vault_process(tmp) as vault, bare_app(tmp) as bare_url:
        token = vault.token("alice")
        document_id = upload_document(vault.url, token)
        path = f"/api/v1/documents/{document_id}"
        targets = [
            Target("vault", vault.url, {"Authorization": f"Bearer {token}"}),
            Target("bare", bare_url, {"Authorization": f"Bearer {token}"}),
        ]
        tallies = asyncio.run(compare(targets, path, args))
    api, bare = tallies["vault"], tallies["bare"]
    print(
        f"metadata GET /api/v1/documents/{{id}}: {api.rps:.0f} req/s = {api.rps / bare.rps:.2f}x bare Litestar "
        f"handler ({bare.rps:.0f} req/s); {args.concurrency} concurrent, p50 {api.p50_ms:.1f} ms vs "
        f"{bare.p50_ms:.1f} ms; {api.done}/{bare.done} requests in {api.seconds:.1f}/{bare.seconds:.1f} s, "
        f"failures {api.failed}/{bare.failed}"
    )
    if api.failed or bare.failed:
        print(f"warning: {api.failed + bare.failed} requests failed", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--requests", type=int, default=3000, help="request bound per target (default 3000)")
    parser.add_argument("--seconds", type=float, default=15.0, help="time bound per target (default 15)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds sharing the bounds (default 2)")
    args = parser.parse_args()
    run(args)


if __name__ == "__main__":
    main()
