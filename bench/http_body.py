"""Request bodies through `vault serve`'s HTTP protocol vs uvicorn's own httptools protocol, measured in one run.

An upload reaches the app through the server's protocol before any of the vault's work starts. This measures that
step alone: each protocol serves the same minimal ASGI app (it reads the body and answers 200), in a process of
its own, with the options `vault serve` uses; this process sends the same 1 MiB-piece bodies to both, in
interleaved rounds, over loopback. Printed: each server's CPU seconds per GiB received (its own process, psutil)
and MiB/s, and the ratios vault/stock. The stock protocol appends every body piece to a bytearray and copies it
out again per `receive()`; `vault serve`'s keeps a piece as llhttp made it (vault/serving.py).

Usage: .venv/bin/python -m bench.http_body [--size-mib 1024] [--rounds 5]
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from bench._harness import MIB, REPO, workdir
from tests.services._proc import ServiceProcess, free_port, wait_for_port

PIECE = MIB


async def drain(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Read the whole body; answer 200 with its length."""
    if scope["type"] != "http":
        return
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    answer = str(size).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % len(answer))]})
    await send({"type": "http.response.body", "body": answer})


def serve(protocol: str, port: int) -> None:
    """Run uvicorn with `vault serve`'s options; `stock` keeps them but puts back uvicorn's own `on_body`."""
    import uvicorn
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    from vault.serving import ServeLimits, uvicorn_options

    options = uvicorn_options(ServeLimits())
    if protocol == "stock":
        options["http"] = type("Stock", (options["http"],), {"on_body": HttpToolsProtocol.on_body})
    uvicorn.run(drain, host="127.0.0.1", port=port, log_level="warning", lifespan="off", **options)


def post(port: int, size: int, piece: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=120) as conn:
        conn.sendall(b"POST / HTTP/1.1\r\nhost: bench\r\nconnection: close\r\ncontent-length: %d\r\n\r\n" % size)
        for _ in range(size // len(piece)):
            conn.sendall(piece)
        answer = b""
        while chunk := conn.recv(4096):
            answer += chunk
    if not answer.startswith(b"HTTP/1.1 200") or not answer.endswith(b"%d" % size):
        raise SystemExit(f"the server answered {answer[:80]!r}")


def start(protocol: str, directory: Path) -> tuple[ServiceProcess, int]:
    port = free_port()
    argv = [sys.executable, "-m", "bench.http_body", "--serve", protocol, str(port)]
    server = ServiceProcess(f"http-body-{protocol}", argv, directory, cwd=REPO)
    try:
        wait_for_port(port, proc=server.proc)
    except (RuntimeError, TimeoutError) as exc:
        server.stop()
        raise SystemExit(f"the {protocol} server did not start: {exc}\n{server.log_tail()}") from exc
    return server, port


def run(size_mib: int, rounds: int) -> None:
    size, piece = size_mib * MIB, bytes(range(256)) * (PIECE // 256)
    with workdir("http-body") as directory, contextlib.ExitStack() as stack:
        servers: dict[str, tuple[ServiceProcess, int]] = {}
        for name in ("stock", "vault"):
            servers[name] = start(name, directory)
            stack.callback(servers[name][0].stop)
        cpu: dict[str, list[float]] = {name: [] for name in servers}
        speed: dict[str, list[float]] = {name: [] for name in servers}
        for _, port in servers.values():
            post(port, 16 * MIB, piece)  # warm-up
        for index in range(rounds):
            for name in ("stock", "vault") if index % 2 == 0 else ("vault", "stock"):
                server, port = servers[name]
                process = psutil.Process(server.proc.pid)
                before = sum(process.cpu_times()[:2])
                started = time.perf_counter()
                post(port, size, piece)
                elapsed = time.perf_counter() - started
                cpu[name].append((sum(process.cpu_times()[:2]) - before) / (size / 1024 / MIB))
                speed[name].append(size / MIB / elapsed)
    cpu_m = {name: statistics.median(values) for name, values in cpu.items()}
    speed_m = {name: statistics.median(values) for name, values in speed.items()}
    print(f"request body: {size_mib} MiB per request, median of {rounds} interleaved round(s)")
    for name in ("stock", "vault"):
        print(f"{name}: {cpu_m[name]:.2f} server CPU-s per GiB, {speed_m[name]:.0f} MiB/s")
    cpu_ratio, speed_ratio = cpu_m["vault"] / cpu_m["stock"], speed_m["vault"] / speed_m["stock"]
    print(f"vault/stock: {cpu_ratio:.2f}x the CPU, {speed_ratio:.2f}x the speed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="body size in MiB (default 1024)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; medians are printed (default 5)")
    parser.add_argument("--serve", nargs=2, metavar=("PROTOCOL", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    if args.rounds < 1 or args.size_mib < 1:
        parser.error("--rounds and --size-mib must be at least 1")
    run(args.size_mib, args.rounds)


if __name__ == "__main__":
    main()
