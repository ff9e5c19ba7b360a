"""The staff console's crisis cases, and the member's side of a private support room.

INJECTED, on purpose: the server's crisis cases are being built in a parallel branch, and today the
real server answers `cases` and `case_update` with `forbidden` and knows no `case:ID` rooms. So this
test puts `FakeCases` between each page and the real server (Playwright WebSocket routing). It
implements the contract of /work/shared/PROTOCOL.md ("Crisis escalation") and nothing more:

- INJECTED: the `cases` reply, `case` frames, the `ok` to `case_update`, the member's
  `notice` `support_invite`, and the whole `case:ID` room (join, send, ack, msg, leave).
- REAL: sign-in, the staff socket, the member's session, room and crisis message, and the crisis
  `flag` the real server raises for it (the case is opened from that flag's room and seq).

When the crisis branch lands, the fake goes and the same steps run against the server.
"""

from __future__ import annotations

import json
import time
from typing import Any

import msgpack
import pytest
from playwright.async_api import Page, WebSocketRoute

from tests.support import ServerProcess
from tests.web.conftest import NewPage, enter_room, open_app, say, texts
from tests.web.test_console import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.timeout(60)]


class FakeCases:
    """Passes every frame between a page and the real server, except the crisis-case frames and
    `case:` rooms, which it answers itself (see the module's docstring)."""

    def __init__(self, initial: list[dict[str, Any]] | None = None) -> None:
        self.cases: dict[int, dict[str, Any]] = {c["id"]: c for c in initial or []}
        self.sockets: dict[str, WebSocketRoute] = {}
        self.users: dict[str, dict[str, Any]] = {}  # page name -> its user, from its welcome
        self.rooms: dict[str, list[str]] = {}  # case room -> page names joined
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.updates: list[dict[str, Any]] = []  # the case_update frames the staff page sent

    def route(self, name: str):  # type: ignore[no-untyped-def]
        def handle(ws: WebSocketRoute) -> None:
            server = ws.connect_to_server()
            self.sockets[name] = ws

            def from_page(message: str | bytes) -> None:
                frame = msgpack.unpackb(message) if isinstance(message, bytes) else json.loads(message)
                if not self.answer(name, frame):
                    server.send(message)

            def from_server(message: str | bytes) -> None:
                frame = msgpack.unpackb(message) if isinstance(message, bytes) else {}
                if frame.get("t") == "welcome":
                    self.users[name] = frame["user"]
                ws.send(message)

            ws.on_message(from_page)
            server.on_message(from_server)

        return handle

    def push(self, name: str, frame: dict[str, Any]) -> None:
        self.sockets[name].send(msgpack.packb(frame))

    def push_case(self, case: dict[str, Any]) -> None:
        """INJECTED: a `case` frame, as the server sends on every change."""
        self.cases[case["id"]] = case
        self.push("staff", {"t": "case", "case": case})

    def answer(self, name: str, f: dict[str, Any]) -> bool:
        rid = {"rid": f["rid"]} if "rid" in f else {}
        t = f.get("t")
        if t == "cases":
            self.push(name, {"t": "cases", "cases": [c for c in self.cases.values() if c["state"] != "resolved"],
                             **rid})
            return True
        if t == "case_update":
            self.updates.append(f)
            case = dict(self.cases[f["case"]])
            case["state"] = {"ack": "acknowledged", "claim": "claimed", "resolve": "resolved"}[f["action"]]
            if f["action"] == "claim":
                case["claimed_by"] = self.users[name]
            self.push(name, {"t": "ok", **rid})
            self.push_case(case)
            if f["action"] == "claim":
                self.push("member", {"t": "notice", "code": "support_invite", "room": f"case:{case['id']}",
                                     "message": "A member of staff would like to talk with you privately."})
            return True
        room = f.get("room")
        if not (isinstance(room, str) and room.startswith("case:")):
            return False
        joined = self.rooms.setdefault(room, [])
        history = self.messages.setdefault(room, [])
        if t == "join":
            joined.append(name)
            self.push(name, {"t": "joined", "room": room, "seq": len(history), "epoch": "fake-case-room",
                             "history": history, "members": [self.users[n] for n in joined],
                             "user": self.users[name], **rid})
        elif t == "send":
            msg = {"t": "msg", "room": room, "seq": len(history) + 1, "ts": int(time.time() * 1000),
                   "from": self.users[name], "text": f["text"]}
            history.append(msg)
            self.push(name, {"t": "ack", "room": room, "seq": msg["seq"], "status": "sent", **rid})
            for other in joined:
                self.push(other, msg)
        elif t == "leave":
            if name in joined:
                joined.remove(name)
            self.push(name, {"t": "left", "room": room, **rid})
        return True  # typing, history: nothing to say


async def signed_in(page: Page, name: str) -> None:
    await page.goto("/console.html")
    await page.fill("#username", name)
    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")
    await page.wait_for_selector("body[data-ready='true'][data-state='connected']")


async def test_staff_claims_a_case_and_both_talk_in_the_private_room(
        server: ServerProcess, room: str, accounts: dict[str, str], new_page: NewPage) -> None:
    now = int(time.time() * 1000)
    someone = {"id": "m_other", "alias": "Gentle River 7", "role": "member"}
    # INJECTED: one case already open when the console connects (the `cases` reply).
    fake = FakeCases([{"id": 5, "state": "open", "severity": 2, "room": room, "seq": 1, "user": someone,
                       "excerpt": "everything feels pointless lately", "opened": now - 600_000}])
    staff = await new_page(server.url)
    await staff.route_web_socket("**/ws", fake.route("staff"))
    member = await new_page(server.url)
    await member.route_web_socket("**/ws", fake.route("member"))
    await signed_in(staff, "staff")
    await staff.wait_for_selector("#case-list li[data-case='5']")
    assert await staff.locator("#tab-cases").is_visible()

    await open_app(member)
    await enter_room(member, room)
    await say(member, "i want to kill myself tonight")
    # REAL: the server's crisis flag reaches the staff console.
    flag = staff.locator(f"#flag-list li[data-room='{room}'][data-category='crisis']")
    await flag.wait_for(state="attached")
    seq = int(await flag.get_attribute("data-seq") or 0)
    user = fake.users["member"]

    # INJECTED: the case the server will open for that flag, and a newer, equally severe one.
    fake.push_case({"id": 7, "state": "open", "severity": 3, "room": room, "seq": seq, "user": user,
                    "excerpt": "i want to kill myself tonight", "opened": now - 60_000})
    fake.push_case({"id": 6, "state": "open", "severity": 3, "room": room, "seq": 2, "user": someone,
                    "excerpt": "<b>not bold</b>", "opened": now - 5_000})
    await staff.wait_for_selector("#case-list li[data-case='6']")
    # Most severe first, then oldest first; text stays text.
    order = await staff.eval_on_selector_all("#case-list li", "ns => ns.map(n => n.dataset.case)")
    assert order == ["7", "6", "5"]
    assert await staff.locator("#case-list b").count() == 0
    assert await staff.text_content("#cases-count") == "3"
    card = staff.locator("#case-list li[data-case='7']")
    assert "opened 1 min ago" in await card.inner_text()

    await card.locator("button[data-action='ack']").click()
    await staff.wait_for_selector("#case-list li[data-case='7'][data-state='acknowledged']")
    await card.locator("textarea").fill("Reached out at once; member still in the group room.")
    await card.locator("button[data-action='claim']").click()
    await staff.wait_for_selector("#case-list li[data-case='7'][data-state='claimed']")
    assert "Claimed by you" in await card.inner_text()
    await staff.wait_for_selector("#case-feed ol[data-room='case:7'][data-joined='true']", state="attached")

    # The member is offered the private room and chooses to go.
    invite = member.locator("#support-invite")
    await invite.wait_for(state="visible")
    assert await member.evaluate("() => document.activeElement.id") == "support-invite"
    assert await member.locator("body[data-joined='case:7']").count() == 0, "an offer, not a move"
    await member.click("#support-join")
    await member.wait_for_selector("body[data-joined='case:7']")
    assert await member.text_content("#room-title") == "Private support"

    await say(member, "thank you for reaching out")
    await staff.wait_for_selector("#case-feed li.msg .text:text-is('thank you for reaching out')")
    await staff.fill("#case-feed textarea", "I'm here with you. Are you safe right now?")
    await staff.press("#case-feed textarea", "Enter")
    await member.wait_for_selector("#messages li.msg .text:text-is(\"I'm here with you. Are you safe right now?\")")
    assert await texts(member) == ["thank you for reaching out", "I'm here with you. Are you safe right now?"]

    await card.locator("textarea").fill("Talked for a while; safety plan made; 988 shared.")
    await card.locator("button[data-action='resolve']").click()
    await card.wait_for(state="detached")
    await staff.wait_for_selector("#case-room", state="hidden")
    assert [(u["action"], u.get("note")) for u in fake.updates] == [
        ("ack", None),
        ("claim", "Reached out at once; member still in the group room."),
        ("resolve", "Talked for a while; safety plan made; 988 shared."),
    ]
    assert await staff.text_content("#cases-count") == "2"
