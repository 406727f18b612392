"""The minio client the S3 store uses: explicit timeouts and retries, and object bodies sent without a payload hash.

minio-py signs every request with SigV4. Over plain HTTP it SHA-256-hashes each body for the signature; over HTTPS
it sends ``UNSIGNED-PAYLOAD`` but MD5-hashes each body for ``Content-MD5``. It has no switch for either. For object
data (parts and single PUTs) the store passes the ``x-amz-content-sha256: UNSIGNED-PAYLOAD`` header itself, and
:class:`ObjectClient` then skips both hashes: the method, URL (key, part number, upload id), headers and date stay
signed. Object data is always suite-1 ciphertext, authenticated chunk by chunk and bound to its key and context,
so a body altered on the way is refused when it is read (IntegrityError), never served. What the payload hash would
add is that the store refuses such a body at write time; over HTTPS TLS already does that, and on loopback there is
no one on the way. So the default skips it on HTTPS and loopback endpoints and keeps it for plain HTTP elsewhere.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Any

import urllib3
from minio import Minio

__all__ = ("UNSIGNED_PAYLOAD", "ObjectClient", "http_pool", "payload_signing_needed")

UNSIGNED_PAYLOAD = {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
_SHA256_HEADER = "x-amz-content-sha256"


class ObjectClient(Minio):
    """A minio client that sends a body unhashed when the caller marks the request ``UNSIGNED-PAYLOAD``."""

    def _build_headers(
        self,
        host: str,
        headers: dict[str, Any] | None = None,
        body: bytes | None = None,
        creds: Any = None,
    ) -> tuple[dict[str, Any], datetime]:
        unsigned = headers is not None and headers.get(_SHA256_HEADER) == UNSIGNED_PAYLOAD[_SHA256_HEADER]
        if not (unsigned and creds):
            return super()._build_headers(host, headers, body, creds)
        built, date = super()._build_headers(host, headers, None, creds)  # no body given: nothing is hashed
        built[_SHA256_HEADER] = UNSIGNED_PAYLOAD[_SHA256_HEADER]
        if body:
            built["Content-Length"] = str(len(body))
        return built, date


def http_pool(connect_timeout: float, read_timeout: float, retries: int) -> urllib3.PoolManager:
    """Connections with short timeouts and few retries (minio's defaults wait minutes on a dead store)."""
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
        maxsize=16,  # connections kept per host: the parallel parts of concurrent uploads, and reads
        retries=urllib3.Retry(
            total=retries, backoff_factor=0.1, status_forcelist=(500, 502, 503, 504), raise_on_status=False
        ),
    )


def payload_signing_needed(endpoint: str, secure: bool) -> bool:
    """Whether object bodies should be hashed into the signature: only over plain HTTP to a non-loopback host."""
    if secure:
        return False
    host = endpoint.rsplit(":", 1)[0] if not endpoint.endswith("]") else endpoint
    host = host.strip("[]")
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True
