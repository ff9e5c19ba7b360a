"""Screenshots of the member views, phone and desktop, for review and for the README.

Saved into test-artifacts/screenshots/ (not committed); with PEERCHAT_UPDATE_SCREENSHOTS=1 also
copied to docs/screenshots/, the pictures the README shows (aliases and times differ on each run, so
a plain test run leaves the committed ones alone).
"""

from __future__ import annotations

import os
import shutil
import time

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
    """The facilitator console (flags; room, roster and tools) and the staff console (crisis cases,
    INJECTED through FakeCases until the server has them: see test_staff_console.py)."""
    from tests.web.test_console import open_console, pick_room
    from tests.web.test_staff_console import FakeCases

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    demo_server.add_user("rowan", "facilitator")
    demo_server.add_user("sam", "staff")
    members = [await Client.open(demo_server), await Client.open(demo_server)]
    users = [(await m.join(ROOM))["user"] for m in members]
    for who, text in CONSOLE_LINES:
        await members[who].send({"t": "send", "room": ROOM, "text": text, "rid": text[:20]})
        await members[who].expect(lambda f: f.get("t") == "ack")

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

    now = int(time.time() * 1000)
    cases = [
        {"id": 12, "state": "open", "severity": 3, "room": ROOM, "seq": 3, "user": users[0],
         "excerpt": "i want to kill myself tonight", "opened": now - 90_000},
        {"id": 11, "state": "acknowledged", "severity": 2, "room": "alcohol", "seq": 40,
         "user": {"id": "m_x", "alias": "Steady Willow 18", "role": "member"},
         "excerpt": "I don't see the point of any of this anymore", "opened": now - 14 * 60_000},
    ]
    for name, viewport in [("phone", PHONE), ("desktop", DESKTOP)]:
        fake = FakeCases(cases)  # INJECTED: the cases (the server's crisis branch has not landed)
        page = await new_page(demo_server.url, viewport=viewport, color_scheme="light", reduced_motion="reduce")
        await page.route_web_socket("**/ws", fake.route("staff"))
        await open_console(page, "sam")
        await page.wait_for_selector("#case-list li[data-case='11']")
        await page.wait_for_selector("#flag-list li[data-category='crisis']", state="attached")
        if name == "desktop":
            await pick_room(page, ROOM)
            await page.wait_for_selector("#roster li[data-flagged='1']")
        shots.append(await _shot(page, f"console-staff-{name}.png"))

    if os.environ.get("PEERCHAT_UPDATE_SCREENSHOTS") == "1":
        for path in shots:
            shutil.copyfile(path, DOCS / path.name)
