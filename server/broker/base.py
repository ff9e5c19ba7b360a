"""The Broker interface: publish bytes on a channel, hear what is published on the channels this
node subscribed to.

One handler per node, not per connection: a node subscribes to a room's channel while at least one
of its connections is in the room, and the hub fans each event out to its local members. The
handler is synchronous and must not block: publishing never waits on a slow client.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

Handler = Callable[[str, bytes], None]


class BrokerUnavailable(Exception):
    """Publishing failed: the client is told `unavailable`."""


class Broker(ABC):
    @abstractmethod
    async def connect(self, handler: Handler, on_resume: Callable[[], None] | None = None) -> None:
        """Start; `handler(channel, data)` is called for every event on a subscribed channel.

        `on_resume()` is called after the broker lost its connection and got it back: events
        published meanwhile may be lost, and the caller must catch up from the store."""

    @abstractmethod
    async def close(self) -> None: ...

    @property
    @abstractmethod
    def ready(self) -> bool: ...

    @abstractmethod
    async def subscribe(self, channel: str) -> None: ...

    @abstractmethod
    async def unsubscribe(self, channel: str) -> None: ...

    @abstractmethod
    async def publish(self, channel: str, data: bytes) -> None: ...
