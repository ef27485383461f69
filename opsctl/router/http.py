"""uvicorn's HTTP/1.1 protocol with a read deadline, and the server configuration built on it.

uvicorn bounds the time a keep-alive connection may sit idle between requests, but not the
time a client takes to send a request: a client that trickles its headers or its body a
byte at a time holds a connection (and its memory) for as long as it likes. Here every
request must arrive whole within ``read_timeout`` seconds of its first byte (of the
connection's opening, for the first request); a request still incomplete then is answered
408 and the connection closed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

DEFAULT_READ_TIMEOUT = 10.0

_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: "


class BoundedReads(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` with a deadline on reading each request."""

    read_timeout = DEFAULT_READ_TIMEOUT
    _deadline: asyncio.TimerHandle | None = None
    _reading = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading = True
        if self._deadline is None:
            self._arm()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._reading = False
        self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._reading and self._deadline is None:  # a pipelined request is already coming in
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.read_timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is None or not cycle.response_started:
            body = (
                b'{"error":"request-timeout","message":"the request was not sent in full within '
                + f"{self.read_timeout:g}".encode()
                + b' s","status":408}'
            )
            self.transport.write(_TIMEOUT + str(len(body)).encode() + b"\r\n\r\n" + body)
        self.transport.close()


def bounded(read_timeout: float) -> type[BoundedReads]:
    """A protocol class whose requests must arrive within ``read_timeout`` seconds."""
    return type("BoundedReads", (BoundedReads,), {"read_timeout": read_timeout})


def server_config(app: Any, *, host: str, port: int, read_timeout: float, log_level: str = "info", **extra: Any) -> Any:
    """The uvicorn configuration ``opsctl serve`` runs (tests serve the same)."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="auto",  # uvloop when installed
        http=bounded(read_timeout),
        log_level=log_level,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=5,
        server_header=False,
        **extra,
    )
