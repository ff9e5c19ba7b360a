"""Fixtures that start real servers; see `support.py`."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support import Client, ServerProcess, write_config

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
def fresh_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of this test's own, for tests that restart, kill or flood it."""
    proc = ServerProcess(tmp_path / "data", write_config(tmp_path / "peerchat.toml"))
    yield proc
    proc.stop()
