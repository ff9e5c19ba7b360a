"""Property-based fuzzing of the live /ws endpoint: random maps, types, nesting and sizes never
crash a connection or the process, and every frame gets a defined answer."""

from __future__ import annotations

import json

import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import Client, ServerProcess

ERROR_CODES = {"bad_frame", "unknown_type", "unauthorized", "forbidden", "no_such_room", "not_in_room",
               "too_long", "rate_limited", "muted", "banned", "room_locked", "unavailable", "internal"}
scalars = (st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False)
           | st.text(max_size=40) | st.binary(max_size=40))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                      max_leaves=20)
types = st.sampled_from(["join", "leave", "send", "history", "typing", "report", "ping", "mod", "flags", "cases",
                         "case_update", "hello", "zzz"])
rooms = st.sampled_from(["t59", "t58", "nope", "", "case:abc", "T59"]) | st.text(max_size=70)
fuzz_frames = st.fixed_dictionaries(
    {"t": types},
    optional={"room": rooms | values, "text": st.text(max_size=2100) | values, "since": values, "epoch": values,
              "seq": values, "before": values, "limit": values, "nonce": values, "reason": values, "token": values,
              "rid": st.integers(-5, 10**6) | st.text(max_size=70) | values})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=fuzz_frames, binary=st.booleans())
async def test_random_frames_always_get_a_defined_answer(server: ServerProcess, frame: dict, binary: bool) -> None:
    client = await Client.open(server, binary=binary, token=_token(server))
    try:
        if binary:
            data: bytes | str = msgpack.packb(frame, use_bin_type=True)
        else:
            data = json.dumps(frame, default=lambda b: b.hex())
        await client.send_raw(data)
        await client.send({"t": "ping", "rid": "after"})
        answers = []
        while True:
            answer = await client.expect(lambda f: True)
            if answer.get("rid") == "after":
                assert answer["t"] == "pong"
                break
            answers.append(answer)
        for answer in answers:
            if answer["t"] == "error":
                assert answer["code"] in ERROR_CODES and answer["code"] != "internal", answer
    finally:
        await client.close()


_tokens: dict[int, str] = {}


def _token(server: ServerProcess) -> str:
    """One member for the whole run: the join limit then applies to it, as it would to a real fuzzer."""
    if server.port not in _tokens:
        _tokens[server.port] = server.session()["token"]
    return _tokens[server.port]
