"""The "Rooms and messages" and "Handshake" parts of the contract, on a real server."""

from __future__ import annotations

import asyncio

import pytest

from tests.support import Client, ServerProcess, open_clients


@pytest.mark.parametrize("binary", [True, False], ids=["msgpack", "json"])
async def test_two_members_talk_both_ways(server: ServerProcess, room: str, binary: bool) -> None:
    a, b = await open_clients(server, 2, binary=binary)
    await a.join(room)
    await b.join(room)
    ack = await a.say(room, "hello from a")
    assert ack["status"] == "sent" and ack["room"] == room
    for client in (a, b):
        msg = (await client.messages(room, 1))[0]
        assert msg["seq"] == ack["seq"] and msg["text"] == "hello from a"
        assert msg["from"] == a.user and isinstance(msg["ts"], int)
    ack2 = await b.say(room, "and back from b")
    assert ack2["seq"] > ack["seq"]
    assert (await a.messages(room, 1))[0]["text"] == "and back from b"


async def test_welcome_carries_the_user_and_rid(server: ServerProcess) -> None:
    session = server.session()
    client = await Client.open(server, hello=False)
    await client.send({"t": "hello", "token": session["token"], "rid": "h1"})
    welcome = await client.expect("welcome")
    assert welcome == {"t": "welcome", "user": session["user"], "rid": "h1"}


async def test_joined_has_history_members_epoch_and_seq(server: ServerProcess, room: str) -> None:
    a, b = await open_clients(server, 2)
    await a.join(room)
    for i in range(3):
        await a.say(room, f"m{i}")
    joined = await b.join(room)
    assert [m["text"] for m in joined["history"]] == ["m0", "m1", "m2"]
    assert joined["seq"] == joined["history"][-1]["seq"]
    assert isinstance(joined["epoch"], str) and joined["epoch"]
    assert {u["id"] for u in joined["members"]} == {a.user["id"], b.user["id"]}


async def test_history_without_since_is_capped_at_50(server: ServerProcess, room: str) -> None:
    clients = await open_clients(server, 7)
    for c in clients:
        await c.join(room)
    for i in range(56):
        await clients[i % 7].say(room, f"n{i}")
    late = await Client.open(server)
    joined = await late.join(room)
    assert len(joined["history"]) == 50
    assert joined["history"][-1]["text"] == "n55"


async def test_since_resume_returns_everything_missed_in_order(server: ServerProcess, room: str) -> None:
    a, b = await open_clients(server, 2)
    joined = await b.join(room)
    await a.join(room)
    first = await a.say(room, "before the drop")
    await b.messages(room, 1)
    await b.close()
    for i in range(5):
        await a.say(room, f"missed {i}", nonce=f"k{i}")
    b2 = await Client.open(server, token=b.token)
    resumed = await b2.join(room, since=first["seq"], epoch=joined["epoch"])
    assert [m["text"] for m in resumed["history"]] == [f"missed {i}" for i in range(5)]
    assert "reset" not in resumed
    seqs = [m["seq"] for m in resumed["history"]]
    assert seqs == sorted(seqs) and seqs[0] > first["seq"]


async def test_wrong_epoch_gets_latest_history_and_reset(server: ServerProcess, room: str) -> None:
    a = await Client.open(server)
    await a.join(room)
    await a.say(room, "only message")
    b = await Client.open(server)
    joined = await b.join(room, since=999, epoch="an-epoch-that-is-gone")
    assert joined["reset"] is True
    assert [m["text"] for m in joined["history"]] == ["only message"]


async def test_repeated_nonce_is_acked_with_first_seq_and_delivered_once(server: ServerProcess, room: str) -> None:
    a, b = await open_clients(server, 2)
    await a.join(room)
    await b.join(room)
    first = await a.say(room, "once", nonce="same")
    again = await a.say(room, "once", nonce="same")
    assert again["seq"] == first["seq"]
    await a.say(room, "marker")
    texts = [m["text"] for m in await b.messages(room, 2)]
    assert texts == ["once", "marker"]


async def test_concurrent_sends_get_strictly_increasing_seqs_seen_in_one_order(
        server: ServerProcess, room: str) -> None:
    clients = await open_clients(server, 5)
    for c in clients:
        await c.join(room)
    async def two(c: Client, i: int) -> list[dict]:
        return [await c.say(room, f"{i}-{j}") for j in range(2)]

    acks = [a for pair in await asyncio.gather(*(two(c, i) for i, c in enumerate(clients))) for a in pair]
    seqs = sorted(a["seq"] for a in acks)
    assert len(set(seqs)) == 10
    orders = [[m["seq"] for m in await c.messages(room, 10)] for c in clients]
    assert all(order == seqs for order in orders)


async def test_history_pages_backwards(server: ServerProcess, room: str) -> None:
    a = await Client.open(server)
    await a.join(room)
    acks = [await a.say(room, f"p{i}") for i in range(8)]
    page = await a.request({"t": "history", "room": room, "before": acks[5]["seq"], "limit": 3})
    assert page["t"] == "history" and page["room"] == room
    assert [m["text"] for m in page["messages"]] == ["p2", "p3", "p4"]


async def test_typing_reaches_the_others_but_not_the_typist(server: ServerProcess, room: str) -> None:
    a, b = await open_clients(server, 2)
    await a.join(room)
    await b.join(room)
    await a.send({"t": "typing", "room": room})
    typing = await b.expect("typing")
    assert typing == {"t": "typing", "room": room, "user": a.user}
    await a.request({"t": "ping"})
    assert not [f for f in a.inbox if f["t"] == "typing"]


async def test_typing_is_throttled(server: ServerProcess, room: str) -> None:
    a, b = await open_clients(server, 2)
    await a.join(room)
    await b.join(room)
    for _ in range(5):
        await a.send({"t": "typing", "room": room})
    await b.expect("typing")
    await a.say(room, "sync")
    await b.messages(room, 1)
    assert not [f for f in b.inbox if f["t"] == "typing"]


async def test_presence_join_and_leave(server: ServerProcess, room: str) -> None:
    a, b = await open_clients(server, 2)
    await a.join(room)
    await b.join(room)
    joined = await a.expect(lambda f: f["t"] == "presence" and f["event"] == "join" and f["user"]["id"] == b.user["id"])
    assert joined["count"] == 2 and joined["room"] == room
    left = await b.request({"t": "leave", "room": room})
    assert left["t"] == "left" and left["room"] == room
    leave = await a.expect(lambda f: f["t"] == "presence" and f["event"] == "leave")
    assert leave["user"]["id"] == b.user["id"] and leave["count"] == 1


async def test_disconnect_counts_as_leave(server: ServerProcess, room: str) -> None:
    a, b = await open_clients(server, 2)
    await a.join(room)
    await b.join(room)
    await b.close()
    leave = await a.expect(lambda f: f["t"] == "presence" and f["event"] == "leave")
    assert leave["user"]["id"] == b.user["id"]


async def test_same_alias_is_made_unique_in_the_room(server: ServerProcess, room: str) -> None:
    # Two sessions of the same member (two tabs) are one member; distinct members never share an alias.
    a = await Client.open(server)
    tab2 = await Client.open(server, token=a.token)
    j1 = await a.join(room)
    j2 = await tab2.join(room)
    assert j1["user"] == j2["user"] and len(j2["members"]) == 1


async def test_ping_pong_and_report(server: ServerProcess, room: str) -> None:
    a = await Client.open(server)
    assert (await a.request({"t": "ping"}))["t"] == "pong"
    await a.join(room)
    ack = await a.say(room, "report me")
    ok = await a.request({"t": "report", "room": room, "seq": ack["seq"], "reason": "testing"})
    assert ok["t"] == "ok"


async def test_rooms_endpoint_counts_members(server: ServerProcess, room: str) -> None:
    import httpx
    a = await Client.open(server)
    await a.join(room)
    rooms = httpx.get(server.url + "/api/rooms").json()["rooms"]
    entry = next(r for r in rooms if r["id"] == room)
    assert entry["count"] == 1 and entry["title"] and entry["topic"]
