"""A bare ``websockets.broadcast`` hub: the ceiling that ``bench/fanout.py`` measures peerchat against.

It speaks only the subset of the peerchat protocol the fan-out benchmark uses (hello/welcome, join/joined,
send -> ack + msg to the room with a per-room seq) and does nothing else: no auth (any token is accepted),
no store, no moderation, no presence, no rate limits. Whatever peerchat costs beyond this is the price of
its features, which is what the ratio printed by the benchmark is meant to show.

    python bench/bare_hub.py --port 8001
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import time
from typing import Any

import msgpack
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

ROOMS = ("newcomers", "alcohol", "opioids", "stimulants", "family", "smart", "twelve-step", "open")
# room -> {True: binary (MessagePack) members, False: text (JSON) members}: a broadcast is encoded once per
# encoding, as a real hub would.
members: dict[str, dict[bool, set[ServerConnection]]] = {r: {True: set(), False: set()} for r in ROOMS}
seqs: dict[str, int] = dict.fromkeys(ROOMS, 0)
user_ids = itertools.count(1)


def encode(frame: dict[str, Any], binary: bool) -> bytes | str:
    return msgpack.packb(frame) if binary else json.dumps(frame, separators=(",", ":"))


def json_response(payload: dict[str, Any]) -> Response:
    body = json.dumps(payload).encode()
    return Response(
        200,
        "OK",
        Headers(
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("Connection", "close"),
            ]
        ),
        body,
    )


def http(connection: ServerConnection, request: Request) -> Response | None:
    """Answer the plain HTTP routes the benchmark uses; let upgrades to /ws through."""
    if request.path == "/ws":
        return None
    if request.path == "/api/rooms":
        counts = {r: sum(map(len, members[r].values())) for r in ROOMS}
        return json_response(
            {"rooms": [{"id": r, "title": r, "topic": "", "count": counts[r]} for r in ROOMS]}
        )
    if request.path == "/api/session":  # any token is accepted at hello: this only mirrors peerchat's shape
        user = {"id": "", "alias": "", "role": "member"}
        return json_response({"token": "bare", "user": user, "expires": int(time.time() + 3600) * 1000})
    if request.path == "/healthz":
        return connection.respond(200, "ok\n")
    return connection.respond(404, "not found\n")


async def handler(ws: ServerConnection) -> None:
    user: dict[str, Any] | None = None
    binary = True
    joined: set[str] = set()
    try:
        async for data in ws:
            if user is None:
                binary = isinstance(data, bytes)
            frame = msgpack.unpackb(data) if binary else json.loads(data)
            kind, room = frame.get("t"), frame.get("room")
            if kind == "hello":
                n = next(user_ids)
                user = {"id": f"u{n}", "alias": f"member{n}", "role": "member"}
                await ws.send(encode({"t": "welcome", "user": user}, binary))
            elif user is None:
                await ws.send(encode({"t": "error", "code": "unauthorized"}, binary))
                await ws.close(4401)
            elif room not in members:
                await ws.send(encode({"t": "error", "code": "no_such_room"}, binary))
            elif kind == "join":
                members[room][binary].add(ws)
                joined.add(room)
                reply = {
                    "t": "joined",
                    "room": room,
                    "seq": seqs[room],
                    "epoch": "bare",
                    "history": [],
                    "members": [],
                }
                await ws.send(encode(reply, binary))
            elif kind == "send" and room in joined:
                seqs[room] += 1
                msg = {
                    "t": "msg",
                    "room": room,
                    "seq": seqs[room],
                    "ts": int(time.time() * 1000),
                    "from": user,
                    "text": frame.get("text", ""),
                }
                await ws.send(encode({"t": "ack", "room": room, "seq": seqs[room], "status": "sent"}, binary))
                for enc, conns in members[room].items():
                    broadcast(conns, encode(msg, enc))
    finally:
        for room in joined:
            members[room][binary].discard(ws)


async def main(host: str, port: int) -> None:
    # No compression: the benchmark clients do not offer it either, so both servers are measured on the hub.
    async with serve(handler, host, port, process_request=http, compression=None, ping_interval=None) as srv:
        await srv.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    try:
        import uvloop  # the same event loop uvicorn picks for peerchat when it is installed
    except ImportError:
        asyncio.run(main(args.host, args.port))
    else:
        uvloop.run(main(args.host, args.port))
