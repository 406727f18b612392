"""The baseline for bench/metadata_rps.py: a bare Litestar handler returning a small JSON document, nothing else.

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


@get("/health", sync_to_thread=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar([read, health])
