"""Who is in which room, on one process: the presence table behind the embedded store.

A user may be in a room through several connections (two tabs); the room sees one member until
the last of them leaves. Aliases are made unique per room here, where the member list is known.
"""

from __future__ import annotations

from collections import defaultdict

from server.protocol.model import User
from server.store.base import PresenceChange


def unique_alias(alias: str, taken: set[str]) -> str:
    """`alias`, or `alias` with the smallest suffix that no other member of the room carries."""
    if alias not in taken:
        return alias
    n = 2
    while f"{alias} ({n})" in taken:
        n += 1
    return f"{alias} ({n})"


class PresenceTable:
    def __init__(self) -> None:
        self._rooms: dict[str, dict[str, tuple[User, set[str]]]] = defaultdict(dict)

    def add(self, room: str, user: User, conn_id: str) -> PresenceChange:
        members = self._rooms[room]
        entry = members.get(user.id)
        if entry is not None:
            entry[1].add(conn_id)
            return PresenceChange(entry[0], False, len(members))
        alias = unique_alias(user.alias, {u.alias for u, _ in members.values()})
        registered = user.renamed(alias)
        members[user.id] = (registered, {conn_id})
        return PresenceChange(registered, True, len(members))

    def remove(self, room: str, user_id: str, conn_id: str) -> PresenceChange | None:
        members = self._rooms.get(room)
        entry = members.get(user_id) if members else None
        if members is None or entry is None or conn_id not in entry[1]:
            return None
        entry[1].discard(conn_id)
        if entry[1]:
            return PresenceChange(entry[0], False, len(members))
        del members[user_id]
        if not members:
            del self._rooms[room]
        return PresenceChange(entry[0], True, len(members))

    def members(self, room: str) -> list[User]:
        return [user for user, _ in self._rooms.get(room, {}).values()]

    def counts(self) -> dict[str, int]:
        return {room: len(members) for room, members in self._rooms.items()}
