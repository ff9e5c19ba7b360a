"""The "Moderation" part of the contract on a real server: flags, holding, actions, notices."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from tests.support import UNIT, Client, ServerProcess

CRISIS = "i want to kill myself tonight"
CONTACT = "text me at 415 555 0132"  # held by the default policy
INSULT = "you are a worthless idiot, shut up"  # flagged, delivered


def flag_in(room: str, **want: Any):
    def match(frame: dict[str, Any]) -> bool:
        if frame.get("t") != "flag" or frame["flag"]["room"] != room:
            return False
        return all(frame["flag"].get(k) == v for k, v in want.items())
    return match


def notice(code: str):
    return lambda frame: frame.get("t") == "notice" and frame.get("code") == code


async def facilitator(server: ServerProcess, accounts: dict[str, str], name: str = "fac") -> Client:
    return await Client.open(server, token=accounts[name])


async def mod(client: Client, **fields: Any) -> dict[str, Any]:
    return await client.request({"t": "mod", **fields})


async def test_crisis_boundary_and_report_flags_arrive_within_a_second(
        server: ServerProcess, accounts: dict[str, str], room: str) -> None:
    fac = await facilitator(server, accounts)
    assert fac.user["role"] == "facilitator" and fac.user["alias"] == "fac"
    member, other = await asyncio.gather(Client.open(server), Client.open(server))
    await member.join(room)
    await other.join(room)

    ack = await member.say(room, CRISIS)
    assert ack["status"] == "sent"  # a person in crisis is heard
    crisis = (await fac.expect(flag_in(room, category="crisis"), timeout=1 * UNIT))["flag"]
    assert crisis["seq"] == ack["seq"] and crisis["severity"] == 3 and crisis["rules"]
    assert crisis["user"]["id"] == member.user["id"] and crisis["state"] == "open"
    assert crisis["excerpt"] and isinstance(crisis["id"], int) and isinstance(crisis["ts"], int)

    ack = await member.say(room, INSULT)
    assert ack["status"] == "sent"
    boundary = (await fac.expect(flag_in(room, category="boundary"), timeout=1 * UNIT))["flag"]
    assert boundary["seq"] == ack["seq"] and "harassment.insult" in boundary["rules"]

    ok = await other.request({"t": "report", "room": room, "seq": ack["seq"], "reason": "rude"})
    assert ok["t"] == "ok"
    report = (await fac.expect(flag_in(room, category="report"), timeout=1 * UNIT))["flag"]
    assert report["seq"] == ack["seq"] and report["user"]["id"] == member.user["id"]

    # A facilitator who connects later gets the open ones.
    late = await facilitator(server, accounts, "staff")
    listed = await late.request({"t": "flags"})
    ids = {f["id"] for f in listed["flags"] if f["room"] == room}
    assert {crisis["id"], boundary["id"], report["id"]} <= ids

    # Dismissing the report tells the reporter, in neutral words, that someone read it.
    assert (await mod(fac, action="dismiss", flag=report["id"]))["t"] == "ok"
    reviewed = await other.expect(notice("report_reviewed"))
    assert reviewed["room"] == room and reviewed["message"]


async def test_held_message_is_delivered_only_after_release(
        server: ServerProcess, accounts: dict[str, str], room: str) -> None:
    fac = await facilitator(server, accounts)
    member, other = await asyncio.gather(Client.open(server), Client.open(server))
    await member.join(room)
    await other.join(room)
    ack = await member.say(room, CONTACT)
    assert ack["status"] == "held"
    flag = (await fac.expect(flag_in(room, held=True), timeout=1 * UNIT))["flag"]
    assert flag["seq"] == ack["seq"] and "contact.phone" in flag["rules"]
    # Not delivered, not in history, and the room goes on without waiting for it.
    after = await member.say(room, "a harmless line")
    assert [m["text"] for m in await other.messages(room, 1)] == ["a harmless line"]
    assert not [m for m in await other.messages(room, 0)]
    history = await other.request({"t": "history", "room": room})
    assert [m["seq"] for m in history["messages"]] == [after["seq"]]

    assert (await mod(fac, action="release", flag=flag["id"]))["t"] == "ok"
    released = (await other.messages(room, 1))[0]
    assert released["seq"] == ack["seq"] and released["text"] == CONTACT
    await member.expect(notice("message_released"))
    closed = await fac.expect(flag_in(room, id=flag["id"]))
    assert closed["flag"]["state"] == "released"
    again = await mod(fac, action="release", flag=flag["id"])
    assert again["t"] == "error"  # decided once, on whichever node


async def test_dismissed_held_message_is_dropped_and_the_sender_told_why(
        server: ServerProcess, accounts: dict[str, str], room: str) -> None:
    fac = await facilitator(server, accounts)
    member, other = await asyncio.gather(Client.open(server), Client.open(server))
    await member.join(room)
    await other.join(room)
    ack = await member.say(room, "anyone selling oxy near me")
    assert ack["status"] == "held"
    flag = (await fac.expect(flag_in(room, held=True)))["flag"]
    await mod(fac, action="dismiss", flag=flag["id"], reason="sourcing")
    declined = await member.expect(notice("message_declined"))
    assert declined["seq"] == ack["seq"] and "substances" in declined["message"]
    await member.say(room, "sorry")
    assert [m["text"] for m in await other.messages(room, 1)] == ["sorry"]


async def test_hide_removes_a_message_for_everyone_and_from_history(
        server: ServerProcess, accounts: dict[str, str], room: str) -> None:
    fac = await facilitator(server, accounts)
    member, other = await asyncio.gather(Client.open(server), Client.open(server))
    await member.join(room)
    await other.join(room)
    ack = await member.say(room, "something to hide")
    await other.messages(room, 1)
    assert (await mod(fac, action="hide", room=room, seq=ack["seq"], reason="off topic"))["t"] == "ok"
    removed = await other.expect("removed")
    assert removed == {"t": "removed", "room": room, "seq": ack["seq"]}
    await member.expect(notice("message_removed"))
    late = await Client.open(server)
    assert (await late.join(room))["history"] == []


async def test_mute_and_unmute(server: ServerProcess, accounts: dict[str, str], room: str) -> None:
    fac = await facilitator(server, accounts)
    member = await Client.open(server)
    await member.join(room)
    await mod(fac, action="mute", room=room, user=member.user["id"], seconds=60)
    muted = await member.expect(notice("muted"))
    assert muted["room"] == room and muted["until"] > time.time() * 1000
    reply = await member.request({"t": "send", "room": room, "text": "can I talk?"})
    assert reply["code"] == "muted"
    await mod(fac, action="unmute", room=room, user=member.user["id"])
    await member.expect(notice("unmuted"))
    assert (await member.say(room, "thanks"))["status"] == "sent"


async def test_kick_closes_with_4403_after_a_notice(
        server: ServerProcess, accounts: dict[str, str], room: str) -> None:
    fac = await facilitator(server, accounts)
    member = await Client.open(server)
    await member.join(room)
    await mod(fac, action="kick", room=room, user=member.user["id"])
    await member.expect(notice("kicked"))
    assert await member.closed() == 4403


async def test_ban_binds_to_lineage_and_device_and_unban_lifts_it(
        server: ServerProcess, accounts: dict[str, str], room: str) -> None:
    fac = await facilitator(server, accounts)
    first = server.session(device="browser-key-" + room)
    member = await Client.open(server, token=first["token"])
    await member.join(room)
    await mod(fac, action="ban", room=room, user=member.user["id"], seconds=600, reason="raiding")
    await member.expect(notice("banned"))
    assert await member.closed() == 4403
    # The same member reconnecting, a refreshed token, and a brand-new session from the same browser.
    again = await Client.open(server, token=server.session(token=first["token"])["token"])
    assert (await again.request({"t": "join", "room": room}))["code"] == "banned"
    fresh = await Client.open(server, token=server.session(device="browser-key-" + room)["token"])
    assert (await fresh.request({"t": "join", "room": room}))["code"] == "banned"
    other_room = await Client.open(server, token=first["token"])
    assert (await other_room.request({"t": "join", "room": "t58"}))["t"] == "joined"  # a room ban
    await mod(fac, action="unban", room=room, user=member.user["id"])
    await asyncio.sleep(0.1 * UNIT)
    assert (await fresh.request({"t": "join", "room": room}))["t"] == "joined"
    assert (await again.request({"t": "join", "room": room}))["t"] == "joined"


async def test_slow_mode_and_lock(server: ServerProcess, accounts: dict[str, str], room: str) -> None:
    fac = await facilitator(server, accounts)
    member = await Client.open(server)
    await member.join(room)
    await fac.join(room)
    await mod(fac, action="slow", room=room, seconds=30)
    assert (await member.expect(notice("slow_mode")))["seconds"] == 30
    await member.say(room, "one")
    slow = await member.request({"t": "send", "room": room, "text": "two"})
    assert slow["code"] == "rate_limited" and "slow mode" in slow["message"]
    await mod(fac, action="slow", room=room, seconds=0)
    await mod(fac, action="lock", room=room)
    await member.expect(notice("room_locked"))
    assert (await member.request({"t": "send", "room": room, "text": "hello?"}))["code"] == "room_locked"
    assert (await fac.say(room, "we are pausing the room for a moment"))["status"] == "sent"
    # While locked, a newcomer knocks and waits for a facilitator.
    newcomer = await Client.open(server)
    assert (await newcomer.request({"t": "join", "room": room}))["code"] == "room_locked"
    knock = await fac.expect(lambda fr: fr.get("t") == "knock" and fr["room"] == room)
    assert knock["user"]["id"] == newcomer.user["id"]
    await mod(fac, action="admit", room=room, user=newcomer.user["id"])
    await newcomer.expect(notice("admitted"))
    assert (await newcomer.request({"t": "join", "room": room}))["t"] == "joined"
    await mod(fac, action="unlock", room=room)
    await member.expect(notice("room_unlocked"))
    assert (await member.say(room, "back"))["status"] == "sent"


async def test_members_get_forbidden_for_every_moderation_frame(server: ServerProcess, room: str) -> None:
    member = await Client.open(server)
    await member.join(room)
    frames = [{"t": "mod", "action": a, "room": room, "seq": 1, "user": "m_x", "seconds": 5, "flag": 1}
              for a in ("hide", "mute", "unmute", "kick", "ban", "unban", "slow", "lock", "unlock", "release",
                        "dismiss", "admit")]
    frames += [{"t": "flags"}, {"t": "duty", "on": True}, {"t": "help"}, {"t": "members", "room": room},
               {"t": "cases"}]
    for frame in frames:
        reply = await member.request(frame)
        assert reply["t"] == "error" and reply["code"] == "forbidden", (frame, reply)


async def test_facilitator_of_other_rooms_is_forbidden_here(
        server: ServerProcess, accounts: dict[str, str], room: str) -> None:
    fac = await facilitator(server, accounts, "fac-t59")
    member = await Client.open(server)
    await member.join(room)
    reply = await mod(fac, action="mute", room=room, user=member.user["id"])
    assert reply["code"] == "forbidden"
    assert (await member.say(room, INSULT))["status"] == "sent"
    await fac.request({"t": "ping"})
    assert not [fr for fr in fac.inbox if fr.get("t") == "flag" and fr["flag"]["room"] == room]


async def test_member_list_shows_who_was_flagged(
        server: ServerProcess, accounts: dict[str, str], room: str) -> None:
    fac = await facilitator(server, accounts)
    a, b = await asyncio.gather(Client.open(server), Client.open(server))
    await a.join(room)
    await b.join(room)
    await a.say(room, INSULT)
    await fac.expect(flag_in(room))
    listed = await fac.request({"t": "members", "room": room})
    flagged = {m["id"]: m["flagged"] for m in listed["members"]}
    assert flagged == {a.user["id"]: 1, b.user["id"]: 0}


async def test_duty_and_help_calls(server: ServerProcess, accounts: dict[str, str], room: str) -> None:
    fac, staff = await asyncio.gather(facilitator(server, accounts), facilitator(server, accounts, "staff"))
    assert (await staff.request({"t": "duty", "on": False}))["t"] == "ok"
    member = await Client.open(server)
    await member.join(room)
    await member.say(room, INSULT)
    await fac.expect(flag_in(room))  # on duty: first
    await fac.request({"t": "help", "room": room, "reason": "a raid"})
    await staff.request({"t": "duty", "on": True})
    await fac.request({"t": "help", "room": room, "reason": "still a raid"})
    call = await staff.expect("help")
    assert call["from"]["id"] == fac.user["id"] and call["reason"] == "still a raid"
    assert not [fr for fr in staff.inbox if fr.get("t") == "flag" and fr["flag"]["room"] == room]


async def test_audit_log_for_staff(server: ServerProcess, accounts: dict[str, str], room: str) -> None:
    fac = await facilitator(server, accounts)
    member = await Client.open(server)
    await member.join(room)
    await mod(fac, action="mute", room=room, user=member.user["id"], seconds=5, reason="cool down")
    async with httpx.AsyncClient(base_url=server.url) as http:
        def bearer(token: str) -> dict[str, str]:
            return {"Authorization": "Bearer " + token}

        r = await http.get("/api/audit", headers=bearer(accounts["staff"]))
        assert r.status_code == 200
        entry = [e for e in r.json()["entries"] if e["action"] == "mute" and e["room"] == room][-1]
        assert entry["actor"] == "fac" and entry["target"] == member.user["id"]
        assert "cool down" in entry["detail"]
        assert (await http.get("/api/audit", headers=bearer(accounts["fac"]))).status_code == 403
        assert (await http.get("/api/audit", headers=bearer(member.token))).status_code == 403
        assert (await http.get("/api/audit")).status_code == 401
    cli = server.users("list")
    assert cli.returncode == 0 and "fac\tfacilitator" in cli.stdout


def test_login_answers_and_roles(server: ServerProcess, accounts: dict[str, str]) -> None:
    r = server.login("staff")
    assert r.status_code == 200 and r.json()["user"]["role"] == "staff" and r.json()["token"]
    assert server.login("staff", "the wrong passphrase").status_code == 401
    assert server.login("nobody-here", "the wrong passphrase").json() == {
        "error": "bad_credentials", "message": "wrong name or password"}
    # A member refresh never upgrades a role: a staff token posted to /api/session gets a new member.
    refreshed = server.session(token=accounts["staff"])
    assert refreshed["user"]["role"] == "member"


@pytest.fixture
def own_server(make_server):
    return make_server()


def test_login_throttled_per_account(own_server: ServerProcess) -> None:
    own_server.add_user("guessme")
    statuses = [own_server.login("guessme", f"wrong guess {i}!").status_code for i in range(6)]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429
    blocked = own_server.login("guessme")  # even the right password waits
    assert blocked.status_code == 429 and blocked.json()["error"] == "rate_limited"


async def test_removed_or_changed_accounts_can_no_longer_connect(own_server: ServerProcess) -> None:
    own_server.add_user("leaving")
    own_server.add_user("changing")
    leaving = await Client.open(own_server, token=own_server.staff_token("leaving"))
    old_token = own_server.staff_token("changing")
    changing = await Client.open(own_server, token=old_token)
    assert own_server.users("remove", "leaving").returncode == 0
    assert own_server.users("passwd", "changing", password="another long passphrase").returncode == 0
    assert await leaving.closed() == 4401
    assert await changing.closed() == 4401
    intruder = await Client.open(own_server, hello=False)
    await intruder.send({"t": "hello", "token": old_token})
    assert (await intruder.expect("error"))["code"] == "unauthorized"
    assert own_server.login("leaving").status_code == 401
    assert own_server.login("changing", "another long passphrase").status_code == 200


async def test_join_wave_raises_a_flag_and_young_sessions_wait(make_server) -> None:
    server = make_server(extra="[moderation]\njoin_wave = 3\n")
    server.add_user("watch")
    fac = await Client.open(server, token=server.staff_token("watch"))
    clients = [await Client.open(server) for _ in range(3)]
    for c in clients:
        await c.join("t01")
    wave = (await fac.expect(flag_in("t01")))["flag"]
    assert wave["rules"] == ["raid.join_wave"]
