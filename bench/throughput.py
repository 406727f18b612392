"""Upload and download throughput through the HTTP API vs a raw minio put/get and vs the CPU's AES-GCM + SHA-256.

Starts SeaweedFS and `vault serve` (separate processes, loopback, temporary directories) and measures, for one
file of `--size-mib`:
- upload: a streamed POST /api/v1/documents (1 MiB pieces from a generator) vs a raw minio `put_object` of the
  same number of bytes into the same bucket, and vs AES-256-GCM (64 KiB chunks) + SHA-256 on one core;
- download: a streamed GET .../content (hashed) vs a raw minio `get_object` (read in 1 MiB pieces, hashed), and
  vs AES-256-GCM decryption + SHA-256 on one core.
The downloaded SHA-256 must equal the uploaded one (and the one the vault reports).

Usage: .venv/bin/python -m bench.throughput [--size-mib 256]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time
from dataclasses import dataclass
from typing import BinaryIO, cast

import httpx
import urllib3
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from minio import Minio

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


def line(name: str, api: float, base_name: str, base: float, ceiling_name: str, ceiling: float) -> str:
    return (
        f"{name}: {api:.1f} MiB/s = {api / base:.2f}x {base_name} ({base:.0f} MiB/s), "
        f"{api / ceiling:.2f}x {ceiling_name} ceiling ({ceiling:.0f} MiB/s)"
    )


def run(size_mib: int) -> None:
    size = size_mib * MIB
    bucket = "vault"
    with workdir("throughput") as tmp, seaweedfs(tmp / "seaweedfs", bucket) as s3:
        with vault_process(tmp, s3.store_url) as vault, vault.client(vault.token("alice")) as client:
            raw = minio_client(s3)
            warm_up(client, raw, bucket)
            put_s, put_hash = raw_put(raw, bucket, size)
            up_s, up_hash, doc = api_upload(client, size, f"bench {size_mib} MiB")
            get_s, get_hash = raw_get(raw, bucket)
            down_s, down_hash, received = api_download(client, str(doc["id"]))
            client.delete(f"/api/v1/documents/{doc['id']}").raise_for_status()
            raw.remove_object(bucket, RAW_KEY)
        ceiling = crypto_ceiling(size)
    ok = up_hash == down_hash == doc["sha256"] and received == size and put_hash == get_hash
    print(f"size: {size_mib} MiB through SeaweedFS (raw minio put/get into the same bucket as the vault)")
    print(line("upload", mib_per_s(size, up_s), "raw minio put", mib_per_s(size, put_s),
               "AES-GCM+SHA-256", ceiling.encrypt_hash))  # fmt: skip
    print(line("download", mib_per_s(size, down_s), "raw minio get", mib_per_s(size, get_s),
               "AES-GCM-decrypt+SHA-256", ceiling.decrypt_hash))  # fmt: skip
    print(f"integrity: downloaded SHA-256 {'==' if ok else '!='} uploaded SHA-256 ({up_hash[:16]}...)")
    if not ok:
        raise SystemExit("downloaded bytes differ from the uploaded ones")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256, help="file size in MiB (default 256)")
    args = parser.parse_args()
    run(args.size_mib)


if __name__ == "__main__":
    main()
