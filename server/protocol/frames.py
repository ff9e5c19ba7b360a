"""Typed client frames, parsed and validated from decoded maps, and the server frames' shapes.

Parsing is the single place where client input becomes trusted values: every field is checked for
type, range and length here, so the hub works with frozen dataclasses and never sees a raw map.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from server.protocol.errors import ErrorCode, ProtocolError

Rid = int | str | None

MAX_RID_CHARS = 64
MAX_ID_CHARS = 64
MAX_REASON_CHARS = 500
MAX_HISTORY_LIMIT = 100
DEFAULT_HISTORY_LIMIT = 50
# Room ids are short slugs; `case:` rooms are the private crisis rooms.
ROOM_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}(:[A-Za-z0-9_-]{1,48})?$")


@dataclass(frozen=True, slots=True)
class Hello:
    token: str
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class Join:
    room: str
    since: int | None = None
    epoch: str | None = None
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class Leave:
    room: str
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class Send:
    room: str
    text: str
    nonce: str | None = None
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class History:
    room: str
    before: int | None = None
    limit: int = DEFAULT_HISTORY_LIMIT
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class Typing:
    room: str
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class Report:
    room: str
    seq: int
    reason: str | None = None
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class Ping:
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class Staff:
    """A crisis frame (`cases`, `case_update`): the fields stay raw until the role behind the
    connection is known to be allowed to send it; then `parse_staff` makes it typed."""

    type: str
    fields: Mapping[str, Any]
    rid: Rid = None


# -- crisis (role staff) -------------------------------------------------------------------------

CASE_ACTIONS = frozenset({"ack", "claim", "resolve"})
MAX_NOTE_CHARS = 2000


@dataclass(frozen=True, slots=True)
class Cases:
    """The unresolved crisis cases."""

    rid: Rid = None


@dataclass(frozen=True, slots=True)
class CaseUpdate:
    case: str
    action: str
    note: str | None = None
    rid: Rid = None


# -- moderation (role facilitator or staff) ------------------------------------------------------

MOD_ACTIONS = frozenset({"hide", "mute", "unmute", "kick", "ban", "unban", "slow", "lock", "unlock",
                         "release", "dismiss", "admit"})
# What each action needs besides `action`; the hub checks nothing of the frame's shape again.
_MOD_NEEDS: dict[str, tuple[str, ...]] = {
    "hide": ("room", "seq"), "mute": ("user",), "unmute": ("user",), "kick": ("user",), "ban": ("user",),
    "unban": ("user",), "slow": ("room", "seconds"), "lock": ("room",), "unlock": ("room",),
    "release": ("flag",), "dismiss": ("flag",), "admit": ("room", "user"),
}
MAX_SANCTION_SECONDS = 366 * 86400


@dataclass(frozen=True, slots=True)
class Mod:
    action: str
    room: str | None = None
    seq: int | None = None
    user: str | None = None
    seconds: int | None = None  # mute/ban: how long (none: until lifted); slow: seconds between messages
    flag: int | None = None
    reason: str | None = None
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class Flags:
    """The open flags of every room the facilitator keeps, or of one room."""

    room: str | None = None
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class Duty:
    on: bool
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class Help:
    """A facilitator calls for help: every facilitator and staff member on duty hears it."""

    room: str | None = None
    reason: str | None = None
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class Members:
    """A room's member list as facilitators see it: who is there and who was flagged recently."""

    room: str
    rid: Rid = None


ModFrame = Mod | Flags | Duty | Help | Members
ClientFrame = Hello | Join | Leave | Send | History | Typing | Report | Ping | Staff | ModFrame


def _rid(frame: Mapping[str, Any]) -> Rid:
    rid = frame.get("rid")
    if rid is None:
        return None
    if isinstance(rid, bool) or not isinstance(rid, int | str):
        raise ProtocolError(ErrorCode.BAD_FRAME, "rid must be an integer or a string")
    if isinstance(rid, str) and len(rid) > MAX_RID_CHARS:
        raise ProtocolError(ErrorCode.BAD_FRAME, f"rid longer than {MAX_RID_CHARS} characters")
    if isinstance(rid, int) and not -(2**63) <= rid < 2**63:
        raise ProtocolError(ErrorCode.BAD_FRAME, "rid out of range")
    return rid


def _str(frame: Mapping[str, Any], key: str, max_chars: int, *, required: bool = True) -> str | None:
    value = frame.get(key)
    if value is None:
        if required:
            raise ProtocolError(ErrorCode.BAD_FRAME, f"missing field '{key}'")
        return None
    if not isinstance(value, str):
        raise ProtocolError(ErrorCode.BAD_FRAME, f"'{key}' must be a string")
    if len(value) > max_chars:
        raise ProtocolError(ErrorCode.TOO_LONG, f"'{key}' longer than {max_chars} characters")
    return value


def _int(frame: Mapping[str, Any], key: str, *, required: bool = True, minimum: int = 0) -> int | None:
    value = frame.get(key)
    if value is None:
        if required:
            raise ProtocolError(ErrorCode.BAD_FRAME, f"missing field '{key}'")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError(ErrorCode.BAD_FRAME, f"'{key}' must be an integer")
    if not minimum <= value < 2**53:
        raise ProtocolError(ErrorCode.BAD_FRAME, f"'{key}' out of range")
    return value


def _room(frame: Mapping[str, Any]) -> str:
    room = _str(frame, "room", MAX_ID_CHARS * 2)
    assert room is not None
    if not ROOM_ID.match(room):
        raise ProtocolError(ErrorCode.NO_SUCH_ROOM, "no such room")
    return room


def _hello(f: Mapping[str, Any], rid: Rid, max_text: int) -> Hello:
    token = _str(f, "token", 4096)
    assert token is not None
    return Hello(token, rid)


def _join(f: Mapping[str, Any], rid: Rid, max_text: int) -> Join:
    return Join(_room(f), _int(f, "since", required=False), _str(f, "epoch", MAX_ID_CHARS, required=False), rid)


def _leave(f: Mapping[str, Any], rid: Rid, max_text: int) -> Leave:
    return Leave(_room(f), rid)


def _send(f: Mapping[str, Any], rid: Rid, max_text: int) -> Send:
    room = _room(f)
    text = _str(f, "text", max_text)
    assert text is not None
    if not text.strip():
        raise ProtocolError(ErrorCode.BAD_FRAME, "'text' must not be empty")
    nonce = f.get("nonce")
    if isinstance(nonce, int) and not isinstance(nonce, bool):
        nonce = str(nonce)
    elif nonce is not None:
        nonce = _str(f, "nonce", MAX_ID_CHARS)
    return Send(room, text, nonce, rid)


def _history(f: Mapping[str, Any], rid: Rid, max_text: int) -> History:
    limit = _int(f, "limit", required=False, minimum=1)
    return History(
        _room(f),
        _int(f, "before", required=False, minimum=1),
        min(limit or DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT),
        rid,
    )


def _typing(f: Mapping[str, Any], rid: Rid, max_text: int) -> Typing:
    return Typing(_room(f), rid)


def _report(f: Mapping[str, Any], rid: Rid, max_text: int) -> Report:
    seq = _int(f, "seq", minimum=1)
    assert seq is not None
    return Report(_room(f), seq, _str(f, "reason", MAX_REASON_CHARS, required=False), rid)


def _ping(f: Mapping[str, Any], rid: Rid, max_text: int) -> Ping:
    return Ping(rid)


def _mod(f: Mapping[str, Any], rid: Rid, max_text: int) -> Mod:
    action = _str(f, "action", 16)
    if action not in MOD_ACTIONS:
        raise ProtocolError(ErrorCode.BAD_FRAME, f"'action' must be one of {', '.join(sorted(MOD_ACTIONS))}")
    seconds = _int(f, "seconds", required=False)
    if seconds is not None and seconds > MAX_SANCTION_SECONDS:
        raise ProtocolError(ErrorCode.BAD_FRAME, "'seconds' out of range")
    frame = Mod(action, _room(f) if f.get("room") is not None else None,
                _int(f, "seq", required=False, minimum=1), _str(f, "user", MAX_ID_CHARS, required=False),
                seconds, _int(f, "flag", required=False, minimum=1),
                _str(f, "reason", MAX_REASON_CHARS, required=False), rid)
    missing = [k for k in _MOD_NEEDS[action] if getattr(frame, k) is None]
    if missing:
        raise ProtocolError(ErrorCode.BAD_FRAME, f"'{action}' needs {', '.join(repr(k) for k in missing)}")
    return frame


def _flags(f: Mapping[str, Any], rid: Rid, max_text: int) -> Flags:
    return Flags(_room(f) if f.get("room") is not None else None, rid)


def _duty(f: Mapping[str, Any], rid: Rid, max_text: int) -> Duty:
    on = f.get("on")
    if not isinstance(on, bool):
        raise ProtocolError(ErrorCode.BAD_FRAME, "'on' must be true or false")
    return Duty(on, rid)


def _help(f: Mapping[str, Any], rid: Rid, max_text: int) -> Help:
    return Help(_room(f) if f.get("room") is not None else None,
                _str(f, "reason", MAX_REASON_CHARS, required=False), rid)


def _members(f: Mapping[str, Any], rid: Rid, max_text: int) -> Members:
    return Members(_room(f), rid)


_PARSERS: dict[str, Callable[[Mapping[str, Any], Rid, int], ClientFrame]] = {
    "hello": _hello,
    "join": _join,
    "leave": _leave,
    "send": _send,
    "history": _history,
    "typing": _typing,
    "report": _report,
    "ping": _ping,
    "mod": _mod,
    "flags": _flags,
    "duty": _duty,
    "help": _help,
    "members": _members,
}
STAFF_TYPES = frozenset({"cases", "case_update"})


def parse(frame: Mapping[str, Any], max_text: int) -> ClientFrame:
    """Validate a decoded map into a typed frame, or raise `ProtocolError` carrying its `rid`."""
    rid = _rid(frame)
    kind = frame.get("t")
    if not isinstance(kind, str):
        raise ProtocolError(ErrorCode.BAD_FRAME, "missing or non-string 't'", rid)
    try:
        if kind in STAFF_TYPES:
            return Staff(kind, frame, rid)
        parser = _PARSERS.get(kind)
        if parser is None:
            raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown frame type '{kind[:32]}'")
        return parser(frame, rid, max_text)
    except ProtocolError as exc:
        raise exc.with_rid(rid) from None


def parse_staff(frame: Staff) -> Cases | CaseUpdate:
    """The typed crisis frame, once the hub knows its sender may send it; raises `ProtocolError`."""
    fields = frame.fields
    try:
        if frame.type == "cases":
            return Cases(frame.rid)
        case = _str(fields, "case", MAX_ID_CHARS)
        action = _str(fields, "action", 16)
        assert case is not None
        if action not in CASE_ACTIONS:
            raise ProtocolError(ErrorCode.BAD_FRAME, f"'action' must be one of {', '.join(sorted(CASE_ACTIONS))}")
        return CaseUpdate(case, action, _str(fields, "note", MAX_NOTE_CHARS, required=False), frame.rid)
    except ProtocolError as exc:
        raise exc.with_rid(frame.rid) from None


def reply(kind: str, rid: Rid, **fields: Any) -> dict[str, Any]:
    """A server frame answering a request: it carries the request's `rid` when there was one."""
    frame: dict[str, Any] = {"t": kind, **fields}
    if rid is not None:
        frame["rid"] = rid
    return frame


def error(code: ErrorCode, message: str, rid: Rid = None) -> dict[str, Any]:
    return reply("error", rid, code=code.value, message=message)
