"""Sign and verify latency through the HTTP API vs pyHanko (signing.PdfSigningService/PdfVerifier) in-process.

Starts the certomancer test PKI (TSA, OCSP, CRLs; tests/pki) and `vault serve` (filesystem store) sealing with
the PKI's `agency` key, TSA and root; the in-process baseline is built by the vault's own `build_signing` from
the same settings (same key, TSA, trust roots, revocation fetching). Per PAdES level, the median over `--runs`:
- sign: POST /api/v1/documents/{id}/signatures on a freshly uploaded tests/data/pdf/minimal.pdf (the upload is
  not timed) vs `PdfSigningService.sign` on the same bytes; API and in-process runs alternate;
- verify: POST /api/v1/verify of a document signed at that level vs `PdfVerifier.verify` on the same bytes.
Then signatures per second with `--concurrency` requests in flight (`--total` documents) vs one at a time.
`--pki dev` uses the vault's development PKI instead (no TSA: B-B only).

Usage: .venv/bin/python -m bench.signing [--runs 15] [--levels B-B,B-T,B-LT,B-LTA] [--pki certomancer|dev]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx

import signing
from bench._harness import MINIMAL_PDF, Vault, certomancer_pki, median_ms, vault_process, workdir
from vault.settings import Settings
from vault.signatures.setup import build_signing

LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")


@dataclass
class Bench:
    """The running vault (API side) and the in-process pyHanko services built from the same settings."""

    api: httpx.AsyncClient
    signer: signing.PdfSigningService
    verifier: signing.PdfVerifier
    pdf: bytes


@contextlib.asynccontextmanager
async def bench_on(vault: Vault, token: str) -> AsyncIterator[Bench]:
    env = {key.removeprefix("VAULT_").lower(): value for key, value in vault.env.items() if key.startswith("VAULT_")}
    settings = Settings.model_validate(env)  # exactly the vault process's VAULT_* values, nothing else
    setup = build_signing(settings)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with httpx.AsyncClient(base_url=vault.url, headers=headers, timeout=120) as api:
            yield Bench(api, setup.service, setup.verifier, MINIMAL_PDF.read_bytes())
    finally:
        await setup.service.aclose()
        setup.backend.close()


async def upload_pdf(bench: Bench) -> str:
    headers = {"Content-Type": "application/pdf", "X-Document-Title": "signing bench"}
    response = await bench.api.post("/api/v1/documents", content=bench.pdf, headers=headers)
    response.raise_for_status()
    return str(response.json()["id"])


async def api_sign(bench: Bench, document_id: str, level: str) -> float:
    """Seconds for one signature through the API."""
    started = time.perf_counter()
    response = await bench.api.post(f"/api/v1/documents/{document_id}/signatures", json={"level": level})
    seconds = time.perf_counter() - started
    response.raise_for_status()
    return seconds


async def signed_pdf(bench: Bench, document_id: str) -> bytes:
    response = await bench.api.get(f"/api/v1/documents/{document_id}/content")
    response.raise_for_status()
    return response.content


async def timed(coro: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await coro()
    return time.perf_counter() - started


async def sign_level(bench: Bench, level: str, runs: int) -> tuple[list[float], list[float], bytes]:
    """API and in-process sign times for `level` (alternating), and one document signed through the API."""
    request = signing.SignRequest(level=signing.PadesLevel(level))
    api_times: list[float] = []
    local_times: list[float] = []
    document_id = await upload_pdf(bench)  # warm-up of both paths: signer check, TSA/OCSP connections
    await api_sign(bench, document_id, level)
    sample = await signed_pdf(bench, document_id)
    await bench.signer.sign(bench.pdf, request)
    for _ in range(runs):
        document_id = await upload_pdf(bench)
        api_times.append(await api_sign(bench, document_id, level))
        local_times.append(await timed(lambda: bench.signer.sign(bench.pdf, request)))
        (await bench.api.delete(f"/api/v1/documents/{document_id}")).raise_for_status()
    return api_times, local_times, sample


async def verify_level(bench: Bench, pdf: bytes, runs: int) -> tuple[list[float], list[float], str]:
    """API and in-process verification times of `pdf` (alternating), and the report's bottom line."""

    async def through_api() -> dict[str, object]:
        response = await bench.api.post("/api/v1/verify", content=pdf, headers={"Content-Type": "application/pdf"})
        response.raise_for_status()
        return dict(response.json())

    report = await through_api()
    await bench.verifier.verify(pdf)
    api_times = [0.0] * runs
    local_times = [0.0] * runs
    for index in range(runs):
        api_times[index] = await timed(through_api)
        local_times[index] = await timed(lambda: bench.verifier.verify(pdf))
    return api_times, local_times, summary(report)


def summary(report: dict[str, object]) -> str:
    """The API report in a few words: per signature, its PAdES level, pyHanko bottom line and ETSI indication."""
    signatures = report.get("signatures")
    if not isinstance(signatures, list) or not signatures:
        return "no signatures reported"
    parts = []
    for sig in signatures:
        ades = sig.get("ades") or {}
        parts.append(f"{sig.get('kind')} {sig.get('pades_level')} {sig.get('bottom_line')}/{ades.get('indication')}")
    return "; ".join(parts)


async def concurrent_rate(bench: Bench, level: str, concurrency: int, total: int) -> float:
    """Signatures per second with `concurrency` sign requests in flight over `total` fresh documents."""
    documents = [await upload_pdf(bench) for _ in range(total)]
    gate = asyncio.Semaphore(concurrency)

    async def one(document_id: str) -> None:
        async with gate:
            await api_sign(bench, document_id, level)

    started = time.perf_counter()
    await asyncio.gather(*(one(document_id) for document_id in documents))
    seconds = time.perf_counter() - started
    for document_id in documents:
        (await bench.api.delete(f"/api/v1/documents/{document_id}")).raise_for_status()
    return total / seconds


def ratio_line(what: str, level: str, api: list[float], local: list[float], extra: str = "") -> str:
    api_ms, local_ms = median_ms(api), median_ms(local)
    return (
        f"{what} {level}: API {api_ms:.0f} ms = {api_ms / local_ms:.2f}x in-process pyHanko ({local_ms:.0f} ms), "
        f"median of {len(api)}{extra}"
    )


async def run_levels(vault: Vault, token: str, args: argparse.Namespace) -> None:
    async with bench_on(vault, token) as bench:
        sequential: dict[str, tuple[float, float]] = {}
        samples: dict[str, bytes] = {}
        for level in args.levels:
            api, local, samples[level] = await sign_level(bench, level, args.runs)
            sequential[level] = (median_ms(api), median_ms(local))
            print(ratio_line("sign", level, api, local), flush=True)
        for level in args.levels:
            api, local, verdict = await verify_level(bench, samples[level], args.runs)
            print(ratio_line("verify", level, api, local, f" ({verdict})"), flush=True)
        level = args.levels[0]
        rate = await concurrent_rate(bench, level, args.concurrency, args.total)
        api_ms, local_ms = sequential[level]
        print(
            f"concurrent sign {level}: {rate:.1f} signatures/s with {args.concurrency} in flight ({args.total} total) "
            f"= {rate * api_ms / 1000:.2f}x one-at-a-time API ({1000 / api_ms:.1f}/s), "
            f"{rate * local_ms / 1000:.2f}x one-at-a-time in-process ({1000 / local_ms:.1f}/s)",
            flush=True,
        )


def run(args: argparse.Namespace) -> None:
    with workdir("signing") as tmp:
        if args.pki == "dev":
            with vault_process(tmp) as vault:
                print("PKI: the vault's development PKI (no TSA); filesystem store")
                asyncio.run(run_levels(vault, vault.token("alice"), args))
            return
        with certomancer_pki(tmp / "pki") as pki, vault_process(tmp, None, **pki.vault_env()) as vault:
            print(f"PKI: certomancer test PKI (seal 'agency', TSA {pki.tsa_url}); filesystem store")
            asyncio.run(run_levels(vault, vault.token("alice"), args))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per level and operation (default 15)")
    parser.add_argument("--levels", default=",".join(LEVELS), help="comma-separated PAdES levels")
    parser.add_argument("--pki", choices=("certomancer", "dev"), default="certomancer")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--total", type=int, default=64, help="signatures in the concurrent run")
    args = parser.parse_args()
    # pyHanko logs expected AdES "no proof of existence" outcomes with tracebacks; the report carries them.
    for name in ("pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    args.levels = [level.strip() for level in args.levels.split(",") if level.strip()]
    unknown = [level for level in args.levels if level not in LEVELS]
    if unknown or not args.levels:
        parser.error(f"unknown levels: {unknown}")
    if args.pki == "dev" and args.levels != ["B-B"]:
        parser.error("the development PKI has no TSA: use --levels B-B")
    run(args)


if __name__ == "__main__":
    main()
