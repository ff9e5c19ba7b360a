"""Each member's last few messages per room, in memory only, for the moderation engine's context.

Why: a plan spread over messages ("i saved up all my meds" ... "tonight's the night") is only seen
with the lines before it. Why bounded and short-lived: this is text members said, kept for nothing
else; it never touches the disk, lives at most `max_age` seconds, at most `per_member` lines per
member and room, and at most `max_keys` member-room pairs (the least recently active go first).
"""

from __future__ import annotations

from collections import OrderedDict


class RecentTexts:
    __slots__ = ("_items", "max_age", "max_keys", "per_member")

    def __init__(self, per_member: int = 5, max_age: float = 300.0, max_keys: int = 20_000) -> None:
        self.per_member = per_member
        self.max_age = max_age
        self.max_keys = max_keys
        self._items: OrderedDict[tuple[str, str], list[tuple[float, str]]] = OrderedDict()

    def context(self, room: str, user_id: str, now: float) -> tuple[str, ...]:
        """The member's previous lines in the room, oldest first, none older than `max_age`."""
        lines = self._items.get((room, user_id))
        if not lines:
            return ()
        oldest = now - self.max_age
        return tuple(text for ts, text in lines if ts >= oldest)

    def add(self, room: str, user_id: str, text: str, now: float) -> None:
        key = (room, user_id)
        lines = self._items.get(key)
        if lines is None:
            lines = self._items[key] = []
            if len(self._items) > self.max_keys:
                self._items.popitem(last=False)
        else:
            self._items.move_to_end(key)
        oldest = now - self.max_age
        lines.append((now, text))
        if len(lines) > self.per_member or lines[0][0] < oldest:
            lines[:] = [item for item in lines[-self.per_member:] if item[0] >= oldest]

    def forget(self, user_id: str) -> None:
        for key in [k for k in self._items if k[1] == user_id]:
            del self._items[key]

    def __len__(self) -> int:
        return len(self._items)
