"""The lean uvicorn protocol's pieces: frames built once per fan-out, the inbox and the write flag."""

from __future__ import annotations

import asyncio

import msgpack
from websockets.frames import Frame

from server.protocol.codec import Encoded
from server.web.transport import Flag, Inbox, framed


def test_a_frame_is_built_once_per_encoding_and_shared() -> None:
    encoded = Encoded({"t": "msg", "text": "héllo"})
    first = framed(encoded, text=False)
    assert framed(encoded, text=False) is first  # every recipient gets the very same bytes
    assert framed(encoded, text=True) is framed(encoded, text=True)

    def parse(data: bytes) -> Frame:
        def reader(n: int):  # type: ignore[no-untyped-def]
            nonlocal data
            chunk, data = data[:n], data[n:]
            return chunk
            yield  # a generator, as websockets' parser expects

        gen = Frame.parse(reader, mask=False)
        try:
            while True:
                next(gen)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    assert msgpack.unpackb(parse(first).data) == {"t": "msg", "text": "héllo"}
    assert parse(framed(encoded, text=True)).data.decode() == '{"t":"msg","text":"héllo"}'


async def test_inbox_hands_items_over_in_order() -> None:
    inbox = Inbox()
    getter = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait(1)
    inbox.put_nowait(2)
    assert await getter == 1 and inbox.qsize() == 1 and not inbox.empty()
    assert await inbox.get() == 2 and inbox.empty()


async def test_flag_blocks_writers_while_cleared() -> None:
    flag = Flag()
    flag.set()
    assert await flag.wait()
    flag.clear()
    waiter = asyncio.create_task(flag.wait())
    await asyncio.sleep(0.01)
    assert not waiter.done()
    flag.set()
    assert await waiter and flag.is_set()
