"""The Redis store: shared state for many nodes, on one Redis or a Redis Cluster.

Every key of a room carries the room as a hash tag (`pc:{room}:…`), so each script below touches one
slot and runs atomically there: a `seq` is assigned in the same step as the history write and the
nonce check, whichever node asks. Keys that are not a room's (node heartbeats, rate-limit buckets,
report ids) are single-key operations and land wherever the cluster puts them.

Presence is cluster-wide: each connection is registered under `<node>:<conn>`, every node heartbeats
into `pc:nodes`, and any node that sees another node's heartbeat older than `node_timeout` takes that
node's connections out of presence (one node does it, under a short lock) and announces the leaves.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgpack
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from server.protocol.model import Message, User
from server.store import redis_scripts as lua
from server.store.base import Appended, Page, PresenceChange, Report, Store, StoreUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")

NONCE_TTL = 24 * 3600  # seconds a nonce is remembered: far longer than any client retries
PREFIX = "pc:"


def room_key(room: str, name: str) -> str:
    return f"{PREFIX}{{{room}}}:{name}"


def _entry(message: Message) -> bytes:
    user = message.user
    return b"%012x" % message.ts + msgpack.packb([user.id, user.alias, user.role, message.text])


def _message(room: str, raw: bytes) -> Message:
    seq, ts = int(raw[:16], 16), int(raw[16:28], 16)
    user_id, alias, role, text = msgpack.unpackb(raw[28:], raw=False)
    return Message(room, seq, ts, User(user_id, alias, role), text)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _user(user_id: Any, value: Any) -> User:
    alias, _, role = _text(value).rpartition("|")
    return User(_text(user_id), alias, role or "member")


class RedisStore(Store):
    def __init__(self, client: Redis | RedisCluster, history_max: int, history_max_age: float,
                 node_id: str | None = None, node_timeout: float = 20.0) -> None:
        self._redis = client
        self._history_max = history_max
        self._max_age_ms = int(history_max_age * 1000)
        self.node_id = node_id or secrets.token_hex(6)
        self.node_timeout = node_timeout  # seconds without a heartbeat before a node's members leave
        self._ready = False
        self._scripts = {name: client.register_script(getattr(lua, name))
                         for name in ("APPEND", "READ", "PRESENCE_ADD", "PRESENCE_REMOVE", "TAKE")}

    # -- lifecycle -------------------------------------------------------------------------------

    async def open(self) -> None:
        try:
            await self._redis.ping()
            self._ready = True
        except RedisError:
            # Start anyway: /readyz says 503 and sends answer `unavailable` until Redis is back.
            log.warning("Redis unreachable at start; retrying in the background")

    async def close(self) -> None:
        try:
            await self._redis.zrem(f"{PREFIX}nodes", self.node_id)
        except RedisError:
            pass
        await self._redis.aclose()

    @property
    def ready(self) -> bool:
        return self._ready

    async def _call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Every Redis round trip goes through here: failures become `StoreUnavailable` and mark the
        store not ready until a call succeeds again."""
        try:
            result = await operation()
        except (TimeoutError, RedisError, OSError) as exc:
            if self._ready:
                log.warning("Redis unavailable: %s", type(exc).__name__)
            self._ready = False
            raise StoreUnavailable("the shared store cannot be reached") from exc
        if not self._ready:
            log.info("Redis reachable again")
        self._ready = True
        return result

    async def _script(self, name: str, keys: list[str], args: list[Any]) -> Any:
        script = self._scripts[name]
        return await self._call(lambda: script(keys=keys, args=args))

    # -- history ---------------------------------------------------------------------------------

    async def append(self, room: str, user: User, text: str, ts: int, nonce: str | None) -> Appended:
        message = Message(room, 0, ts, user, text)
        nonce_key = room_key(room, f"nonce:{user.id}:{nonce}") if nonce is not None else room_key(room, "seq")
        seq, duplicate = await self._script(
            "APPEND",
            [room_key(room, "seq"), room_key(room, "log"), nonce_key, room_key(room, "epoch")],
            ["1" if nonce is not None else "0", _entry(message), self._history_max, NONCE_TTL,
             secrets.token_hex(8), self._max_age_ms, ts - self._max_age_ms],
        )
        return Appended(Message(room, int(seq), ts, user, text), duplicate=bool(duplicate))

    async def _read(self, room: str, mode: str, seq: int | None, limit: int) -> tuple[int, str, list[Message]]:
        reply = await self._script(
            "READ", [room_key(room, "seq"), room_key(room, "log"), room_key(room, "epoch")],
            [mode, "" if seq is None else seq, limit, self._history_max, secrets.token_hex(8)],
        )
        last, epoch, *entries = reply
        cutoff = int(time.time() * 1000) - self._max_age_ms
        messages = [m for m in (_message(room, e) for e in entries) if m.ts >= cutoff]
        return int(last), _text(epoch), messages

    async def latest(self, room: str, limit: int) -> Page:
        last, epoch, messages = await self._read(room, "latest", None, limit)
        return Page(messages, last, epoch)

    async def since(self, room: str, seq: int, limit: int) -> Page:
        last, epoch, messages = await self._read(room, "since", seq, limit)
        more = len(messages) > limit
        messages = messages[:limit]
        first_kept = messages[0].seq if messages else last + 1
        return Page(messages, last, epoch, more=more, truncated=seq < last and first_kept > seq + 1)

    async def before(self, room: str, seq: int | None, limit: int) -> list[Message]:
        return (await self._read(room, "before", seq, limit))[2]

    async def message(self, room: str, seq: int) -> Message | None:
        key = room_key(room, "log")
        entries: list[Any] = await self._call(lambda: self._redis.zrangebyscore(key, seq, seq))
        return _message(room, entries[0]) if entries else None

    async def add_report(self, report: Report) -> int:
        report_id = int(await self._call(lambda: self._redis.incr(f"{PREFIX}reports:id")))
        fields = {"id": report_id, "seq": report.seq, "reporter": report.reporter_id,
                  "reason": report.reason or "", "ts": report.ts, "state": report.state}
        key = room_key(report.room, "reports")
        await self._call(lambda: self._redis.xadd(key, fields, maxlen=10_000, approximate=True))  # type: ignore[arg-type]
        return report_id

    # -- presence --------------------------------------------------------------------------------

    def _conn(self, conn_id: str) -> str:
        return f"{self.node_id}:{conn_id}"

    async def presence_add(self, room: str, user: User, conn_id: str) -> PresenceChange:
        changed, count, value = await self._script(
            "PRESENCE_ADD", [room_key(room, "members"), room_key(room, "conns")],
            [user.id, user.alias, user.role, self._conn(conn_id)])
        await self._call(lambda: self._redis.sadd(f"{PREFIX}node:{self.node_id}:rooms", room))
        await self._call(lambda: self._redis.sadd(f"{PREFIX}rooms", room))
        return PresenceChange(_user(user.id, value), bool(changed), int(count))

    async def _remove(self, room: str, conns: list[str]) -> list[PresenceChange]:
        if not conns:
            return []
        rows = await self._script("PRESENCE_REMOVE", [room_key(room, "members"), room_key(room, "conns")], conns)
        return [PresenceChange(_user(uid, value), bool(changed), int(count)) for uid, changed, count, value in rows]

    async def presence_remove(self, room: str, user_id: str, conn_id: str) -> PresenceChange | None:
        changes = await self._remove(room, [self._conn(conn_id)])
        return changes[0] if changes else None

    async def presence_members(self, room: str) -> list[User]:
        key = room_key(room, "members")
        members = await self._call(lambda: self._redis.hgetall(key))
        return [_user(uid, value) for uid, value in members.items()]

    async def presence_counts(self) -> dict[str, int]:
        rooms = [_text(r) for r in await self._call(lambda: self._redis.smembers(f"{PREFIX}rooms"))]
        counts = {}
        for room in rooms:
            key = room_key(room, "members")
            counts[room] = int(await self._call(lambda key=key: self._redis.hlen(key)))  # type: ignore[misc]
        return counts

    async def heartbeat(self) -> None:
        now = int(time.time() * 1000)
        await self._call(lambda: self._redis.zadd(f"{PREFIX}nodes", {self.node_id: now}))

    async def reap(self) -> list[tuple[str, PresenceChange]]:
        cutoff = int((time.time() - self.node_timeout) * 1000)
        dead = await self._call(lambda: self._redis.zrangebyscore(f"{PREFIX}nodes", "-inf", cutoff))
        leaves: list[tuple[str, PresenceChange]] = []
        for raw in dead:
            node = _text(raw)
            lock = f"{PREFIX}reap:{node}"
            if not await self._call(lambda lock=lock: self._redis.set(lock, self.node_id, nx=True, ex=30)):  # type: ignore[misc]
                continue  # another node is reaping it
            rooms_key = f"{PREFIX}node:{node}:rooms"
            for room_raw in await self._call(lambda rooms_key=rooms_key: self._redis.smembers(rooms_key)):  # type: ignore[misc]
                room = _text(room_raw)
                conns_key = room_key(room, "conns")
                fields = await self._call(lambda conns_key=conns_key: self._redis.hkeys(conns_key))  # type: ignore[misc]
                theirs = [_text(f) for f in fields if _text(f).startswith(node + ":")]
                leaves += [(room, c) for c in await self._remove(room, theirs) if c.changed]
            await self._call(lambda rooms_key=rooms_key: self._redis.delete(rooms_key))  # type: ignore[misc]
            await self._call(lambda node=node: self._redis.zrem(f"{PREFIX}nodes", node))  # type: ignore[misc]
            log.info("node %s stopped heartbeating; %d members left presence", node, len(leaves))
        return leaves

    async def take(self, key: str, rate: float, burst: int) -> float:
        wait_ms = await self._script("TAKE", [f"{PREFIX}rl:{key}"], [rate, burst])
        return int(wait_ms) / 1000.0
