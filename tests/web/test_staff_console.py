"""The staff console's crisis cases, and the member's side of a private support room, on a real server.

Nothing is injected: a member's crisis message makes the server send the member `resources` and
open a case; the staff console gets it as a `case` frame, acknowledges, claims and resolves it with
notes (`case_update`), and talks with the member in the private room `case:ID`, which the member
joins after the server's `support_invite` notice and which the server closes (`support_closed`).

The test has a server of its own, so that no other test's case is in the staff member's list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.support import Client, ServerProcess
from tests.web.conftest import NewPage, enter_room, open_app, say, texts
from tests.web.test_console import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.timeout(60)]

ROOM = "t00"
CRISIS = "i want to kill myself tonight"  # severity 3
EARLIER = "i keep thinking about hurting myself"  # severity 2, before it
LATER = "<b>i do not want to be alive anymore</b>"  # severity 2, after it
CLAIM_NOTE = "Reached out at once; member still in the group room."
RESOLVE_NOTE = "Talked for a while; safety plan made; 988 shared."


async def signed_in(page: Page, name: str) -> None:
    await page.goto("/console.html")
    await page.fill("#username", name)
    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")
    await page.wait_for_selector("body[data-ready='true'][data-state='connected']")


def case_of(user_id: str, **want: Any) -> Callable[[dict[str, Any]], bool]:
    def match(frame: dict[str, Any]) -> bool:
        if frame.get("t") != "case" or frame["case"]["user"]["id"] != user_id:
            return False
        return all(frame.get(k) == v or frame["case"].get(k) == v for k, v in want.items())
    return match


async def case_id_of(staff: Page, excerpt: str) -> str:
    card = staff.locator("#case-list li[data-case]", has=staff.locator(f".excerpt:text-is({excerpt!r})"))
    await card.wait_for()
    return str(await card.get_attribute("data-case"))


async def test_staff_claims_a_case_and_both_talk_in_the_private_room(
        make_server: Callable[..., ServerProcess], new_page: NewPage) -> None:
    server = make_server()
    for name in ("sam", "tia"):
        server.add_user(name, "staff")
    # A second staff member, as a plain client: hears every change of every case.
    tia = await Client.open(server, token=server.staff_token("tia"))
    await tia.request({"t": "duty", "on": False})  # cases still come; flags do not
    staff = await new_page(server.url)
    await signed_in(staff, "sam")
    assert await staff.locator("#tab-cases").is_visible()
    assert await staff.locator("#case-list li").count() == 0

    others = [await Client.open(server), await Client.open(server)]
    for other in others:
        await other.join(ROOM)
    await others[0].say(ROOM, EARLIER)
    member = await new_page(server.url)
    await open_app(member)
    await enter_room(member, ROOM)
    assert await member.locator("#resources-panel").is_hidden()
    await say(member, CRISIS)
    # The server's `resources` frame: the panel, with the US defaults.
    panel = member.locator("#resources-panel")
    await panel.wait_for(state="visible")
    assert await panel.locator("a[href='tel:988']").count() == 1
    assert await panel.locator("a[href='sms:741741?&body=HOME']").count() == 1
    assert await panel.locator("a[href='tel:911']").count() == 1
    await others[1].say(ROOM, LATER)

    case_id = await case_id_of(staff, CRISIS)
    await case_id_of(staff, LATER)
    earlier_id = await case_id_of(staff, EARLIER)
    # Most severe first, then oldest first; ids are the server's strings; text stays text.
    order = await staff.eval_on_selector_all("#case-list li[data-case]", "ns => ns.map(n => n.dataset.case)")
    assert order[0] == case_id and order[1] == earlier_id and len(order) == 3
    assert await staff.locator("#case-list b").count() == 0
    assert await staff.text_content("#cases-count") == "3"
    card = staff.locator(f"#case-list li[data-case='{case_id}']")
    assert await card.get_attribute("data-state") == "open"
    assert await card.get_attribute("data-severity") == "3"
    assert f"Case {case_id[:6]}" in await card.inner_text()
    assert "opened just now" in await card.inner_text()
    member_id = (await tia.expect(case_of_excerpt(CRISIS)))["case"]["user"]["id"]

    await card.locator("button[data-action='ack']").click()
    await staff.wait_for_selector(f"#case-list li[data-case='{case_id}'][data-state='acknowledged']")
    await card.locator("textarea").fill(CLAIM_NOTE)
    await card.locator("button[data-action='claim']").click()
    await staff.wait_for_selector(f"#case-list li[data-case='{case_id}'][data-state='claimed']")
    assert "Claimed by you" in await card.inner_text()
    await card.locator(f".case-notes .note-text:text-is({CLAIM_NOTE!r})").wait_for()
    await expect(card.locator("textarea")).to_have_value("")  # a note once sent is not sent again
    private = f"case:{case_id}"
    await staff.wait_for_selector(f"#case-feed ol[data-room='{private}'][data-joined='true']", state="attached")

    # The member is offered the private room (the server's `support_invite`) and chooses to go.
    invite = member.locator("#support-invite")
    await invite.wait_for(state="visible")
    assert await member.evaluate("() => document.activeElement.id") == "support-invite"
    assert await member.locator(f"body[data-joined='{private}']").count() == 0, "an offer, not a move"
    await member.click("#support-join")
    await member.wait_for_selector(f"body[data-joined='{private}']")
    assert await member.text_content("#room-title") == "Private support"

    await say(member, "thank you for reaching out")
    await staff.wait_for_selector("#case-feed li.msg .text:text-is('thank you for reaching out')")
    await staff.fill("#case-feed textarea", "I'm here with you. Are you safe right now?")
    await staff.press("#case-feed textarea", "Enter")
    await member.wait_for_selector("#messages li.msg .text:text-is(\"I'm here with you. Are you safe right now?\")")
    assert await texts(member) == ["thank you for reaching out", "I'm here with you. Are you safe right now?"]
    # Not screened: no flag, no case for what is said in the private room.
    assert await staff.locator(f"#flag-list li[data-room='{private}']").count() == 0

    await card.locator("textarea").fill(RESOLVE_NOTE)
    await card.locator("button[data-action='resolve']").click()
    await card.wait_for(state="detached")
    await staff.wait_for_selector("#case-room", state="hidden")
    assert await staff.text_content("#cases-count") == "2"
    # The server's `support_closed`: the conversation stays readable, the composer goes.
    closed = member.locator("#room-closed")
    await closed.wait_for(state="visible")
    assert "ended" in await closed.inner_text()
    assert await member.locator("#composer").is_hidden()
    assert len(await texts(member)) == 2

    # What the server kept: each action with its note, in order, by the console's staff member.
    resolved = (await tia.expect(case_of(member_id, state="resolved", event="resolve")))["case"]
    assert [(h["action"], h.get("note")) for h in resolved["history"]] == [
        ("opened", None), ("ack", None), ("claim", CLAIM_NOTE), ("resolve", RESOLVE_NOTE)]
    assert resolved["claimed_by"]["alias"] == "sam" and resolved["outcome"] == RESOLVE_NOTE


def case_of_excerpt(excerpt: str) -> Callable[[dict[str, Any]], bool]:
    return lambda frame: frame.get("t") == "case" and frame["case"]["excerpt"] == excerpt
