"""The development PKI's responders served over real HTTP on loopback, the way the service mounts them.

`DevPkiServer` binds a free port first (the PKI's certificates must name the URL), then serves
`DevPkiResponders.answer` for every request under ``/dev-pki/``. `nss_db_trusting` builds the NSS database pdfsig
needs to trust a root.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from signing import DevPki, DevPkiResponders

PREFIX = "/dev-pki"


class DevPkiServer:
    """A threaded HTTP server on 127.0.0.1 answering with the responders it is given.

    Attributes:
        base_url: ``http://127.0.0.1:PORT/dev-pki``: pass it to ``ensure_dev_pki(base_url=...)``.
        requests: ``(method, path)`` of every request served, in order.
    """

    def __init__(self) -> None:
        self.responders: DevPkiResponders | None = None
        self.requests: list[tuple[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append((self.command, self.path))
                if server.responders is None or not self.path.startswith(PREFIX + "/"):
                    self.send_error(404)
                    return
                answer = server.responders.answer(self.command, self.path[len(PREFIX) + 1 :], body)
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}{PREFIX}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def serve(self, responders: DevPkiResponders) -> DevPkiServer:
        """Start answering with `responders`."""
        self.responders = responders
        if not self._thread.is_alive():
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop the server and free the port."""
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()


def nss_db_trusting(root_pem: Path, directory: Path) -> Path:
    """An NSS database in `directory` trusting `root_pem` for signatures (for ``pdfsig -nssdir``)."""
    directory.mkdir(parents=True, exist_ok=True)
    for argv in (
        ["certutil", "-N", "-d", f"sql:{directory}", "--empty-password"],
        ["certutil", "-A", "-d", f"sql:{directory}", "-n", "root", "-t", ",C,", "-i", str(root_pem)],
    ):
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            pytest.fail(f"certutil failed: {result.stdout}{result.stderr}")
    return directory


def served_dev_pki(directory: Path, server: DevPkiServer) -> DevPki:
    """Create a development PKI whose certificates point at `server`, and serve its responders there."""
    from signing import ensure_dev_pki

    pki = ensure_dev_pki(directory, base_url=server.base_url)
    server.serve(DevPkiResponders(pki))
    return pki


class ServedDevPki:
    """A development PKI with its responders on a loopback HTTP server, and an NSS database trusting its root.

    Attributes:
        pki: The PKI (its certificates name ``server.base_url``).
        server: The HTTP server answering for it.
        nssdb: NSS database for ``pdfsig -nssdir``.
    """

    def __init__(self, pki: DevPki, server: DevPkiServer, nssdb: Path) -> None:
        self.pki, self.server, self.nssdb = pki, server, nssdb


@pytest.fixture(scope="session")
def served_pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedDevPki]:
    """One development PKI served on loopback for the whole session (stopped at the end)."""
    server = DevPkiServer()
    directory = tmp_path_factory.mktemp("served-devpki")
    try:
        pki = served_dev_pki(directory / "pki", server)
        yield ServedDevPki(pki, server, nss_db_trusting(pki.root_cert_path, directory / "nssdb"))
    finally:
        server.close()
