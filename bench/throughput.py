"""Upload and download throughput through the HTTP API vs a raw minio put/get and vs the CPU's AES-GCM + SHA-256.

Starts SeaweedFS and `vault serve` (separate processes, loopback, temporary directories) and measures, for one
file of `--size-mib`:
- upload: a streamed POST /api/v1/documents (1 MiB pieces from a generator) vs a raw minio `put_object` of the
  same number of bytes into the same bucket, and vs AES-256-GCM (64 KiB chunks) + SHA-256 on one core;
- download: a streamed GET .../content through urllib3 (minio's HTTP stack, read in 1 MiB pieces and hashed, as
  the baseline reads) vs a raw minio `get_object` (read in 1 MiB pieces, hashed), and vs AES-256-GCM decryption +
  SHA-256 on one core; the same GET through httpx is printed too (httpx's own cost shows in that ratio).
The downloaded SHA-256 must equal the uploaded one (and the one the vault reports).

Each round runs raw put, API upload, raw get, API downloads, then the crypto ceiling; medians over `--rounds`.
Then the same rounds at the library level (`storage.encrypt_to_store` / `decrypt_from_store` with the S3 store,
in this process, against the same SeaweedFS): it separates the storage pipeline's cost from the HTTP layer's.
Client CPU seconds per GiB are printed beside the library figures (this process only; the store's CPU is not
included): on a loaded 2-core machine CPU, not the network, decides the ratios.

Usage: .venv/bin/python -m bench.throughput [--size-mib 256] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import statistics
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import BinaryIO, TypeVar, cast

import httpx
import urllib3
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from minio import Minio

import storage
from bench._harness import (
    MIB,
    IterReader,
    S3Endpoint,
    api_download,
    api_upload,
    mib_per_s,
    payload,
    seaweedfs,
    vault_process,
    workdir,
)

CHUNK = 64 * 1024
R = TypeVar("R")
A = TypeVar("A")
RAW_KEY = "bench-raw-object"


@dataclass(frozen=True)
class Ceiling:
    """One-core crypto throughput in MiB/s."""

    encrypt_hash: float
    decrypt_hash: float


def crypto_ceiling(size: int) -> Ceiling:
    """AES-256-GCM over 64 KiB chunks plus SHA-256 of the plaintext, for `size` bytes, both directions."""
    aead = AESGCM(AESGCM.generate_key(bit_length=256))
    plain = os.urandom(CHUNK)
    chunks = size // CHUNK
    digest = hashlib.sha256()
    started = time.perf_counter()
    for index in range(chunks):
        digest.update(plain)
        aead.encrypt(index.to_bytes(12, "big"), plain, None)
    encrypt_seconds = time.perf_counter() - started
    sealed = [aead.encrypt(index.to_bytes(12, "big"), plain, None) for index in range(16)]
    digest = hashlib.sha256()
    started = time.perf_counter()
    for index in range(chunks):
        digest.update(aead.decrypt((index % 16).to_bytes(12, "big"), sealed[index % 16], None))
    decrypt_seconds = time.perf_counter() - started
    return Ceiling(mib_per_s(chunks * CHUNK, encrypt_seconds), mib_per_s(chunks * CHUNK, decrypt_seconds))


def minio_client(s3: S3Endpoint) -> Minio:
    http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=5, read=120), retries=urllib3.Retry(total=2))
    return Minio(s3.endpoint, s3.access_key, s3.secret_key, secure=False, region="us-east-1", http_client=http)


def raw_put(client: Minio, bucket: str, size: int) -> tuple[float, str]:
    """Seconds for a raw put_object of `size` bytes (fed 1 MiB at a time), and their SHA-256."""
    digest = hashlib.sha256()
    started = time.perf_counter()
    client.put_object(bucket, RAW_KEY, cast("BinaryIO", IterReader(payload(size, MIB, digest))), size)
    return time.perf_counter() - started, digest.hexdigest()


def raw_get(client: Minio, bucket: str) -> tuple[float, str]:
    """Seconds to read the raw object back in 1 MiB pieces, hashing it, and its SHA-256."""
    digest = hashlib.sha256()
    started = time.perf_counter()
    response = client.get_object(bucket, RAW_KEY)
    try:
        for block in response.stream(MIB):
            digest.update(block)
    finally:
        response.close()
        response.release_conn()
    return time.perf_counter() - started, digest.hexdigest()


def warm_up(client: httpx.Client, raw: Minio, bucket: str) -> None:
    """A small upload/download both ways: volume allocation and first-request costs stay out of the figures."""
    _, _, doc = api_upload(client, MIB, "warm-up")
    api_download(client, str(doc["id"]))
    client.delete(f"/api/v1/documents/{doc['id']}").raise_for_status()
    raw_put(raw, bucket, MIB)
    raw_get(raw, bucket)


def line(
    name: str, api: list[float], base_name: str, base: list[float], ceiling_name: str, ceiling: list[float]
) -> str:
    """One figure from the per-round MiB/s values: medians, ratios of medians, and the spread of the ratio."""
    api_m, base_m, ceiling_m = (statistics.median(values) for values in (api, base, ceiling))
    ratios = sorted(a / b for a, b in zip(api, base, strict=True))
    # the paired figure: each round's ratio, both sides measured back to back (the store's own pace drifts)
    spread = (
        f", per-round {ratios[0]:.2f}-{ratios[-1]:.2f}x, median {statistics.median(ratios):.2f}x"
        if len(ratios) > 1
        else ""
    )
    return (
        f"{name}: {api_m:.1f} MiB/s = {api_m / base_m:.2f}x {base_name} ({base_m:.0f} MiB/s{spread}), "
        f"{api_m / ceiling_m:.2f}x {ceiling_name} ceiling ({ceiling_m:.0f} MiB/s)"
    )


def urllib3_download(http: urllib3.PoolManager, client: httpx.Client, document_id: str) -> tuple[float, str, int]:
    """Like `api_download`, through urllib3 (minio's HTTP stack) read in 1 MiB pieces, exactly as `raw_get` reads.

    httpx costs the client ~2-3 CPU-s per GiB against urllib3's ~1.2 on these machines, and the client shares the
    two cores with the server and the store: measured with httpx, the ratio partly compares HTTP clients.
    """
    digest = hashlib.sha256()
    received = 0
    started = time.perf_counter()
    response = http.request(
        "GET", str(client.base_url.join(f"/api/v1/documents/{document_id}/content")),
        headers={"Authorization": client.headers["Authorization"]}, preload_content=False,
    )  # fmt: skip
    try:
        if response.status != 200:
            raise SystemExit(f"download answered {response.status}")
        for block in response.stream(MIB):
            digest.update(block)
            received += len(block)
    finally:
        response.release_conn()
    return time.perf_counter() - started, digest.hexdigest(), received


def one_round(client: httpx.Client, raw: Minio, bucket: str, size: int, index: int = 0) -> dict[str, float]:
    """MiB/s of each path for one file of `size` bytes; fails if any hash differs.

    Each raw figure is measured right beside its API figure, and which of the two goes first alternates from
    round to round (`index`), so that neither side always runs on a store that has just written or just read;
    what was written is synced to disk before the reads, and before the next round.
    """

    def paired(raw_step: Callable[[], R], api_step: Callable[[], A]) -> tuple[R, A]:
        if index % 2 == 1:  # the API side first
            api_result = api_step()
            return raw_step(), api_result
        raw_result = raw_step()
        return raw_result, api_step()

    os.sync()  # nothing from the previous round is still being written back
    (put_s, put_hash), (up_s, up_hash, doc) = paired(
        lambda: raw_put(raw, bucket, size), lambda: api_upload(client, size, f"bench {size // MIB} MiB")
    )
    os.sync()  # the writes' dirty pages go to disk now, not in the middle of the reads that follow
    (get_s, get_hash), (down_s, down_hash, received) = paired(
        lambda: raw_get(raw, bucket), lambda: urllib3_download(urllib3.PoolManager(), client, str(doc["id"]))
    )
    httpx_s, httpx_hash, httpx_received = api_download(client, str(doc["id"]))
    client.delete(f"/api/v1/documents/{doc['id']}").raise_for_status()
    raw.remove_object(bucket, RAW_KEY)
    downloads = {down_hash, httpx_hash}
    if not (downloads == {up_hash} == {doc["sha256"]} and received == httpx_received == size and put_hash == get_hash):
        raise SystemExit(f"integrity: downloaded SHA-256 != uploaded SHA-256 ({up_hash} vs {downloads})")
    ceiling = crypto_ceiling(size)
    return {
        "put": mib_per_s(size, put_s), "upload": mib_per_s(size, up_s), "get": mib_per_s(size, get_s),
        "download": mib_per_s(size, down_s), "download_httpx": mib_per_s(size, httpx_s),
        "encrypt": ceiling.encrypt_hash, "decrypt": ceiling.decrypt_hash,
    }  # fmt: skip


async def _plaintext(size: int) -> AsyncIterator[bytes]:
    for block in payload(size, MIB):
        yield block


async def library_round(store: storage.ObjectStore, size: int) -> tuple[float, float, float, float, bool]:
    """Seconds and this process's CPU seconds for encrypt_to_store and decrypt_from_store of `size` bytes."""
    key, dek, context = "bench/library-object", storage.generate_key(), b"bench"
    cpu, started = time.process_time(), time.perf_counter()
    stored = await storage.encrypt_to_store(store, key, dek, context, _plaintext(size), plaintext_size=size)
    put_s, put_cpu = time.perf_counter() - started, time.process_time() - cpu
    digest = hashlib.sha256()
    cpu, started = time.process_time(), time.perf_counter()
    async with contextlib.aclosing(storage.decrypt_from_store(store, key, dek, context, size)) as pieces:
        async for piece in pieces:
            digest.update(piece)
    get_s, get_cpu = time.perf_counter() - started, time.process_time() - cpu
    await store.delete(key)
    return put_s, put_cpu, get_s, get_cpu, digest.hexdigest() == stored.sha256


def cpu_timed(fn: Callable[[], object]) -> tuple[float, float]:
    cpu, started = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - started, time.process_time() - cpu


def library_figures(s3: S3Endpoint, raw: Minio, bucket: str, size: int, rounds: int) -> None:
    """Interleaved raw put / library upload / raw get / library download rounds; prints ratios and CPU per GiB."""

    async def measure() -> list[dict[str, float]]:
        store = storage.store_from_url(s3.store_url)
        results = []
        try:
            await library_round(store, MIB)  # warm-up
            for _ in range(rounds):
                put_s, put_cpu = cpu_timed(lambda: raw_put(raw, bucket, size))
                up_s, up_cpu, down_s, down_cpu, intact = await library_round(store, size)
                get_s, get_cpu = cpu_timed(lambda: raw_get(raw, bucket))
                if not intact:
                    raise SystemExit("integrity: library round trip changed the bytes")
                results.append({
                    "put": mib_per_s(size, put_s), "upload": mib_per_s(size, up_s), "get": mib_per_s(size, get_s),
                    "download": mib_per_s(size, down_s), "put_cpu": put_cpu, "upload_cpu": up_cpu,
                    "get_cpu": get_cpu, "download_cpu": down_cpu,
                })  # fmt: skip
        finally:
            await store.close()
        return results

    results = asyncio.run(measure())
    series = {key: [result[key] for result in results] for key in results[0]}
    gib = size / (1024 * MIB)
    cpu = {key: statistics.median(series[f"{key}_cpu"]) / gib for key in ("put", "upload", "get", "download")}
    print(f"library (encrypt_to_store / decrypt_from_store, S3 store, in-process), median of {rounds} round(s):")
    for name, base in (("upload", "put"), ("download", "get")):
        ratios = sorted(a / b for a, b in zip(series[name], series[base], strict=True))
        print(
            f"  {name}: {statistics.median(series[name]):.1f} MiB/s = "
            f"{statistics.median(series[name]) / statistics.median(series[base]):.2f}x raw minio {base} "
            f"({statistics.median(series[base]):.0f} MiB/s, per-round {ratios[0]:.2f}-{ratios[-1]:.2f}x); "
            f"client CPU {cpu[name]:.2f} s/GiB vs {cpu[base]:.2f} s/GiB raw"
        )


def run(size_mib: int, rounds: int, library: bool) -> None:
    size = size_mib * MIB
    bucket = "vault"
    with workdir("throughput") as tmp, seaweedfs(tmp / "seaweedfs", bucket) as s3:
        raw = minio_client(s3)
        with vault_process(tmp, s3.store_url) as vault, vault.client(vault.token("alice")) as client:
            warm_up(client, raw, bucket)
            results = [one_round(client, raw, bucket, size, index) for index in range(rounds)]
        series = {key: [result[key] for result in results] for key in results[0]}
        print(f"size: {size_mib} MiB through SeaweedFS, median of {rounds} interleaved round(s) "
              "(raw minio put/get into the same bucket as the vault)")  # fmt: skip
        print(line("upload", series["upload"], "raw minio put", series["put"], "AES-GCM+SHA-256", series["encrypt"]))
        print(line("download", series["download"], "raw minio get", series["get"],
                   "AES-GCM-decrypt+SHA-256", series["decrypt"]))  # fmt: skip
        print(line("download (httpx client)", series["download_httpx"], "raw minio get", series["get"],
                   "AES-GCM-decrypt+SHA-256", series["decrypt"]))  # fmt: skip
        print(f"integrity: downloaded SHA-256 == uploaded SHA-256 in all {rounds} round(s)")
        if library:
            library_figures(s3, raw, bucket, size, rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256, help="file size in MiB (default 256)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; medians are printed (default 5)")
    parser.add_argument("--no-library", action="store_true", help="skip the library-level rounds")
    args = parser.parse_args()
    if args.rounds < 1 or args.size_mib < 1:
        parser.error("--rounds and --size-mib must be at least 1")
    run(args.size_mib, args.rounds, not args.no_library)


if __name__ == "__main__":
    main()
