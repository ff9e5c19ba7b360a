"""uvicorn's sans-I/O WebSocket protocol, with lighter per-connection state.

Why: memory per idle connection is what decides how many members one node can hold. uvicorn gives
each WebSocket an `asyncio.Queue` for incoming events and an `asyncio.Event` for flow control; on
CPython each of those carries one or more `collections.deque`, whose first block alone is over half
a KiB, so the two cost about 3.5 KiB per connection while holding, at most, a couple of events: uvicorn
stops reading a socket until the app has taken the event already received. `Inbox` and `Flag` do the
same jobs with a list and a future made only while someone waits.

This relies on uvicorn's protocol using `queue` and `writable` only through the methods below; the
tests run every WebSocket through this class, so a uvicorn release that changes that fails them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


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

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept":
            # The handshake's request and response (their headers, parsed twice over) are only read
            # while accepting; an idle connection should not carry them for hours.
            self.request = None  # type: ignore[assignment]
            self.response = None  # type: ignore[assignment]
