"""Bytes and text to frames and back.

A binary WebSocket frame carries MessagePack, a text frame carries JSON; both decode to one map.
Decoding is strict and bounded: the size is checked before any parsing, MessagePack containers and
strings are capped, extension types are refused, and JSON's NaN/Infinity are not numbers here.
Whatever a client sends, the answer is a frame map or a `ProtocolError`, never another exception.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import msgpack

from server.protocol.errors import ErrorCode, ProtocolError

# Caps on what MessagePack may allocate while decoding, whatever the frame says about itself.
_MAX_CONTAINER = 1024
_MAX_NESTING_ERRORS = (RecursionError,)


def _refuse_ext(code: int, data: bytes) -> Any:
    raise ProtocolError(ErrorCode.BAD_FRAME, "MessagePack extension types are not accepted")


def _refuse_constant(name: str) -> Any:
    raise ProtocolError(ErrorCode.BAD_FRAME, f"{name} is not a valid number here")


def decode(data: bytes | str, max_bytes: int) -> dict[str, Any]:
    """Decode one client frame; `bytes` is MessagePack, `str` is JSON."""
    if len(data) > max_bytes:
        raise ProtocolError(ErrorCode.TOO_LONG, f"frame larger than {max_bytes} bytes")
    try:
        if isinstance(data, bytes):
            frame = msgpack.unpackb(
                data,
                raw=False,
                strict_map_key=True,
                ext_hook=_refuse_ext,
                max_str_len=max_bytes,
                max_bin_len=max_bytes,
                max_array_len=_MAX_CONTAINER,
                max_map_len=_MAX_CONTAINER,
                max_ext_len=0,
            )
        else:
            frame = json.loads(data, parse_constant=_refuse_constant)
    except ProtocolError:
        raise
    except (ValueError, TypeError, msgpack.UnpackException, *_MAX_NESTING_ERRORS) as exc:
        kind = "MessagePack" if isinstance(data, bytes) else "JSON"
        raise ProtocolError(ErrorCode.BAD_FRAME, f"not a valid {kind} frame") from exc
    if not isinstance(frame, dict):
        raise ProtocolError(ErrorCode.BAD_FRAME, "a frame must be a map")
    return frame


def encode_msgpack(frame: Mapping[str, Any]) -> bytes:
    return msgpack.packb(frame, use_bin_type=True)


def encode_json(frame: Mapping[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


class Encoded:
    """One server frame, encoded at most once per encoding however many connections receive it.

    Fan-out hands the same `Encoded` to every recipient; each asks for the encoding its connection
    speaks, and only the first ask of each kind pays for it.
    """

    __slots__ = ("_json", "_msgpack", "frame", "ws_binary", "ws_text")

    def __init__(self, frame: Mapping[str, Any], msgpack_bytes: bytes | None = None) -> None:
        self.frame = frame
        self._msgpack = msgpack_bytes
        self._json: str | None = None
        # The same, framed for the wire by the transport layer once, for every connection alike.
        self.ws_binary: bytes | None = None
        self.ws_text: bytes | None = None

    def msgpack(self) -> bytes:
        if self._msgpack is None:
            self._msgpack = encode_msgpack(self.frame)
        return self._msgpack

    def json(self) -> str:
        if self._json is None:
            self._json = encode_json(self.frame)
        return self._json
