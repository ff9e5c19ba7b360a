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
