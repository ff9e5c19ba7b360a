"""The Store interface: what the hub needs from durable, shared state.

Why one interface for history, sequence numbers, nonces and presence: on Redis these must all be
atomic with each other across nodes (a `seq` is assigned in the same step as the history write and
the nonce check), so they belong behind one seam, whatever backs it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from server.protocol.model import Message, User


class StoreUnavailable(Exception):
    """The backing store cannot be reached or written: the client gets `unavailable`, never an ack."""


@dataclass(frozen=True, slots=True)
class Appended:
    message: Message
    duplicate: bool  # the nonce was seen before: `message` is the first one, not delivered again


@dataclass(frozen=True, slots=True)
class Page:
    """A slice of a room's history, oldest first."""

    messages: list[Message]
    last_seq: int  # the room's newest seq when the page was read
    epoch: str
    more: bool = False  # capped: more retained messages follow the last one here
    truncated: bool = False  # messages after the requested `since` are no longer retained


@dataclass(frozen=True, slots=True)
class PresenceChange:
    user: User  # as registered in the room (its alias made unique among the room's members)
    changed: bool  # first connection of this user in the room, or its last one gone
    count: int  # distinct users in the room afterwards


@dataclass(frozen=True, slots=True)
class Report:
    room: str
    seq: int
    reporter_id: str
    reason: str | None
    ts: int
    id: int = 0
    state: str = "open"
    extra: dict[str, str] = field(default_factory=dict)


class Store(ABC):
    """Shared state of the whole deployment, whichever node asks."""

    @abstractmethod
    async def open(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @property
    @abstractmethod
    def ready(self) -> bool: ...

    @abstractmethod
    async def append(self, room: str, user: User, text: str, ts: int, nonce: str | None) -> Appended:
        """Assign the room's next `seq` and store the message durably before returning.

        A repeated `nonce` from the same user in the same room returns the first message with
        `duplicate=True`. Raises `StoreUnavailable` when the message could not be stored.
        """

    @abstractmethod
    async def latest(self, room: str, limit: int) -> Page: ...

    @abstractmethod
    async def since(self, room: str, seq: int, limit: int) -> Page: ...

    @abstractmethod
    async def before(self, room: str, seq: int | None, limit: int) -> list[Message]: ...

    @abstractmethod
    async def message(self, room: str, seq: int) -> Message | None: ...

    @abstractmethod
    async def add_report(self, report: Report) -> int: ...

    @abstractmethod
    async def presence_add(self, room: str, user: User, conn_id: str) -> PresenceChange: ...

    @abstractmethod
    async def presence_remove(self, room: str, user_id: str, conn_id: str) -> PresenceChange | None: ...

    @abstractmethod
    async def presence_members(self, room: str) -> list[User]: ...

    @abstractmethod
    async def presence_counts(self) -> dict[str, int]: ...

    @abstractmethod
    async def heartbeat(self) -> None:
        """Say this node is alive; the presence it registered stays while it keeps saying so."""

    @abstractmethod
    async def reap(self) -> list[tuple[str, PresenceChange]]:
        """Take the members of nodes that stopped heartbeating out of presence: the leaves to announce."""

    @abstractmethod
    async def take(self, key: str, rate: float, burst: int) -> float:
        """Take one token from the deployment-wide bucket `key`: 0 if allowed, else seconds to wait.

        A member's limits must hold on every node at once, so they live here, not in the hub."""
