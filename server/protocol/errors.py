"""Every error a client can cause, with its protocol code, and the close codes.

A `ProtocolError` is the only exception the WebSocket layer turns into an `error` frame; anything
else that escapes a handler is a bug, logged with context and answered with `internal`.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class ErrorCode(StrEnum):
    BAD_FRAME = "bad_frame"
    UNKNOWN_TYPE = "unknown_type"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NO_SUCH_ROOM = "no_such_room"
    NOT_IN_ROOM = "not_in_room"
    TOO_LONG = "too_long"
    RATE_LIMITED = "rate_limited"
    MUTED = "muted"
    BANNED = "banned"
    ROOM_LOCKED = "room_locked"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"


class CloseCode(IntEnum):
    """WebSocket close codes. The 4xxx ones mirror HTTP statuses so they read at a glance."""

    RESTARTING = 1012  # uvicorn sends it on shutdown; clients reconnect to any node
    TOO_BIG = 1009  # a frame over the transport's hard size limit
    BAD_FRAMES = 4400  # kept sending malformed frames
    UNAUTHORIZED = 4401  # bad token, or no hello in time
    FORBIDDEN = 4403  # kicked or banned
    TOO_SLOW = 4408  # outbound queue overflowed: the client could not keep up; resume with `since`
    FLOODING = 4429  # kept sending over its rate limits


class ProtocolError(Exception):
    """A client-caused error: carries the code the client sees and a human-readable message."""

    def __init__(self, code: ErrorCode, message: str, rid: int | str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.rid = rid

    def with_rid(self, rid: int | str | None) -> ProtocolError:
        self.rid = rid
        return self
