"""Nothing the server logs may identify a member or repeat what they said.

Runs real traffic, the error paths included, at debug level, then searches every line the server
wrote for the texts, tokens, device keys and addresses it was given.
"""

from __future__ import annotations

import secrets

import httpx

from tests.support import Client, WebhookReceiver


async def test_logs_hold_no_text_token_device_key_or_address(make_server) -> None:
    server = make_server(env={"PEERCHAT_LOG_LEVEL": "debug"})
    device = "device-" + secrets.token_hex(8)
    first = server.session(device=device)
    secrets_used = [device, first["token"], server.session(token=first["token"])["token"]]
    a = await Client.open(server, token=first["token"])
    b = await Client.open(server, binary=False)
    secrets_used += [b.token]
    await a.join("t00")
    await b.join("t00")
    for i in range(5):
        text = f"my secret words {secrets.token_hex(6)} number {i}"
        secrets_used.append(text)
        ack = await a.say("t00", text, nonce=f"nonce-{secrets.token_hex(4)}")
    await a.request({"t": "report", "room": "t00", "seq": ack["seq"], "reason": "reason " + secrets.token_hex(6)})
    # Moderation: a password, a staff token, a held message and a flag quoting it.
    password = "privacy passphrase " + secrets.token_hex(6)
    server.add_user("privacy-fac", password=password)
    staff_token = server.staff_token("privacy-fac", password)
    secrets_used += [password, staff_token]
    fac = await Client.open(server, token=staff_token)
    held_text = f"text me at 415 555 {secrets.randbelow(9000) + 1000} {secrets.token_hex(4)}"
    secrets_used.append(held_text)
    held = await a.say("t00", held_text)
    flag = await fac.expect(lambda fr: fr.get("t") == "flag" and fr["flag"]["seq"] == held["seq"])
    await fac.request({"t": "mod", "action": "dismiss", "flag": flag["flag"]["id"], "reason": "contact"})
    server.login("privacy-fac", "wrong " + password)
    bad = "bad-frame-" + secrets.token_hex(6)
    secrets_used.append(bad)
    await a.send_raw(bad.encode())
    await a.expect("error")
    forged = "v1.forged." + secrets.token_hex(8)
    secrets_used.append(forged)
    intruder = await Client.open(server, hello=False)
    await intruder.send({"t": "hello", "token": forged})
    await intruder.closed()
    httpx.post(server.url + "/api/session", headers={"Authorization": "Bearer " + forged})
    httpx.get(server.url + "/", headers={"X-Forwarded-For": "203.0.113.9"})
    await a.close()
    await b.close()
    server.stop()
    logs = server.logs()
    assert "peerchat" in logs  # the server did log
    for used in secrets_used:
        assert used not in logs, f"logged: {used[:20]}…"
    for address in ("127.0.0.1", "203.0.113.9", "::1"):
        assert address not in logs
    assert a.user["alias"] not in logs



async def test_crisis_cases_notes_and_webhook_payloads_stay_out_of_logs_and_off_the_wire(make_server) -> None:
    """A crisis message, the staff notes on its case and the webhook it fires: none of the member's
    words or the notes reach the logs, and the webhook carries no message text by default."""
    receiver = await WebhookReceiver().start()
    try:
        server = make_server(env={"PEERCHAT_LOG_LEVEL": "debug", "PEERCHAT_ESCALATION_SECONDS": "30",
                                  "PEERCHAT_WEBHOOK_URL": receiver.url, "PEERCHAT_WEBHOOK_SECRET": "hook-secret"})
        marker = secrets.token_hex(6)
        crisis = f"i want to kill myself tonight {marker}"
        note = f"called the member back {secrets.token_hex(6)}"
        member = await Client.open(server)
        await member.join("t00")
        await member.say("t00", crisis)  # no staff connected: the webhook fires at once
        await receiver.wait_for(lambda bodies: any(b["event"] == "case_opened" for b in bodies))
        server.add_user("privacy-staff", "staff")
        staff = await Client.open(server, token=server.staff_token("privacy-staff"))
        case_id = (await staff.request({"t": "cases"}))["cases"][0]["id"]
        for action in ("ack", "claim", "resolve"):
            reply = await staff.request({"t": "case_update", "case": case_id, "action": action, "note": note})
            assert reply["t"] == "ok", reply
        await member.close()
        await staff.close()
        server.stop()
    finally:
        await receiver.stop()
    logs = server.logs()
    assert "crisis case" in logs  # the case was logged, by id
    for used in (crisis, marker, note, member.user["alias"]):
        assert used not in logs, f"logged: {used[:20]}…"
    for _, body in receiver.requests:
        assert marker.encode() not in body and b"kill" not in body and b"excerpt" not in body
