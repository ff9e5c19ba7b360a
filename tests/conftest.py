"""Fixtures that start real servers; see `support.py`."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from tests.support import Client, RedisServer, ServerProcess, write_config

_room_numbers = itertools.count()


@pytest.fixture(autouse=True)
async def _close_clients() -> AsyncIterator[None]:
    yield
    while Client.opened:
        await Client.opened.pop().close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One embedded-default server shared by the tests that only need a room of their own."""
    base = tmp_path_factory.mktemp("shared-server")
    proc = ServerProcess(base / "data", write_config(base / "peerchat.toml")).start()
    yield proc
    proc.stop()


@pytest.fixture
def room() -> str:
    """A room no other test uses on the shared server."""
    n = next(_room_numbers)
    assert n < 60, "add rooms to the shared server's config"
    return f"t{n:02d}"


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Servers of this test's own, for tests that restart, kill or flood them. `extra` is TOML
    placed before the rooms (e.g. a [limits] table)."""
    started: list[ServerProcess] = []

    def make(extra: str = "", env: dict[str, str] | None = None, start: bool = True) -> ServerProcess:
        n = len(started)
        proc = ServerProcess(tmp_path / f"data{n}", write_config(tmp_path / f"peerchat{n}.toml", extra=extra), env)
        started.append(proc)
        return proc.start() if start else proc

    yield make
    for proc in started:
        proc.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server of the test run's own on a free loopback port (never a system Redis)."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The shared test Redis, emptied for this test."""
    redis_server.cli("FLUSHALL")
    return redis_server.url


@pytest.fixture(scope="session")
def accounts(server: ServerProcess) -> dict[str, str]:
    """Accounts on the shared server, made with `peerchat users add` while it runs; name -> token."""
    for name, role, rooms in (("fac", "facilitator", None), ("staff", "staff", None),
                              ("fac-t59", "facilitator", "t59")):
        server.add_user(name, role, rooms=rooms)
    return {name: server.staff_token(name) for name in ("fac", "staff", "fac-t59")}
