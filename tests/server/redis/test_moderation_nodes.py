"""Moderation across nodes over Redis: a facilitator on node 1 acts on a member on node 2, flags
reach facilitators wherever they are, and a held message is released once, on any node."""

from __future__ import annotations

import pytest

from tests.support import UNIT, Client, ServerProcess

SECRET = "test-secret-shared-by-every-node-0123456789"
CONTACT = "text me at 415 555 0132"


@pytest.fixture
def two_nodes(make_server, redis_url: str) -> tuple[ServerProcess, ServerProcess]:
    env = {"PEERCHAT_REDIS_URL": redis_url, "PEERCHAT_SECRET": SECRET}
    one, two = make_server(env=env), make_server(env=env)
    one.add_user("fac", "facilitator")  # `peerchat users add --redis-url`: one account for every node
    return one, two


def notice(code: str):
    return lambda frame: frame.get("t") == "notice" and frame.get("code") == code


async def test_facilitator_on_one_node_acts_on_a_member_on_the_other(two_nodes) -> None:
    one, two = two_nodes
    fac = await Client.open(one, token=two.staff_token("fac"))  # logged in on node 2, connected to node 1
    member = await Client.open(two)
    watcher = await Client.open(two)
    for c in (member, watcher):
        await c.join("t30")

    ack = await member.say("t30", CONTACT)
    assert ack["status"] == "held"
    flag = (await fac.expect(lambda f: f.get("t") == "flag" and f["flag"]["seq"] == ack["seq"],
                             timeout=1 * UNIT))["flag"]
    assert (await fac.request({"t": "mod", "action": "release", "flag": flag["id"]}))["t"] == "ok"
    assert (await watcher.messages("t30", 1))[0]["seq"] == ack["seq"]

    reply = await fac.request({"t": "mod", "action": "mute", "room": "t30", "user": member.user["id"], "seconds": 60})
    assert reply["t"] == "ok"
    await member.expect(notice("muted"))
    assert (await member.request({"t": "send", "room": "t30", "text": "hello?"}))["code"] == "muted"

    await fac.request({"t": "mod", "action": "kick", "room": "t30", "user": member.user["id"]})
    await member.expect(notice("kicked"))
    assert await member.closed() == 4403
    # The audit log is shared: staff reading it on node 2 see what a facilitator did on node 1.
    one.add_user("boss", "staff")
    import httpx
    entries = httpx.get(two.url + "/api/audit", headers={"Authorization": f"Bearer {one.staff_token('boss')}"}).json()["entries"]
    assert {"release", "mute", "kick"} <= {e["action"] for e in entries}


async def test_a_join_wave_spread_over_two_nodes_is_one_wave(make_server, redis_url: str) -> None:
    env = {"PEERCHAT_REDIS_URL": redis_url, "PEERCHAT_SECRET": SECRET}
    one, two = make_server("[moderation]\njoin_wave = 4\n", env=env), make_server("[moderation]\njoin_wave = 4\n", env=env)
    one.add_user("watch")
    fac = await Client.open(one, token=one.staff_token("watch"))
    for node in (one, two, one, two):  # two fresh joins per node: neither node alone sees a wave
        await (await Client.open(node)).join("t31")
    wave = (await fac.expect(lambda f: f.get("t") == "flag" and f["flag"]["room"] == "t31", timeout=2 * UNIT))["flag"]
    assert wave["rules"] == ["raid.join_wave"]
