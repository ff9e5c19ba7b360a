"""A WebSocket connection as the hub sees it: a bounded outbound queue, drained by a writer task
that exists only while there is something to write.

Why a queue per connection, bounded: fan-out must never wait on a slow reader. The hub appends the
one encoded frame to each member's queue and moves on; the connection's writer drains it. A client
that falls `limit` frames behind is closed with 4408 and can resume with `since`, instead of holding
memory for the whole room or slowing it down.

Why the writer is started on demand rather than kept waiting on an event: most connections are idle
most of the time, and an idle one then holds no task, no coroutine frame and no event, which is
most of what a connection costs in memory.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from starlette.types import Send

from server.metrics import Metrics
from server.protocol.codec import Encoded
from server.protocol.errors import CloseCode
from server.web.transport import framed

log = logging.getLogger(__name__)

ABNORMAL = 1006


class Connection:
    __slots__ = ("_backlog", "_close", "_direct", "_done", "_metrics", "_queue", "_send", "_text", "_writer", "id",
                 "limit")

    def __init__(self, conn_id: str, send: Send, text: bool, limit: int, metrics: Metrics,
                 direct: Callable[[bytes], bool] | None = None) -> None:
        self.id = conn_id
        self._send = send
        self._direct = direct  # the transport's write_frame, when the server offers it
        self._text = text
        self.limit = limit
        self._metrics = metrics
        self._queue: list[Encoded] = []  # an empty list is far smaller than an empty deque
        self._backlog = 0  # frames queued or taken by the writer and not yet written
        self._writer: asyncio.Task[None] | None = None
        self._close: tuple[int, str] | None = None
        self._done = False  # the close frame went out, or the peer is gone

    @property
    def closing(self) -> bool:
        return self._close is not None

    def push(self, frame: Encoded) -> None:
        if self._close is not None:
            return
        if self._backlog == 0 and self._direct is not None and self._direct(framed(frame, self._text)):
            return  # written at once: the common case, no task, no queue
        if self._backlog >= self.limit:
            self._queue = []
            self.close(CloseCode.TOO_SLOW, "too slow: reconnect and resume")
            return
        self._backlog += 1
        self._queue.append(frame)
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._drain())

    def push_frame(self, frame: dict[str, Any]) -> None:
        self.push(Encoded(frame))

    def close(self, code: int, reason: str = "") -> None:
        """Close after what is queued; a second close keeps the first code."""
        if self._close is None:
            self._close = (code, reason)
            self._metrics.closes.labels(str(code)).inc()
            if self._writer is None and not self._done:
                self._writer = asyncio.get_running_loop().create_task(self._drain())

    async def finish(self, grace: float) -> None:
        """Close normally if nobody closed yet, and wait until the close frame is out."""
        self.close(1000)
        writer = self._writer
        if writer is not None:
            try:
                await asyncio.wait_for(asyncio.shield(writer), grace)
            except TimeoutError:
                writer.cancel()
                log.warning("connection %s did not close in time", self.id)

    async def _drain(self) -> None:
        send = self._send
        try:
            while self._queue:
                # Take the whole backlog at once; what arrives meanwhile goes to a fresh list.
                batch, self._queue = self._queue, []
                for frame in batch:
                    if self._close is not None and self._close[0] == CloseCode.TOO_SLOW:
                        break
                    if self._text:
                        await send({"type": "websocket.send", "text": frame.json()})
                    else:
                        await send({"type": "websocket.send", "bytes": frame.msgpack()})
                    self._backlog -= 1
            if self._close is not None and not self._done:
                code, reason = self._close
                self._done = True
                await send({"type": "websocket.close", "code": code, "reason": reason})
        except (OSError, RuntimeError) as exc:
            # The peer went away mid-write (uvicorn raises ClientDisconnected, an OSError); the
            # reading side sees the disconnect and detaches the session.
            log.debug("writes to connection %s stopped: %s", self.id, type(exc).__name__)
            self._done = True
            self._close = self._close or (ABNORMAL, "")
            self._queue = []
        finally:
            self._writer = None
