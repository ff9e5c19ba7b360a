"""In-process broker for the embedded default: publishing calls the handler directly.

Delivery is synchronous and in publish order, so one process needs no reordering; events carry
immutable `bytes`, exactly as they would cross Redis, so the hub cannot come to depend on sharing
objects with the publisher.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from server.broker.base import Broker, BrokerUnavailable, Handler

log = logging.getLogger(__name__)


class MemoryBroker(Broker):
    def __init__(self) -> None:
        self._handler: Handler | None = None
        self._channels: set[str] = set()

    async def connect(self, handler: Handler, on_resume: Callable[[], None] | None = None) -> None:
        self._handler = handler  # in one process nothing is ever lost in transit: no resume

    async def close(self) -> None:
        self._handler = None
        self._channels.clear()

    @property
    def ready(self) -> bool:
        return self._handler is not None

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)

    async def publish(self, channel: str, data: bytes) -> None:
        handler = self._handler
        if handler is None:
            raise BrokerUnavailable("the broker is closed")
        if channel in self._channels:
            handler(channel, bytes(data))
