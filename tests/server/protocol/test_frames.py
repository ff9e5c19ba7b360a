"""Validation of each client frame: types, ranges and lengths, and the rid on every error."""

from __future__ import annotations

import pytest

from server.protocol import frames as f
from server.protocol.errors import ErrorCode, ProtocolError


def code_of(frame: dict) -> ErrorCode:
    with pytest.raises(ProtocolError) as exc:
        f.parse(frame, 2000)
    return exc.value.code


def test_each_frame_type_parses() -> None:
    assert f.parse({"t": "hello", "token": "x"}, 10) == f.Hello("x")
    assert f.parse({"t": "join", "room": "alcohol", "since": 3, "epoch": "e", "rid": 1}, 10) == f.Join("alcohol", 3, "e", 1)
    assert f.parse({"t": "leave", "room": "alcohol"}, 10) == f.Leave("alcohol")
    assert f.parse({"t": "send", "room": "open", "text": "hi", "nonce": 7}, 10) == f.Send("open", "hi", "7")
    assert f.parse({"t": "history", "room": "open", "before": 5, "limit": 1000}, 10) == f.History("open", 5, 100)
    assert f.parse({"t": "history", "room": "open"}, 10) == f.History("open", None, 50)
    assert f.parse({"t": "typing", "room": "open"}, 10) == f.Typing("open")
    assert f.parse({"t": "report", "room": "open", "seq": 2}, 10) == f.Report("open", 2)
    assert f.parse({"t": "ping", "rid": "r"}, 10) == f.Ping("r")
    assert f.parse({"t": "case_update", "case": "c1"}, 10).type == "case_update"  # type: ignore[union-attr]


@pytest.mark.parametrize(("frame", "code"), [
    ({"t": "send", "room": "open", "text": "x" * 11}, ErrorCode.TOO_LONG),
    ({"t": "send", "room": "open", "text": ""}, ErrorCode.BAD_FRAME),
    ({"t": "join", "room": "Not A Room!"}, ErrorCode.NO_SUCH_ROOM),
    ({"t": "join", "room": "open", "since": True}, ErrorCode.BAD_FRAME),
    ({"t": "join", "room": "open", "since": 2**60}, ErrorCode.BAD_FRAME),
    ({"t": "report", "room": "open", "seq": 0}, ErrorCode.BAD_FRAME),
    ({"t": "report", "room": "open", "seq": 1, "reason": "r" * 501}, ErrorCode.TOO_LONG),
    ({"t": "what"}, ErrorCode.UNKNOWN_TYPE),
    ({"t": 1}, ErrorCode.BAD_FRAME),
    ({"x": 1}, ErrorCode.BAD_FRAME),
    ({"t": "ping", "rid": 2**64}, ErrorCode.BAD_FRAME),
])
def test_invalid_frames(frame: dict, code: ErrorCode) -> None:
    with pytest.raises(ProtocolError) as exc:
        f.parse(frame, 10)
    assert exc.value.code == code


def test_errors_carry_the_rid_of_the_request() -> None:
    with pytest.raises(ProtocolError) as exc:
        f.parse({"t": "send", "room": "open", "rid": "abc"}, 10)
    assert exc.value.rid == "abc"


def test_replies_echo_rid_only_when_given() -> None:
    assert f.reply("pong", None) == {"t": "pong"}
    assert f.reply("pong", 3) == {"t": "pong", "rid": 3}
    assert f.error(ErrorCode.MUTED, "m", "x") == {"t": "error", "code": "muted", "message": "m", "rid": "x"}


def test_staff_frames_are_typed_once_allowed() -> None:
    from server.protocol.errors import ProtocolError
    staff = f.parse({"t": "case_update", "case": "c1", "action": "claim", "note": "on it", "rid": 4}, 10)
    assert isinstance(staff, f.Staff)
    assert f.parse_staff(staff) == f.CaseUpdate("c1", "claim", "on it", 4)
    assert f.parse_staff(f.parse({"t": "cases"}, 10)) == f.Cases()  # type: ignore[arg-type]
    for bad in ({"t": "case_update", "case": "c1", "action": "dance"}, {"t": "case_update", "action": "ack"},
                {"t": "case_update", "case": "c1", "action": "ack", "note": "x" * 3000}):
        try:
            f.parse_staff(f.parse({**bad, "rid": 9}, 10))  # type: ignore[arg-type]
        except ProtocolError as exc:
            assert exc.rid == 9
        else:
            raise AssertionError(bad)
