"""uvicorn's sans-I/O WebSocket protocol, with lighter per-connection state.

Why: memory per idle connection is what decides how many members one node can hold. uvicorn gives
each WebSocket an `asyncio.Queue` for incoming events and an `asyncio.Event` for flow control; on
CPython each of those carries one or more `collections.deque`, whose first block alone is over half
a KiB, so the two cost about 3.5 KiB per connection while holding, at most, a couple of events: uvicorn
stops reading a socket until the app has taken the event already received. `Inbox` and `Flag` do the
same jobs with a list and a future made only while someone waits.

Why a direct write: fan-out sends one frame to hundreds of connections, and through ASGI each of them
costs a task, a coroutine chain and the WebSocket framing of the same bytes again. A server frame is
never masked, so its wire bytes are the same for every recipient: the hub frames it once
(`framed`), and a connection whose transport is open, writable and has nothing queued writes those
bytes at once (`write_frame`, offered to the app as the ASGI extension `DIRECT_WRITE`). Anything
else (a backlog, a paused transport) goes through ASGI `send`, with its flow control, as before.

This relies on uvicorn's protocol using `queue` and `writable` only through the methods below and on
its attributes `conn`, `transport`, `close_sent` and `handshake_complete`; the tests run every
WebSocket through this class, so a uvicorn release that changes them fails the tests.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State

from server.protocol.codec import Encoded

DIRECT_WRITE = "peerchat.direct_write"  # scope["extensions"][DIRECT_WRITE]: write_frame of the connection


def framed(frame: Encoded, text: bool) -> bytes:
    """The complete WebSocket frame carrying `frame`, built once per encoding and shared by every
    connection it goes to (the frame rides along on the `Encoded`)."""
    if text:
        if frame.ws_text is None:
            frame.ws_text = Frame(Opcode.TEXT, frame.json().encode()).serialize(mask=False)
        return frame.ws_text
    if frame.ws_binary is None:
        frame.ws_binary = Frame(Opcode.BINARY, frame.msgpack()).serialize(mask=False)
    return frame.ws_binary


class Inbox:
    """The part of `asyncio.Queue` uvicorn uses: `put_nowait`, `get`, `empty`. One consumer."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Any:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)


class Flag:
    """The part of `asyncio.Event` uvicorn uses for write flow control: `set`, `clear`, `wait`."""

    __slots__ = ("_is_set", "_waiters")

    def __init__(self) -> None:
        self._is_set = False
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._is_set

    def set(self) -> None:
        self._is_set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._is_set = False

    async def wait(self) -> bool:
        if self._is_set:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        await waiter
        return True


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = Inbox()  # type: ignore[assignment]
        self.writable = Flag()  # type: ignore[assignment]
        self.writable.set()

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:  # None when the handshake was refused
            scope["extensions"][DIRECT_WRITE] = self.write_frame

    def write_frame(self, data: bytes) -> bool:
        """Write a complete server frame now, if the connection is open and the transport has room;
        False to say: go through `send` instead."""
        if (self.close_sent or not self.handshake_complete or not self.writable.is_set()
                or self.conn.state is not State.OPEN or self.transport.is_closing()):
            return False
        self.transport.write(data)
        return True

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept":
            # The handshake's request and response (their headers, parsed twice over) are only read
            # while accepting; an idle connection should not carry them for hours.
            self.request = None  # type: ignore[assignment]
            self.response = None  # type: ignore[assignment]
