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
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from server import backends
from server.auth.secret import load_or_create_secret
from server.auth.tokens import TokenSigner
from server.config import Settings
from server.hub.service import Hub
from server.metrics import Metrics
from server.web.headers import SecurityHeaders
from server.web.http import HttpApi
from server.web.ws import SocketEndpoint

log = logging.getLogger(__name__)



def client_dir() -> Path:
    return Path(str(resources.files("client_web")))


def create_app(settings: Settings) -> App:
    store, broker = backends.build(settings)
    metrics = Metrics()
    signer = TokenSigner(load_or_create_secret(settings.secret, settings.data_dir), settings.token_ttl)
    hub = Hub(settings, store, broker, metrics)
    api = HttpApi(settings, store, broker, signer, metrics)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await store.open()
        try:
            await hub.start()
            log.info("peerchat ready: %d rooms", len(settings.rooms))
            yield
        finally:
            await hub.stop()
            await store.close()

    routes = [
        Route("/api/session", api.session, methods=["POST"]),
        Route("/api/login", api.login, methods=["POST"]),
        Route("/api/audit", api.audit, methods=["GET"]),
        Route("/api/rooms", api.rooms, methods=["GET"]),
        Route("/healthz", api.healthz, methods=["GET"]),
        Route("/readyz", api.readyz, methods=["GET"]),
        Route("/metrics", api.metrics_text, methods=["GET"]),
        Mount("/", StaticFiles(directory=client_dir(), html=True)),
    ]
    http = Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(SecurityHeaders)])
    http.state.hub = hub
    return App(http, SocketEndpoint(settings, hub, signer, metrics))


class App:
    """HTTP and lifespan go to Starlette; `/ws` goes straight to its endpoint.

    Why not a `WebSocketRoute`: a connection lives for hours and every frame it sends passes through
    whatever wraps the endpoint. Routing it past Starlette's middleware and router keeps each
    connection's coroutine stack, and each write, as short as they can be; nothing in that stack
    applies to a WebSocket anyway (the security headers are for HTTP responses).
    """

    def __init__(self, http: Starlette, ws: SocketEndpoint) -> None:
        self.http = http
        self.ws = ws
        self.state = http.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            if scope["path"] == "/ws":
                await self.ws(scope, receive, send)
            else:
                await receive()
                await send({"type": "websocket.close", "code": 1008})
            return
        await self.http(scope, receive, send)
