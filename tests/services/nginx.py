"""nginx (Debian) as a round-robin load balancer on loopback in front of N upstream ports, for multi-instance tests.

Everything nginx writes (pid file, logs, temporary bodies) stays in its own temporary directory: it is started
with `-p DIR -e DIR/error.log -c DIR/nginx.conf`, so no compiled-in path under /var or /etc is touched. Request
and response bodies are streamed, not buffered (uploads reach the instance as they arrive), bodies have no size
limit of nginx's own (the vault enforces its limit), and every answer names the instance that served it in
`X-Upstream` (`127.0.0.1:PORT`). Non-idempotent requests are never retried on another instance (nginx's default).
When the instance dies mid-request or does not answer (nginx's own 502/504), clients get a 503 problem document
with `Retry-After`, like every other unavailability of the vault.
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pytest

from tests.services._proc import ServiceProcess, free_port, wait_for_port

__all__ = ("NginxBalancer", "StartBalancer", "nginx_balancer", "start_balancer")

_TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
_UNAVAILABLE = (
    '{"type":"https://citizen-vault.dev/problems/instance-unavailable","title":"Instance unavailable",'
    '"status":503,"detail":"the instance serving this request stopped or did not answer; try again"}'
)


def _config(directory: Path, port: int, upstreams: Sequence[int]) -> str:
    servers = "\n".join(f"        server 127.0.0.1:{upstream};" for upstream in upstreams)
    temp = "\n".join(f"    {name}_temp_path {directory / name};" for name in _TEMP_DIRS)
    # as root, nginx would switch its workers to `nobody`, who cannot enter a 0700 temporary directory
    user = "user root root;\n" if os.geteuid() == 0 else ""
    return f"""{user}daemon off;
worker_processes 1;
pid {directory / "nginx.pid"};
error_log {directory / "error.log"} warn;
events {{ worker_connections 1024; }}
http {{
    access_log {directory / "access.log"};
{temp}
    client_max_body_size 0;
    proxy_request_buffering off;
    proxy_buffering off;
    proxy_http_version 1.1;
    proxy_read_timeout 300s;
    upstream instances {{
{servers}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://instances;
            proxy_set_header Host $http_host;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            add_header X-Upstream $upstream_addr always;
            # an instance that died or never answered: a problem document the clients understand, not a 502 page
            error_page 502 504 =503 @unavailable;
        }}
        location @unavailable {{
            default_type application/problem+json;
            add_header X-Upstream $upstream_addr always;
            add_header Retry-After 5 always;
            return 503 '{_UNAVAILABLE}';
        }}
    }}
}}
"""


@dataclass
class NginxBalancer:
    """A running nginx balancing `upstreams` round-robin.

    Attributes:
        url: `http://127.0.0.1:PORT`, where clients connect.
        port: The port nginx listens on.
        upstreams: The instances' ports, in configuration order.
        directory: Its configuration, pid file, logs and temporary files.
    """

    url: str
    port: int
    upstreams: tuple[int, ...]
    directory: Path
    _service: ServiceProcess = field(repr=False)

    def access_log(self) -> str:
        """What nginx logged so far (one line per request)."""
        path = self.directory / "access.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """Stop nginx (SIGTERM to its process group: master and worker)."""
        self._service.stop(signal.SIGTERM)


def start_balancer(directory: Path, upstreams: Sequence[int]) -> NginxBalancer:
    """Write a configuration for `upstreams` into `directory`, start nginx, wait until it listens.

    Raises:
        pytest.fail.Exception: nginx is not installed or did not start (with its error log).
    """
    if not upstreams:
        raise ValueError("a balancer needs at least one upstream port")
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if binary is None:
        pytest.fail("nginx is not installed (Debian package nginx; scripts/test installs it)")
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = directory / "nginx.conf"
    config.write_text(_config(directory, port, upstreams))
    argv = [binary, "-p", str(directory), "-e", str(directory / "error.log"), "-c", str(config)]
    service = ServiceProcess(f"nginx-{port}", argv, directory)
    try:
        wait_for_port(port, timeout=30, proc=service.proc)
    except (RuntimeError, TimeoutError) as exc:
        error_log = (directory / "error.log").read_text(errors="replace") if (directory / "error.log").exists() else ""
        service.stop()
        pytest.fail(f"nginx did not start: {exc}\n{service.log_tail()}\n{error_log}")
    return NginxBalancer(f"http://127.0.0.1:{port}", port, tuple(upstreams), directory, service)


class StartBalancer(Protocol):
    def __call__(self, upstreams: Sequence[int]) -> NginxBalancer: ...


@pytest.fixture
def nginx_balancer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartBalancer]:
    """Start nginx balancers in front of given upstream ports; all are stopped when the test ends."""
    started: list[NginxBalancer] = []

    def start(upstreams: Sequence[int]) -> NginxBalancer:
        balancer = start_balancer(tmp_path_factory.mktemp("nginx"), upstreams)
        started.append(balancer)
        return balancer

    yield start
    for balancer in started:
        balancer.stop()
