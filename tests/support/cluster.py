"""Several `vault serve` processes (real, separate processes) on one PostgreSQL database, one object store and one
keyring file, behind nginx: the shape of a deployment at scale, for system tests that kill and cut things.

Only processes this module started are ever signalled (by their process group id).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

import storage
from tests.services import postgres
from tests.services._proc import ServiceProcess, free_port, wait_for_http
from tests.services.nginx import NginxBalancer, start_balancer

__all__ = ("Cluster", "Instance", "bearer", "cluster", "problem", "sql", "store_contents", "vault_cli")

ROOT = Path(__file__).resolve().parents[2]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Instance:
    """One `vault serve` process on a fixed loopback port (restartable on the same port)."""

    name: str
    port: int
    env: dict[str, str]
    directory: Path
    graceful_seconds: int = 30
    service: ServiceProcess | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> None:
        """Start the process and wait until /health answers."""
        argv = [sys.executable, "-m", "vault.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        argv += ["--graceful-seconds", str(self.graceful_seconds)]
        self.directory.mkdir(parents=True, exist_ok=True)
        self.service = ServiceProcess(f"{self.name}-{int(time.time() * 1000)}", argv, self.directory, self.env, ROOT)
        try:
            wait_for_http(f"{self.url}/health", timeout=timeout, proc=self.service.proc)
        except (RuntimeError, TimeoutError) as exc:
            tail = self.service.log_tail(80)
            self.service.stop()
            raise RuntimeError(f"{self.name} did not start: {exc}\n{tail}") from exc

    @property
    def pid(self) -> int:
        assert self.service is not None
        return self.service.proc.pid

    def alive(self) -> bool:
        return self.service is not None and self.service.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL (a crash: no cleanup of any kind)."""
        if self.service is not None:
            self.service.stop(signal.SIGKILL)

    def terminate(self) -> None:
        """SIGTERM to the process only (what an orchestrator sends); returns at once."""
        assert self.service is not None
        os.kill(self.service.proc.pid, signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        assert self.service is not None
        return self.service.proc.wait(timeout=timeout)

    def log(self) -> str:
        return self.service.log_tail(400) if self.service is not None else ""

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=kwargs.pop("timeout", 60), **kwargs)


@dataclass
class Cluster:
    """Instances behind one nginx; `env` is what they all share (the deployment's settings)."""

    instances: list[Instance]
    balancer: NginxBalancer
    env: dict[str, str]
    directory: Path

    @property
    def url(self) -> str:
        return self.balancer.url

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=kwargs.pop("timeout", 60), **kwargs)

    def stop(self) -> None:
        for instance in self.instances:
            instance.kill()
        self.balancer.stop()


def _clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}


@contextlib.contextmanager
def cluster(
    directory: Path,
    shared: dict[str, str],
    count: int = 2,
    per_instance: Sequence[dict[str, str]] = (),
    graceful_seconds: int = 30,
) -> Iterator[Cluster]:
    """Start nginx and `count` instances with the `shared` VAULT_* settings (plus `per_instance[i]`).

    The public URL is nginx's (one issuer, one audit origin); each instance has its own data directory; the first
    instance starts (and migrates) alone, the others after it.
    """
    ports = [free_port() for _ in range(count)]
    balancer = start_balancer(directory / "nginx", ports)
    env = {**_clean_environment(), "VAULT_PUBLIC_URL": balancer.url, **shared}
    instances = []
    for i, port in enumerate(ports):
        extra = per_instance[i] if i < len(per_instance) else {}
        data_dir = directory / f"instance-{i}"
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        instances.append(
            Instance(
                f"vault-{i}",
                port,
                {**env, "VAULT_DATA_DIR": str(data_dir / "var"), **extra},
                data_dir,
                graceful_seconds,
            )
        )
    running = Cluster(instances, balancer, env, directory)
    try:
        for instance in instances:
            instance.start()
        yield running
    finally:
        running.stop()


def vault_cli(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `python -m vault.cli ARGS` with `env` (the deployment's settings), from a scratch directory: a relative
    default such as `VAULT_DATA_DIR=./var` must not meet whatever the checkout's own `var/` holds (the portal tests
    write screenshots there)."""
    with tempfile.TemporaryDirectory(prefix="vault-cli-") as scratch:
        return subprocess.run(
            [sys.executable, "-m", "vault.cli", *args],
            env={**env, "PYTHONPATH": str(ROOT)},
            cwd=scratch,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def problem(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    """Assert a problem-details answer with one of `statuses` and return its body."""
    assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code
    assert body["title"]
    assert body["detail"]
    return body


def sql(database_url: str, query: str) -> str:
    """One value from PostgreSQL (psql, outside any instance)."""
    name = database_url.rsplit("/", 1)[1]
    result = subprocess.run(
        ["psql", "-h", postgres.PG_HOST, "-p", postgres.PG_PORT, "-d", name, "-tAc", query],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def store_contents(storage_url: str) -> tuple[list[str], list[str]]:
    """(object keys, incomplete multipart uploads) in the deployment's bucket, read with the storage library."""

    async def look() -> tuple[list[str], list[str]]:
        store = storage.store_from_url(storage_url)
        try:
            keys = [info.key async for info in store.list_objects("")]
            return keys, await store.incomplete_uploads()
        finally:
            await store.close()

    return asyncio.run(look())
