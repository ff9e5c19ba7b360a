"""Keyboard only (Tab, Shift+Tab, Enter, arrows): help, a room, the message box, send, and report."""

from __future__ import annotations

import pytest
from playwright.async_api import Page

from tests.support import Client, ServerProcess
from tests.web.conftest import NewPage, open_app

pytestmark = [pytest.mark.browser, pytest.mark.timeout(60)]

MAX_TABS = 90  # the shared server has 60 rooms


async def focused(page: Page, selector: str) -> bool:
    return bool(await page.evaluate("s => document.activeElement?.matches(s) ?? false", selector))


async def tab_to(page: Page, selector: str, key: str = "Tab") -> int:
    """Press Tab until the focus is on `selector`; how many presses it took."""
    for presses in range(1, MAX_TABS + 1):
        await page.keyboard.press(key)
        if await focused(page, selector):
            return presses
    raise AssertionError(f"{key} never reached {selector}")


async def test_keyboard_reaches_help_rooms_composer_send_and_report(
        server: ServerProcess, room: str, new_page: NewPage) -> None:
    bob = await Client.open(server)
    await bob.join(room)
    page = await new_page(server.url)
    await open_app(page)

    # The safety controls come first in the Tab order.
    assert await tab_to(page, "#help-open") <= 2
    await page.keyboard.press("Enter")
    await page.locator("#help-dialog").wait_for(state="visible")
    await page.keyboard.press("Enter")  # its one button, focused on open: Close
    await page.locator("#help-dialog").wait_for(state="hidden")
    assert await focused(page, "#help-open")
    await page.keyboard.press("Tab")
    assert await focused(page, "#leave-quickly")

    # Room selection.
    await tab_to(page, f"#rooms button[data-room='{room}']")
    await page.keyboard.press("Enter")
    await page.wait_for_selector(f"body[data-joined='{room}']")
    assert await focused(page, "#text"), "entering a room puts the focus in the message box"

    # Message box, then Send with Tab + Enter.
    await page.keyboard.type("typed with the keyboard")
    await page.keyboard.press("Tab")
    assert await focused(page, "#send")
    await page.keyboard.press("Enter")
    await bob.expect(lambda fr: fr.get("t") == "msg" and fr.get("text") == "typed with the keyboard")
    await page.wait_for_selector("#outbox li", state="detached")

    # Report: the message list is one Tab stop; arrows move within it; Tab reaches Report.
    report = await bob.say(room, "a message to report")
    await page.wait_for_selector("#messages li.msg .text:text-is('a message to report')")
    assert await focused(page, "#text"), "after sending, the focus is back in the message box"
    assert await tab_to(page, "#messages li.msg", key="Shift+Tab") == 2  # the newest's Report, then it
    await page.keyboard.press("End")
    assert await focused(page, f"#messages li.msg[data-seq='{report['seq']}']")
    await page.keyboard.press("ArrowUp")
    assert await focused(page, "#messages li.msg.mine")
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("Tab")
    assert await focused(page, f"li[data-seq='{report['seq']}'] button.report")
    await page.keyboard.press("Enter")  # tap one
    await page.locator("#report-dialog").wait_for(state="visible")
    assert await focused(page, "#report-confirm")
    await page.keyboard.press("Enter")  # tap two
    await page.wait_for_selector(f"li[data-seq='{report['seq']}'] button.report:text-is('Reported')")
    assert "facilitator will look" in (await page.text_content("#toast") or "")
    assert await focused(page, f"li[data-seq='{report['seq']}'] button.report")
    await page.keyboard.press("Tab")
    assert await focused(page, "#text"), "after the list comes the message box"
