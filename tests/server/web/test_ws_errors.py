"""Errors and closing: every error code a member can cause, bad input of every kind, and the
close codes for clients that keep misbehaving. A bad frame never ends a healthy connection."""

from __future__ import annotations

import json

import msgpack
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.support import UNIT, Client, ServerProcess


async def error_for(client: Client, frame: dict | bytes | str) -> dict:
    if isinstance(frame, dict):
        reply = await client.request(frame)
    else:
        await client.send_raw(frame)
        reply = await client.expect("error")
    assert reply["t"] == "error", reply
    assert isinstance(reply["message"], str) and reply["message"]
    return reply


async def still_alive(client: Client) -> None:
    assert (await client.request({"t": "ping"}))["t"] == "pong"


@pytest.mark.parametrize("raw", [
    b"\xc1", b"\x92\x01\x02", b"not msgpack at all \xff\xfe", msgpack.packb([1, 2, 3]), msgpack.packb("str"),
    msgpack.packb({"t": 5}), msgpack.packb({"no": "type"}), msgpack.ExtType(1, b"x") and msgpack.packb(msgpack.ExtType(1, b"x")),
    msgpack.packb({1: 2}), b"",
])
async def test_malformed_msgpack_gets_bad_frame_and_connection_stays(server: ServerProcess, raw: bytes) -> None:
    client = await Client.open(server)
    assert (await error_for(client, raw))["code"] == "bad_frame"
    await still_alive(client)


@pytest.mark.parametrize("raw", ["{", "[]", "null", '"x"', '{"t": null}', '{"t": "ping", "rid": 1.5}',
                                 '{"t": "ping", "rid": true}', '{"t":"join","room":"t00","since":NaN}'])
async def test_malformed_json_gets_bad_frame(server: ServerProcess, raw: str) -> None:
    client = await Client.open(server, binary=False)
    assert (await error_for(client, raw))["code"] == "bad_frame"
    await still_alive(client)


@pytest.mark.parametrize("frame", [
    {"t": "join"}, {"t": "join", "room": 7}, {"t": "join", "room": "t00", "since": "1"},
    {"t": "join", "room": "t00", "since": -1}, {"t": "send", "room": "t00"},
    {"t": "send", "room": "t00", "text": ["list"]}, {"t": "send", "room": "t00", "text": "   "},
    {"t": "history", "room": "t00", "before": "x"}, {"t": "report", "room": "t00"},
    {"t": "send", "room": "t00", "text": "x", "nonce": {"a": 1}},
])
async def test_wrong_types_and_missing_fields_get_bad_frame(server: ServerProcess, frame: dict) -> None:
    client = await Client.open(server)
    reply = await error_for(client, frame)
    assert reply["code"] == "bad_frame" and "rid" in reply
    await still_alive(client)


async def test_each_client_error_code(server: ServerProcess, room: str) -> None:
    client = await Client.open(server)
    assert (await error_for(client, {"t": "dance"}))["code"] == "unknown_type"
    assert (await error_for(client, {"t": "join", "room": "no-such-room"}))["code"] == "no_such_room"
    assert (await error_for(client, {"t": "send", "room": room, "text": "hi"}))["code"] == "not_in_room"
    await client.join(room)
    long = {"t": "send", "room": room, "text": "x" * 2001}
    assert (await error_for(client, long))["code"] == "too_long"
    for frame in ({"t": "mod", "action": "kick", "user": "u"}, {"t": "flags"}, {"t": "cases"},
                  {"t": "case_update", "case": "c", "action": "ack"}):
        assert (await error_for(client, frame))["code"] == "forbidden"
    assert (await error_for(client, {"t": "hello", "token": client.token}))["code"] == "bad_frame"
    await still_alive(client)


async def test_error_replies_carry_the_rid(server: ServerProcess) -> None:
    client = await Client.open(server)
    await client.send({"t": "join", "room": "nope", "rid": "abc"})
    reply = await client.expect("error")
    assert reply["rid"] == "abc" and reply["code"] == "no_such_room"


async def test_rid_longer_than_64_characters_is_refused(server: ServerProcess) -> None:
    client = await Client.open(server)
    await client.send({"t": "ping", "rid": "r" * 65})
    assert (await client.expect("error"))["code"] == "bad_frame"


async def test_frame_over_the_size_limit_gets_too_long(server: ServerProcess, room: str) -> None:
    client = await Client.open(server)
    await client.join(room)
    await client.send_raw(msgpack.packb({"t": "send", "room": room, "text": "x" * 100_000}))
    assert (await client.expect("error"))["code"] == "too_long"
    await still_alive(client)


async def test_frame_over_the_transport_limit_closes_1009(server: ServerProcess) -> None:
    client = await Client.open(server)
    try:
        await client.send_raw(b"\x00" * (2 * 1024 * 1024))
    except (ConnectionClosed, ConnectionResetError):
        pass  # the server may close while the frame is still being written
    # The server sends 1009 at once; when our write was cut short, the kernel may report a reset
    # instead of the close frame, so 1006 is what the client sees then.
    assert await client.closed() in (1009, 1006)
    await still_alive(await Client.open(server))


async def test_bad_token_is_unauthorized_and_closed_4401(server: ServerProcess) -> None:
    client = await Client.open(server, hello=False)
    await client.send({"t": "hello", "token": "v1.forged.signature"})
    assert (await client.expect("error"))["code"] == "unauthorized"
    assert await client.closed() == 4401


async def test_frame_before_hello_is_unauthorized(server: ServerProcess) -> None:
    client = await Client.open(server, hello=False, binary=False)
    await client.send({"t": "join", "room": "t00"})
    assert (await client.expect("error"))["code"] == "unauthorized"
    assert await client.closed() == 4401


async def test_no_hello_in_time_closes_4401(make_server) -> None:
    server = make_server("[limits]\nhello_timeout = 1.0\n")
    client = await Client.open(server, hello=False)
    assert await client.closed(timeout=5 * UNIT) == 4401


async def test_expired_token_is_refused(make_server) -> None:
    server = make_server(env={"PEERCHAT_TOKEN_TTL": "1"})
    token = server.session()["token"]
    import asyncio
    await asyncio.sleep(1.2)
    client = await Client.open(server, hello=False)
    await client.send({"t": "hello", "token": token})
    assert (await client.expect("error"))["code"] == "unauthorized"


async def test_foreign_origin_is_refused_with_403(server: ServerProcess) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await connect(server.ws_url, origin="https://evil.example")
    assert refused.value.response.status_code == 403


async def test_own_and_absent_origin_are_accepted(server: ServerProcess) -> None:
    own = await connect(server.ws_url, origin=f"http://127.0.0.1:{server.port}")
    await own.close()
    none = await connect(server.ws_url)
    await none.close()


async def test_allowed_origin_from_configuration(make_server) -> None:
    server = make_server(env={"PEERCHAT_ALLOWED_ORIGINS": "https://recovery.example"})
    ws = await connect(server.ws_url, origin="https://recovery.example")
    await ws.close()


async def test_rate_limit_then_flood_closes_4429(make_server) -> None:
    server = make_server()
    client = await Client.open(server)
    await client.join("t00")
    codes = []
    for i in range(12):
        reply = await client.request({"t": "send", "room": "t00", "text": f"m{i}"})
        codes.append(reply.get("code", reply["t"]))
    assert codes[:10] == ["ack"] * 10 and codes[10] == "rate_limited"
    for i in range(200):  # keep flooding without waiting for answers
        await client.send({"t": "send", "room": "t00", "text": f"flood {i}"})
    assert await client.closed() == 4429


async def test_keeps_sending_garbage_closes_4400(server: ServerProcess) -> None:
    client = await Client.open(server)
    for _ in range(20):
        await client.send_raw(b"\xc1")
    assert await client.closed() == 4400


async def test_join_rate_limit(server: ServerProcess) -> None:
    client = await Client.open(server)
    codes = []
    for i in range(32):
        room = f"t{50 + i % 8:02d}"
        reply = await client.request({"t": "join", "room": room})
        codes.append(reply["t"] if reply["t"] != "error" else reply["code"])
        if reply["t"] == "joined":
            await client.request({"t": "leave", "room": room})
    assert "rate_limited" in codes and codes[0] == "joined"


async def test_json_answers_json_and_msgpack_answers_msgpack(server: ServerProcess) -> None:
    j = await Client.open(server, binary=False)
    await still_alive(j)  # Client asserts the encoding of every frame it receives
    m = await Client.open(server, binary=True)
    await still_alive(m)
    await j.send_raw(msgpack.packb({"t": "ping", "rid": 5}))  # a later frame may use the other encoding
    reply = json.loads(await j.ws.recv())
    assert reply == {"t": "pong", "rid": 5}
