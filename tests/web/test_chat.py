"""Two members in two browsers, a real server between them."""

from __future__ import annotations

import pytest

from tests.support import ServerProcess
from tests.web.conftest import NewPage, enter_room, open_app, say, texts

pytestmark = [pytest.mark.browser, pytest.mark.timeout(60)]


async def test_two_members_chat_both_ways(server: ServerProcess, room: str, new_page: NewPage) -> None:
    alice = await new_page(server.url)
    bob = await new_page(server.url)
    await open_app(alice)
    await open_app(bob)
    alias_a = await alice.text_content("#alias")
    alias_b = await bob.text_content("#alias")
    assert alias_a and alias_b and alias_a != alias_b

    await enter_room(alice, room)
    await enter_room(bob, room)
    await alice.wait_for_selector("#count:text('2 here')")

    await say(alice, "hello from alice")
    await bob.wait_for_selector("#messages li.msg .text:text-is('hello from alice')")
    await say(bob, "hi alice, bob here")
    await alice.wait_for_selector("#messages li.msg .text:text-is('hi alice, bob here')")

    assert await texts(alice) == ["hello from alice", "hi alice, bob here"]
    assert await texts(bob) == ["hello from alice", "hi alice, bob here"]
    # Bob's view: alice's message is someone else's (reportable), his own is "You".
    assert await bob.text_content("#messages li.msg:not(.mine) .from") == alias_a
    assert await bob.text_content("#messages li.msg.mine .from") == "You"
    # The newest message was announced once in the live region; the title never holds message text.
    assert "hi alice, bob here" in (await alice.text_content("#live") or "")
    assert await alice.title() == "peerchat"

    # Back to the rooms: the room is left (bob sees one person), the landing shows, focus on that room.
    await alice.click("#back")
    await alice.wait_for_selector("body[data-view='landing']")
    await bob.wait_for_selector("#count:text('1 here')")
    assert await alice.evaluate("() => document.activeElement?.dataset.room") == room
