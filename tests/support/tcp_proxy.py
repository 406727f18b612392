"""A small TCP proxy (asyncio, in a thread of the test process) that can cut and pause a connection path: put in
front of PostgreSQL for one instance, it makes a network partition of that instance only.

- forwarding (the start): every connection is relayed both ways.
- `cut_and_pause()`: every open connection is closed at once (both sides see a reset), and new connections are
  accepted but never relayed: the client's bytes go nowhere and nothing answers, as with a partitioned link.
- `resume()`: the held connections are dropped and new ones are relayed again.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

__all__ = ("TcpProxy", "tcp_proxy")


class TcpProxy:
    """Relays 127.0.0.1:`port` to `target_host`:`target_port` until cut; see the module doc."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.paused = False
        self._loop = asyncio.new_event_loop()
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]

    def _call(self, coro):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            if self.paused:  # held: read and drop what the client sends, answer nothing
                while await reader.read(65536):
                    pass
                return
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
            self._writers.add(upstream_writer)
            try:
                await asyncio.gather(
                    self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer), return_exceptions=True
                )
            finally:
                self._writers.discard(upstream_writer)
                _abort(upstream_writer)
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(writer)
            _abort(writer)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if self.paused:
                    return
                writer.write(data)
                await writer.drain()
        finally:
            _abort(writer)

    async def _cut(self) -> None:
        self.paused = True
        for writer in list(self._writers):
            _abort(writer)

    def cut_and_pause(self) -> None:
        """Reset every open connection and hold new ones without relaying a byte."""
        self._call(self._cut())

    def resume(self) -> None:
        """Drop the held connections and relay new ones again."""
        self._call(self._cut())
        self.paused = False

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._call(self._cut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


def _abort(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.transport.abort()


@contextlib.contextmanager
def tcp_proxy(target_host: str, target_port: int) -> Iterator[TcpProxy]:
    proxy = TcpProxy(target_host, target_port)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.close()
