"""Peak memory of the vault server while streaming a file 10x larger than the previous one: it must stay flat.

For each store (SeaweedFS over S3, and the filesystem store in the data directory) a fresh `vault serve` process
is started; its RSS (with any children) is sampled every 50 ms in a thread while a document of `--small-mib`
and then one of `--large-mib` is uploaded, downloaded (hashed) and deleted. Printed per store: idle RSS after a
warm-up, the peak over idle for each size, and peak(large)/peak(small) for the whole RSS and for the increase.

Usage: .venv/bin/python -m bench.memory [--small-mib 100] [--large-mib 1024] [--stores s3,file]
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from pathlib import Path

from bench._harness import MIB, RssSampler, Vault, api_download, api_upload, seaweedfs, vault_process, workdir


@contextlib.contextmanager
def vault_on(store: str, tmp: Path) -> Iterator[Vault]:
    """A vault on SeaweedFS (`s3`) or on its filesystem store (`file`)."""
    if store == "s3":
        with seaweedfs(tmp / "seaweedfs") as s3, vault_process(tmp, s3.store_url) as vault:
            yield vault
    else:
        with vault_process(tmp) as vault:
            yield vault


def round_trip(vault: Vault, token: str, size: int) -> None:
    """Upload `size` bytes, download them (checking the hash), delete the document."""
    with vault.client(token) as client:
        _, sent_hash, doc = api_upload(client, size, f"memory {size // MIB} MiB")
        _, got_hash, received = api_download(client, str(doc["id"]))
        client.delete(f"/api/v1/documents/{doc['id']}").raise_for_status()
    if got_hash != sent_hash or received != size:
        raise SystemExit(f"download of {size} bytes did not match the upload")


def peak_during(vault: Vault, token: str, size: int, interval: float) -> int:
    """Highest RSS (bytes) of the server's process tree during one round trip of `size` bytes."""
    with RssSampler(vault.pid, interval) as sampler:
        round_trip(vault, token, size)
    return sampler.peak


def measure(store: str, sizes: tuple[int, int], interval: float) -> None:
    small, large = sizes
    with workdir(f"memory-{store}") as tmp, vault_on(store, tmp) as vault:
        token = vault.token("alice")
        round_trip(vault, token, MIB)  # warm-up: imports, connection pools, volume allocation
        idle = RssSampler(vault.pid).current()
        peak_small = peak_during(vault, token, small, interval)
        peak_large = peak_during(vault, token, large, interval)
    over_small, over_large = peak_small - idle, peak_large - idle
    print(
        f"{store}: idle RSS {idle / MIB:.0f} MiB; peak over idle {over_small / MIB:+.1f} MiB at {small // MIB} MiB, "
        f"{over_large / MIB:+.1f} MiB at {large // MIB} MiB; peak({large // MIB} MiB)/peak({small // MIB} MiB) = "
        f"{peak_large / peak_small:.2f}x RSS, {over_large / max(over_small, MIB):.2f}x increase "
        f"(file {large / small:.0f}x larger)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small-mib", type=int, default=100)
    parser.add_argument("--large-mib", type=int, default=1024)
    parser.add_argument("--stores", default="s3,file", help="comma-separated: s3 (SeaweedFS), file")
    parser.add_argument("--interval", type=float, default=0.05, help="RSS sampling interval in seconds")
    args = parser.parse_args()
    for store in args.stores.split(","):
        if store not in {"s3", "file"}:
            parser.error(f"unknown store {store!r}")
        measure(store, (args.small_mib * MIB, args.large_mib * MIB), args.interval)


if __name__ == "__main__":
    main()
