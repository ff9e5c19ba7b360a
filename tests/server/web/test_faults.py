"""Real faults: a reader that stops reading, a server killed with SIGKILL or stopped with SIGTERM,
a data dir wiped under the clients."""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import time

from tests.support import UNIT, Client


async def test_slow_reader_is_closed_and_never_slows_the_room(make_server) -> None:
    server = make_server("[limits]\noutbound_queue = 64\nsend_burst = 4000\nframe_burst = 4000\n")
    # The slow client stops reading; once the kernel's socket buffers (a few MiB on loopback) are
    # full, its queue on the server fills.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    sock.setblocking(False)
    slow = await Client.open(server, max_queue=1, sock=sock)
    fast = await Client.open(server)
    writer = await Client.open(server)
    for c in (slow, fast, writer):
        await c.join("t00")
    slow.ws.transport.pause_reading()
    text = "y" * 1990
    started = time.monotonic()
    count = 3000
    fast_reads = asyncio.create_task(fast.messages("t00", count, timeout=20 * UNIT))
    for batch in range(0, count, 20):
        for i in range(batch, batch + 20):
            await writer.send({"t": "send", "room": "t00", "text": f"{i} {text}"})
        for _ in range(20):  # the writer reads its acks, or it would be the slow one
            await writer.expect("ack")
        writer.inbox.clear()
    got = await fast_reads
    assert [int(m["text"].split()[0]) for m in got] == list(range(count))
    assert time.monotonic() - started < 15 * UNIT
    slow.ws.transport.resume_reading()
    assert await slow.closed(timeout=10 * UNIT) == 4408
    # It comes back and resumes with `since`, losing nothing.
    again = await Client.open(server, token=slow.token)
    joined = await again.join("t00", since=count - 100)
    assert [m["seq"] for m in joined["history"]] == [m["seq"] for m in got[-100:]]


async def test_acknowledged_messages_survive_sigkill(make_server) -> None:
    server = make_server()
    client = await Client.open(server)
    first = await client.join("t01")
    acks = [await client.say("t01", f"durable {i}") for i in range(10)]
    server.stop(signal.SIGKILL)
    server.start()
    again = await Client.open(server, token=client.token)
    joined = await again.join("t01", since=0, epoch=first["epoch"])
    assert "reset" not in joined and joined["epoch"] == first["epoch"]
    assert [m["seq"] for m in joined["history"]] == [a["seq"] for a in acks]
    assert [m["text"] for m in joined["history"]] == [f"durable {i}" for i in range(10)]
    # seq keeps increasing across the restart
    assert (await again.say("t01", "after"))["seq"] > acks[-1]["seq"]


async def test_nonce_dedupe_survives_restart(make_server) -> None:
    server = make_server()
    client = await Client.open(server)
    await client.join("t02")
    ack = await client.say("t02", "once", nonce="n-1")
    server.stop(signal.SIGKILL)
    server.start()
    again = await Client.open(server, token=client.token)
    await again.join("t02")
    assert (await again.say("t02", "once", nonce="n-1"))["seq"] == ack["seq"]


async def test_lost_history_changes_the_epoch_and_resets_clients(make_server) -> None:
    server = make_server()
    client = await Client.open(server)
    first = await client.join("t03")
    ack = await client.say("t03", "gone soon")
    server.stop()
    shutil.rmtree(server.data_dir)
    server.start()
    again = await Client.open(server)
    joined = await again.join("t03", since=ack["seq"], epoch=first["epoch"])
    assert joined["epoch"] != first["epoch"] and joined["reset"] is True


async def test_sigterm_closes_every_connection_with_1012_and_exits_fast(make_server) -> None:
    server = make_server()
    clients = [await Client.open(server) for _ in range(5)]
    for c in clients:
        await c.join("t04")
    started = time.monotonic()
    server.send_signal(signal.SIGTERM)
    codes = await asyncio.gather(*(c.closed(timeout=10 * UNIT) for c in clients))
    assert codes == [1012] * 5
    assert server.proc is not None
    # uvicorn shuts down cleanly, then re-raises SIGTERM so the exit status says why it stopped
    assert server.proc.wait(10 * UNIT) in (0, -signal.SIGTERM)
    assert time.monotonic() - started < 8 * UNIT


async def test_second_process_on_the_same_data_dir_refuses_to_start(make_server) -> None:
    from tests.support import ServerProcess as SP
    server = make_server()
    twin = SP(server.data_dir, server.config)
    twin.start(wait=False)
    assert twin.proc is not None
    assert twin.proc.wait(15 * UNIT) != 0
    assert "another peerchat process" in twin.logs()
