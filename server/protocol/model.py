"""The two values every frame talks about: who (`User`) and what was said (`Message`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class User:
    id: str
    alias: str
    role: str = "member"

    def wire(self) -> dict[str, str]:
        return {"id": self.id, "alias": self.alias, "role": self.role}

    def renamed(self, alias: str) -> User:
        return replace(self, alias=alias)

    @classmethod
    def from_wire(cls, data: Any) -> User:
        return cls(str(data["id"]), str(data["alias"]), str(data["role"]))


@dataclass(frozen=True, slots=True)
class Message:
    room: str
    seq: int
    ts: int
    user: User
    text: str

    def wire(self) -> dict[str, Any]:
        return {"t": "msg", "room": self.room, "seq": self.seq, "ts": self.ts, "from": self.user.wire(),
                "text": self.text}
