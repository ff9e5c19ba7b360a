"""The `/ws` endpoint: origin check, hello, then decode -> hub -> encode until either side leaves.

Every client input passes `codec.decode` and `frames.parse` before the hub sees it; whatever goes
wrong with one frame is answered on that frame (`error` with its `rid`) and the connection stays.
Only a client that keeps misbehaving is closed: 4400 for garbage, 4429 for floods.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import Message, Receive, Scope, Send

from server.auth import accounts
from server.auth.tokens import InvalidToken, TokenSigner
from server.config import Settings
from server.hub.service import Hub, Session
from server.metrics import Metrics
from server.protocol import frames as f
from server.protocol.codec import decode
from server.protocol.errors import CloseCode, ErrorCode, ProtocolError
from server.protocol.model import User
from server.ratelimit import Strikes, TokenBucket
from server.store.base import StoreUnavailable
from server.web.connection import Connection
from server.web.transport import DIRECT_WRITE

log = logging.getLogger(__name__)

BAD_FRAME_CODES = frozenset({ErrorCode.BAD_FRAME, ErrorCode.UNKNOWN_TYPE})
BAD_FRAME_DECAY = 1 / 6  # one malformed frame forgiven every 6 s
FLOOD_DECAY = 1.0


def origin_allowed(headers: Headers, allowed: tuple[str, ...]) -> bool:
    """A browser always sends `Origin`; it must be this server's own host or an allowed origin, so
    that a page on another site cannot open a member's socket. Clients without a browser may omit it."""
    origin = headers.get("origin")
    if origin is None:
        return True
    if origin.rstrip("/") in allowed:
        return True
    return urlsplit(origin).netloc.lower() == headers.get("host", "").lower()


class SocketEndpoint:
    """An ASGI app for `/ws`. The raw `send` goes to the connection's writer; nothing in between."""

    def __init__(self, settings: Settings, hub: Hub, signer: TokenSigner, metrics: Metrics) -> None:
        self.settings = settings
        self.limits = settings.limits
        self.hub = hub
        self.signer = signer
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        connect = await receive()
        if connect["type"] != "websocket.connect":
            return
        if not origin_allowed(Headers(scope=scope), self.settings.allowed_origins):
            await send({"type": "websocket.close", "code": 1008})  # before accept: HTTP 403
            return
        await send({"type": "websocket.accept"})
        scope["headers"] = []  # read for the origin check; an idle connection need not keep them
        self.metrics.connections.inc()
        try:
            await self._serve(receive, send, scope.get("extensions", {}).get(DIRECT_WRITE))
        finally:
            self.metrics.connections.dec()

    async def _serve(self, receive: Receive, send: Send, direct: Callable[[bytes], bool] | None) -> None:
        try:
            async with asyncio.timeout(self.limits.hello_timeout):
                first = await receive()
        except TimeoutError:
            self.metrics.closes.labels(str(CloseCode.UNAUTHORIZED.value)).inc()
            await send({"type": "websocket.close", "code": CloseCode.UNAUTHORIZED, "reason": "no hello in time"})
            return
        if first["type"] != "websocket.receive":
            return
        text = first.get("text") is not None
        conn = Connection(secrets.token_hex(8), send, text, self.limits.outbound_queue, self.metrics, direct)
        try:
            session = await self._handshake(conn, first)
            if session is not None:
                try:
                    await self._read_forever(session, conn, receive)
                finally:
                    await self.hub.detach(session)
        finally:
            await conn.finish(grace=5)

    async def _handshake(self, conn: Connection, message: Message) -> Session | None:
        rid = None
        account = None
        try:
            text = message.get("text")
            data: bytes | str = text if text is not None else (message.get("bytes") or b"")
            frame = f.parse(decode(data, self.limits.max_frame_bytes), self.limits.max_text)
            rid = frame.rid
            if not isinstance(frame, f.Hello):
                raise ProtocolError(ErrorCode.UNAUTHORIZED, "say hello with a token first", rid)
            claims = self.signer.verify(frame.token)
            if claims.role != "member":
                # A facilitator or staff token counts only while its account exists unchanged.
                account = await accounts.current(self.hub.store, claims)
                if account is None:
                    raise InvalidToken("account removed or changed")
        except StoreUnavailable:
            conn.push_frame(f.error(ErrorCode.UNAVAILABLE, "the service is briefly unavailable; retry", rid))
            conn.close(CloseCode.RESTARTING, "unavailable")
            return None
        except (ProtocolError, InvalidToken) as exc:
            conn.push_frame(f.error(ErrorCode.UNAUTHORIZED, "a valid session token is needed", rid))
            self.metrics.errors.labels(ErrorCode.UNAUTHORIZED.value).inc()
            log.info("connection %s refused: %s", conn.id, type(exc).__name__)
            conn.close(CloseCode.UNAUTHORIZED, "unauthorized")
            return None
        session = self.hub.attach(
            conn, User(claims.sub, claims.alias, claims.role), lineage=claims.lineage, device=claims.device,
            born=claims.born, account=account.name if account else "",
            generation=account.generation if account else 0,
            keeps=frozenset(account.rooms) if account else frozenset())
        conn.push_frame(f.reply("welcome", rid, user=session.user.wire()))
        try:
            await self.hub.start_duty(session)
        except StoreUnavailable:
            log.warning("user %s: not put on duty: store unavailable", claims.sub)
        log.debug("connection %s: user %s connected", conn.id, claims.sub)
        return session

    async def _read_forever(self, session: Session, conn: Connection, receive: Receive) -> None:
        limits = self.limits
        now = time.monotonic()
        frames = TokenBucket(limits.frame_rate, limits.frame_burst, now)
        flood = Strikes(FLOOD_DECAY, now)
        bad = Strikes(BAD_FRAME_DECAY, now)
        while not conn.closing:
            message = await receive()
            if message["type"] != "websocket.receive":
                return
            data = message.get("bytes")
            if data is None:
                data = message.get("text") or ""
            rid = None
            try:
                frame = f.parse(decode(data, limits.max_frame_bytes), limits.max_text)
                rid = frame.rid
                if not frames.take(time.monotonic()):
                    raise ProtocolError(ErrorCode.RATE_LIMITED, "too many frames; slow down")
                reply = await self.hub.handle(session, frame)
                if reply is not None:
                    conn.push_frame(reply)
                continue
            except ProtocolError as exc:
                code, text = exc.code, exc.message
                rid = exc.rid if exc.rid is not None else rid
            except Exception:
                log.exception("internal error on a frame from user %s", session.user.id)
                code, text = ErrorCode.INTERNAL, "something went wrong on our side; the connection is fine"
            self.metrics.errors.labels(code.value).inc()
            conn.push_frame(f.error(code, text, rid))
            now = time.monotonic()
            if code == ErrorCode.RATE_LIMITED and flood.add(now) > limits.flood_strikes:
                log.info("connection %s of user %s closed for flooding", conn.id, session.user.id)
                conn.close(CloseCode.FLOODING, "flooding")
            elif code in BAD_FRAME_CODES and bad.add(now) > limits.bad_frames:
                log.info("connection %s of user %s closed for bad frames", conn.id, session.user.id)
                conn.close(CloseCode.BAD_FRAMES, "too many bad frames")
