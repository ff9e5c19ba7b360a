"""The crisis webhook: a signed JSON POST to the deployment's URL, retried with capped backoff.

Why our own small HTTP/1.1 client on asyncio streams and not a library: one POST of a small JSON
body, read the status line, close. That needs no connection pool, redirects or cookies, and keeps
the server's dependencies as they were (httpx is a test dependency only).

Deliveries never block the hub: `send` puts the event on a bounded queue and returns; one worker
task posts them in order. A delivery that fails (no connection, timeout, a status that is not 2xx)
is retried after 0.5 s, 1 s, 2 s, … capped at `max_backoff`, up to `attempts` times; then it is
dropped with an error in the log. A dropped escalation is not the end of it: a case nobody
acknowledges is raised again at the next escalation, and posted again.

The body is signed: `X-Peerchat-Signature: sha256=<hex HMAC-SHA256 of the body, keyed with the
webhook secret>`. Never logged: the URL (it may carry a key), the secret, the body.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import ssl
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Peerchat-Signature"


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookError(Exception):
    """One delivery attempt failed: no connection, a timeout, or a status that is not 2xx."""


async def post_json(url: str, body: bytes, headers: dict[str, str], seconds: float) -> int:
    """POST `body` to `url` (http or https) and return the status; raises `WebhookError`."""
    parts = urlsplit(url)
    https = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if https else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    head = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc.rpartition('@')[2]}",
            "Content-Type: application/json", f"Content-Length: {len(body)}", "Connection: close",
            "User-Agent: peerchat-webhook"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    request = ("\r\n".join(head) + "\r\n\r\n").encode() + body
    writer = None
    try:
        async with asyncio.timeout(seconds):
            reader, writer = await asyncio.open_connection(
                host, port, ssl=ssl.create_default_context() if https else None)
            writer.write(request)
            await writer.drain()
            status_line = await reader.readline()
        fields = status_line.decode("latin-1").split()
        if len(fields) < 2 or not fields[1].isdigit():
            raise WebhookError("no HTTP status in the answer")
        return int(fields[1])
    except (OSError, TimeoutError, ssl.SSLError) as exc:
        raise WebhookError(type(exc).__name__) from exc
    finally:
        if writer is not None:
            writer.close()


class Webhook:
    def __init__(self, url: str, secret: str, *, attempts: int = 8, first_backoff: float = 0.5,
                 max_backoff: float = 30.0, timeout: float = 10.0, queue_size: int = 1000) -> None:
        self._url = url
        self._secret = secret
        self.attempts = attempts
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        self._queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(queue_size)
        self._worker: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._worker = asyncio.get_running_loop().create_task(self._deliver_forever(), name="peerchat-webhook")

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None

    def send(self, event: dict[str, Any]) -> None:
        """Queue one event for delivery; never waits."""
        body = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
        try:
            self._queue.put_nowait((str(event.get("event", "")), body))
        except asyncio.QueueFull:
            log.error("crisis webhook: queue full, %s not sent", event.get("event"))

    async def _deliver_forever(self) -> None:
        while True:
            name, body = await self._queue.get()
            await self._deliver(name, body)

    async def _deliver(self, name: str, body: bytes) -> bool:
        headers = {SIGNATURE_HEADER: sign(self._secret, body), "X-Peerchat-Event": name}
        backoff = self.first_backoff
        for attempt in range(1, self.attempts + 1):
            try:
                status = await post_json(self._url, body, headers, self.timeout)
                if 200 <= status < 300:
                    log.info("crisis webhook: %s delivered", name)
                    return True
                why = f"status {status}"
            except WebhookError as exc:
                why = str(exc)
            if attempt == self.attempts:
                break
            log.warning("crisis webhook: %s attempt %d failed (%s); retrying in %.1f s", name, attempt, why, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)
        log.error("crisis webhook: %s not delivered after %d attempts", name, self.attempts)
        return False
