"""Nothing lost, nothing doubled: a reload, a dropped connection, and a lost ack.

The browser talks to the real server; where a test needs the network to fail at a chosen moment,
Playwright's WebSocket routing sits between them and passes every frame through until told not to.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgpack
import pytest
from playwright.async_api import Page, Route, WebSocketRoute

from tests.support import Client, ServerProcess
from tests.web.conftest import NewPage, enter_room, open_app, say, texts

pytestmark = [pytest.mark.browser, pytest.mark.timeout(60)]


async def wait_texts(page: Page, expected: list[str]) -> None:
    """Wait until the room shows these messages (and nothing pending), then check the exact list."""
    last = expected[-1].replace("'", "\\'")
    await page.wait_for_selector(f"#messages li.msg .text:text-is('{last}')")
    await page.wait_for_selector("#outbox li", state="detached")
    assert await texts(page) == expected


async def test_reload_resumes_without_loss_or_doubles(server: ServerProcess, room: str,
                                                      new_page: NewPage) -> None:
    bob = await Client.open(server)
    await bob.join(room)
    page = await new_page(server.url)
    await open_app(page)
    await enter_room(page, room)
    await bob.say(room, "one")
    await say(page, "two")
    await wait_texts(page, ["one", "two"])

    # Hold the reloaded page's script until bob has spoken: these messages are sent while the tab
    # has no connection at all.
    release = asyncio.Event()

    async def hold(route: Route) -> None:
        await release.wait()
        await route.continue_()

    await page.route("**/app.js", hold)
    reload = asyncio.create_task(page.reload(wait_until="commit"))
    await bob.expect(lambda fr: fr.get("t") == "presence" and fr.get("event") == "leave")
    await bob.say(room, "three, while you were away")
    await bob.say(room, "four")
    release.set()
    await reload
    await page.wait_for_selector(f"body[data-joined='{room}'][data-state='connected']")
    await wait_texts(page, ["one", "two", "three, while you were away", "four"])

    await bob.say(room, "five, live again")
    await wait_texts(page, ["one", "two", "three, while you were away", "four", "five, live again"])


class Gate:
    """Passes the page's WebSocket through to the server, and can cut it, keep it cut, and drop
    the server's acks; it records the page's frames."""

    def __init__(self) -> None:
        self.open = True
        self.drop_acks = 0  # how many of the server's next acks to lose (cutting the socket each time)
        self.from_page: list[dict[str, Any]] = []
        self.current: WebSocketRoute | None = None
        self.connected = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    async def handle(self, ws: WebSocketRoute) -> None:
        if not self.open:
            await ws.close(code=4000, reason="offline")
            return
        server = ws.connect_to_server()
        self.current = ws

        def from_page(message: str | bytes) -> None:
            if isinstance(message, bytes):
                self.from_page.append(msgpack.unpackb(message))
            server.send(message)

        def from_server(message: str | bytes) -> None:
            frame = msgpack.unpackb(message) if isinstance(message, bytes) else {}
            if frame.get("t") == "ack" and self.drop_acks > 0:
                self.drop_acks -= 1
                self.tasks.append(asyncio.get_running_loop().create_task(
                    ws.close(code=4408, reason="dropped after the ack was lost")))
                return
            ws.send(message)
            if frame.get("t") == "welcome":
                self.connected.set()

        ws.on_message(from_page)
        server.on_message(from_server)

    async def cut(self, code: int = 4408) -> None:
        """Close the page's socket as the server would, and refuse reconnects until `restore`."""
        self.open = False
        self.connected.clear()
        assert self.current is not None
        await self.current.close(code=code, reason="too slow: reconnect and resume")

    def restore(self) -> None:
        self.open = True

    def joins(self) -> list[dict[str, Any]]:
        return [f for f in self.from_page if f.get("t") == "join"]


async def test_dropped_connection_resumes_with_since_and_resends_pending(
        server: ServerProcess, room: str, new_page: NewPage) -> None:
    gate = Gate()
    page = await new_page(server.url)
    await page.route_web_socket("**/ws", gate.handle)
    bob = await Client.open(server)
    await bob.join(room)
    await open_app(page)
    await enter_room(page, room)
    await bob.say(room, "before the drop")
    await wait_texts(page, ["before the drop"])

    await gate.cut()
    await page.wait_for_selector("body[data-state='reconnecting']")
    assert "Reconnecting" in (await page.text_content("#conn") or "")
    # Written while offline: shown as pending, kept, and sent when the connection is back.
    await page.fill("#text", "written while offline")
    await page.press("#text", "Enter")
    await page.wait_for_selector("#outbox li[data-state='pending'] .text:text-is('written while offline')")
    await bob.say(room, "missed one")
    await bob.say(room, "missed two")

    gate.restore()
    await page.wait_for_selector("body[data-state='connected']")
    await wait_texts(page, ["before the drop", "missed one", "missed two", "written while offline"])
    rejoin = gate.joins()[-1]
    first = gate.joins()[0]
    assert "since" not in first
    assert rejoin["since"] >= 1 and rejoin["epoch"]
    sends = [f for f in gate.from_page if f.get("t") == "send"]
    assert len(sends) == 1, "the pending message is sent once, after the rejoin"
    await bob.expect(lambda fr: fr.get("t") == "msg" and fr.get("text") == "written while offline")


async def test_lost_ack_is_resent_with_the_same_nonce_and_shown_once(
        server: ServerProcess, room: str, new_page: NewPage) -> None:
    gate = Gate()
    page = await new_page(server.url)
    await page.route_web_socket("**/ws", gate.handle)
    bob = await Client.open(server)
    await bob.join(room)
    await open_app(page)
    await enter_room(page, room)

    gate.drop_acks = 1  # the server stores the message, but its ack never reaches the page
    await page.fill("#text", "did this arrive?")
    await page.press("#text", "Enter")
    await page.wait_for_selector("body[data-state='reconnecting']")
    await page.wait_for_selector("body[data-state='connected']")
    await wait_texts(page, ["did this arrive?"])

    sends = [f for f in gate.from_page if f.get("t") == "send"]
    assert len(sends) == 2 and sends[0]["nonce"] == sends[1]["nonce"]
    first = await bob.expect(lambda fr: fr.get("t") == "msg")
    assert first["text"] == "did this arrive?"
    await bob.say(room, "yes, once")  # and nothing else arrived in between
    assert not [f for f in bob.inbox if f.get("t") == "msg" and f.get("text") == "did this arrive?"]
    await wait_texts(page, ["did this arrive?", "yes, once"])
