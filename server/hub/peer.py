"""What the hub needs of a connection: somewhere to put frames, and a way to end it."""

from __future__ import annotations

from typing import Protocol

from server.protocol.codec import Encoded


class Peer(Protocol):
    id: str  # unique per connection, for presence bookkeeping; never shown to clients

    def push(self, frame: Encoded) -> None:
        """Queue a frame without waiting; a peer whose queue overflows closes itself."""

    def close(self, code: int, reason: str = "") -> None:
        """End the connection with a WebSocket close code, after the frames already queued."""
