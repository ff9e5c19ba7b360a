"""Older messages on scroll (`history` with `before`), and a live region that reads only new ones."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support import Client, ServerProcess
from tests.web.conftest import DESKTOP, NewPage, enter_room, open_app, texts

pytestmark = [pytest.mark.browser, pytest.mark.timeout(60)]

ROOM = "t00"
COUNT = 70  # more than one page of 50
FAST_LIMITS = "[limits]\nsend_burst = 200\nsend_rate = 200.0\nframe_burst = 400\nframe_rate = 400.0\n"


async def test_older_messages_load_on_scroll(make_server: Callable[..., ServerProcess],
                                             new_page: NewPage) -> None:
    server = make_server(FAST_LIMITS)
    bob = await Client.open(server)
    await bob.join(ROOM)
    for i in range(1, COUNT + 1):
        await bob.say(ROOM, f"message {i}")

    page = await new_page(server.url, viewport=DESKTOP)
    await open_app(page)
    await enter_room(page, ROOM)
    await page.wait_for_selector(f"#messages li.msg .text:text-is('message {COUNT}')")
    shown = await texts(page)
    assert shown == [f"message {i}" for i in range(COUNT - 49, COUNT + 1)]
    # History is not announced: only messages that arrive live are.
    assert "message" not in (await page.text_content("#live") or "")
    assert await page.locator("#history-start").is_hidden()

    # Scrolling up to the top loads the page before, keeps the reader's place, and knows it is the start.
    first_seen = page.locator(f"#messages li.msg[data-seq='{COUNT - 49}']")
    await page.eval_on_selector("#scroller", "s => { s.scrollTop = 0; }")
    await page.wait_for_selector("#messages li.msg[data-seq='1']")
    await page.locator("#history-start").wait_for(state="visible")
    assert await texts(page) == [f"message {i}" for i in range(1, COUNT + 1)]
    box = await first_seen.bounding_box()
    assert box is not None and box["y"] > 0, "the message the reader was looking at stays in view"

    await bob.say(ROOM, "a live one")
    await page.wait_for_selector("#messages li.msg .text:text-is('a live one')")
    live = await page.text_content("#live") or ""
    assert live.count("a live one") == 1 and "message 1" not in live
