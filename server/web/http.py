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

from server.auth import accounts
from server.auth.aliases import random_alias
from server.auth.tokens import Claims, InvalidToken, TokenSigner
from server.broker.base import Broker
from server.config import Settings
from server.metrics import Metrics
from server.ratelimit import TokenBucket
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
        # Failed logins, deployment-wide on this node: see `server.auth.accounts` for why not per client.
        self._failed_logins = TokenBucket(limits.login_failures_per_second, limits.login_failures_burst,
                                          time.monotonic())

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

    async def login(self, request: Request) -> Response:
        """A facilitator or staff session: `{"username", "password"}` -> a token with the account's role."""
        try:
            body = await _json_body(request)
        except ValueError:
            return _error(400, "bad_request", "the body must be a small JSON object")
        name, password = body.get("username"), body.get("password")
        if not isinstance(name, str) or not isinstance(password, str) or not name or not password:
            return _error(400, "bad_request", "'username' and 'password' must be non-empty strings")
        self._failed_logins.take(time.monotonic(), 0)  # refill only
        if self._failed_logins.tokens < 1:
            self.metrics.logins.labels("throttled").inc()
            return _error(429, "rate_limited", "too many failed logins right now; try again in a minute")
        try:
            result = await accounts.login(self.store, name, password)
        except StoreUnavailable:
            return _error(503, "unavailable", "the service is briefly unavailable; retry")
        if result.throttled:
            self.metrics.logins.labels("throttled").inc()
            return JSONResponse({"error": "rate_limited", "retry_after": round(result.throttled, 1),
                                 "message": "too many failed attempts; try again later"},
                                status_code=429, headers={"Retry-After": str(int(result.throttled) + 1)})
        account = result.account
        if account is None:
            self._failed_logins.take(time.monotonic())
            self.metrics.logins.labels("failed").inc()
            return _error(401, "bad_credentials", "wrong name or password")
        token, claims = self.signer.issue(account.id, account.name, account.role, account.id,
                                          gen=account.generation)
        self.metrics.logins.labels("ok").inc()
        user = {"id": claims.sub, "alias": claims.alias, "role": claims.role}
        return JSONResponse({"token": token, "user": user, "expires": claims.exp,
                             "rooms": list(account.rooms)})

    async def audit(self, request: Request) -> Response:
        """The audit log, for staff: `?since=MS&limit=N`, oldest first."""
        token = bearer(request)
        try:
            claims = self.signer.verify(token or "")
            account = await accounts.current(self.store, claims) if claims.role == "staff" else None
        except InvalidToken:
            return _error(401, "unauthorized", "a staff token is needed")
        except StoreUnavailable:
            return _error(503, "unavailable", "the service is briefly unavailable; retry")
        if account is None:
            return _error(403, "forbidden", "a staff token is needed")
        try:
            since = int(request.query_params.get("since", "0"))
            limit = min(max(int(request.query_params.get("limit", "1000")), 1), 10_000)
        except ValueError:
            return _error(400, "bad_request", "'since' and 'limit' must be integers")
        entries = await self.store.audit(since, limit)
        return JSONResponse({"entries": [e.wire() for e in entries]})

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
