"""Real parts for tests: a peerchat server in a subprocess on a free loopback port, and a client.

Every wait is a multiple of `UNIT` seconds (PEERCHAT_TEST_UNIT, default 1), so a slow machine
scales all of them at once instead of failing at random.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import httpx
import msgpack
from websockets.asyncio.client import ClientConnection, connect

UNIT = float(os.environ.get("PEERCHAT_TEST_UNIT", "1"))
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(path: Path, rooms: int = 60, extra: str = "") -> Path:
    """A config with many small rooms so that tests sharing one server never share a room."""
    lines = [extra]
    for i in range(rooms):
        lines += ["[[rooms]]", f'id = "t{i:02d}"', f'title = "Test room {i}"', 'topic = "for tests"',
                  'guidelines = "be kind"', ""]
    path.write_text("\n".join(lines))
    return path


class ServerProcess:
    """`peerchat serve` as a real process, stopped with real signals."""

    def __init__(self, data_dir: Path, config: Path | None = None, env: dict[str, str] | None = None,
                 port: int | None = None) -> None:
        self.data_dir = data_dir
        self.config = config
        self.env = env or {}
        self.port = port or free_port()
        self.log_path = data_dir.parent / f"server-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self, wait: bool = True) -> ServerProcess:
        args = [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                "--data-dir", str(self.data_dir)]
        if self.config is not None:
            args += ["--config", str(self.config)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 15 * UNIT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=UNIT).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"server not ready:\n{self.logs()}")

    def send_signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10 * UNIT) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def users(self, *args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
        """`peerchat users ARGS --data-dir D`, next to the running server, as an operator would."""
        command = [sys.executable, "-m", "server.cli", "users", *args, "--data-dir", str(self.data_dir)]
        if self.config is not None:
            command += ["--config", str(self.config)]
        return subprocess.run(command, cwd=ROOT, input=(password or "") + "\n", capture_output=True,
                              text=True, timeout=30 * UNIT, env={**os.environ, **self.env})

    def add_user(self, name: str, role: str = "facilitator", password: str = "a long test passphrase",
                 rooms: str | None = None) -> None:
        extra = ["--rooms", rooms] if rooms else []
        result = self.users("add", name, "--role", role, *extra, password=password)
        assert result.returncode == 0, result.stderr

    def login(self, name: str, password: str = "a long test passphrase") -> httpx.Response:
        return httpx.post(self.url + "/api/login", json={"username": name, "password": password},
                          timeout=10 * UNIT)

    def staff_token(self, name: str, password: str = "a long test passphrase") -> str:
        r = self.login(name, password)
        assert r.status_code == 200, r.text
        return str(r.json()["token"])

    def session(self, token: str | None = None, device: str | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body = {"device": device} if device else None
        r = httpx.post(self.url + "/api/session", headers=headers, json=body, timeout=5 * UNIT)
        r.raise_for_status()
        return dict(r.json())


class RedisServer:
    """Debian's `redis-server` on a free loopback port, no persistence unless asked; stopped and
    started again on the same port for outage tests."""

    def __init__(self, workdir: Path, port: int | None = None, extra: Sequence[str] = ()) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.extra = list(extra)
        self.proc: subprocess.Popen[bytes] | None = None
        workdir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed (Debian package redis-server)"
        log = (self.workdir / f"redis-{self.port}.log").open("ab")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), *self.extra], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 10 * UNIT
        while time.monotonic() < deadline:
            if self.cli("PING").strip() == "PONG":
                return self
            time.sleep(0.05)
        raise TimeoutError("redis-server did not answer PING")

    def cli(self, *args: str) -> str:
        result = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), *args],
                                capture_output=True, text=True, timeout=10 * UNIT)
        return result.stdout

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10 * UNIT)


def free_cluster_port() -> int:
    """A free port whose cluster-bus port (port + 10000) is free too."""
    for _ in range(100):
        port = free_port()
        if port + 10000 >= 65536:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


class RedisCluster:
    """Three Redis Cluster masters on loopback, made into one cluster with `redis-cli --cluster create`."""

    def __init__(self, workdir: Path, masters: int = 3) -> None:
        self.nodes = [RedisServer(workdir / f"node{i}", free_cluster_port(),
                                  ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                                   "--cluster-node-timeout", "2000"]) for i in range(masters)]

    @property
    def url(self) -> str:
        return f"redis+cluster://127.0.0.1:{self.nodes[0].port}"

    def start(self) -> RedisCluster:
        for node in self.nodes:
            node.start()
        addresses = [f"127.0.0.1:{n.port}" for n in self.nodes]
        subprocess.run(["redis-cli", "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
                       check=True, capture_output=True, timeout=30 * UNIT)
        deadline = time.monotonic() + 20 * UNIT
        while time.monotonic() < deadline:
            if all("cluster_state:ok" in n.cli("CLUSTER", "INFO") for n in self.nodes):
                return self
            time.sleep(0.1)
        raise TimeoutError("the Redis Cluster did not become ok")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


class Client:
    """A real WebSocket client speaking MessagePack (default) or JSON; frames as plain dicts."""

    _rids = itertools.count(1)
    opened: ClassVar[list[Client]] = []  # closed by the autouse fixture after each test

    def __init__(self, ws: ClientConnection, binary: bool) -> None:
        self.ws = ws
        self.binary = binary
        self.inbox: list[dict[str, Any]] = []
        self.user: dict[str, Any] = {}
        self.token = ""

    @classmethod
    async def open(cls, server: ServerProcess, binary: bool = True, token: str | None = None,
                   hello: bool = True, **kwargs: Any) -> Client:
        ws = await connect(server.ws_url, max_size=2**22, open_timeout=5 * UNIT, **kwargs)
        client = cls(ws, binary)
        cls.opened.append(client)
        if hello:
            client.token = token or server.session()["token"]
            welcome = await client.request({"t": "hello", "token": client.token})
            assert welcome["t"] == "welcome", welcome
            client.user = welcome["user"]
        return client

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(msgpack.packb(frame) if self.binary else json.dumps(frame))

    async def send_raw(self, data: bytes | str) -> None:
        await self.ws.send(data)

    async def _recv(self, timeout: float) -> dict[str, Any]:
        data = await asyncio.wait_for(self.ws.recv(), timeout)
        if isinstance(data, bytes):
            assert self.binary, "server answered a JSON connection in MessagePack"
            frame = msgpack.unpackb(data)
        else:
            assert not self.binary, "server answered a MessagePack connection in JSON"
            frame = json.loads(data)
        assert isinstance(frame, dict)
        return frame

    async def expect(self, match: Callable[[dict[str, Any]], bool] | str, timeout: float = 5 * UNIT) -> dict[str, Any]:
        """The first frame (already received or to come) that matches; others stay in the inbox."""
        test = (lambda fr: fr.get("t") == match) if isinstance(match, str) else match
        for i, frame in enumerate(self.inbox):
            if test(frame):
                return self.inbox.pop(i)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError(f"no matching frame; inbox: {self.inbox[-5:]}")
            frame = await self._recv(left)
            if test(frame):
                return frame
            self.inbox.append(frame)

    async def request(self, frame: dict[str, Any], timeout: float = 5 * UNIT) -> dict[str, Any]:
        rid = next(self._rids)
        await self.send({**frame, "rid": rid})
        return await self.expect(lambda fr: fr.get("rid") == rid, timeout)

    async def join(self, room: str, **fields: Any) -> dict[str, Any]:
        reply = await self.request({"t": "join", "room": room, **fields})
        assert reply["t"] == "joined", reply
        return reply

    async def say(self, room: str, text: str, **fields: Any) -> dict[str, Any]:
        reply = await self.request({"t": "send", "room": room, "text": text, **fields})
        assert reply["t"] == "ack", reply
        return reply

    async def messages(self, room: str, count: int, timeout: float = 5 * UNIT) -> list[dict[str, Any]]:
        return [await self.expect(lambda fr: fr.get("t") == "msg" and fr.get("room") == room, timeout)
                for _ in range(count)]

    async def closed(self, timeout: float = 5 * UNIT) -> int | None:
        """Wait for the server to close; the close code it sent."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    await self.ws.recv()
        except Exception:
            pass
        await asyncio.wait_for(self.ws.wait_closed(), timeout)
        return self.ws.close_code

    async def close(self) -> None:
        await self.ws.close()


async def open_clients(server: ServerProcess, n: int, **kwargs: Any) -> Sequence[Client]:
    return await asyncio.gather(*(Client.open(server, **kwargs) for _ in range(n)))


class WebhookReceiver:
    """A tiny HTTP server on loopback, in the test's own event loop, that records every POST.

    `fail_first` answers that many requests with 500 before answering 200, to see retries."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self._arrived = asyncio.Event()
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/crisis"

    async def start(self) -> WebhookReceiver:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await reader.readline()
            headers: dict[str, str] = {"_request": request_line.decode().strip()}
            while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append((headers, body))
            status = "500 Internal Server Error" if len(self.requests) <= self.fail_first else "200 OK"
            writer.write(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
            await writer.drain()
            self._arrived.set()
        finally:
            writer.close()

    def bodies(self, event: str | None = None) -> list[dict[str, Any]]:
        found = [json.loads(body) for _, body in self.requests]
        return [b for b in found if event is None or b.get("event") == event]

    async def wait_for(self, test: Callable[[list[dict[str, Any]]], bool], timeout: float = 5 * UNIT) -> None:
        async with asyncio.timeout(timeout):
            while not test(self.bodies()):
                self._arrived.clear()
                await self._arrived.wait()
