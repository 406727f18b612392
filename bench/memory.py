"""Peak memory of the vault server while streaming a file 10x larger than the previous one: it must stay flat.

For each store (SeaweedFS over S3, and the filesystem store in the data directory) and each way in (the API, and
the web portal) a fresh `vault serve` process is started; its RSS (with any children) is sampled every 50 ms in a
thread while a document of `--small-mib` and then one of `--large-mib` is uploaded, downloaded (hashed) and
deleted. Printed per store and way in: idle RSS after a warm-up, the peak over idle for each size,
peak(large)/peak(small) for the whole RSS and for the increase, and the large round trip's seconds.

- `api`: `POST /api/v1/documents` with a raw streamed body and a bearer token, `GET .../content`.
- `portal`: what a browser does: sign in through `/login` and the development provider's one-click page (the
  session cookie kept by the client), read the CSRF token of the upload form (`/documents/new`), `POST /documents`
  a multipart/form-data body (CSRF token, title, kind, then the file) generated as it is sent, follow the 303 to
  the document's page, and download it back from `/documents/{id}/download`. The upload alone is sampled too.
  Then a Cancel: a `--large-mib` upload whose connection is dropped half way (as the form's Cancel button aborts
  its XHR); printed: the peak, whether `/health` answers, the citizen's document count before and after, and
  how much the data directory grew (a partial file left behind would show on the filesystem store).

Usage: .venv/bin/python -m bench.memory [--small-mib 100] [--large-mib 1024] [--stores s3,file] [--ways api,portal]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import re
import resource
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from bench._harness import (
    MIB,
    Digest,
    RssSampler,
    Vault,
    api_download,
    api_upload,
    payload,
    seaweedfs,
    vault_process,
    workdir,
)
from tests.support.portal import csrf_token, sign_in, without_host

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}  # what a browser asks for
_DOCUMENT_PAGE = re.compile(r"/documents/([0-9a-f-]{36})$")


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


@contextlib.contextmanager
def portal_client(vault: Vault, user: str = "alice") -> Iterator[httpx.Client]:
    """A cookie-keeping client signed in through the portal (`/login`, the development provider's one-click
    page, `/auth/callback`), as a browser would be."""
    with httpx.Client(base_url=vault.url, headers=HTML, timeout=300) as client:
        answer = sign_in(client, user, next_path="/documents")
        while answer.is_redirect:  # the callback sends the browser on to the page it asked for
            answer = client.get(without_host(answer.headers["location"]), follow_redirects=False)
        answer.raise_for_status()
        yield client


def multipart_form(
    fields: dict[str, str], filename: str, size: int, digest: Digest
) -> tuple[str, int, Iterator[bytes]]:
    """A multipart/form-data body of `fields` then a file part of `size` random bytes (hashed into `digest` as
    they are sent), generated piece by piece: its Content-Type, its length, and its pieces."""
    boundary = f"bench-{secrets.token_hex(16)}"
    head = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    tail = f"\r\n--{boundary}--\r\n".encode()

    def pieces() -> Iterator[bytes]:
        yield head.encode()
        yield from payload(size, MIB, digest)
        yield tail

    return f"multipart/form-data; boundary={boundary}", len(head.encode()) + size + len(tail), pieces()


def portal_upload(client: httpx.Client, size: int, title: str) -> tuple[str, str]:
    """Upload `size` bytes through the portal's form (CSRF token from `/documents/new`): the document's id and
    the SHA-256 sent."""
    form = client.get("/documents/new")
    form.raise_for_status()
    digest = hashlib.sha256()
    fields = {"csrf_token": csrf_token(form), "title": title, "kind": "other"}
    content_type, length, body = multipart_form(fields, "memory.bin", size, digest)
    headers = {"Content-Type": content_type, "Content-Length": str(length)}
    answer = client.post("/documents", content=body, headers=headers, follow_redirects=False)
    found = _DOCUMENT_PAGE.search(answer.headers.get("location", "")) if answer.status_code == 303 else None
    if found is None:
        raise SystemExit(f"portal upload answered {answer.status_code}: {answer.text[:500]}")
    return found[1], digest.hexdigest()


def portal_download(client: httpx.Client, document_id: str) -> tuple[str, int]:
    """The SHA-256 and length of the document's download from the portal, hashed as it arrives."""
    digest = hashlib.sha256()
    received = 0
    with client.stream("GET", f"/documents/{document_id}/download") as response:
        response.raise_for_status()
        for block in response.iter_bytes(MIB):
            digest.update(block)
            received += len(block)
    return digest.hexdigest(), received


def portal_round_trip(vault: Vault, token: str, size: int) -> int:
    """Sign in, upload `size` bytes through the portal, download them back through it (checking the hash), and
    delete the document (through the API: the portal has no delete). Returns the peak RSS during the upload."""
    with portal_client(vault) as client:
        with RssSampler(vault.pid) as upload:
            document_id, sent_hash = portal_upload(client, size, f"portal {size // MIB} MiB")
        got_hash, received = portal_download(client, document_id)
    with vault.client(token) as api:
        api.delete(f"/api/v1/documents/{document_id}").raise_for_status()
    if got_hash != sent_hash or received != size:
        raise SystemExit(f"portal download of {size} bytes did not match the upload")
    return upload.peak


class UploadCancelled(Exception):
    """Raised by the body generator to cut an upload short, as a browser's Cancel (XHR abort) does."""


def cut_after(pieces: Iterator[bytes], limit: int) -> Iterator[bytes]:
    """`pieces` until `limit` bytes have gone out, then the connection is dropped mid-body."""
    sent = 0
    for piece in pieces:
        if sent >= limit:
            raise UploadCancelled
        sent += len(piece)
        yield piece


def tree_bytes(directory: Path) -> int:
    """The bytes of the files under `directory`."""
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())


def portal_cancel(vault: Vault, token: str, size: int, cut: int, idle: int, interval: float) -> str:
    """Start a portal upload of `size` bytes, drop the connection after `cut`, and say what the server kept."""
    with vault.client(token) as api:
        before = len(api.get("/api/v1/documents").json()["items"])
    stored_before = tree_bytes(vault.data_dir)
    with portal_client(vault) as client:
        form = client.get("/documents/new")
        form.raise_for_status()
        fields = {"csrf_token": csrf_token(form), "title": "cancelled", "kind": "other"}
        content_type, length, body = multipart_form(fields, "cancelled.bin", size, hashlib.sha256())
        headers = {"Content-Type": content_type, "Content-Length": str(length)}
        with RssSampler(vault.pid, interval) as sampler, contextlib.suppress(UploadCancelled):
            client.post("/documents", content=cut_after(body, cut), headers=headers)
            raise SystemExit("the cancelled upload was answered")
    time.sleep(2)  # the server notices the disconnect and cleans up
    health = httpx.get(f"{vault.url}/health", timeout=30).status_code
    with vault.client(token) as api:
        after = len(api.get("/api/v1/documents").json()["items"])
    left = tree_bytes(vault.data_dir) - stored_before
    return (
        f"cancel at {cut // MIB} of {size // MIB} MiB: peak over idle {(sampler.peak - idle) / MIB:+.1f} MiB; "
        f"/health {health}; documents {before} -> {after}; data directory {left / MIB:+.1f} MiB 2 s later"
    )


def peak_during(fn: Callable[[], None], pid: int, interval: float) -> int:
    """Highest RSS (bytes) of the server's process tree while `fn` runs."""
    with RssSampler(pid, interval) as sampler:
        fn()
    return sampler.peak


def measure(store: str, way: str, sizes: tuple[int, int], interval: float) -> None:
    small, large = sizes
    uploads: list[int] = []
    with workdir(f"memory-{store}-{way}") as tmp, vault_on(store, tmp) as vault:
        token = vault.token("alice")

        def trip(size: int) -> None:
            if way == "portal":
                uploads.append(portal_round_trip(vault, token, size))
            else:
                round_trip(vault, token, size)

        trip(MIB)  # warm-up: imports, templates, connection pools, volume allocation
        uploads.clear()
        idle = RssSampler(vault.pid).current()
        peak_small = peak_during(lambda: trip(small), vault.pid, interval)
        started = time.perf_counter()
        peak_large = peak_during(lambda: trip(large), vault.pid, interval)
        seconds = time.perf_counter() - started
        cancelled = portal_cancel(vault, token, large, large // 2, idle, interval) if way == "portal" else ""
    over_small, over_large = peak_small - idle, peak_large - idle
    upload_only = (
        f"; upload alone {(uploads[0] - idle) / MIB:+.1f} vs {(uploads[1] - idle) / MIB:+.1f} MiB" if uploads else ""
    )
    print(
        f"{store} {way}: idle RSS {idle / MIB:.0f} MiB; peak over idle {over_small / MIB:+.1f} MiB at "
        f"{small // MIB} MiB, {over_large / MIB:+.1f} MiB at {large // MIB} MiB; peak({large // MIB} MiB)/"
        f"peak({small // MIB} MiB) = {peak_large / peak_small:.2f}x RSS, {over_large / max(over_small, MIB):.2f}x "
        f"increase (file {large / small:.0f}x larger){upload_only}; "
        f"{large // MIB} MiB up and down in {seconds:.0f} s, SHA-256 equal",
        flush=True,
    )
    if cancelled:
        print(f"{store} {way} {cancelled}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small-mib", type=int, default=100)
    parser.add_argument("--large-mib", type=int, default=1024)
    parser.add_argument("--stores", default="s3,file", help="comma-separated: s3 (SeaweedFS), file")
    parser.add_argument("--ways", default="api,portal", help="comma-separated: api, portal (the web form)")
    parser.add_argument("--interval", type=float, default=0.05, help="RSS sampling interval in seconds")
    args = parser.parse_args()
    stores, ways = args.stores.split(","), args.ways.split(",")
    for store in stores:
        if store not in {"s3", "file"}:
            parser.error(f"unknown store {store!r}")
    for way in ways:
        if way not in {"api", "portal"}:
            parser.error(f"unknown way in {way!r}")
    for store in stores:
        for way in ways:
            measure(store, way, (args.small_mib * MIB, args.large_mib * MIB), args.interval)
    client_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    print(f"benchmark client (this process): peak RSS {client_peak / MIB:.0f} MiB over the whole run")


if __name__ == "__main__":
    main()
