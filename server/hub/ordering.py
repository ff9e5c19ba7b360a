"""Putting a room's messages back in `seq` order before they reach anyone.

On one process messages arrive in order. Across nodes two publishes can cross on the way, and a
broker may lose an event while it reconnects; so each room on each node delivers `seq` N only after
N-1, holds later ones for a moment, and asks the store for the missing ones when the wait runs
out. A `seq` that the store never had (a write that failed after its number was taken) is skipped.
"""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class Sequencer(Generic[T]):
    __slots__ = ("last", "pending")

    def __init__(self) -> None:
        self.last: int | None = None  # the highest seq delivered; None until the first one
        self.pending: dict[int, T] = {}

    def offer(self, seq: int, item: T) -> list[T]:
        """Items now deliverable, in order: `item` and whatever it unblocked, or nothing."""
        last = self.last
        if last is None or seq == last + 1:
            self.last = seq
            if not self.pending:
                return [item]
            return [item, *self._drain()]
        if seq > last and seq not in self.pending:
            self.pending[seq] = item
        return []

    def start_at(self, seq: int) -> list[T]:
        """Everything up to `seq` is known to be delivered (read from the store): move past it."""
        if self.last is None or seq > self.last:
            self.last = seq
            for old in [s for s in self.pending if s <= seq]:
                del self.pending[old]
            return self._drain()
        return []

    def give_up_gap(self) -> list[T]:
        """The missing seqs are not coming: deliver from the first one held."""
        if not self.pending:
            return []
        self.last = min(self.pending) - 1
        return self._drain()

    @property
    def waiting(self) -> bool:
        return bool(self.pending)

    def _drain(self) -> list[T]:
        ready = []
        assert self.last is not None
        while (nxt := self.pending.pop(self.last + 1, None)) is not None:
            ready.append(nxt)
            self.last += 1
        return ready
