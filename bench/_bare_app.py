"""Baselines for bench/metadata_rps.py and bench/http_rps.py: bare Litestar handlers returning JSON, nothing else.

Served by uvicorn with the same options as `vault serve`:
``uvicorn bench._bare_app:app --host 127.0.0.1 --port PORT --no-proxy-headers --no-server-header``.
"""

from __future__ import annotations

import uuid

from litestar import Litestar, get


@get("/api/v1/documents/{document_id:uuid}", sync_to_thread=False)
def read(document_id: uuid.UUID) -> dict[str, object]:
    """A metadata-sized answer, like the vault's DocumentRead."""
    return {
        "id": str(document_id), "title": "bench", "kind": "other", "media_type": "application/pdf", "size": 1234,
        "sha256": "0" * 64, "version": 1, "versions": 1, "issued": False, "issuer": None,
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z", "owned": True,
    }  # fmt: skip


_ITEMS = [
    {"id": f"00000000-0000-4000-8000-{index:012d}", "title": f"item {index}", "kind": "other", "size": 1234 + index}
    for index in range(20)
]


@get("/items", sync_to_thread=False)
def items() -> list[dict[str, object]]:
    """A 20-item JSON list: the request-rate ceiling of Litestar + uvicorn on this machine (bench/http_rps.py)."""
    return _ITEMS


@get("/health", sync_to_thread=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar([read, items, health])
