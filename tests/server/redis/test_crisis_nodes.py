"""Crisis escalation across nodes over Redis: each escalation is raised by exactly one node (the one
holding the case's lease), and when that node is killed the other takes the timer over."""

from __future__ import annotations

import re
import signal
from collections.abc import AsyncIterator

import pytest

from tests.support import UNIT, Client, RedisServer, ServerProcess, WebhookReceiver

SECRET = "test-secret-shared-by-every-node-0123456789"
CRISIS = "i want to kill myself tonight"


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    hook = await WebhookReceiver().start()
    yield hook
    await hook.stop()


def escalations(client: Client, case_id: str) -> list[int]:
    return [fr["case"]["raises"] for fr in client.inbox
            if fr.get("t") == "case" and fr.get("event") == "escalated" and fr["case"]["id"] == case_id]


def escalated(case_id: str, raises: int):
    return lambda fr: (fr.get("t") == "case" and fr.get("event") == "escalated" and fr["case"]["id"] == case_id
                       and fr["case"]["raises"] == raises)


async def test_two_nodes_raise_each_escalation_once_and_survive_the_lease_holder(
        make_server, redis_url: str, redis_server: RedisServer, receiver: WebhookReceiver) -> None:
    env = {"PEERCHAT_REDIS_URL": redis_url, "PEERCHAT_SECRET": SECRET, "PEERCHAT_ESCALATION_SECONDS": "1",
           "PEERCHAT_WEBHOOK_URL": receiver.url, "PEERCHAT_WEBHOOK_SECRET": "hook-secret"}
    one, two = make_server(env=env), make_server(env=env)
    one.add_user("sam", "staff")
    token = one.staff_token("sam")
    sam1 = await Client.open(one, token=token)
    sam2 = await Client.open(two, token=token)
    member = await Client.open(two)
    await member.join("t40")
    await member.say("t40", CRISIS)
    await member.expect("resources", timeout=1 * UNIT)
    case_id = (await sam1.expect(lambda fr: fr.get("t") == "case", timeout=1 * UNIT))["case"]["id"]

    # Raised once per escalation, whichever node: staff on both nodes see raises 1, 2, 3 once each.
    for client in (sam1, sam2):
        await client.expect(escalated(case_id, 3), timeout=6 * UNIT)
        assert escalations(client, case_id) == [1, 2]
    await receiver.wait_for(lambda bodies: len(bodies) >= 3)
    assert [b["case"]["raises"] for b in receiver.bodies("case_escalated")][:3] == [1, 2, 3]

    # Kill the node that holds the lease; the other keeps raising the case.
    holder = redis_server.cli("GET", f"pc:{{cases}}:lease:case:{case_id}").strip()
    nodes = {re.search(r"crisis escalation: node (\w+)", n.logs()).group(1): n for n in (one, two)}  # type: ignore[union-attr]
    dead: ServerProcess = nodes[holder]
    alive = two if dead is one else one
    watcher = sam2 if alive is two else sam1
    watcher.inbox.clear()
    dead.stop(signal.SIGKILL)
    last = max(b["case"]["raises"] for b in receiver.bodies("case_escalated"))
    later = await watcher.expect(lambda fr: fr.get("t") == "case" and fr.get("event") == "escalated"
                                 and fr["case"]["raises"] > last, timeout=6 * UNIT)
    assert later["case"]["state"] == "open"
    new_holder = redis_server.cli("GET", f"pc:{{cases}}:lease:case:{case_id}").strip()
    assert new_holder and new_holder != holder
    raises = [b["case"]["raises"] for b in receiver.bodies("case_escalated")]
    assert raises == sorted(set(raises))  # never twice
