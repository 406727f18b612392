"""SeaweedFS: ``weed server`` with its S3 gateway on loopback, free ports, and an identity config (SigV4 checked).

``s3_server`` is one server for the session; ``throwaway_s3_server`` is a fresh one per test, for tests that kill
it. Both hand out an :class:`S3Server` whose ``stop()`` kills the process (SIGKILL: SIGTERM takes ~27 s) and
whose ``start()`` brings it back on the same ports and data (slow: ~15 s on old data).
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.services._proc import ServiceProcess, free_port, wait_for_port

__all__ = ("S3Server", "s3_server", "throwaway_s3_server")

_PORTS = ("master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc", "s3", "s3_grpc", "debug")
_READY_TIMEOUT = 60.0


class _WeedProcess:
    """Owns the ``weed server`` process of one S3Server: its argv, log and lifecycle."""

    def __init__(self, workdir: Path, access_key: str, secret_key: str, volume_size_limit_mb: int = 100) -> None:
        self.workdir = workdir
        self.volume_size_limit_mb = volume_size_limit_mb
        self.ports = {name: free_port() for name in _PORTS}
        self.access_key, self.secret_key = access_key, secret_key
        self.service: ServiceProcess | None = None
        (workdir / "data").mkdir(parents=True, exist_ok=True)
        identities = {
            "identities": [
                {
                    "name": "vault-tests",
                    "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        (workdir / "s3.json").write_text(json.dumps(identities))

    def argv(self) -> list[str]:
        weed = shutil.which("weed") or str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "weed")
        p = self.ports
        return [
            weed, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={self.workdir / 'data'}",
            "-master.telemetry=false", "-volume.max=0", f"-master.volumeSizeLimitMB={self.volume_size_limit_mb}",
            f"-debug.port={p['debug']}",
            f"-master.port={p['master']}", f"-master.port.grpc={p['master_grpc']}",
            f"-volume.port={p['volume']}", f"-volume.port.grpc={p['volume_grpc']}",
            f"-filer.port={p['filer']}", f"-filer.port.grpc={p['filer_grpc']}",
            f"-filer.localSocket={self.workdir / 'filer.sock'}",
            "-s3", f"-s3.port={p['s3']}", f"-s3.port.grpc={p['s3_grpc']}", f"-s3.config={self.workdir / 's3.json'}",
            f"-s3.localSocket={self.workdir / 's3.sock'}", "-s3.port.iceberg=0", "-s3.port.lance=0",
        ]  # fmt: skip

    def start(self) -> None:
        self.stop()
        self.service = ServiceProcess(f"seaweedfs-{self.ports['s3']}", self.argv(), self.workdir)
        try:
            wait_for_port(self.ports["s3"], timeout=_READY_TIMEOUT, proc=self.service.proc)
            self._wait_for_signed_write()
        except (RuntimeError, TimeoutError) as exc:
            tail = self.service.log_tail()
            self.stop()
            pytest.fail(f"SeaweedFS did not start: {exc}\n--- log tail ---\n{tail}")

    def _wait_for_signed_write(self) -> None:
        """Ready means a signed bucket creation and a first put (volume allocation, ~3 s) both succeed."""
        import io

        import urllib3
        from minio import Minio
        from minio.error import S3Error

        http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=2, read=20), retries=False)
        client = Minio(f"127.0.0.1:{self.ports['s3']}", self.access_key, self.secret_key, secure=False,
                       region="us-east-1", http_client=http)  # fmt: skip
        deadline = time.monotonic() + _READY_TIMEOUT
        last: Exception | None = None
        while time.monotonic() < deadline:
            assert self.service is not None
            if self.service.proc.poll() is not None:
                raise RuntimeError(f"weed exited with {self.service.proc.returncode}")
            try:
                if not client.bucket_exists("readiness"):
                    client.make_bucket("readiness")
                client.put_object("readiness", "probe", io.BytesIO(b"ok"), 2)
                http.clear()
                return
            except (S3Error, urllib3.exceptions.HTTPError, OSError) as exc:
                last = exc
                time.sleep(0.2)  # polling a starting server, not synchronising tests
        http.clear()
        raise TimeoutError(f"no signed write succeeded within {_READY_TIMEOUT}s (last: {last!r})")

    def shell(self, commands: str, timeout: float) -> str:
        """Run ``weed shell`` commands against this server's master and filer (``host:port.grpcPort``: the gRPC
        ports are not the HTTP port + 10000 here); what it printed."""
        p = self.ports
        argv = [self.argv()[0], "shell", f"-master=127.0.0.1:{p['master']}.{p['master_grpc']}",
                f"-filer=127.0.0.1:{p['filer']}.{p['filer_grpc']}"]  # fmt: skip
        done = subprocess.run(argv, input=commands, capture_output=True, text=True, timeout=timeout, check=True)
        return done.stdout

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()
            self.service = None
        # weed puts some gRPC unix sockets in /tmp whatever the flags say; remove the ones named by our ports.
        for port in self.ports.values():
            for stale in Path(tempfile.gettempdir()).glob(f"seaweedfs-*-{port}.sock"):
                stale.unlink(missing_ok=True)


@dataclass(frozen=True)
class S3Server:
    """A running SeaweedFS S3 gateway.

    Attributes:
        endpoint: ``127.0.0.1:PORT`` of the S3 API.
        access_key: The one identity's access key.
        secret_key: Its secret key.
    """

    endpoint: str
    access_key: str
    secret_key: str
    _process: _WeedProcess = field(repr=False, compare=False)

    def url(self, bucket: str) -> str:
        """The ``s3://`` store URL for ``bucket`` on this server."""
        return f"s3://{quote(self.access_key, safe='')}:{quote(self.secret_key, safe='')}@{self.endpoint}/{bucket}"

    def stop(self) -> None:
        """Kill the server (SIGKILL to its process group)."""
        self._process.stop()

    def start(self) -> None:
        """Start it again on the same ports and data; pytest.fail with the log tail if it does not come up."""
        self._process.start()

    def shell(self, commands: str, timeout: float = 60) -> str:
        """Run ``weed shell`` commands (one a line) against this server; return what they printed."""
        return self._process.shell(commands, timeout)

    @property
    def log_path(self) -> Path:
        """Where the server writes its log."""
        return self._process.workdir / f"seaweedfs-{self._process.ports['s3']}.log"


def _launch(workdir: Path, volume_size_limit_mb: int = 100) -> S3Server:
    """Start SeaweedFS in ``workdir``; small volumes (100 MB) keep the tests' disk use low."""
    access_key, secret_key = f"AK{secrets.token_hex(8).upper()}", secrets.token_urlsafe(24)
    process = _WeedProcess(workdir, access_key, secret_key, volume_size_limit_mb)
    process.start()
    return S3Server(f"127.0.0.1:{process.ports['s3']}", access_key, secret_key, process)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One SeaweedFS for the whole session (tests that kill it must ``start()`` it again)."""
    server = _launch(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()


@pytest.fixture
def throwaway_s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A fresh SeaweedFS for one test, which may kill it; killed at the end of the test in any case."""
    server = _launch(tmp_path_factory.mktemp("seaweedfs-throwaway"))
    yield server
    server.stop()
