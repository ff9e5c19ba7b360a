"""Several nodes over one real Redis behave as one server: delivery, one order, resume after a
node's SIGKILL, a Redis outage and recovery, presence after a node's death, dedupe and limits."""

from __future__ import annotations

import asyncio
import signal
import time

import httpx
import pytest

from tests.support import UNIT, Client, ServerProcess

SECRET = "test-secret-shared-by-every-node-0123456789"


@pytest.fixture
def nodes(make_server, redis_url: str):
    def start(n: int = 2, **env: str) -> list[ServerProcess]:
        return [make_server(env={"PEERCHAT_REDIS_URL": redis_url, "PEERCHAT_SECRET": SECRET,
                                 "PEERCHAT_NODE_TIMEOUT": "3", **env}) for _ in range(n)]
    return start


async def test_cross_node_delivery_both_ways(nodes) -> None:
    one, two = nodes(2)
    a = await Client.open(one)
    b = await Client.open(two, token=two.session()["token"])
    await a.join("t00")
    await b.join("t00")
    ack = await a.say("t00", "from node one")
    assert (await b.messages("t00", 1))[0]["seq"] == ack["seq"]
    assert "starting in redis mode (redis://127.0.0.1:" in one.logs()
    await b.say("t00", "from node two")
    texts = [m["text"] for m in await a.messages("t00", 2)]
    assert texts == ["from node one", "from node two"]


async def test_tokens_from_one_node_work_on_the_other(nodes) -> None:
    one, two = nodes(2)
    token = one.session()["token"]
    client = await Client.open(two, token=token)
    assert client.user["id"] == two.session(token=token)["user"]["id"]


async def test_one_order_for_all_when_both_nodes_send_at_once(nodes) -> None:
    one, two = nodes(2)
    clients = [await Client.open(node) for node in (one, two, one, two)]
    for c in clients:
        await c.join("t01")

    async def burst(c: Client, i: int) -> list[int]:
        return [(await c.say("t01", f"{i}-{j}"))["seq"] for j in range(5)]

    acked = sorted(s for seqs in await asyncio.gather(*(burst(c, i) for i, c in enumerate(clients))) for s in seqs)
    assert len(set(acked)) == 20
    orders = [[m["seq"] for m in await c.messages("t01", 20)] for c in clients]
    assert all(order == acked for order in orders)


async def test_sigkill_of_a_node_and_resume_on_the_other_loses_nothing(nodes) -> None:
    one, two = nodes(2)
    member = await Client.open(one)
    other = await Client.open(two)
    joined = await member.join("t02")
    await other.join("t02")
    first = await other.say("t02", "before")
    await member.messages("t02", 1)
    one.stop(signal.SIGKILL)
    assert await member.closed() in (1006, 1012)
    sent = [(await other.say("t02", f"while away {i}", nonce=f"w{i}"))["seq"] for i in range(5)]
    again = await Client.open(two, token=member.token)
    resumed = await again.join("t02", since=first["seq"], epoch=joined["epoch"])
    assert [m["seq"] for m in resumed["history"]] == sent and "reset" not in resumed


async def test_presence_forgets_a_dead_nodes_members(nodes) -> None:
    one, two = nodes(2)
    doomed = await Client.open(one)
    watcher = await Client.open(two)
    await watcher.join("t03")
    await doomed.join("t03")
    await watcher.expect(lambda f: f["t"] == "presence" and f["event"] == "join" and f["user"]["id"] == doomed.user["id"])
    one.stop(signal.SIGKILL)
    started = time.monotonic()
    leave = await watcher.expect(lambda f: f["t"] == "presence" and f["event"] == "leave", timeout=15 * UNIT)
    assert leave["user"]["id"] == doomed.user["id"] and leave["count"] == 1
    assert time.monotonic() - started < 10 * UNIT  # node timeout 3 s in this test; 20 s by default
    rooms = httpx.get(two.url + "/api/rooms").json()["rooms"]
    assert next(r for r in rooms if r["id"] == "t03")["count"] == 1


async def test_nonce_dedupe_across_nodes(nodes) -> None:
    one, two = nodes(2)
    token = one.session()["token"]
    a = await Client.open(one, token=token)
    b = await Client.open(two, token=token)
    watcher = await Client.open(two)
    for c in (a, b, watcher):
        await c.join("t04")
    first = await a.say("t04", "once", nonce="same")
    again = await b.say("t04", "once", nonce="same")
    assert again["seq"] == first["seq"]
    await b.say("t04", "marker")
    assert [m["text"] for m in await watcher.messages("t04", 2)] == ["once", "marker"]


async def test_rate_limits_hold_across_nodes(nodes) -> None:
    one, two = nodes(2)
    token = one.session()["token"]
    a = await Client.open(one, token=token)
    b = await Client.open(two, token=token)
    await a.join("t05")
    await b.join("t05")
    replies = [await c.request({"t": "send", "room": "t05", "text": f"m{i}"}) for i in range(7) for c in (a, b)]
    codes = [r.get("code", r["t"]) for r in replies]
    assert codes.count("ack") == 10 and codes.count("rate_limited") == 4


async def test_redis_outage_unavailable_then_recovery_without_restart(nodes, redis_server) -> None:
    one, two = nodes(2)
    a = await Client.open(one)
    b = await Client.open(two)
    await a.join("t06")
    await b.join("t06")
    await a.say("t06", "before the outage")
    await b.messages("t06", 1)

    redis_server.stop()
    deadline = time.monotonic() + 5 * UNIT
    while httpx.get(one.url + "/readyz").status_code != 503:
        assert time.monotonic() < deadline, "readyz still 200 with Redis down"
        await asyncio.sleep(0.1)
    assert httpx.get(one.url + "/healthz").status_code == 200
    reply = await a.request({"t": "send", "room": "t06", "text": "during", "nonce": "d1"})
    assert reply["t"] == "error" and reply["code"] == "unavailable"

    redis_server.start()  # same port, no persistence: Redis lost everything
    deadline = time.monotonic() + 15 * UNIT
    while not all(httpx.get(n.url + "/readyz").status_code == 200 for n in (one, two)):
        assert time.monotonic() < deadline, "nodes did not recover"
        await asyncio.sleep(0.2)
    # Redis came back empty: the rooms' history is gone, and each member is told so, once.
    for c in (a, b):
        reset = await c.expect(lambda f: f["t"] == "joined" and f.get("reset"), timeout=10 * UNIT)
        assert reset["room"] == "t06" and reset["history"] == []
    ack = await a.say("t06", "after the outage", nonce="d2")
    msg = await b.expect(lambda f: f["t"] == "msg" and f["text"] == "after the outage", timeout=10 * UNIT)
    assert msg["seq"] == ack["seq"]
    assert (await a.messages("t06", 1))[0]["seq"] == ack["seq"]


async def test_messages_published_while_a_node_is_cut_off_from_pubsub_still_arrive(nodes, redis_server) -> None:
    one, two = nodes(2)
    listener = await Client.open(one)
    sender = await Client.open(two)
    await listener.join("t07")
    await sender.join("t07")
    await sender.say("t07", "first")
    await listener.messages("t07", 1)
    redis_server.cli("CLIENT", "KILL", "TYPE", "pubsub")  # every node loses its subscriptions at once
    acks = [await sender.say("t07", f"while cut off {i}") for i in range(5)]
    got = await listener.messages("t07", 5, timeout=10 * UNIT)
    assert [m["seq"] for m in got] == [a["seq"] for a in acks]
