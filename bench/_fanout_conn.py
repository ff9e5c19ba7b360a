"""The fan-out generator's two WebSocket clients, behind one small interface.

Why two: a delivery costs websockets' asyncio client about 25-30 us of CPU in the generator (a future, a
task wake-up and a queue per frame), several times what it costs a good hub to send it. On a 2-core
machine shared with the server, that makes the generator the bottleneck it must not be. ``RawClient`` is
a minimal client on an ``asyncio.Protocol`` that parses the server's (unmasked) frames in a loop and hands
each payload to a callback: a few microseconds per delivery. ``WebsocketsClient`` wraps
``websockets.asyncio.client`` and stays available (``--client websockets``) to cross-check that the raw
client counts the same thing.

Both: ``await recv()`` during the handshake frames (hello, join), then ``deliver_to(callback)`` switches to
callback mode for the measured traffic; ``await send(data)``, ``await close()``, ``is_open``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import struct
from collections.abc import Callable
from typing import Protocol, cast
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

try:
    from websockets.speedups import apply_mask  # C, shipped with websockets
except ImportError:  # pragma: no cover - pure-Python fallback
    from websockets.utils import apply_mask

MAX_QUEUE = 4096  # websockets client: frames buffered before it stops reading (and the server buffers)
MAX_SIZE = 2**22
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

Deliver = Callable[[bytes], None]


class HandshakeError(Exception):
    """The server did not switch protocols, or closed before it did."""


class Conn(Protocol):
    is_open: bool

    async def recv(self) -> bytes: ...
    async def send(self, data: bytes) -> None: ...
    def deliver_to(self, callback: Deliver) -> None: ...
    async def close(self) -> None: ...


def ws_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}/ws"


# -- the raw client -----------------------------------------------------------------------------------------
def client_frame(opcode: int, payload: bytes) -> bytes:
    """One final, masked client frame (RFC 6455 5.2: a client masks every frame)."""
    n = len(payload)
    mask = os.urandom(4)
    if n < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return header + mask + apply_mask(payload, mask)


class RawClient(asyncio.Protocol):
    """A minimal WebSocket client: handshake, unmasked server frames, ping/pong and close; no extensions."""

    def __init__(self, host: str, path: str) -> None:
        self.key = base64.b64encode(os.urandom(16))
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {self.key.decode()}\r\n\r\n"
        ).encode()
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.fragments: list[bytes] = []
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.callback: Deliver | None = None
        self.is_open = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass, but quacks
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        if self.is_open and not self.buffer:  # the common case: parse the read in place, no copy
            used = self.parse(data)
            if used < len(data):
                self.buffer += data[used:]
            return
        self.buffer += data
        if not self.is_open and not self.handshake():
            return
        del self.buffer[: self.parse(self.buffer)]

    def connection_lost(self, exc: Exception | None) -> None:
        self.is_open = False
        if not self.opened.done():
            self.opened.set_exception(HandshakeError(f"connection lost during handshake: {exc}"))
        self.queue.put_nowait(None)

    def handshake(self) -> bool:
        """Consume the 101 response once it is complete; True when the connection is open."""
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(self.buffer[:end]).decode("latin-1")
        del self.buffer[: end + 4]
        accept = base64.b64encode(hashlib.sha1(self.key + GUID).digest()).decode()
        status = head.split("\r\n", 1)[0]
        if " 101 " not in f"{status} " or accept not in head:
            self.opened.set_exception(HandshakeError(status))
            assert self.transport is not None
            self.transport.close()
            return False
        self.is_open = True
        self.opened.set_result(None)
        return True

    def parse(self, buf: bytes | bytearray) -> int:
        """Hand every complete message in buf to the callback (or the queue), in order; answer bytes used."""
        i, size = 0, len(buf)
        while size - i >= 2:
            b0, b1 = buf[i], buf[i + 1]
            n, head = b1 & 0x7F, 2
            if n == 126:
                if size - i < 4:
                    break
                n, head = int.from_bytes(buf[i + 2 : i + 4], "big"), 4
            elif n == 127:
                if size - i < 10:
                    break
                n, head = int.from_bytes(buf[i + 2 : i + 10], "big"), 10
            if size - i < head + n:
                break
            payload = bytes(buf[i + head : i + head + n])
            i += head + n
            if b0 == 0x82 and self.callback is not None:  # final binary frame: the hot path
                self.callback(payload)
            else:
                self.frame(b0 & 0x80, b0 & 0x0F, payload)
        return i

    def frame(self, fin: int, opcode: int, payload: bytes) -> None:
        if opcode in (1, 2, 0):
            if not fin:
                self.fragments.append(payload)
                return
            if self.fragments:
                payload = b"".join([*self.fragments, payload])
                self.fragments.clear()
            if self.callback is not None:
                self.callback(payload)
            else:
                self.queue.put_nowait(payload)
        elif opcode == 9 and self.transport is not None:
            self.transport.write(client_frame(10, payload))
        elif opcode == 8 and self.transport is not None:
            self.is_open = False
            self.transport.write(client_frame(8, payload[:2]))
            self.transport.close()

    # Conn
    async def recv(self) -> bytes:
        data = await self.queue.get()
        if data is None:
            raise HandshakeError("connection closed")
        return data

    async def send(self, data: bytes) -> None:
        if self.is_open and self.transport is not None:
            self.transport.write(client_frame(2, data))

    def deliver_to(self, callback: Deliver) -> None:
        while not self.queue.empty():
            data = self.queue.get_nowait()
            if data is not None:
                callback(data)
        self.callback = callback

    async def close(self) -> None:
        if self.transport is None:
            return
        if self.is_open:
            self.is_open = False
            self.transport.write(client_frame(8, struct.pack("!H", 1000)))
        self.transport.close()


async def open_raw(base_url: str) -> RawClient:
    parts = urlsplit(base_url)
    if parts.scheme == "https":
        raise HandshakeError("the raw client speaks plain ws:// only; use --client websockets")
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(lambda: RawClient(parts.netloc, "/ws"), host, port)
    await client.opened
    return client


# -- websockets' asyncio client ------------------------------------------------------------------------------
class WebsocketsClient:
    """websockets.asyncio.client behind the same interface; a reader task feeds the callback."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.reader: asyncio.Task[None] | None = None

    @property
    def is_open(self) -> bool:
        return self.ws.state.name == "OPEN"

    async def recv(self) -> bytes:
        data = await self.ws.recv()
        return data.encode() if isinstance(data, str) else data

    async def send(self, data: bytes) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(data)

    def deliver_to(self, callback: Deliver) -> None:
        async def read() -> None:
            with contextlib.suppress(ConnectionClosed):
                async for data in self.ws:
                    callback(data if isinstance(data, bytes) else data.encode())

        self.reader = asyncio.create_task(read())

    async def close(self) -> None:
        await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader


async def open_websockets(base_url: str) -> WebsocketsClient:
    ws = await connect(
        ws_url(base_url),
        proxy=None,  # loopback only, whatever the environment says
        compression=None,  # measure the hub, not zlib; bare_hub.py does not compress either
        max_queue=MAX_QUEUE,
        max_size=MAX_SIZE,
        ping_interval=None,  # answer the server's pings, send none
        close_timeout=2,
    )
    return WebsocketsClient(ws)


OPENERS = {"raw": open_raw, "websockets": open_websockets}
