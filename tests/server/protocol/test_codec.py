"""The codec needs no event loop: bytes in, a frame map or a ProtocolError out, whatever the bytes."""

from __future__ import annotations

import json

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.protocol.codec import Encoded, decode, encode_json, encode_msgpack
from server.protocol.errors import ErrorCode, ProtocolError
from server.protocol.frames import parse

LIMIT = 16 * 1024

scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats() | st.text(max_size=50) | st.binary(max_size=50)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5), max_leaves=30)
frames = st.dictionaries(st.sampled_from(["t", "room", "text", "rid", "since", "epoch", "nonce", "seq", "before", "limit", "token", "reason", "x"]), values, max_size=8)
frame_types = st.sampled_from(["hello", "join", "leave", "send", "history", "typing", "report", "ping", "mod", "flags", "nope"])


def decode_and_parse(data: bytes | str) -> object:
    try:
        return parse(decode(data, LIMIT), 2000)
    except ProtocolError as exc:
        assert exc.code in set(ErrorCode)
        return exc


@given(st.binary(max_size=300))
def test_any_bytes_give_a_frame_or_a_protocol_error(data: bytes) -> None:
    decode_and_parse(data)


@given(st.text(max_size=300))
def test_any_text_gives_a_frame_or_a_protocol_error(data: str) -> None:
    decode_and_parse(data)


@settings(max_examples=300)
@given(frames, frame_types)
def test_any_map_gives_a_frame_or_a_protocol_error(frame: dict, kind: str) -> None:
    frame = {**frame, "t": kind} if "t" not in frame else frame
    decode_and_parse(msgpack.packb(frame, use_bin_type=True))
    try:
        text = json.dumps(frame)
    except (TypeError, ValueError):
        return
    decode_and_parse(text)


def test_deep_nesting_is_a_bad_frame_not_a_crash() -> None:
    deep_json = "[" * 100_000 + "]" * 100_000
    with pytest.raises(ProtocolError) as exc:
        decode(deep_json, 10**6)
    assert exc.value.code == ErrorCode.BAD_FRAME
    deep_msgpack = b"\x91" * 100_000 + b"\x90"
    with pytest.raises(ProtocolError):
        decode(deep_msgpack, 10**6)


def test_size_is_checked_before_parsing() -> None:
    with pytest.raises(ProtocolError) as exc:
        decode(b"\x00" * (LIMIT + 1), LIMIT)
    assert exc.value.code == ErrorCode.TOO_LONG


def test_extension_types_are_refused() -> None:
    with pytest.raises(ProtocolError) as exc:
        decode(msgpack.packb({"t": msgpack.ExtType(5, b"abc")}), LIMIT)
    assert exc.value.code == ErrorCode.BAD_FRAME


def test_encoded_encodes_each_encoding_once() -> None:
    frame = {"t": "msg", "text": "héllo"}
    encoded = Encoded(frame)
    assert encoded.msgpack() is encoded.msgpack()
    assert encoded.json() is encoded.json()
    assert msgpack.unpackb(encoded.msgpack()) == frame == json.loads(encoded.json())
    assert encode_json(frame) == '{"t":"msg","text":"héllo"}'
    assert Encoded(frame, b"given").msgpack() == b"given"
    assert encode_msgpack(frame) == msgpack.packb(frame)
