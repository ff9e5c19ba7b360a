"""Signed, expiring session tokens, checked on any node by their signature alone.

Format: `v1.<payload>.<signature>`, both base64url without padding; the payload is compact JSON and
the signature is HMAC-SHA256 over `v1.<payload>` with the deployment's secret. Nothing is stored per
session, so a member stays anonymous and any node that shares the secret accepts the token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

VERSION = "v1"


class InvalidToken(Exception):
    """Bad format, bad signature, or expired. The reason is for logs and tests, never the client."""


@dataclass(frozen=True, slots=True)
class Claims:
    sub: str  # user id
    alias: str
    role: str
    exp: int  # ms since the epoch
    lineage: str  # the first session this one was refreshed from; bans bind to it
    device: str | None = None  # keyed hash of the browser's device key, never the key itself
    born: int = 0  # ms when the lineage's first session was made (0: a token from before this claim)
    gen: int | None = None  # facilitator and staff: the account's generation; a new password bumps it


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    def __init__(self, secret: bytes, ttl_seconds: float) -> None:
        if len(secret) < 32:
            raise ValueError("the signing secret must be at least 32 bytes")
        self._secret = secret
        self.ttl_ms = int(ttl_seconds * 1000)

    def _sign(self, signed_part: str) -> str:
        return _b64(hmac.new(self._secret, signed_part.encode("ascii"), hashlib.sha256).digest())

    def issue(self, sub: str, alias: str, role: str, lineage: str, device: str | None = None,
              now_ms: int | None = None, born: int | None = None,
              gen: int | None = None) -> tuple[str, Claims]:
        now = int(time.time() * 1000) if now_ms is None else now_ms
        born = now if born is None else born
        claims = Claims(sub, alias, role, now + self.ttl_ms, lineage, device, born, gen)
        body: dict[str, Any] = {"sub": sub, "alias": alias, "role": role, "exp": claims.exp, "lin": lineage,
                                "born": claims.born}
        if device is not None:
            body["dev"] = device
        if gen is not None:
            body["gen"] = gen
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        signed_part = f"{VERSION}.{payload}"
        return f"{signed_part}.{self._sign(signed_part)}", claims

    def verify(self, token: str, now_ms: int | None = None) -> Claims:
        version, _, rest = token.partition(".")
        payload, _, signature = rest.partition(".")
        if version != VERSION or not payload or not signature:
            raise InvalidToken("malformed")
        if not hmac.compare_digest(self._sign(f"{version}.{payload}"), signature):
            raise InvalidToken("bad signature")
        try:
            body = json.loads(_unb64(payload))
            claims = Claims(str(body["sub"]), str(body["alias"]), str(body["role"]), int(body["exp"]),
                            str(body["lin"]), body.get("dev"), int(body.get("born", 0)),
                            None if body.get("gen") is None else int(body["gen"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidToken("bad payload") from exc
        now = int(time.time() * 1000) if now_ms is None else now_ms
        if claims.exp <= now:
            raise InvalidToken("expired")
        return claims

    def device_id(self, device_key: str) -> str:
        """A stable, keyed digest of the browser's device key: bans bind to it, the key stays secret."""
        return _b64(hmac.new(self._secret, b"device:" + device_key.encode(), hashlib.sha256).digest()[:16])
