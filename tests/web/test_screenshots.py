"""Screenshots of the member views, phone and desktop, for review and for the README.

Saved into test-artifacts/screenshots/ (not committed); with PEERCHAT_UPDATE_SCREENSHOTS=1 also
copied to docs/screenshots/, the pictures the README shows (aliases and times differ on each run, so
a plain test run leaves the committed ones alone).
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.support import ROOT, Client, ServerProcess
from tests.web.conftest import DESKTOP, PHONE, SCREENSHOTS, NewPage, enter_room, open_app, say

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

DOCS = ROOT / "docs" / "screenshots"
ROOM = "newcomers"
OTHERS = [
    "First day here. I poured it out tonight instead of drinking it.",
    "That's a big step. The first nights were the hardest for me too, it does get easier.",
    "Thank you. Just reading this helps.",
]


async def test_member_view_screenshots(demo_server: ServerProcess, new_page: NewPage) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    DOCS.mkdir(parents=True, exist_ok=True)
    first, second = await Client.open(demo_server), await Client.open(demo_server)
    await first.join(ROOM)
    await second.join(ROOM)
    for i, text in enumerate(OTHERS):
        await (first if i % 2 == 0 else second).say(ROOM, text)

    shots = []
    for name, viewport, scheme in [("phone", PHONE, "light"), ("desktop", DESKTOP, "light"),
                                   ("phone-dark", PHONE, "dark")]:
        page = await new_page(demo_server.url, viewport=viewport, color_scheme=scheme,
                              reduced_motion="reduce")
        await open_app(page)
        await page.wait_for_selector("#rooms button[data-room]")
        shots.append(await _shot(page, f"landing-{name}.png"))
        await enter_room(page, ROOM)
        await page.wait_for_selector(f"#messages li.msg .text:text-is('{OTHERS[-1]}')")
        if name == "phone":
            await say(page, "Hi all. Two weeks sober today, and some days are still hard.")
        await page.wait_for_selector("#count:text-matches('[0-9]+ here')")
        shots.append(await _shot(page, f"room-{name}.png"))

    if os.environ.get("PEERCHAT_UPDATE_SCREENSHOTS") == "1":
        for path in shots:
            shutil.copyfile(path, DOCS / path.name)


async def _shot(page, name):  # type: ignore[no-untyped-def]
    path = SCREENSHOTS / name
    await page.evaluate("() => document.activeElement?.blur()")  # no focus ring in the pictures
    await page.screenshot(path=str(path))
    return path


CONSOLE_LINES = [
    (0, "Some nights the craving is loud. Tonight is one of them."),
    (1, "Same here. I made tea and came here instead. It helps to not be alone with it."),
    (0, "i want to kill myself tonight"),
    (1, "text me at 415 555 0132, we can talk"),
]


async def test_console_screenshots(demo_server: ServerProcess, new_page: NewPage) -> None:
    """The facilitator console (flags; room, roster and tools) and the staff console: the crisis cases
    the server opened for the members' messages, one acknowledged, and on the desktop one claimed
    with its private room."""
    from tests.web.test_console import open_console, pick_room

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    demo_server.add_user("rowan", "facilitator")
    demo_server.add_user("sam", "staff")
    demo_server.add_user("tia", "staff")
    # A staff member connected throughout: cases are theirs, so no facilitator sees them.
    tia = await Client.open(demo_server, token=demo_server.staff_token("tia"))
    await tia.request({"t": "duty", "on": False})
    willow = await Client.open(demo_server)
    await willow.join("alcohol")
    await willow.say("alcohol", "i do not want to be alive anymore")
    earlier = await tia.expect(lambda f: f.get("t") == "case" and f["case"]["room"] == "alcohol")
    reply = await tia.request({"t": "case_update", "case": earlier["case"]["id"], "action": "ack",
                               "note": "Checked in by text; they are at home with family."})
    assert reply["t"] == "ok", reply
    members = [await Client.open(demo_server), await Client.open(demo_server)]
    for m in members:
        await m.join(ROOM)
    for who, text in CONSOLE_LINES:
        await members[who].send({"t": "send", "room": ROOM, "text": text, "rid": text[:20]})
        await members[who].expect(lambda f: f.get("t") == "ack")
    case = (await tia.expect(lambda f: f.get("t") == "case" and f["case"]["room"] == ROOM))["case"]

    shots = []
    for name, viewport in [("phone", PHONE), ("desktop", DESKTOP)]:
        page = await new_page(demo_server.url, viewport=viewport, color_scheme="light", reduced_motion="reduce")
        await open_console(page, "rowan")
        await page.wait_for_selector("#flag-list li[data-held]")
        await page.wait_for_selector("#flag-list li[data-category='crisis']")
        if name == "desktop":
            await pick_room(page, ROOM)
            await page.wait_for_selector("#roster li[data-flagged='1']")
        shots.append(await _shot(page, f"console-facilitator-{name}.png"))
        if name == "phone":
            await pick_room(page, ROOM)
            await page.wait_for_selector("#roster li[data-flagged='1']")
            shots.append(await _shot(page, "console-room-phone.png"))

    for name, viewport in [("phone", PHONE), ("desktop", DESKTOP)]:
        if name == "desktop":  # the other case is resolved by then: the claimed one and its room fit
            reply = await tia.request({"t": "case_update", "case": earlier["case"]["id"], "action": "resolve",
                                       "note": "Safety plan made; back in the group."})
            assert reply["t"] == "ok", reply
        page = await new_page(demo_server.url, viewport=viewport, color_scheme="light", reduced_motion="reduce")
        await open_console(page, "sam")
        await page.wait_for_selector(f"#case-list li[data-case='{case['id']}']")
        if name == "phone":
            await page.wait_for_selector("#case-list li[data-state='acknowledged'] .case-notes")
        await page.wait_for_selector("#flag-list li[data-category='crisis']", state="attached")
        if name == "desktop":
            # Claimed from the console: the member accepts the invitation and writes in the private room.
            card = page.locator(f"#case-list li[data-case='{case['id']}']")
            await card.locator("textarea").fill("Reaching out now.")
            await card.locator("button[data-action='claim']").click()
            private = f"case:{case['id']}"
            await page.wait_for_selector(f"#case-feed ol[data-room='{private}'][data-joined='true']",
                                         state="attached")
            await members[0].expect(lambda f: f.get("t") == "notice" and f.get("code") == "support_invite")
            await members[0].join(private)
            await members[0].say(private, "thank you for checking on me. it's been a really bad night")
            await page.wait_for_selector("#case-feed li.msg")
            await page.fill("#case-feed textarea", "I'm glad you're here. Are you somewhere safe right now?")
            await page.press("#case-feed textarea", "Enter")
            await page.wait_for_selector("#case-feed li.msg.mine")
            await pick_room(page, ROOM)
            await page.wait_for_selector("#roster li[data-flagged='1']")
            await page.wait_for_selector("#toast", state="hidden")
            await page.evaluate("() => { document.querySelector('.console-view').scrollTop = 0; }")
        shots.append(await _shot(page, f"console-staff-{name}.png"))

    if os.environ.get("PEERCHAT_UPDATE_SCREENSHOTS") == "1":
        for path in shots:
            shutil.copyfile(path, DOCS / path.name)
