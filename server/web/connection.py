"""A WebSocket connection as the hub sees it: a bounded outbound queue and one writer task.

Why a queue per connection, bounded: fan-out must never wait on a slow reader. The hub appends the
one encoded frame to each member's queue and moves on; each connection's writer drains its own
queue. A client that falls `limit` frames behind is closed with 4408 and can resume with `since`,
instead of holding memory for the whole room or slowing it down.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

from starlette.types import Send

from server.metrics import Metrics
from server.protocol.codec import Encoded
from server.protocol.errors import CloseCode

log = logging.getLogger(__name__)


class Connection:
    __slots__ = ("_close", "_idle", "_metrics", "_queue", "_send", "_text", "_wake", "id", "limit", "task")

    def __init__(self, conn_id: str, send: Send, text: bool, limit: int, metrics: Metrics) -> None:
        self.id = conn_id
        self._send = send
        self._text = text
        self.limit = limit
        self._metrics = metrics
        self._queue: deque[Encoded] = deque()
        self._wake = asyncio.Event()
        self._idle = False
        self._close: tuple[int, str] | None = None
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._write_forever(), name=f"ws-writer-{self.id}")

    @property
    def closing(self) -> bool:
        return self._close is not None

    def push(self, frame: Encoded) -> None:
        if self._close is not None:
            return
        if len(self._queue) >= self.limit:
            self._queue.clear()
            self.close(CloseCode.TOO_SLOW, "too slow: reconnect and resume")
            return
        self._queue.append(frame)
        if self._idle:
            self._idle = False
            self._wake.set()

    def push_frame(self, frame: dict[str, Any]) -> None:
        self.push(Encoded(frame))

    def close(self, code: int, reason: str = "") -> None:
        if self._close is None:
            self._close = (code, reason)
            self._metrics.closes.labels(str(code)).inc()
            self._idle = False
            self._wake.set()

    async def _write_forever(self) -> None:
        queue, send = self._queue, self._send
        text = self._text
        try:
            while True:
                while queue:
                    frame = queue.popleft()
                    if text:
                        await send({"type": "websocket.send", "text": frame.json()})
                    else:
                        await send({"type": "websocket.send", "bytes": frame.msgpack()})
                if self._close is not None:
                    code, reason = self._close
                    await send({"type": "websocket.close", "code": code, "reason": reason})
                    return
                self._wake.clear()
                self._idle = True
                await self._wake.wait()
        except (OSError, RuntimeError) as exc:
            # The peer went away mid-write (uvicorn raises ClientDisconnected, an OSError); the
            # reading side sees the disconnect and detaches the session.
            log.debug("writer for connection %s stopped: %s", self.id, type(exc).__name__)
            self._close = self._close or (1006, "")
