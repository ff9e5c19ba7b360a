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

import contextlib
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, replace
from typing import Any, TypeVar

import msgpack
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from server.protocol.model import Message, User
from server.store import redis_scripts as lua
from server.store.base import (
    CASE_TRANSITIONS,
    Account,
    Appended,
    AuditEntry,
    Case,
    CaseEvent,
    Flag,
    Page,
    PresenceChange,
    Report,
    RoomMode,
    Sanction,
    Store,
    StoreUnavailable,
    case_events,
)

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
                 audit_max_age: float = 365 * 86400.0, node_id: str | None = None,
                 node_timeout: float = 20.0) -> None:
        self._redis = client
        self._history_max = history_max
        self._max_age_ms = int(history_max_age * 1000)
        self._audit_max_age_ms = int(audit_max_age * 1000)
        self.node_id = node_id or secrets.token_hex(6)
        self.node_timeout = node_timeout  # seconds without a heartbeat before a node's members leave
        self._ready = False
        self._scripts = {name: client.register_script(getattr(lua, name))
                         for name in ("APPEND", "READ", "PRESENCE_ADD", "PRESENCE_REMOVE", "TAKE", "FLAG_DECIDE",
                                      "CASE_OPEN", "CASE_UPDATE", "CASE_RAISED", "LEASE")}

    # -- lifecycle -------------------------------------------------------------------------------

    async def open(self) -> None:
        try:
            await self._redis.ping()
            self._ready = True
        except RedisError:
            # Start anyway: /readyz says 503 and sends answer `unavailable` until Redis is back.
            log.warning("Redis unreachable at start; retrying in the background")

    async def close(self) -> None:
        with contextlib.suppress(RedisError):  # unreachable: the other nodes reap this one instead
            await self._redis.zrem(f"{PREFIX}nodes", self.node_id)
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

    async def append(self, room: str, user: User, text: str, ts: int, nonce: str | None,
                     hidden: bool = False) -> Appended:
        message = Message(room, 0, ts, user, text)
        nonce_key = room_key(room, f"nonce:{user.id}:{nonce}") if nonce is not None else room_key(room, "seq")
        seq, duplicate = await self._script(
            "APPEND",
            [room_key(room, "seq"), room_key(room, "log"), nonce_key, room_key(room, "epoch"),
             room_key(room, "hidden")],
            ["1" if nonce is not None else "0", _entry(message), self._history_max, NONCE_TTL,
             secrets.token_hex(8), self._max_age_ms, ts - self._max_age_ms, "1" if hidden else "0"],
        )
        return Appended(Message(room, int(seq), ts, user, text), duplicate=bool(duplicate))

    async def _read(self, room: str, mode: str, seq: int | None, limit: int) -> tuple[int, str, list[Message]]:
        reply = await self._script(
            "READ", [room_key(room, "seq"), room_key(room, "log"), room_key(room, "epoch"), room_key(room, "hidden")],
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

    # -- moderation: accounts, sanctions, room modes, flags, audit --------------------------------
    # Deployment-wide records, small and rarely written. Flags share one hash tag so that deciding
    # one (atomic, once) is a single-slot script on a cluster too.

    _ACCOUNTS = f"{PREFIX}accounts"
    _FAILURES = f"{PREFIX}login:failures"
    _FAILED_AT = f"{PREFIX}login:failed_at"
    _SANCTIONS = f"{PREFIX}sanctions"
    _MODES = f"{PREFIX}room_modes"
    _FLAG_ID = f"{PREFIX}{{flags}}:id"
    _FLAGS = f"{PREFIX}{{flags}}:data"
    _FLAGS_OPEN = f"{PREFIX}{{flags}}:open"
    _FLAGS_BY_TS = f"{PREFIX}{{flags}}:by_ts"
    _FLAGS_DECIDED = f"{PREFIX}{{flags}}:decided"
    _AUDIT = f"{PREFIX}audit"

    async def account(self, name: str) -> Account | None:
        async def read() -> tuple[Any, Any, Any]:
            return (await self._redis.hget(self._ACCOUNTS, name), await self._redis.hget(self._FAILURES, name),
                    await self._redis.hget(self._FAILED_AT, name))

        raw, failures, failed_at = await self._call(read)
        if raw is None:
            return None
        data = json.loads(raw)
        return Account(**{**data, "rooms": tuple(data["rooms"]), "failures": int(failures or 0),
                          "failed_at": int(failed_at or 0)})

    async def accounts(self) -> list[Account]:
        names = sorted(_text(n) for n in await self._call(lambda: self._redis.hkeys(self._ACCOUNTS)))
        found = [await self.account(name) for name in names]
        return [a for a in found if a is not None]

    async def account_put(self, account: Account) -> None:
        data = asdict(account)
        failures, failed_at = data.pop("failures"), data.pop("failed_at")

        async def write() -> None:
            await self._redis.hset(self._ACCOUNTS, account.name, json.dumps(data))
            if failures:
                await self._redis.hset(self._FAILURES, account.name, failures)
                await self._redis.hset(self._FAILED_AT, account.name, failed_at)
            else:
                await self._redis.hdel(self._FAILURES, account.name)

        await self._call(write)

    async def account_remove(self, name: str) -> bool:
        async def write() -> int:
            await self._redis.hdel(self._FAILURES, name)
            await self._redis.hdel(self._FAILED_AT, name)
            return int(await self._redis.hdel(self._ACCOUNTS, name))

        return bool(await self._call(write))

    async def login_attempt(self, name: str, ok: bool, now_ms: int) -> None:
        async def write() -> None:
            if not await self._redis.hexists(self._ACCOUNTS, name):
                return
            if ok:
                await self._redis.hdel(self._FAILURES, name)
            else:
                await self._redis.hincrby(self._FAILURES, name, 1)
                await self._redis.hset(self._FAILED_AT, name, now_ms)

        await self._call(write)

    async def set_hidden(self, room: str, seq: int, hidden: bool) -> Message | None:
        message = await self.message(room, seq)
        if message is None:
            return None
        key = room_key(room, "hidden")
        if hidden:
            await self._call(lambda: self._redis.sadd(key, seq))
        else:
            await self._call(lambda: self._redis.srem(key, seq))
        return message

    @staticmethod
    def _sanction_field(kind: str, subject: str, room: str) -> str:
        return f"{kind}|{subject}|{room}"

    async def sanction_put(self, sanction: Sanction) -> None:
        field = self._sanction_field(sanction.kind, sanction.subject, sanction.room)
        await self._call(lambda: self._redis.hset(self._SANCTIONS, field, json.dumps(asdict(sanction))))

    async def sanction_remove(self, kind: str, subject: str, room: str) -> int:
        field = self._sanction_field(kind, subject, room)
        return int(await self._call(lambda: self._redis.hdel(self._SANCTIONS, field)))

    async def sanctions(self, now_ms: int) -> list[Sanction]:
        rows = await self._call(lambda: self._redis.hgetall(self._SANCTIONS))
        live, expired = [], []
        for field, raw in rows.items():
            sanction = Sanction(**json.loads(raw))
            if sanction.until == 0 or sanction.until > now_ms:
                live.append(sanction)
            else:
                expired.append(field)
        if expired:
            await self._call(lambda: self._redis.hdel(self._SANCTIONS, *expired))
        return live

    async def room_mode_put(self, room: str, mode: RoomMode) -> None:
        if mode == RoomMode():
            await self._call(lambda: self._redis.hdel(self._MODES, room))
        else:
            await self._call(lambda: self._redis.hset(self._MODES, room, f"{mode.slow}|{int(mode.locked)}"))

    async def room_modes(self) -> dict[str, RoomMode]:
        rows = await self._call(lambda: self._redis.hgetall(self._MODES))
        modes = {}
        for room, value in rows.items():
            slow, _, locked = _text(value).partition("|")
            modes[_text(room)] = RoomMode(int(slow), locked == "1")
        return modes

    @staticmethod
    def _flag_json(flag: Flag) -> str:
        data = asdict(flag)
        data["user"] = flag.user.wire()
        return json.dumps(data)

    @staticmethod
    def _flag(raw: Any, decision: Any = None) -> Flag:
        data = json.loads(raw)
        data["user"] = User.from_wire(data["user"])
        data["rules"] = tuple(data["rules"])
        flag = Flag(**data)
        if decision:
            state, by, at = _text(decision).split("|")
            flag = replace(flag, state=state, decided_by=by, decided_at=int(at))
        return flag

    async def flag_add(self, flag: Flag) -> Flag:
        flag_id = int(await self._call(lambda: self._redis.incr(self._FLAG_ID)))
        flag = replace(flag, id=flag_id)
        forget = int(time.time() * 1000) - self._max_age_ms  # flags quote messages: forgotten with them

        async def write() -> None:
            old = await self._redis.zrangebyscore(self._FLAGS_BY_TS, "-inf", forget)
            if old:
                await self._redis.hdel(self._FLAGS, *old)
                await self._redis.hdel(self._FLAGS_DECIDED, *old)
                await self._redis.zrem(self._FLAGS_OPEN, *old)
                await self._redis.zrem(self._FLAGS_BY_TS, *old)
            await self._redis.hset(self._FLAGS, str(flag_id), self._flag_json(flag))
            await self._redis.zadd(self._FLAGS_BY_TS, {str(flag_id): flag.ts})
            if flag.state == "open":
                await self._redis.zadd(self._FLAGS_OPEN, {str(flag_id): flag_id})

        await self._call(write)
        return flag

    async def flag_decide(self, flag_id: int, state: str, by: str, now_ms: int) -> Flag | None:
        decision = f"{state}|{by}|{now_ms}"
        raw = await self._script("FLAG_DECIDE", [self._FLAGS_OPEN, self._FLAGS_DECIDED, self._FLAGS],
                                 [str(flag_id), decision])
        return self._flag(raw, decision) if raw else None

    async def flags(self, room: str | None = None, open_only: bool = True, since_ms: int = 0,
                    limit: int = 200) -> list[Flag]:
        async def read() -> tuple[list[Any], list[Any], list[Any]]:
            if open_only:
                ids = await self._redis.zrange(self._FLAGS_OPEN, 0, -1)
            else:
                ids = await self._redis.zrangebyscore(self._FLAGS_BY_TS, since_ms, "+inf")
            if not ids:
                return [], [], []
            keys = [_text(i) for i in ids]
            return ids, await self._redis.hmget(self._FLAGS, keys), await self._redis.hmget(self._FLAGS_DECIDED, keys)

        _, raws, decisions = await self._call(read)
        flags = [self._flag(raw, decision) for raw, decision in zip(raws, decisions, strict=True) if raw]
        flags = [f for f in flags if (room is None or f.room == room) and f.ts >= since_ms]
        flags.sort(key=lambda f: f.id)
        return flags[-limit:]

    async def audit_add(self, entry: AuditEntry) -> None:
        member = json.dumps({**asdict(entry), "n": secrets.token_hex(4)})  # equal entries stay distinct
        cutoff = int(time.time() * 1000) - self._audit_max_age_ms

        async def write() -> None:
            await self._redis.zadd(self._AUDIT, {member: entry.ts})
            await self._redis.zremrangebyscore(self._AUDIT, "-inf", cutoff)

        await self._call(write)

    async def audit(self, since_ms: int = 0, limit: int = 1000) -> list[AuditEntry]:
        cutoff = max(since_ms, int(time.time() * 1000) - self._audit_max_age_ms)
        rows = await self._call(lambda: self._redis.zrangebyscore(self._AUDIT, cutoff, "+inf", start=0, num=limit))
        entries = []
        for raw in rows:
            data = json.loads(_text(raw))
            data.pop("n", None)
            entries.append(AuditEntry(**data))
        return entries

    # -- crisis cases ----------------------------------------------------------------------------
    # One hash tag for all of them, so that each step of a case is one atomic single-slot script.

    _C = f"{PREFIX}{{cases}}:"
    _C_FIELDS = ("base", "state", "severity", "claimed", "raised", "closed", "history")

    def _ck(self, name: str) -> str:
        return self._C + name

    async def case_open(self, case: Case) -> tuple[Case, bool]:
        base = json.dumps({"user": case.user.wire(), "room": case.room, "seq": case.seq, "excerpt": case.excerpt,
                           "opened": case.opened, "categories": list(case.categories)})
        opened = CaseEvent(case.opened, "opened", seq=case.seq, room=case.room, severity=case.severity)
        joined = CaseEvent(case.opened, "joined", seq=case.seq, room=case.room, severity=case.severity)
        await self._forget_resolved()
        case_id, new = await self._script(
            "CASE_OPEN", [self._ck(k) for k in ("user", "unresolved", "base", "state", "severity", "history")],
            [case.user.id, case.id, base, case.severity, opened.to_json(), joined.to_json()])
        found = await self.case(_text(case_id))
        assert found is not None
        return found, bool(new)

    async def _forget_resolved(self) -> None:
        """Cases quote what was said: resolved ones are forgotten with the history they quote."""
        cutoff = int(time.time() * 1000) - self._max_age_ms
        old = await self._call(lambda: self._redis.zrangebyscore(self._ck("resolved"), "-inf", cutoff))
        if old:
            async def forget() -> None:
                for name in self._C_FIELDS:
                    await self._redis.hdel(self._ck(name), *old)
                await self._redis.zrem(self._ck("resolved"), *old)

            await self._call(forget)

    async def _cases(self, ids: list[str]) -> list[Case]:
        if not ids:
            return []

        async def read() -> list[list[Any]]:
            return [await self._redis.hmget(self._ck(name), ids) for name in self._C_FIELDS]

        columns = await self._call(read)
        found = []
        for case_id, base, state, severity, claimed, raised, closed, history in zip(ids, *columns, strict=True):
            if base is None:
                continue
            data = json.loads(base)
            last, _, count = _text(raised or "0|0").partition("|")
            closed_at, _, outcome = _text(closed or "0|").partition("|")
            found.append(Case(case_id, User.from_wire(data["user"]), data["room"], int(data["seq"]),
                              int(severity or 0), data["excerpt"], int(data["opened"]), tuple(data["categories"]),
                              _text(state), User.from_wire(json.loads(claimed)) if claimed else None, int(last),
                              int(count), int(closed_at), outcome, case_events(history)))
        return found

    async def case(self, case_id: str) -> Case | None:
        found = await self._cases([case_id])
        return found[0] if found else None

    async def cases(self, unresolved: bool = True, limit: int = 500) -> list[Case]:
        key = self._ck("unresolved") if unresolved else self._ck("base")
        ids: list[Any] = list(await self._call(lambda: self._redis.smembers(key)) if unresolved
                              else await self._call(lambda: self._redis.hkeys(key)))
        found = await self._cases(sorted(_text(i) for i in ids))
        found.sort(key=lambda c: (-c.severity, c.opened, c.id))
        return found[:limit]

    async def case_update(self, case_id: str, action: str, by: User, note: str, now_ms: int) -> Case | None:
        starts, state = CASE_TRANSITIONS[action]
        current = await self.case(case_id)
        if current is None:
            return None
        applied = await self._script(
            "CASE_UPDATE", [self._ck(k) for k in ("state", "claimed", "closed", "history", "user", "unresolved",
                                                   "resolved")],
            [case_id, "," + ",".join(starts) + ",", state, json.dumps(by.wire()) if action == "claim" else "",
             f"{now_ms}|{note}" if action == "resolve" else "", CaseEvent(now_ms, action, by, note).to_json(),
             current.user.id, now_ms])
        return await self.case(case_id) if applied else None

    async def case_raised(self, case_id: str, last_raised: int, now_ms: int) -> Case | None:
        applied = await self._script("CASE_RAISED", [self._ck(k) for k in ("state", "raised", "history")],
                                     [case_id, str(last_raised), now_ms, CaseEvent(now_ms, "raised").to_json()])
        return await self.case(case_id) if applied else None

    async def lease(self, name: str, holder: str, ttl_ms: int) -> bool:
        return bool(await self._script("LEASE", [self._ck("lease:" + name)], [holder, ttl_ms]))
