"""`create_app(settings)`: wires the store, broker, hub and endpoints into one Starlette app.

This is the one place that chooses implementations: the embedded default (SQLite store and
in-memory broker) or Redis. The hub only ever sees their interfaces.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from server.auth.secret import load_or_create_secret
from server.auth.tokens import TokenSigner
from server.broker.base import Broker
from server.broker.memory import MemoryBroker
from server.config import Settings
from server.hub.service import Hub
from server.metrics import Metrics
from server.store.base import Store
from server.store.sqlite import SQLiteStore
from server.web.headers import SecurityHeaders
from server.web.http import HttpApi
from server.web.ws import SocketEndpoint

log = logging.getLogger(__name__)


def build_backends(settings: Settings) -> tuple[Store, Broker]:
    if settings.redis_url:
        raise SystemExit("--redis-url: the Redis backend is not part of this build yet; run without it")
    return SQLiteStore(settings.data_dir, settings.history_max, settings.history_max_age), MemoryBroker()


def client_dir() -> Path:
    return Path(str(resources.files("client_web")))


def create_app(settings: Settings) -> Starlette:
    store, broker = build_backends(settings)
    metrics = Metrics()
    signer = TokenSigner(load_or_create_secret(settings.secret, settings.data_dir), settings.token_ttl)
    hub = Hub(settings, store, broker, metrics)
    api = HttpApi(settings, store, broker, signer, metrics)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await store.open()
        try:
            await hub.start()
            log.info("peerchat ready: %s mode, %d rooms", "redis" if settings.redis_url else "embedded",
                     len(settings.rooms))
            yield
        finally:
            await hub.stop()
            await store.close()

    routes = [
        Route("/api/session", api.session, methods=["POST"]),
        Route("/api/rooms", api.rooms, methods=["GET"]),
        Route("/healthz", api.healthz, methods=["GET"]),
        Route("/readyz", api.readyz, methods=["GET"]),
        Route("/metrics", api.metrics_text, methods=["GET"]),
        WebSocketRoute("/ws", SocketEndpoint(settings, hub, signer, metrics)),
        Mount("/", StaticFiles(directory=client_dir(), html=True)),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(SecurityHeaders)])
    app.state.hub = hub
    return app
