"""The facilitator console against the real server: sign-in, the live flags queue and its actions,
held messages, the roster, slow mode and lock, knocks, the duty switch and the call for help.

Everything here is the real server's behaviour: nothing is injected (the member's `resources`
panel comes from the server's own frame for a crisis message).
"""

from __future__ import annotations

import pytest
from playwright.async_api import Page

from tests.support import Client, ServerProcess
from tests.web.conftest import NewPage, allow_errors, enter_room, open_app, say, texts

pytestmark = [pytest.mark.browser, pytest.mark.timeout(60)]

PASSWORD = "a long test passphrase"


async def open_console(page: Page, name: str = "fac") -> None:
    await page.goto("/console.html")
    await page.fill("#username", name)
    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")
    await page.wait_for_selector("body[data-ready='true'][data-state='connected']")


async def pick_room(page: Page, room: str) -> None:
    if await page.locator("#tab-room").is_visible():  # a phone: one section at a time
        await page.click("#tab-room")
    await page.wait_for_selector(f"#room-select option[value='{room}']", state="attached")
    await page.select_option("#room-select", room)
    await page.wait_for_selector(f"#room-feed ol[data-room='{room}'][data-joined='true']", state="attached")


def flag_card(room: str, category: str | None = None) -> str:
    return f"#flag-list li[data-room='{room}']" + (f"[data-category='{category}']" if category else "")


async def test_login_refuses_a_wrong_password_and_keeps_apart_from_a_member(
        server: ServerProcess, accounts: dict[str, str], new_page: NewPage) -> None:
    page = await new_page(server.url)
    allow_errors(page, r"/api/login|status of 401")
    await open_app(page)  # a member session in this browser first
    member = await page.evaluate("() => sessionStorage.getItem('peerchat.session')")
    await page.goto("/console.html")
    await page.fill("#username", "fac")
    await page.fill("#password", "not the right one")
    await page.click("#login-submit")
    error = page.locator("#login-error")
    await error.wait_for(state="visible")
    assert "don't match" in await error.inner_text()
    assert await page.evaluate("() => document.activeElement.id") == "password"

    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")
    await page.wait_for_selector("body[data-ready='true'][data-state='connected']")
    assert await page.locator("#duty").get_attribute("aria-checked") == "true"
    stored = await page.evaluate("""() => ({
        console: JSON.parse(sessionStorage.getItem("peerchat.console")),
        member: sessionStorage.getItem("peerchat.session"),
        local: localStorage.getItem("peerchat.console"),
    })""")
    assert stored["console"]["user"]["role"] == "facilitator"
    assert stored["member"] == member, "the member's session is not touched"
    assert stored["local"] is None
    # The member page in the same tab is still the same anonymous member.
    await open_app(page)
    assert await page.evaluate("() => sessionStorage.getItem('peerchat.session')") is not None
    assert await page.evaluate("() => JSON.parse(sessionStorage.getItem('peerchat.session')).user.role") == "member"
    # And back to the console without signing in again (same tab), then out.
    await page.goto("/console.html")
    await page.wait_for_selector("body[data-ready='true'][data-state='connected']")
    await page.click("#sign-out")
    await page.wait_for_selector("#login-form")
    assert await page.evaluate("() => sessionStorage.getItem('peerchat.console')") is None


async def test_crisis_message_flags_and_hide_removes_it_for_everyone(
        server: ServerProcess, room: str, accounts: dict[str, str], new_page: NewPage) -> None:
    console = await new_page(server.url)
    await open_console(console)
    alice = await new_page(server.url)
    bob = await new_page(server.url)
    for page in (alice, bob):
        await open_app(page)
        await enter_room(page, room)
    await say(bob, "anyone around tonight?")
    await say(alice, "i want to kill myself tonight")
    await bob.wait_for_selector("#messages li.msg .text:text-is('i want to kill myself tonight')")

    # The server's `resources` frame, to the member who wrote it only.
    await alice.locator("#resources-panel").wait_for(state="visible")
    assert await alice.locator("#resources-panel a[href='tel:988']").count() == 1
    assert await bob.locator("#resources-panel").is_hidden()

    # Real: the flag reached the facilitator at once.
    card = console.locator(flag_card(room, "crisis"))
    await card.wait_for()
    assert "i want to kill myself tonight" == await card.locator(".excerpt").text_content()
    assert await card.get_attribute("data-severity") == "3"
    assert "Crisis" in await card.inner_text() and "Severity 3" in await card.inner_text()
    assert await console.locator("#flags-count").text_content() != ""
    seq = await card.get_attribute("data-seq")
    shown = await bob.locator("#messages li.msg", has_text="i want to kill myself tonight").get_attribute("data-seq")
    assert seq == shown
    await card.locator("button[data-action='hide']").click()
    await card.wait_for(state="detached")

    removed = f"#messages li.msg[data-seq='{seq}'][data-state='removed']"
    await bob.wait_for_selector(removed)
    await alice.wait_for_selector(removed)
    assert "i want to kill myself tonight" not in await texts(bob)
    assert "anyone around tonight?" in await texts(bob)
    # A member reloading does not get it back: it left the history.
    await bob.reload()
    await bob.wait_for_selector(f"body[data-joined='{room}']")
    await bob.wait_for_selector("#messages li.msg .text:text-is('anyone around tonight?')")
    assert "i want to kill myself tonight" not in await texts(bob)


async def test_held_message_is_released_from_the_console(
        server: ServerProcess, room: str, accounts: dict[str, str], new_page: NewPage) -> None:
    console = await new_page(server.url)
    await open_console(console)
    alice = await new_page(server.url)
    bob = await new_page(server.url)
    for page in (alice, bob):
        await open_app(page)
        await enter_room(page, room)
    await alice.fill("#text", "text me at 415 555 0132")
    await alice.press("#text", "Enter")
    held = alice.locator("#messages li.msg[data-state='held']")
    await held.wait_for()
    seq = await held.get_attribute("data-seq")

    card = console.locator(flag_card(room, "boundary") + "[data-held]")
    await card.wait_for()
    assert "Held" in await card.inner_text()
    assert await card.locator("button[data-action='hide']").count() == 0
    await say(bob, "a message after it")  # bob never saw the held one
    assert "text me at 415 555 0132" not in await texts(bob)

    await card.locator("button[data-action='release']").click()
    await card.wait_for(state="detached")
    # Released with its original seq, before bob's later message.
    await bob.wait_for_selector(f"#messages li.msg[data-seq='{seq}'] .text:text-is('text me at 415 555 0132')")
    assert await texts(bob) == ["text me at 415 555 0132", "a message after it"]
    await alice.wait_for_selector(f"#messages li.msg[data-seq='{seq}']:not([data-state='held'])")

    # A second held message, declined: its author is told, the room never sees it.
    await alice.fill("#text", "call me on 415 555 0199")
    await alice.press("#text", "Enter")
    card = console.locator(flag_card(room) + "[data-held]")
    await card.wait_for()
    await card.locator("button[data-action='dismiss']").click()
    await alice.wait_for_selector("#messages li.msg[data-state='declined']")
    assert "call me on 415 555 0199" not in await texts(bob)


async def test_roster_modes_knock_duty_and_help(
        server: ServerProcess, room: str, accounts: dict[str, str], new_page: NewPage) -> None:
    console = await new_page(server.url)
    await open_console(console)
    alice = await new_page(server.url)
    await open_app(alice)
    await enter_room(alice, room)
    alias = await alice.text_content("#alias")
    await say(alice, "i want to kill myself tonight")  # a flag against her name
    await console.locator(flag_card(room, "crisis")).wait_for()

    await pick_room(console, room)
    flagged = console.locator("#roster li[data-flagged='1']")
    await flagged.wait_for()
    assert alias in await flagged.inner_text()
    assert "flagged 1×" in await flagged.inner_text()
    assert "facilitator, you" in await console.locator("#roster").inner_text()
    # The roster follows presence.
    carol = await Client.open(server)
    await carol.join(room)
    await console.wait_for_selector("#roster li:nth-child(3)")

    # Slow mode, then lock: the room hears both; a member knocking is let in.
    await console.select_option("#slow-select", "30")
    await console.click("#slow-apply")
    await carol.expect(lambda f: f.get("t") == "notice" and f.get("code") == "slow_mode")
    await console.wait_for_selector("#room-mode:has-text('every 30 s')")
    await console.click("#lock")
    await carol.expect(lambda f: f.get("t") == "notice" and f.get("code") == "room_locked")
    await console.wait_for_selector("#room-mode:has-text('Locked')")
    dave = await Client.open(server)
    refused = await dave.request({"t": "join", "room": room})
    assert refused["code"] == "room_locked"
    knock = console.locator("#knocks button[data-admit]")
    await knock.click()
    await dave.expect(lambda f: f.get("t") == "notice" and f.get("code") == "admitted")
    assert (await dave.join(room))["t"] == "joined"
    await console.click("#unlock")
    await console.select_option("#slow-select", "0")
    await console.click("#slow-apply")
    await console.wait_for_selector("#room-mode:has-text('Open.')")

    # Mute from the roster: one click (kick and ban would ask for a second).
    await console.locator(f"#roster li:has-text('{alias}') button[data-action='mute']").click()
    await alice.wait_for_selector("#toast:has-text('paused your messages')")

    # A colleague calls for help: the console on duty shows it.
    staff = await Client.open(server, token=accounts["staff"])
    await staff.request({"t": "help", "room": room, "reason": "first call"})
    alert = console.locator("#help-alert-list li", has_text="first call")
    await alert.wait_for()
    assert "staff is calling for help" in await alert.inner_text()
    await alert.locator("button", has_text="Dismiss").click()

    # Off duty: calls no longer come (the next one after going back on duty is the first seen).
    await console.click("#duty")
    await console.wait_for_selector("#duty[aria-checked='false']")
    assert await console.text_content("#duty-text") == "Off duty"
    await staff.request({"t": "help", "reason": "while you rest"})
    await console.click("#duty")
    await console.wait_for_selector("#duty[aria-checked='true']")
    await staff.request({"t": "help", "reason": "back on"})
    await console.locator("#help-alert-list li", has_text="back on").wait_for()
    assert await console.locator("#help-alert-list li", has_text="while you rest").count() == 0

    # The console calls for help itself: colleagues on duty hear it, with the room and the reason.
    await console.click("#help-call")
    await console.fill("#help-reason", "a hard conversation, please join")
    await console.click("#help-send")
    call = await staff.expect(lambda f: f.get("t") == "help" and f.get("from", {}).get("alias") == "fac")
    assert call["room"] == room and call["reason"] == "a hard conversation, please join"
    await console.wait_for_selector("#toast:has-text('went out')")


async def test_console_by_keyboard(server: ServerProcess, room: str, accounts: dict[str, str],
                                   new_page: NewPage) -> None:
    """Sign in and dismiss a flag with Tab, typing and Enter only; the focus stays in the queue."""
    from tests.web.test_keyboard import focused, tab_to

    alice = await Client.open(server)
    await alice.join(room)
    page = await new_page(server.url)
    await page.goto("/console.html")
    await page.wait_for_selector("#username:focus")  # the form takes the focus
    await page.keyboard.type("fac")
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await page.wait_for_selector("body[data-ready='true'][data-state='connected']")
    await alice.say(room, "i want to kill myself tonight")
    card = page.locator(flag_card(room, "crisis"))
    await card.wait_for()
    dismiss = f"{flag_card(room, 'crisis')} button[data-action='dismiss']"
    await tab_to(page, dismiss)
    await page.keyboard.press("Enter")
    await card.wait_for(state="detached")
    assert await focused(page, "#flag-list li, #flags-title")
