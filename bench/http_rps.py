"""Request rates measured with wrk: the audited metadata read of a served vault vs a bare Litestar handler.

The baseline is bench/_bare_app.py's `GET /items` (a 20-item JSON list) under uvicorn with the server options of
`vault serve`; the figure is the authenticated, audited `GET /api/v1/documents/{id}` of `vault serve` by the
document's owner on SQLite (the embedded default) and, with `--postgres`, on a fresh PostgreSQL database, with
the same read by a grantee (which the owner read lane leaves to the framework) beside it. Every target gets the
same wrk run (`-t2 -c32 -d10s` by default); the baseline runs before and after the vaults and its mean is the
denominator, so drift from other load on the machine shows as the spread of the two baseline runs. wrk shares the
cores with the server it measures (loopback only): the absolute figures are lower bounds, the ratios are what to
compare.

`--workers N` runs both the baseline and the vault as N processes (uvicorn `--workers`, `vault serve --workers`);
both always get the same count.

Needs wrk (Debian: `apt-get install wrk`). Usage:
    .venv/bin/python -m bench.http_rps [--postgres] [--threads 2] [--connections 32] [--seconds 10] [--workers 1]
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench._harness import vault_process, workdir
from bench.metadata_rps import bare_app, upload_document

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run reported."""

    rps: float
    requests: int
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float


def run_wrk(url: str, args: argparse.Namespace, headers: dict[str, str]) -> WrkResult:
    """One `wrk --latency` run against `url`: rate, non-2xx answers, socket errors (timeouts) and latencies."""
    argv = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.seconds}s", "--latency", "--timeout", "10s"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    output = subprocess.run([*argv, url], capture_output=True, text=True, check=True, timeout=args.seconds + 60).stdout
    rps = float(_match(r"Requests/sec:\s+([\d.]+)", output))
    requests = int(_match(r"(\d+) requests in", output))
    non_2xx = int(_match(r"Non-2xx or 3xx responses: (\d+)", output, "0"))
    socket = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    return WrkResult(rps, requests, non_2xx, socket, _latency(output, "50%"), _latency(output, "99%"))


def _match(pattern: str, text: str, default: str | None = None) -> str:
    found = re.search(pattern, text)
    if found:
        return found[1]
    if default is None:
        raise RuntimeError(f"wrk output without {pattern!r}:\n{text}")
    return default


def _latency(output: str, percentile: str) -> float:
    """A percentile of the latency distribution in ms (NaN when wrk completed no request)."""
    found = re.search(rf"^\s+{re.escape(percentile)}\s+([\d.]+)(us|ms|s|m|h) *$", output, re.MULTILINE)
    return float(found[1]) * _UNITS[found[2]] if found else float("nan")


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database (the test suite's server on 127.0.0.1:5432), dropped afterwards."""
    from tests.services import postgres

    name = postgres.create_database()
    try:
        yield postgres.database_url(name)
    finally:
        postgres.drop_database(name)


def measure_vault(directory: Path, args: argparse.Namespace, **env: str) -> tuple[WrkResult, WrkResult, WrkResult]:
    """The audited read by the document's owner (answered by the owner read lane), the same read by an agency
    officer holding a grant (answered by the framework: routing, guards, dependencies, the ORM), and `GET /health`
    of the same process: the middleware stack (request id, security headers, metrics, the authentication
    middleware's public-route pass) with no token, database or audit work."""
    directory.mkdir()
    with vault_process(directory, workers=args.workers, **env) as vault:
        token, officer = vault.token("alice"), vault.token("olga")
        document_id = upload_document(vault.url, token)
        grant = {"agency": "tax-office", "purpose": "benchmark", "permissions": ["view"], "expires_at": _tomorrow()}
        url = f"{vault.url}/api/v1/documents/{document_id}"
        # the agency is known to the vault once one of its officers has been seen
        httpx.get(f"{vault.url}/api/v1/me", headers={"Authorization": f"Bearer {officer}"}).raise_for_status()
        shared = httpx.post(f"{url}/grants", json=grant, headers={"Authorization": f"Bearer {token}"})
        if shared.status_code != 201:
            raise RuntimeError(f"the grant was refused: {shared.status_code} {shared.text}")
        warm_up = argparse.Namespace(**{**vars(args), "seconds": 2})
        results = []
        for bearer in (token, officer):
            headers = {"Authorization": f"Bearer {bearer}"}
            run_wrk(url, warm_up, headers)
            results.append(run_wrk(url, args, headers))
        return results[0], results[1], run_wrk(f"{vault.url}/health", args, {})


def _tomorrow() -> str:
    return (datetime.now(UTC) + timedelta(days=1)).isoformat()


def line(name: str, result: WrkResult, baseline: float) -> str:
    return (
        f"{name}: {result.rps:,.0f} req/s = {result.rps / baseline:.3f}x bare Litestar ({baseline:,.0f} req/s); "
        f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms; {result.requests} requests, "
        f"{result.non_2xx} non-2xx, {result.socket_errors} socket errors (timeouts included)"
    )


def run(args: argparse.Namespace) -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    figures: dict[str, WrkResult] = {}
    with workdir("http-rps") as tmp:
        with bare_app(tmp, args.workers) as bare_url:
            run_wrk(f"{bare_url}/items", argparse.Namespace(**{**vars(args), "seconds": 2}), {})  # warm-up
            before = run_wrk(f"{bare_url}/items", args, {})
        read, granted, health = measure_vault(tmp / "sqlite", args)
        figures["GET /api/v1/documents/{id} by its owner, SQLite"] = read
        figures["the same read by a grantee (the framework's path), SQLite"] = granted
        figures["GET /health (the vault's middleware, no token, no database), SQLite"] = health
        if args.postgres:
            with postgres_database() as url:
                read, granted, health = measure_vault(tmp / "pg", args, database_url=url)
                figures["GET /api/v1/documents/{id} by its owner, PostgreSQL"] = read
                figures["the same read by a grantee (the framework's path), PostgreSQL"] = granted
                figures["GET /health (the vault's middleware, no token, no database), PostgreSQL"] = health
        with bare_app(tmp, args.workers) as bare_url:
            after = run_wrk(f"{bare_url}/items", args, {})
    baseline = (before.rps + after.rps) / 2
    spread = abs(before.rps - after.rps) / baseline
    print(
        f"bare Litestar GET /items (20-item JSON list): {before.rps:,.0f} / {after.rps:,.0f} req/s before / after "
        f"(spread {spread:.0%}); wrk -t{args.threads} -c{args.connections} -d{args.seconds}s; "
        f"{args.workers} worker process(es) each"
    )
    for name, result in figures.items():
        print(line(name, result, baseline))
        if result.non_2xx or result.socket_errors:
            print(f"warning: {name}: {result.non_2xx + result.socket_errors} failed requests", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--postgres", action="store_true", help="also measure the vault on PostgreSQL")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1, help="server processes, the same for both")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
