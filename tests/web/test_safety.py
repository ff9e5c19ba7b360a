"""Safety and privacy: member text is only text, help is one tap away, leaving is instant and
leaves no way back, and nothing identifying is kept longer than the member chose."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from playwright.async_api import Request, Route

from tests.support import Client, ServerProcess
from tests.web.conftest import NewPage, enter_room, open_app, say, texts

pytestmark = [pytest.mark.browser, pytest.mark.timeout(60)]

XSS = "<img src=x onerror=window.__xss=1>"


async def test_member_text_is_rendered_as_text(server: ServerProcess, room: str, new_page: NewPage) -> None:
    bob = await Client.open(server)
    await bob.join(room)
    page = await new_page(server.url)
    await open_app(page)
    await enter_room(page, room)
    await bob.say(room, XSS)
    await say(page, XSS + "<script>window.__xss=2</script>")
    await page.wait_for_selector("#messages li.msg.mine")
    assert await texts(page) == [XSS, XSS + "<script>window.__xss=2</script>"]
    # Also in the report dialog, which quotes the message.
    await page.click("#messages li.msg:not(.mine) button.report")
    assert await page.text_content("#report-quote") == XSS
    await page.click("#report-dialog button[value='cancel']")
    assert await page.evaluate("() => window.__xss") is None
    assert await page.locator("main img, main script, dialog img").count() == 0


async def test_need_help_now_opens_the_crisis_resources(server: ServerProcess, new_page: NewPage) -> None:
    page = await new_page(server.url)
    await open_app(page)
    dialog = page.locator("#help-dialog")
    assert not await dialog.is_visible()
    await page.click("#help-open")
    await dialog.wait_for(state="visible")
    text = await dialog.inner_text()
    for needed in ["988", "741741", "HOME", "1-800-662-4357", "911"]:
        assert needed in text
    assert await dialog.locator("a[href='tel:988']").count() == 1
    assert await dialog.locator("a[href='tel:18006624357']").count() == 1
    assert await dialog.locator("a[href='tel:911']").count() == 1
    await page.keyboard.press("Escape")
    await dialog.wait_for(state="hidden")
    # Focus goes back to the button that opened it.
    assert await page.evaluate("() => document.activeElement.id") == "help-open"


LOCAL_RESOURCES = """
[[crisis.resources.en-US]]
name = "988 Suicide & Crisis Lifeline"
contact = "Call or text 988"
hours = "24/7"

[[crisis.resources.en-US]]
name = "<b>Local line</b>"
contact = "+1 (555) 010-0199"

[[crisis.resources.en-US]]
name = "Local chat"
contact = "https://example.org/chat"

[[crisis.resources.en-US]]
name = "Not a link"
contact = "javascript:alert(1)"
"""


async def test_server_resources_open_a_panel(make_server: Callable[..., ServerProcess], new_page: NewPage) -> None:
    """The `resources` frame the server sends for a crisis message, from a deployment's own list
    (config), as text; links only for phone numbers and https."""
    server = make_server(extra=LOCAL_RESOURCES)
    page = await new_page(server.url)
    await open_app(page)
    await enter_room(page, "t00")
    assert await page.locator("#resources-panel").is_hidden()
    await say(page, "i want to kill myself tonight")
    panel = page.locator("#resources-panel")
    await panel.wait_for(state="visible")
    assert await panel.locator("a[href='tel:988']").count() == 1
    assert await panel.locator("a[href='sms:988']").count() == 1
    assert await panel.locator("a[href='tel:+15550100199']").count() == 1
    assert await panel.locator("a[href='https://example.org/chat']").count() == 1
    assert await panel.locator("a[href^='javascript']").count() == 0
    assert "<b>Local line</b>" in await panel.inner_text()
    assert "javascript:alert(1)" in await panel.inner_text()
    assert await panel.locator("b").count() == 0
    # Focus moves to the panel so a screen reader reads it; the help dialog lists them too.
    assert await page.evaluate("() => document.activeElement.id") == "resources-panel"
    await page.click("#help-open")
    assert await page.locator("#help-extra a[href='tel:988']").count() == 1


async def test_leave_quickly_replaces_the_page_and_its_history_entry(
        server: ServerProcess, room: str, new_page: NewPage) -> None:
    neutral: list[str] = []

    async def neutral_page(route: Route) -> None:
        neutral.append(route.request.url)
        await route.fulfill(status=200, content_type="text/html",
                            body="<!doctype html><title>Weather</title><p>Sunny, 21°</p>")

    page = await new_page(server.url)
    await page.context.route("https://www.google.com/**", neutral_page)
    await page.goto("/healthz")  # a page before ours in the tab's history
    await open_app(page)
    await enter_room(page, room)
    await page.fill("#text", "a draft nobody should see")
    await page.click("#leave-quickly")
    await page.wait_for_url("https://www.google.com/**")
    assert neutral and neutral[0].startswith("https://www.google.com/search")
    assert await page.title() == "Weather"
    # location.replace: our entry is gone, Back goes to the page before ours.
    await page.go_back()
    assert page.url.endswith("/healthz")


async def test_session_is_kept_for_the_tab_unless_remembered(server: ServerProcess,
                                                             new_page: NewPage) -> None:
    bodies: list[dict[str, str]] = []

    def on_request(request: Request) -> None:
        if request.url.endswith("/api/session"):
            bodies.append(json.loads(request.post_data or "{}"))

    page = await new_page(server.url)
    page.on("request", on_request)
    await open_app(page)
    stored = await page.evaluate("""() => ({
        device: localStorage.getItem("peerchat.device"),
        tab: sessionStorage.getItem("peerchat.session"),
        local: localStorage.getItem("peerchat.session"),
    })""")
    assert stored["device"] and len(stored["device"]) == 32
    assert bodies[0] == {"device": stored["device"]}
    assert stored["tab"] and stored["local"] is None
    alias = await page.text_content("#alias")

    await page.check("#remember")
    stored = await page.evaluate("""() => ({
        tab: sessionStorage.getItem("peerchat.session"),
        local: localStorage.getItem("peerchat.session"),
    })""")
    assert stored["tab"] is None and json.loads(stored["local"])["user"]["alias"] == alias

    # A new tab of the same browser is the same member only because they chose to be remembered.
    other = await page.context.new_page()
    await open_app(other)
    assert await other.text_content("#alias") == alias
    assert await other.is_checked("#remember")
    await other.uncheck("#remember")
    assert await other.evaluate("() => localStorage.getItem('peerchat.session')") is None
