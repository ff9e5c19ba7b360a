"""The HTTP routes of the contract: anonymous sessions, the room list, health, readiness, metrics.

No handler here reads or stores the client's address or user agent: an anonymous session is a
signed token and nothing else.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from server.auth.aliases import random_alias
from server.auth.tokens import Claims, InvalidToken, TokenSigner
from server.broker.base import Broker
from server.config import Settings
from server.hub.ratelimit import TokenBucket
from server.metrics import Metrics
from server.store.base import Store, StoreUnavailable

MAX_BODY = 4096
MAX_DEVICE_KEY = 128


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _json_body(request: Request) -> dict[str, Any]:
    body = await request.body()
    if not body.strip():
        return {}
    if len(body) > MAX_BODY:
        raise ValueError("body too large")
    data = json.loads(body)
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object")
    return data


class HttpApi:
    def __init__(self, settings: Settings, store: Store, broker: Broker, signer: TokenSigner,
                 metrics: Metrics) -> None:
        self.settings = settings
        self.store = store
        self.broker = broker
        self.signer = signer
        self.metrics = metrics
        limits = settings.limits
        self._new_sessions = TokenBucket(limits.sessions_per_second, limits.sessions_burst, time.monotonic())

    async def session(self, request: Request) -> Response:
        """A new anonymous member, or, with a still-valid member token, the same member refreshed."""
        try:
            body = await _json_body(request)
        except ValueError:
            return _error(400, "bad_request", "the body must be empty or a small JSON object")
        device = body.get("device")
        if device is not None and (not isinstance(device, str) or not 0 < len(device) <= MAX_DEVICE_KEY):
            return _error(400, "bad_request", f"'device' must be a string of at most {MAX_DEVICE_KEY} characters")
        device_id = self.signer.device_id(device) if device else None
        previous: Claims | None = None
        token = bearer(request)
        if token is not None:
            try:
                previous = self.signer.verify(token)
            except InvalidToken:
                previous = None
        if previous is not None and previous.role == "member":
            token, claims = self.signer.issue(previous.sub, previous.alias, "member", previous.lineage,
                                              previous.device or device_id, born=previous.born)
        else:
            if not self._new_sessions.take(time.monotonic()):
                return _error(429, "rate_limited", "too many new sessions right now; try again shortly")
            user_id = "m_" + secrets.token_urlsafe(12)
            token, claims = self.signer.issue(user_id, random_alias(), "member", user_id, device_id)
            self.metrics.sessions_created.inc()
        return JSONResponse({"token": token, "user": {"id": claims.sub, "alias": claims.alias, "role": claims.role},
                             "expires": claims.exp})

    async def rooms(self, request: Request) -> Response:
        try:
            counts = await self.store.presence_counts()
        except StoreUnavailable:
            counts = {}
        return JSONResponse({"rooms": [
            {"id": r.id, "title": r.title, "topic": r.topic, "guidelines": r.guidelines,
             "count": counts.get(r.id, 0)}
            for r in self.settings.rooms
        ]})

    async def healthz(self, request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(self, request: Request) -> Response:
        if self.broker.ready and self.store.ready:
            return PlainTextResponse("ready")
        return PlainTextResponse("not ready", status_code=503)

    async def metrics_text(self, request: Request) -> Response:
        return Response(self.metrics.render(), media_type=CONTENT_TYPE_LATEST)
