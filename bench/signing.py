"""Citizen sign and verify latency through the HTTP API vs pyHanko in-process and vs poppler's `pdfsig`.

Starts `vault serve` on its embedded defaults (development mode, filesystem store): the service is its own PKI,
TSA, OCSP responder and CRL publisher under `<public URL>/dev-pki/`, and a citizen (`alice` of the development
identity provider) signs in her own name with a fresh key and a ten-minute certificate from the identity CA.
The only setting changed is `VAULT_ANONYMOUS_VERIFY_PER_MINUTE` (the bench verifies more than 30 times a minute).

The in-process baseline is `signing.IdentitySigner` in this process over the same development PKI (read from the
vault's data directory): the same identity CA issues a same-profile ten-minute certificate for a fresh P-256 key
per signature, and pyHanko (`signing.PdfSigningService`) signs with it, timestamping through the same TSA (the
vault's `/dev-pki/tsa`, over HTTP: the vault itself answers its own TSA in-process) and fetching revocation data
from the same OCSP/CRL endpoints for B-LT and B-LTA. Per PAdES level, the median over `--runs`:
- sign: POST /api/v1/documents/{id}/signatures on a freshly uploaded tests/data/pdf/minimal.pdf (the upload is
  not timed) vs `IdentitySigner.sign` on the same bytes; API and in-process runs alternate. A person's signature
  is at least B-T: a B-B request is raised to B-T on both sides;
- verify: POST /api/v1/verify of the document the API signed at that level vs `signing.PdfVerifier.verify`
  (same trust root, no fetching: the vault's defaults) on the same bytes vs poppler's `pdfsig FILE` (a new
  process each time, its start included; no trust store, so it checks the signature but not the chain) and
  `pdfsig -nssdir DB FILE` with an NSS database trusting the development root (`C,C,C`: pdfsig needs the
  e-mail trust bit), which validates the chain and asks the vault's OCSP responder; the four alternate.
Then signatures per second with `--concurrency` requests in flight (`--total` documents) vs one at a time.

Usage: .venv/bin/python -m bench.signing [--runs 15] [--levels B-B,B-T,B-LT,B-LTA] [--concurrency 8] [--total 64]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

import signing
from bench._harness import MINIMAL_PDF, Vault, median_ms, vault_process, workdir

LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
CITIZEN = "alice"


@dataclass
class Bench:
    """The running vault (API side) and the in-process pyHanko services over the vault's development PKI."""

    api: httpx.AsyncClient
    signer: signing.IdentitySigner
    identity: signing.VerifiedIdentity
    verifier: signing.PdfVerifier
    pdf: bytes
    scratch: Path
    nssdir: Path


@contextlib.asynccontextmanager
async def bench_on(vault: Vault, token: str) -> AsyncIterator[Bench]:
    pki = signing.DevPki(vault.data_dir / "dev-pki")  # created by the vault at start, with its public URL
    roots = [pki.root_cert_path.read_bytes()]
    engine = signing.PdfSigningService(None, tsa_url=pki.tsa_url, trust_roots=roots, allow_fetching=True)
    signer = signing.IdentitySigner(signing.IdentityCa.from_dev_pki(pki), engine)
    me = (await _me(vault, token)) or {}
    identity = signing.VerifiedIdentity(
        name="Alice Citizen", issuer=str(me.get("issuer") or vault.url), subject=str(me.get("subject") or CITIZEN)
    )
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-pdfsig-") as scratch:
            async with httpx.AsyncClient(base_url=vault.url, headers=headers, timeout=120) as api:
                nssdir = trusting_nss_db(Path(scratch) / "nssdb", pki.root_cert_path)
                verifier = signing.PdfVerifier(roots)
                yield Bench(api, signer, identity, verifier, MINIMAL_PDF.read_bytes(), Path(scratch), nssdir)
    finally:
        await engine.aclose()


async def _me(vault: Vault, token: str) -> dict[str, object] | None:
    async with httpx.AsyncClient(base_url=vault.url, headers={"Authorization": f"Bearer {token}"}) as client:
        response = await client.get("/api/v1/me")
        return dict(response.json()) if response.status_code == 200 else None


async def upload_pdf(bench: Bench) -> str:
    headers = {"Content-Type": "application/pdf", "X-Document-Title": "signing bench"}
    response = await bench.api.post("/api/v1/documents", content=bench.pdf, headers=headers)
    response.raise_for_status()
    return str(response.json()["id"])


async def api_sign(bench: Bench, document_id: str, level: str) -> float:
    """Seconds for one citizen signature through the API."""
    started = time.perf_counter()
    response = await bench.api.post(f"/api/v1/documents/{document_id}/signatures", json={"level": level})
    seconds = time.perf_counter() - started
    if response.status_code != 201:
        raise RuntimeError(f"sign {level}: {response.status_code} {response.text[:300]}")
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

    async def in_process() -> object:
        return await bench.signer.sign(bench.pdf, bench.identity, request)

    api_times: list[float] = []
    local_times: list[float] = []
    document_id = await upload_pdf(bench)  # warm-up of both paths: TSA/OCSP connections, caches
    await api_sign(bench, document_id, level)
    sample = await signed_pdf(bench, document_id)
    await in_process()
    for _ in range(runs):
        document_id = await upload_pdf(bench)
        api_times.append(await api_sign(bench, document_id, level))
        local_times.append(await timed(in_process))
        (await bench.api.delete(f"/api/v1/documents/{document_id}")).raise_for_status()
    return api_times, local_times, sample


def pdfsig(path: Path, nssdir: Path | None = None) -> str:
    """Run `pdfsig [-nssdir DB] FILE`; per signature, its signer and verdicts in a few words."""
    argv = ["pdfsig", *(["-nssdir", f"sql:{nssdir}"] if nssdir else []), str(path)]
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    parts: list[str] = []
    for line in (line.strip(" -\t") for line in result.stdout.splitlines()):
        if line.startswith("Signer Certificate Common Name:"):
            parts.append(line.split(":", 1)[1].strip())
        elif "Validation:" in line and parts:
            parts[-1] += f" / {line.split(':', 1)[1].strip().rstrip('.')}"
    return "; ".join(parts) or f"exit {result.returncode}: {result.stderr.strip()[:120]}"


def trusting_nss_db(directory: Path, root_pem: Path) -> Path:
    """An NSS database in which the development root is a trusted CA (for `pdfsig -nssdir`)."""
    directory.mkdir()
    subprocess.run(["certutil", "-N", "-d", f"sql:{directory}", "--empty-password"], check=True, capture_output=True)
    add = ["certutil", "-A", "-d", f"sql:{directory}", "-n", "vault-dev-root", "-t", "C,C,C", "-i", str(root_pem)]
    subprocess.run(add, check=True, capture_output=True)
    return directory


@dataclass
class VerifyTimes:
    """Verification times of one file and what each verifier said."""

    api: list[float]
    local: list[float]
    pdfsig: list[float]
    pdfsig_trusted: list[float]
    verdicts: str


async def verify_level(bench: Bench, level: str, pdf: bytes, runs: int) -> VerifyTimes:
    """API, in-process, `pdfsig FILE` and `pdfsig -nssdir TRUSTED FILE` times of `pdf` (alternating)."""
    path = bench.scratch / f"signed-{level}.pdf"
    path.write_bytes(pdf)

    async def through_api() -> dict[str, object]:
        response = await bench.api.post("/api/v1/verify", content=pdf, headers={"Content-Type": "application/pdf"})
        response.raise_for_status()
        return dict(response.json())

    async def plain() -> str:
        return await asyncio.to_thread(pdfsig, path)

    async def trusted() -> str:
        return await asyncio.to_thread(pdfsig, path, bench.nssdir)

    report = await through_api()
    await bench.verifier.verify(pdf)
    verdicts = f"API: {summary(report)}; pdfsig: {await plain()}; pdfsig trusting the root: {await trusted()}"
    times = VerifyTimes([], [], [], [], verdicts)
    for _ in range(runs):
        times.api.append(await timed(through_api))
        times.local.append(await timed(lambda: bench.verifier.verify(pdf)))
        times.pdfsig.append(await timed(plain))
        times.pdfsig_trusted.append(await timed(trusted))
    return times


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


def sign_line(level: str, api: list[float], local: list[float]) -> str:
    api_ms, local_ms = median_ms(api), median_ms(local)
    return (
        f"sign {level}: API {api_ms:.0f} ms = {api_ms / local_ms:.2f}x in-process pyHanko ({local_ms:.0f} ms), "
        f"median of {len(api)}"
    )


def verify_line(level: str, times: VerifyTimes) -> str:
    api_ms, local_ms = median_ms(times.api), median_ms(times.local)
    pdfsig_ms, trusted_ms = median_ms(times.pdfsig), median_ms(times.pdfsig_trusted)
    return (
        f"verify {level}: API {api_ms:.0f} ms = {api_ms / local_ms:.2f}x in-process pyHanko ({local_ms:.0f} ms), "
        f"{api_ms / pdfsig_ms:.2f}x pdfsig ({pdfsig_ms:.0f} ms), "
        f"{api_ms / trusted_ms:.2f}x pdfsig trusting the root ({trusted_ms:.0f} ms), median of {len(times.api)}\n"
        f"  verdicts {level}: {times.verdicts}"
    )


async def run_levels(vault: Vault, token: str, args: argparse.Namespace) -> None:
    async with bench_on(vault, token) as bench:
        print(f"citizen: {bench.identity.name} ({bench.identity.uri}); TSA/OCSP/CRL: {vault.url}/dev-pki", flush=True)
        sequential: dict[str, tuple[float, float]] = {}
        samples: dict[str, bytes] = {}
        for level in args.levels:
            api, local, samples[level] = await sign_level(bench, level, args.runs)
            sequential[level] = (median_ms(api), median_ms(local))
            print(sign_line(level, api, local), flush=True)
        for level in args.levels:
            print(verify_line(level, await verify_level(bench, level, samples[level], args.runs)), flush=True)
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
    with workdir("signing") as tmp, vault_process(tmp, None, anonymous_verify_per_minute="100000") as vault:
        print("PKI: the vault's embedded development PKI (its own TSA, OCSP, CRLs); filesystem store")
        asyncio.run(run_levels(vault, vault.token(CITIZEN), args))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per level and operation (default 15)")
    parser.add_argument("--levels", default=",".join(LEVELS), help="comma-separated PAdES levels")
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
    if shutil.which("pdfsig") is None:
        parser.error("pdfsig is not on PATH: apt-get install poppler-utils")
    run(args)


if __name__ == "__main__":
    main()
