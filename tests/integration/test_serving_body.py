"""`vault serve`'s protocol hands request bodies to the app without uvicorn's copies, and loses or reorders nothing:
a piece that arrives while the app waits is passed as it came; pieces that arrive before the app asks are joined
in order (a real uvicorn with the options `vault serve` uses, bodies sent over a raw socket)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from tests.services._proc import free_port
from tests.support.vault_app import uvicorn_in_thread
from vault.serving import ServeLimits, uvicorn_options

Scope = dict[str, Any]


class BodyEcho:
    """Reads the whole body (sleeping before each receive when asked, so that pieces pile up) and answers with its
    SHA-256 and its length."""

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        slow = scope["path"] == "/slow"
        digest, size = hashlib.sha256(), 0
        while True:
            if slow:
                await asyncio.sleep(0.01)
            message = await receive()
            body = message.get("body", b"")
            digest.update(body)
            size += len(body)
            if not message.get("more_body", False):
                break
        answer = f"{digest.hexdigest()} {size}".encode()
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % len(answer))]}
        )
        await send({"type": "http.response.body", "body": answer})


@pytest.fixture(scope="module")
def echo() -> Iterator[int]:
    port = free_port()
    config = uvicorn.Config(BodyEcho(), host="127.0.0.1", port=port, log_level="warning", lifespan="off",
                            **uvicorn_options(ServeLimits()))  # fmt: skip
    with uvicorn_in_thread(config):
        yield port


def post(port: int, path: str, pieces: list[bytes], *, chunked: bool = False) -> tuple[str, int]:
    """POST `pieces` over one connection, each sent on its own; the echo's digest and size."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        size = sum(len(piece) for piece in pieces)
        framing = b"transfer-encoding: chunked" if chunked else b"content-length: %d" % size
        conn.sendall(b"POST %s HTTP/1.1\r\nhost: t\r\n%s\r\nconnection: close\r\n\r\n" % (path.encode(), framing))
        for piece in pieces:
            conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
        if chunked:
            conn.sendall(b"0\r\n\r\n")
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := conn.recv(65536):
                answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    digest, length = body.decode().split()
    return digest, int(length)


def pieces_of(total: int, size: int) -> list[bytes]:
    data = bytes(i * 31 % 251 for i in range(total))
    return [data[pos : pos + size] for pos in range(0, total, size)]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("path", ["/fast", "/slow"], ids=["app-waiting", "pieces-pile-up"])
def test_a_body_reaches_the_app_whole_and_in_order(echo: int, path: str, chunked: bool) -> None:
    port = echo
    pieces = pieces_of(3 * 1024 * 1024 + 12345, 70_001)
    expected = hashlib.sha256(b"".join(pieces)).hexdigest()
    assert post(port, path, pieces, chunked=chunked) == (expected, sum(map(len, pieces)))
