"""The "Crisis escalation" part of the contract on a real server: resources at once, cases for staff,
ack/claim/resolve, the private room, escalation to staff and to a signed webhook, restarts."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.support import UNIT, Client, ServerProcess, WebhookReceiver

CRISIS = "i want to kill myself tonight"
CRISIS_AGAIN = "i have the pills here and i am going to take them all tonight"
SECRET = "webhook-secret-for-tests"


def case_frame(case_id: str | None = None, **want: Any) -> Callable[[dict[str, Any]], bool]:
    def match(frame: dict[str, Any]) -> bool:
        if frame.get("t") != "case" or (case_id is not None and frame["case"]["id"] != case_id):
            return False
        return all(frame.get(k) == v or frame["case"].get(k) == v for k, v in want.items())
    return match


def notice(code: str) -> Callable[[dict[str, Any]], bool]:
    return lambda frame: frame.get("t") == "notice" and frame.get("code") == code


def signed(headers: dict[str, str], body: bytes) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers.get("x-peerchat-signature", ""), expected)


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    hook = await WebhookReceiver(fail_first=1).start()
    yield hook
    await hook.stop()


def crisis_server(make_server, escalation: float = 30, hook: WebhookReceiver | None = None,
                  users: tuple[str, ...] = ("sam",)) -> ServerProcess:
    env = {"PEERCHAT_ESCALATION_SECONDS": str(escalation)}
    if hook is not None:
        env |= {"PEERCHAT_WEBHOOK_URL": hook.url, "PEERCHAT_WEBHOOK_SECRET": SECRET}
    server = make_server(env=env)
    for name in users:
        server.add_user(name, "facilitator" if name == "fac" else "staff")
    return server


async def test_resources_case_claim_private_room_resolve(make_server) -> None:
    server = crisis_server(make_server, users=("sam", "tia", "fac"))
    sam = await Client.open(server, token=server.staff_token("sam"))
    tia = await Client.open(server, token=server.staff_token("tia"))
    fac = await Client.open(server, token=server.staff_token("fac"))
    member, other = await asyncio.gather(Client.open(server), Client.open(server))
    for c in (member, other, fac):
        await c.join("t00")

    ack = await member.say("t00", CRISIS)
    assert ack["status"] == "sent"
    resources = await member.expect("resources", timeout=1 * UNIT)
    assert {"name", "contact"} <= set(resources["items"][0])
    assert any("988" in item["contact"] for item in resources["items"])
    assert any("741741" in item["contact"] for item in resources["items"])
    assert (await other.messages("t00", 1))[0]["seq"] == ack["seq"]  # still delivered
    case = (await sam.expect(case_frame(state="open"), timeout=1 * UNIT))["case"]
    assert case["seq"] == ack["seq"] and case["room"] == "t00" and case["severity"] == 3
    assert case["user"]["id"] == member.user["id"] and case["excerpt"] and isinstance(case["opened"], int)
    case_id = case["id"]
    await tia.expect(case_frame(case_id), timeout=1 * UNIT)

    # A further crisis message joins the open case.
    await member.say("t00", CRISIS_AGAIN)
    joined = await sam.expect(case_frame(case_id, event="joined"))
    assert joined["case"]["seq"] == ack["seq"] and [e["action"] for e in joined["case"]["history"]] == [
        "opened", "joined"]
    listed = await sam.request({"t": "cases"})
    assert listed["t"] == "cases" and [c["id"] for c in listed["cases"]] == [case_id]

    # Members always, facilitators while staff are connected: forbidden.
    for who in (member, fac):
        assert (await who.request({"t": "cases"}))["code"] == "forbidden"
        reply = await who.request({"t": "case_update", "case": case_id, "action": "ack"})
        assert reply["code"] == "forbidden"

    assert (await sam.request({"t": "case_update", "case": case_id, "action": "ack"}))["t"] == "ok"
    await tia.expect(case_frame(case_id, state="acknowledged"))
    claimed = await sam.request({"t": "case_update", "case": case_id, "action": "claim", "note": "I'm on it"})
    assert claimed["t"] == "ok" and claimed["room"] == f"case:{case_id}"
    lost = await tia.request({"t": "case_update", "case": case_id, "action": "claim"})
    assert lost["code"] == "bad_frame"  # claimed once
    update = (await tia.expect(case_frame(case_id, state="claimed")))["case"]
    assert update["claimed_by"]["id"] == sam.user["id"]
    private = f"case:{case_id}"
    invite = await member.expect(notice("support_invite"))
    assert invite["room"] == private

    # The private room: its two parties only.
    await member.join(private)
    await sam.join(private)
    for outsider in (other, tia, fac):
        assert (await outsider.request({"t": "join", "room": private}))["code"] == "forbidden"
    said = await member.say(private, CRISIS)  # not screened into flags: no facilitator sees this room
    got = await sam.messages(private, 1)
    assert got[0]["seq"] == said["seq"] == 1 and got[0]["text"] == CRISIS
    await fac.request({"t": "ping"})
    assert not [fr for fr in fac.inbox if fr.get("t") in ("flag", "msg") and private in json.dumps(fr)]
    await sam.say(private, "I'm here. Are you safe right now?")
    await member.messages(private, 2)
    # Resuming with `since` works there like in any room.
    await member.request({"t": "leave", "room": private})
    again = await member.join(private, since=0)
    assert [m["seq"] for m in again["history"]] == [1, 2]

    done = await sam.request({"t": "case_update", "case": case_id, "action": "resolve", "note": "safety plan"})
    assert done["t"] == "ok"
    await member.expect(notice("support_closed"))
    resolved = (await tia.expect(case_frame(case_id, state="resolved")))["case"]
    assert resolved["outcome"] == "safety plan" and resolved["history"][-1]["action"] == "resolve"
    assert (await member.request({"t": "send", "room": private, "text": "hello?"}))["code"] == "forbidden"
    assert (await sam.request({"t": "cases"}))["cases"] == []


async def test_unacknowledged_case_is_raised_again_to_staff_and_the_webhook(
        make_server, receiver: WebhookReceiver) -> None:
    server = crisis_server(make_server, escalation=1, hook=receiver)
    sam = await Client.open(server, token=server.staff_token("sam"))
    member = await Client.open(server)
    await member.join("t01")
    await member.say("t01", CRISIS)
    case_id = (await sam.expect(case_frame(state="open"), timeout=1 * UNIT))["case"]["id"]
    first = await sam.expect(case_frame(case_id, event="escalated"), timeout=3 * UNIT)
    assert first["case"]["raises"] == 1
    second = await sam.expect(case_frame(case_id, event="escalated"), timeout=3 * UNIT)
    assert second["case"]["raises"] == 2  # keeps being raised

    # The webhook: the first POST answered 500 and retried; signed; no message text.
    await receiver.wait_for(lambda bodies: len([b for b in bodies if b["event"] == "case_escalated"]) >= 2,
                            timeout=5 * UNIT)
    assert all(signed(h, body) for h, body in receiver.requests)
    assert receiver.requests[0][1] == receiver.requests[1][1]  # the same delivery, retried
    assert receiver.requests[0][0]["_request"].startswith("POST /hooks/crisis")
    body = receiver.bodies("case_escalated")[0]
    assert body["case"]["id"] == case_id and isinstance(body["ts"], int) and body["case"]["severity"] == 3
    for _, raw in receiver.requests:
        assert b"kill" not in raw and b"excerpt" not in raw
    assert not receiver.bodies("case_opened")  # staff were connected: no webhook at once

    assert (await sam.request({"t": "case_update", "case": case_id, "action": "ack"}))["t"] == "ok"
    acked = await sam.expect(case_frame(case_id, state="acknowledged"))
    raises = acked["case"]["raises"]
    listed = await sam.request({"t": "cases"})
    assert listed["cases"][0]["state"] == "acknowledged" and listed["cases"][0]["raises"] == raises


async def test_without_staff_facilitators_see_the_case_and_the_webhook_fires_at_once(
        make_server, receiver: WebhookReceiver) -> None:
    server = crisis_server(make_server, escalation=30, hook=receiver, users=("sam", "fac"))
    fac = await Client.open(server, token=server.staff_token("fac"))
    member = await Client.open(server)
    await member.join("t02")
    await member.say("t02", CRISIS)
    case = (await fac.expect(case_frame(state="open"), timeout=1 * UNIT))["case"]
    await receiver.wait_for(lambda bodies: any(b["event"] == "case_opened" for b in bodies), timeout=3 * UNIT)
    opened = receiver.bodies("case_opened")[0]
    assert opened["case"]["id"] == case["id"] and opened["staff_connected"] is False
    assert "excerpt" not in opened["case"]
    listed = await fac.request({"t": "cases"})
    assert [c["id"] for c in listed["cases"]] == [case["id"]]
    assert (await fac.request({"t": "case_update", "case": case["id"], "action": "ack"}))["code"] == "forbidden"
    # Once a staff member is connected, the case is theirs again.
    sam = await Client.open(server, token=server.staff_token("sam"))
    assert [c["id"] for c in (await sam.request({"t": "cases"}))["cases"]] == [case["id"]]
    assert (await fac.request({"t": "cases"}))["code"] == "forbidden"


async def test_a_restart_loses_no_case_and_the_timer_resumes(make_server) -> None:
    server = crisis_server(make_server, escalation=1.5)
    sam = await Client.open(server, token=server.staff_token("sam"))
    member = await Client.open(server)
    await member.join("t03")
    await member.say("t03", CRISIS)
    case_id = (await sam.expect(case_frame(state="open"), timeout=1 * UNIT))["case"]["id"]
    await sam.close()
    await member.close()
    server.stop()
    server.start()
    sam = await Client.open(server, token=server.staff_token("sam"))
    listed = await sam.request({"t": "cases"})
    assert [c["id"] for c in listed["cases"]] == [case_id]
    raised = await sam.expect(case_frame(case_id, event="escalated"), timeout=5 * UNIT)
    assert raised["case"]["state"] == "open" and raised["case"]["raises"] >= 1
