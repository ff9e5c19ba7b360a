"""One fan-out generator process: it holds a share of the clients, sends its share of the rate, and counts.

The orchestrator (bench/fanout.py) drives several of these over a pipe, because one Python process cannot
decode as many frames per second as a good hub can fan out; each command is a small tuple, each answer a
picklable value. Everything here is bounded: connection counts come from the orchestrator, every wait has
a deadline, and a step sends a fixed number of messages.
"""

from __future__ import annotations

import asyncio
import gc
import http.client
import json
import os
import resource
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import urlsplit

import msgpack
from _fanout_conn import OPENERS, Conn
from _fanout_stats import BUCKET_S, MAX_BUCKET, StepReport

OPEN_CONCURRENCY = 64  # handshakes in flight per process: well under the listen backlog of any server
HANDSHAKE_TIMEOUT_S = 30.0
QUIET_S = 0.5  # the drain ends when nothing arrived for this long


class OpenError(Exception):
    """A client could not connect, say hello, or join."""


def raise_nofile_limit() -> None:
    """Raise the soft open-files limit to the hard one: a thousand sockets overflow the usual 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def fetch_tokens(base_url: str, count: int) -> list[str]:
    """Get one fresh member token per client over one keep-alive HTTP connection.

    One member per client matters: the server's rate limits are per member, and the benchmark spreads its
    sends over many members to stay under them.
    """
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=10)
    tokens: list[str] = []
    try:
        for _ in range(count):
            for attempt in range(20):
                try:
                    conn.request("POST", "/api/session", headers={"Content-Length": "0"})
                    resp = conn.getresponse()
                    body = resp.read()
                except (http.client.RemoteDisconnected, ConnectionError):
                    conn.close()  # the server did not keep the connection alive: reconnect and retry
                    continue
                if resp.status == 200:
                    tokens.append(json.loads(body)["token"])
                    break
                if resp.status != 429:
                    raise OpenError(f"POST /api/session answered {resp.status}: {body[:200]!r}")
                time.sleep(0.05 * (attempt + 1))
            else:
                raise OpenError("POST /api/session kept failing (rate limited or disconnected)")
    finally:
        conn.close()
    return tokens


@dataclass(slots=True, eq=False)
class Client:
    ws: Conn
    room: str
    seen: set[int] = field(default_factory=set)


class Step:
    """The counters of the step in progress; the readers of every client update it."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.report = StepReport()

    def record_send(self, room: str) -> None:
        self.report.sent[room] += 1


class Generator:
    """The clients of one process, in named groups ("idle", "load"), and the step in progress."""

    def __init__(self, index: int, client_kind: str) -> None:
        self.index = index
        self.opener = OPENERS[client_kind]
        self.groups: dict[str, list[Client]] = {}
        self.step: Step | None = None

    # -- opening and closing -------------------------------------------------------------------------------
    async def open_group(self, group: str, urls: list[str], rooms: list[str]) -> dict[str, Any]:
        """Open len(rooms) clients (client i joins rooms[i] through urls[i]); answer the counts by room."""
        started = time.monotonic()
        by_url: dict[str, list[str]] = {}  # a token from the node each client connects to
        for url in sorted(set(urls)):
            n = urls.count(url)
            try:
                by_url[url] = await asyncio.to_thread(fetch_tokens, url, n)
            except (OSError, OpenError, KeyError, ValueError) as exc:
                return {"opened": {}, "errors": n, "error": f"tokens from {url}: {exc}", "seconds": 0.0}
        limit = asyncio.Semaphore(OPEN_CONCURRENCY)

        async def one(url: str, room: str, token: str) -> Client:
            async with limit:
                return await asyncio.wait_for(self.open_client(url, room, token), HANDSHAKE_TIMEOUT_S)

        tasks = [one(url, room, by_url[url].pop()) for url, room in zip(urls, rooms, strict=True)]
        results = await asyncio.gather(*tasks, return_exceptions=True)
        clients = [r for r in results if isinstance(r, Client)]
        failures = [r for r in results if not isinstance(r, Client)]
        self.groups.setdefault(group, []).extend(clients)
        return {
            "opened": dict(Counter(c.room for c in clients)),
            "errors": len(failures),
            "error": repr(failures[0]) if failures else None,
            "seconds": time.monotonic() - started,
        }

    async def open_client(self, url: str, room: str, token: str) -> Client:
        ws = await self.opener(url)
        try:
            await ws.send(msgpack.packb({"t": "hello", "token": token}))
            await self.expect(ws, "welcome")
            await ws.send(msgpack.packb({"t": "join", "room": room}))
            await self.expect(ws, "joined")
        except BaseException:
            await ws.close()
            raise
        client = Client(ws, room)
        ws.deliver_to(partial(self.on_frame, client))
        return client

    @staticmethod
    async def expect(ws: Conn, kind: str) -> dict[str, Any]:
        """Read frames until one of type `kind`; presence frames of other members may come first."""
        while True:
            frame = msgpack.unpackb(await ws.recv())
            if frame.get("t") == kind:
                return frame
            if frame.get("t") == "error":
                raise OpenError(f"waiting for {kind}: {frame}")

    async def close_group(self, group: str) -> int:
        clients = self.groups.pop(group, [])
        await asyncio.gather(*(c.ws.close() for c in clients), return_exceptions=True)
        return len(clients)

    # -- receiving ------------------------------------------------------------------------------------------
    def on_frame(self, client: Client, data: bytes) -> None:
        """Count one of this client's deliveries of the current step's messages; ignore everything else.

        This is the generator's hot path (one call per delivery), hence the terse body.
        """
        step = self.step
        if step is None:
            return
        frame = msgpack.unpackb(data)
        kind = frame.get("t")
        report = step.report
        if kind == "msg":
            parts = frame.get("text", "").split(" ")
            if len(parts) != 3 or parts[1] != step.tag:
                return
            seq = frame["seq"]
            if seq in client.seen:
                report.doubled += 1
                return
            client.seen.add(seq)
            t = time.time()
            report.received += 1
            b = int((t - float(parts[2])) / BUCKET_S)
            report.latency[b if b < MAX_BUCKET else MAX_BUCKET] += 1
            report.last_rx = t
            if not report.first_rx:
                report.first_rx = t
        elif kind == "ack":
            if frame.get("status") == "held":
                report.held[client.room] += 1
            else:
                report.acked[client.room] += 1
        elif kind == "error":
            report.rejected[client.room] += 1
            report.error_codes[str(frame.get("code"))] += 1

    # -- a step ---------------------------------------------------------------------------------------------
    async def run_step(
        self, tag: str, rate: float, start_at: float, duration: float, drain_max: float
    ) -> StepReport:
        """Send round(rate x duration) messages spread evenly over this process's load clients, then drain.

        Senders take turns, so each sends at rate / len(clients) per second: the orchestrator keeps that
        under the server's per-member limit. The text carries the step's tag and the send time, which the
        receivers turn into latency; the nonce makes every send distinct.
        """
        clients = [c for c in self.groups.get("load", []) if c.ws.is_open]
        for c in clients:
            c.seen.clear()
        step = Step(tag)
        report = step.report
        report.start_at = start_at
        # Count from now, not from start_at: another process's first sends may reach us before our own
        # start; the tag keeps any earlier step's late deliveries out.
        self.step = step
        # No cyclic GC during the step: every delivery allocates dicts, and the collector's pauses in the
        # generator would show up as the server's latency. Nothing here makes cycles; collect afterwards.
        gc.disable()
        try:
            await asyncio.sleep(max(0.0, start_at - time.time()))
            await self.send_and_drain(step, clients, rate, start_at, duration, drain_max)
        finally:
            self.step = None
            gc.enable()
            gc.collect()
        return report

    async def send_and_drain(
        self,
        step: Step,
        clients: list[Client],
        rate: float,
        start_at: float,
        duration: float,
        drain_max: float,
    ) -> None:
        """The paced sends (never more than round(rate x duration), never past a deadline), then the drain."""
        report = step.report
        total = round(rate * duration) if clients else 0
        tag = step.tag
        cpu0, wall0 = time.process_time(), time.monotonic()
        pack = msgpack.packb
        deadline = start_at + duration + 10.0
        i = 0
        while i < total and time.time() < deadline:
            due = min(total, int((time.time() - start_at) * rate) + 1)
            report.behind_s = max(report.behind_s, (due - i - 1) / rate)
            while i < due:
                c = clients[i % len(clients)]
                frame = {
                    "t": "send",
                    "room": c.room,
                    "text": f"fanout {tag} {time.time():.6f}",
                    "nonce": f"{tag}.{self.index}.{i}",
                }
                step.record_send(c.room)
                i += 1
                await c.ws.send(pack(frame))
            await asyncio.sleep(max(0.0, start_at + i / rate - time.time()))
        report.send_end = time.time()
        await self.drain(report, report.send_end + drain_max)
        report.cpu_s = time.process_time() - cpu0
        report.wall_s = time.monotonic() - wall0
        report.disconnected = sum(1 for c in self.groups.get("load", []) if not c.ws.is_open)

    @staticmethod
    async def drain(report: StepReport, deadline: float) -> None:
        """Wait until deliveries stop arriving (QUIET_S with none) or the deadline passes."""
        while time.time() < deadline:
            last = max(report.last_rx, report.send_end)
            if time.time() - last > QUIET_S:
                return
            await asyncio.sleep(0.05)


async def serve(conn: Connection, index: int, client_kind: str) -> None:
    """Run the orchestrator's commands one at a time until it says exit (or the pipe closes)."""
    gen = Generator(index, client_kind)
    loop = asyncio.get_running_loop()
    while True:
        try:
            command, args = await loop.run_in_executor(None, conn.recv)
        except EOFError:
            command, args = "exit", {}
        if command == "open":
            answer: Any = await gen.open_group(args["group"], args["urls"], args["rooms"])
        elif command == "close":
            answer = await gen.close_group(args["group"])
        elif command == "step":
            answer = await gen.run_step(**args)
        elif command == "exit":
            for group in list(gen.groups):
                await gen.close_group(group)
            conn.send(("bye", os.getpid()))
            return
        else:
            answer = {"error": f"unknown command {command}"}
        conn.send((command, answer))


def main(conn: Connection, index: int, client_kind: str) -> None:
    """Process entry point (multiprocessing, spawn): raise the fd limit, pick uvloop, serve commands."""
    raise_nofile_limit()
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(conn, index, client_kind))
    else:
        uvloop.run(serve(conn, index, client_kind))
