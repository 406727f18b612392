"""Shared pieces of the service benchmarks: SeaweedFS, the vault as a separate process, payloads, RSS.

Everything runs on loopback, starts in a temporary directory and is killed (by process group id) on exit.
Run the scripts from the repository root as modules (``.venv/bin/python -m bench.throughput``) so that the
test service launchers in ``tests.services`` import.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import httpx
import psutil

from tests.services._proc import ServiceProcess, free_port, wait_for_http

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the venv running the benchmark (vault, uvicorn, weed)
MIB = 1024 * 1024
MINIMAL_PDF = REPO / "tests" / "data" / "pdf" / "minimal.pdf"


@contextlib.contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    """A temporary directory removed on exit, whatever happens."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{prefix}-") as tmp:
        yield Path(tmp)


@dataclass(frozen=True)
class S3Endpoint:
    """A running SeaweedFS S3 gateway: what the vault and the raw minio baseline need."""

    endpoint: str
    access_key: str
    secret_key: str
    store_url: str


@contextlib.contextmanager
def seaweedfs(directory: Path, bucket: str = "vault") -> Iterator[S3Endpoint]:
    """SeaweedFS (the test launcher: loopback ports, `-volume.max=0`, SigV4 identities), killed on exit.

    Volumes of 1 GiB, not the tests' 100 MB: with small volumes SeaweedFS grows new ones every few hundred MB
    written, at moments that land in some rounds and not others, and the paired ratios scatter more.
    """
    from tests.services.seaweedfs import _launch

    if str(BIN) not in os.environ.get("PATH", "").split(os.pathsep):  # the launcher looks `weed` up on PATH
        os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    server = _launch(directory, volume_size_limit_mb=1024)
    try:
        yield S3Endpoint(server.endpoint, server.access_key, server.secret_key, server.url(bucket))
    finally:
        server.stop()


@dataclass
class Vault:
    """`vault serve` running as its own process."""

    url: str
    env: dict[str, str]
    service: ServiceProcess
    data_dir: Path

    @property
    def pid(self) -> int:
        return self.service.proc.pid

    def token(self, user: str = "alice") -> str:
        """An access token from the development identity provider (`vault token USER`, same environment)."""
        result = subprocess.run(
            [str(BIN / "vault"), "token", user, "--url", self.url],  # the running service issues it
            env={**os.environ, **self.env}, capture_output=True, text=True, check=True, timeout=60, cwd=REPO,
        )  # fmt: skip
        return result.stdout.strip()

    def client(self, token: str, **kwargs: object) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=300,
            **kwargs,  # type: ignore[arg-type]
        )  # fmt: skip


@contextlib.contextmanager
def vault_process(
    directory: Path, storage_url: str | None = None, *, workers: int = 1, **extra_env: str
) -> Iterator[Vault]:
    """Start `vault serve` on a free port with its data under `directory`; kill its process group on exit.

    `storage_url` None selects the filesystem store in the data directory; `workers` is `vault serve --workers`.
    Extra `VAULT_*` variables may be given
    by their name without the prefix (``tsa_url="..."``).
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data_dir = directory / "vault-data"
    env = {
        # `.venv/bin/vault` alone resolves `auth` to an empty namespace package (editable-install finder):
        # put the repository first on the path, as running from a checkout does.
        "PYTHONPATH": str(REPO),
        "VAULT_DATA_DIR": str(data_dir),
        "VAULT_PUBLIC_URL": url,
        "VAULT_CHECKPOINT_INTERVAL_SECONDS": "3600",
        "VAULT_MAX_UPLOAD_BYTES": str(4 * 1024 * MIB),
        **({"VAULT_STORAGE_URL": storage_url} if storage_url else {}),
        **{f"VAULT_{name.upper()}": value for name, value in extra_env.items()},
    }
    for name in ("VAULT_STORAGE_URL", "VAULT_TSA_URL", "VAULT_DATABASE_URL", "VAULT_OIDC_ISSUER"):
        if name not in env:
            env[name] = ""  # an outer environment must not leak into the benchmark
    argv = [str(BIN / "vault"), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    service = ServiceProcess(f"vault-{port}", argv, directory, env=env, cwd=REPO)
    try:
        try:
            wait_for_http(f"{url}/health", timeout=90, proc=service.proc, accept=lambda status: status == 200)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"vault did not start: {exc}\n{service.log_tail()}") from exc
        try:
            yield Vault(url, env, service, data_dir)
        except Exception:
            print(f"--- vault log tail ---\n{service.log_tail(60)}", file=sys.stderr)
            raise
    finally:
        service.stop()


class Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...


def payload(size: int, piece: int = MIB, digest: Digest | None = None) -> Iterator[bytes]:
    """`size` bytes in `piece`-sized blocks (random, varied per block), hashed into `digest` as they go out."""
    base = os.urandom(piece + 4096)
    sent = 0
    index = 0
    while sent < size:
        offset = (index * 97) % 4096
        block = base[offset : offset + min(piece, size - sent)]
        if digest is not None:
            digest.update(block)
        sent += len(block)
        index += 1
        yield block


class IterReader:
    """A file-like `read(n)` over an iterator of blocks that always returns exactly n bytes (minio needs that)."""

    def __init__(self, blocks: Iterator[bytes]) -> None:
        self._blocks = blocks
        self._buffer = bytearray()

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            block = next(self._blocks, None)
            if block is None:
                break
            self._buffer += block
        if size < 0:
            size = len(self._buffer)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data


def api_upload(client: httpx.Client, size: int, title: str) -> tuple[float, str, dict[str, object]]:
    """Seconds for a streamed upload of `size` bytes, the SHA-256 sent, and the vault's answer."""
    digest = hashlib.sha256()
    headers = {
        "Content-Type": "application/octet-stream", "X-Document-Title": title, "Content-Length": str(size),
    }  # fmt: skip
    started = time.perf_counter()
    response = client.post("/api/v1/documents", content=payload(size, MIB, digest), headers=headers)
    seconds = time.perf_counter() - started
    response.raise_for_status()
    return seconds, digest.hexdigest(), response.json()


def api_download(client: httpx.Client, document_id: str) -> tuple[float, str, int]:
    """Seconds for a streamed download (hashed as it arrives), its SHA-256 and its length."""
    digest = hashlib.sha256()
    received = 0
    started = time.perf_counter()
    with client.stream("GET", f"/api/v1/documents/{document_id}/content") as response:
        response.raise_for_status()
        for block in response.iter_bytes(MIB):
            digest.update(block)
            received += len(block)
    return time.perf_counter() - started, digest.hexdigest(), received


def timed(fn: Callable[[], object]) -> float:
    """Seconds `fn()` took."""
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def mib_per_s(size: int, seconds: float) -> float:
    return size / MIB / seconds


@dataclass
class RssSampler:
    """Samples the RSS of a process and all its descendants every `interval` s in a thread; keeps the maximum."""

    pid: int
    interval: float = 0.05
    peak: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def current(self) -> int:
        """RSS of the process tree now, in bytes (processes that vanish mid-sample are skipped)."""
        root = psutil.Process(self.pid)
        total = 0
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                total += proc.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.NoSuchProcess):
                self.peak = max(self.peak, self.current())
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self.peak = self.current()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
