"""`GuardedProtocol.on_body`: a piece that arrives while nothing waits to be received is kept as the very bytes
object llhttp made (uvicorn's `receive()` then hands it over with no copy); later pieces are appended in order."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from vault.serving import GuardedProtocol, ServeLimits, uvicorn_options


class Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 8000) if name in ("sockname", "peername") else default

    def write(self, data: Any) -> None:
        self.written += data

    def close(self) -> None:
        pass

    def is_closing(self) -> bool:
        return False

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class AnswersWhenReleased:
    """An app that answers 204 once the test releases it (it never calls `receive` itself)."""

    def __init__(self) -> None:
        self.released = asyncio.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.released.wait()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def protocol_with_a_request_in_progress(app: AnswersWhenReleased) -> GuardedProtocol:
    protocol_class: type[GuardedProtocol] = uvicorn_options(ServeLimits())["http"]
    config = uvicorn.Config(app, lifespan="off", log_level="warning", http=protocol_class)
    protocol = protocol_class(config, ServerState(), {}, asyncio.get_running_loop())
    protocol.connection_made(Transport())
    protocol.data_received(b"POST /u HTTP/1.1\r\nhost: t\r\ncontent-length: 100\r\n\r\n")
    assert protocol.cycle is not None
    return protocol


def test_a_piece_nothing_waits_for_is_kept_as_it_came_then_later_pieces_are_appended() -> None:
    async def scenario() -> None:
        app = AnswersWhenReleased()
        protocol = await protocol_with_a_request_in_progress(app)
        first, second = b"a" * 30, b"b" * 20
        protocol.on_body(first)
        assert protocol.cycle.body is first  # kept: bytes(body) in receive() is this object, no copy
        protocol.on_body(second)
        assert protocol.cycle.body == first + second  # appended in order
        message = await protocol.cycle.receive()
        assert message == {"type": "http.request", "body": first + second, "more_body": True}
        protocol.on_body(first)
        assert protocol.cycle.body is first  # after a receive, the next piece is kept again
        app.released.set()
        for _ in range(10):  # let the app answer
            await asyncio.sleep(0)
        assert protocol.transport.written.startswith(b"HTTP/1.1 204")  # type: ignore[attr-defined]
        protocol.connection_lost(None)

    asyncio.run(scenario())
