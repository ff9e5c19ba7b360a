"""The hub service: routes each client frame, and fans each room event out to local members.

A message goes: validate -> sanctions and room mode -> rate limit -> moderate (classified once,
never per recipient) -> store (which assigns `seq` and makes it durable) -> publish on the room's
channel -> every node subscribed to the room puts it in `seq` order and queues the one encoded
frame on each local member's connection. The sender's ack is sent only after the store has the
message, so nothing acknowledged is lost. A message held for review is stored hidden with its
`seq`; the room hears `_skip` for that seq instead, so no node waits for it. The moderation side
(flags, actions, audit) lives in `server.hub.moderation`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import msgpack

from moderation import Label
from server.broker.base import Broker, BrokerUnavailable
from server.config import RoomConfig, Settings
from server.hub.crisis import Crisis, is_case_room
from server.hub.moderation import CONTROL_CHANNEL, MODERATOR_ROLES, Moderation
from server.hub.ordering import Sequencer
from server.hub.peer import Peer
from server.metrics import Metrics
from server.protocol import frames as f
from server.protocol.codec import Encoded, encode_msgpack
from server.protocol.errors import ErrorCode, ProtocolError
from server.protocol.model import Message, User
from server.ratelimit import TokenBucket
from server.store.base import Page, Report, Store, StoreUnavailable

log = logging.getLogger(__name__)

GAP_WAIT = 0.2  # seconds a room waits for a missing seq before reading it from the store
ACCOUNT_CHECK = 2.0  # seconds between checks that connected accounts still exist, unchanged
SKIP = Encoded({"t": "_skip"})  # stands in the order for a held message: delivered to nobody


def channel_for(room: str) -> str:
    """The room's broker channel; the braces are a Redis Cluster hash tag, so every key and channel
    of one room lands in one slot."""
    return f"room:{{{room}}}"


@dataclass(eq=False, slots=True)
class Session:
    """One authenticated connection: its user, and the limits and rooms that belong to it."""

    peer: Peer
    user: User
    joins: TokenBucket
    rooms: set[str] = field(default_factory=set)
    typing_at: dict[str, float] = field(default_factory=dict)
    subjects: tuple[str, ...] = ()  # what a ban binds to: "u:<id>", "l:<lineage>", "d:<device hash>"
    born: int = 0  # ms when the member's first session was made (0: unknown)
    account: str = ""  # facilitators and staff: the account name
    generation: int = 0
    keeps: frozenset[str] = frozenset()  # a facilitator's rooms; empty: all of them
    on_duty: bool = False

    @property
    def moderator(self) -> bool:
        return self.user.role in MODERATOR_ROLES


@dataclass(eq=False, slots=True)
class Member:
    """A session in a room, as that room sees it. While the join is being answered, live frames
    wait in `held` so that none arrives before `joined` or twice."""

    session: Session
    user: User
    held: list[Encoded] | None = field(default_factory=list)

    def push(self, frame: Encoded) -> None:
        if self.held is not None:
            self.held.append(frame)
        else:
            self.session.peer.push(frame)


class LocalRoom:
    """A room as seen from this node: its local members and the order of its messages."""

    __slots__ = ("catching_up", "channel", "epoch", "gap_task", "held", "id", "lock", "members", "order",
                 "subscribed")

    def __init__(self, room_id: str) -> None:
        self.id = room_id
        self.channel = channel_for(room_id)
        self.members: dict[str, Member] = {}  # by peer id
        self.order: Sequencer[Encoded] = Sequencer()
        self.epoch: str | None = None  # of the history this node delivers from
        self.gap_task: asyncio.Task[None] | None = None
        self.catching_up = False  # after a broker outage: live messages wait in `held`
        self.held: list[tuple[int, Encoded]] = []
        self.lock = asyncio.Lock()  # orders subscribe and unsubscribe of the channel
        self.subscribed = False


def _member_seq(frame: Encoded) -> int | None:
    return frame.frame.get("seq") if frame.frame.get("t") == "msg" else None


class Hub:
    def __init__(self, settings: Settings, store: Store, broker: Broker, metrics: Metrics,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.limits = settings.limits
        self.store = store
        self.broker = broker
        self.metrics = metrics
        self._clock = clock
        self._rooms: dict[str, LocalRoom] = {}
        self._by_channel: dict[str, LocalRoom] = {}
        self._housekeeper: asyncio.Task[None] | None = None
        self._sessions_of: dict[str, list[Session]] = {}
        self._moderators: set[Session] = set()
        self._room_configs = {r.id: r for r in settings.rooms}  # looked up on every send
        self._tasks: set[asyncio.Task[Any]] = set()
        self.moderation = Moderation(self)
        self.crisis = Crisis(self)
        m = self.moderation
        self._handlers: dict[type, Callable[[Session, Any], Any]] = {
            f.Join: self.join, f.Leave: self.leave, f.Send: self.send, f.History: self.history,
            f.Typing: self.typing, f.Report: self.report, f.Ping: self.ping, f.Staff: self.crisis.staff,
            f.Mod: m.mod, f.Flags: m.flags, f.Duty: m.duty, f.Help: m.help, f.Members: m.members,
        }

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.broker.connect(self._on_event, self._resume)
        await self.broker.subscribe(CONTROL_CHANNEL)
        await self.moderation.load()
        await self.crisis.start()
        self.spawn(self._check_accounts_forever())
        self._housekeeper = asyncio.get_running_loop().create_task(self._keep_house(), name="peerchat-housekeeping")

    async def stop(self) -> None:
        if self._housekeeper is not None:
            self._housekeeper.cancel()
        for room in self._rooms.values():
            if room.gap_task is not None:
                room.gap_task.cancel()
        for task in list(self._tasks):
            task.cancel()
        await self.crisis.stop()
        await self.broker.close()

    async def _keep_house(self) -> None:
        """Heartbeat this node's presence; take dead nodes' members out of presence, and say so."""
        while True:
            try:
                await self.store.heartbeat()
                for room_id, change in await self.store.reap():
                    await self._publish(room_id, {"t": "presence", "room": room_id, "event": "leave",
                                                  "user": change.user.wire(), "count": change.count})
            except (StoreUnavailable, BrokerUnavailable):
                pass  # the outage is already logged and reported by /readyz
            # Four heartbeats per node timeout: one lost heartbeat never takes a live node's members out.
            await asyncio.sleep(self.settings.node_timeout / 4)

    def _resume(self) -> None:
        """The broker was cut off and is back: what was published meanwhile may never arrive, and
        the store may even have lost the history (a Redis restarted without persistence). Every
        room holds its live messages until it has caught up from the store."""
        loop = asyncio.get_running_loop()
        for room in self._rooms.values():
            if room.order.last is None or room.catching_up:
                continue
            room.catching_up = True
            if room.gap_task is not None:
                room.gap_task.cancel()
            room.gap_task = loop.create_task(self._catch_up(room))

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a background step (a flag, a knock) that must not hold up the frame that caused it."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.warning("background moderation step failed: %s", type(exc).__name__)

    def attach(self, peer: Peer, user: User, *, lineage: str = "", device: str | None = None, born: int = 0,
               account: str = "", generation: int = 0, keeps: frozenset[str] = frozenset()) -> Session:
        now = self._clock()
        subjects = tuple(s for s in ("u:" + user.id, "l:" + lineage if lineage and lineage != user.id else "",
                                     "d:" + device if device else "") if s)
        session = Session(peer, user, TokenBucket(self.limits.joins_per_minute / 60.0,
                                                  self.limits.joins_per_minute, now),
                          subjects=subjects, born=born, account=account, generation=generation, keeps=keeps)
        self._sessions_of.setdefault(user.id, []).append(session)
        if session.moderator:
            self._moderators.add(session)
        self.metrics.sessions.inc()
        return session

    async def start_duty(self, session: Session) -> None:
        """Facilitators and staff are on duty when they connect, until they say otherwise."""
        if session.moderator:
            await self.moderation.set_duty(session, True)
            await self.crisis.attach(session)

    async def detach(self, session: Session) -> None:
        for room_id in list(session.rooms):
            await self._leave(session, room_id)
        if session.moderator:
            self._moderators.discard(session)
            try:
                await self.crisis.detach(session)
            except StoreUnavailable:
                log.warning("user %s: staff presence not cleared: store unavailable", session.user.id)
            if session.on_duty:
                try:
                    await self.moderation.set_duty(session, False)
                except StoreUnavailable:
                    log.warning("user %s: duty not cleared: store unavailable", session.user.id)
        sessions = self._sessions_of.get(session.user.id, [])
        if session in sessions:
            sessions.remove(session)
        if not sessions:
            self._sessions_of.pop(session.user.id, None)
        self.metrics.sessions.dec()

    def sessions_of(self, user_id: str) -> list[Session]:
        return list(self._sessions_of.get(user_id, ()))

    def moderators(self) -> list[Session]:
        return list(self._moderators)

    async def _check_accounts_forever(self) -> None:
        """End the sessions of accounts removed, or whose password changed, since they connected.

        Polled (only while facilitators or staff are connected, one store read per account) so that
        `peerchat users remove|passwd` takes effect without the command reaching the server."""
        while True:
            await asyncio.sleep(ACCOUNT_CHECK)
            by_name: dict[str, list[Session]] = {}
            for session in self._moderators:
                by_name.setdefault(session.account, []).append(session)
            for name, sessions in by_name.items():
                try:
                    account = await self.store.account(name)
                except StoreUnavailable:
                    continue
                for session in sessions:
                    if (account is None or account.id != session.user.id
                            or account.generation != session.generation):
                        log.info("user %s: session ended, the account changed", session.user.id)
                        session.peer.push(Encoded(f.error(ErrorCode.UNAUTHORIZED,
                                                          "the account changed; log in again")))
                        session.peer.close(4401, "the account changed")

    async def handle(self, session: Session, frame: f.ClientFrame) -> dict[str, Any] | None:
        """Run one client frame; the reply to send, if any. Raises `ProtocolError`."""
        handler = self._handlers.get(type(frame))
        if handler is None:  # a hello after the handshake
            raise ProtocolError(ErrorCode.BAD_FRAME, "already authenticated")
        try:
            reply: dict[str, Any] | None = await handler(session, frame)
        except (StoreUnavailable, BrokerUnavailable) as exc:
            raise ProtocolError(ErrorCode.UNAVAILABLE, "the service is briefly unavailable; retry") from exc
        return reply

    # -- rooms -----------------------------------------------------------------------------------

    def room_config(self, room_id: str) -> RoomConfig:
        room = self._room_configs.get(room_id)
        if room is None and is_case_room(room_id):
            return self.crisis.room_config(room_id)
        if room is None:
            raise ProtocolError(ErrorCode.NO_SUCH_ROOM, "no such room")
        return room

    def _member(self, session: Session, room_id: str) -> Member:
        room = self._rooms.get(room_id)
        member = room.members.get(session.peer.id) if room is not None else None
        if member is None or member.held is not None:
            self.room_config(room_id)
            raise ProtocolError(ErrorCode.NOT_IN_ROOM, "join the room first")
        return member

    async def _subscribe(self, room: LocalRoom) -> None:
        async with room.lock:
            if not room.subscribed:
                await self.broker.subscribe(room.channel)
                room.subscribed = True
                self._by_channel[room.channel] = room

    async def _release(self, room: LocalRoom) -> None:
        """Forget a room this node has no members in any more, and stop hearing its channel."""
        async with room.lock:
            if room.members or self._rooms.get(room.id) is not room:
                return
            del self._rooms[room.id]
            self._by_channel.pop(room.channel, None)
            if room.gap_task is not None:
                room.gap_task.cancel()
            if room.subscribed:
                room.subscribed = False
                try:
                    await self.broker.unsubscribe(room.channel)
                except BrokerUnavailable:
                    log.warning("could not unsubscribe from room %s: broker unavailable", room.id)

    async def join(self, session: Session, frame: f.Join) -> None:
        if is_case_room(frame.room):
            await self.crisis.check_join(session, frame.room)
        config = self.room_config(frame.room)
        room = self._rooms.get(frame.room)
        if room is not None and session.peer.id in room.members:
            raise ProtocolError(ErrorCode.BAD_FRAME, "already in this room; leave it first")
        if not session.joins.take(self._clock()):
            raise ProtocolError(ErrorCode.RATE_LIMITED, "too many joins; wait a minute")
        self.moderation.check_join(session, config)
        self.moderation.join_wave(session, frame.room, self._clock())
        if room is None:
            room = self._rooms[frame.room] = LocalRoom(frame.room)
        member = Member(session, session.user)
        room.members[session.peer.id] = member
        try:
            await self._subscribe(room)
            change = await self.store.presence_add(room.id, session.user, session.peer.id)
            member.user = change.user
            page, reset = await self._join_page(room.id, frame)
            members = await self.store.presence_members(room.id)
        except BaseException:
            room.members.pop(session.peer.id, None)
            try:
                await self.store.presence_remove(room.id, session.user.id, session.peer.id)
            finally:
                await self._release(room)
            raise
        session.rooms.add(room.id)
        if room.epoch is None:
            room.epoch = page.epoch
        for ready in room.order.start_at(page.last_seq):
            self._fan_out(room, ready)
        joined = f.reply("joined", frame.rid, room=room.id, seq=page.last_seq, epoch=page.epoch,
                         history=[m.wire() for m in page.messages], members=[u.wire() for u in members],
                         user=member.user.wire())
        if page.more:
            joined["more"] = True
        if reset:
            joined["reset"] = True
        if page.truncated:
            joined["truncated"] = True
        session.peer.push(Encoded(joined))
        seen = max(page.last_seq, page.messages[-1].seq if page.messages else 0)
        held, member.held = member.held or [], None
        for encoded in held:
            seq = _member_seq(encoded)
            if seq is None or seq > seen:
                session.peer.push(encoded)
        if change.changed:
            await self._publish(room.id, {"t": "presence", "room": room.id, "event": "join",
                                          "user": member.user.wire(), "count": change.count})

    async def _join_page(self, room_id: str, frame: f.Join) -> tuple[Page, bool]:
        """History for a join: all after `since` when the client's epoch is the room's; else the
        latest, with `reset` when the client had history from an epoch that is gone."""
        if frame.since is None:
            return await self.store.latest(room_id, self.settings.history_page), False
        page = await self.store.since(room_id, frame.since, self.settings.since_cap)
        if frame.epoch is not None and frame.epoch != page.epoch:
            return await self.store.latest(room_id, self.settings.history_page), True
        return page, False

    async def leave(self, session: Session, frame: f.Leave) -> dict[str, Any]:
        self._member(session, frame.room)
        await self._leave(session, frame.room)
        return f.reply("left", frame.rid, room=frame.room)

    async def _leave(self, session: Session, room_id: str) -> None:
        session.rooms.discard(room_id)
        session.typing_at.pop(room_id, None)
        room = self._rooms.get(room_id)
        if room is None or room.members.pop(session.peer.id, None) is None:
            return
        try:
            change = await self.store.presence_remove(room_id, session.user.id, session.peer.id)
            if change is not None and change.changed:
                await self._publish(room_id, {"t": "presence", "room": room_id, "event": "leave",
                                              "user": change.user.wire(), "count": change.count})
        except (StoreUnavailable, BrokerUnavailable):
            log.warning("leave of user %s from room %s not announced: backend unavailable",
                        session.user.id, room_id)
        finally:
            if not room.members:
                await self._release(room)

    # -- messages --------------------------------------------------------------------------------

    async def send(self, session: Session, frame: f.Send) -> dict[str, Any]:
        member = self._member(session, frame.room)
        now = self._clock()
        self.moderation.check_send(session, frame.room, now)
        wait = await self.store.take(f"send:{session.user.id}", self.limits.send_rate, self.limits.send_burst)
        if wait:
            raise ProtocolError(ErrorCode.RATE_LIMITED, f"sending too fast; wait {wait:.1f} s")
        config = self.room_config(frame.room)
        if is_case_room(frame.room):
            # The private crisis room: only its two parties, only while claimed, and not screened
            # (see server.hub.crisis for why).
            await self.crisis.check_send(session, frame.room)
            verdict = None
        else:
            verdict = self.moderation.screen(session, config, frame.text, now)
            if verdict is not None:
                self.crisis.resources(session, config, verdict)
        held = verdict is not None and verdict.hold(config.policy)
        # Shielded: once accepted, a message is stored and published even if its sender goes away.
        message = await asyncio.shield(self._store_and_publish(frame.room, member.user, frame.text,
                                                               frame.nonce, verdict, held))
        return f.reply("ack", frame.rid, room=frame.room, seq=message.seq, status="held" if held else "sent")

    async def _store_and_publish(self, room_id: str, user: User, text: str, nonce: str | None,
                                 verdict: Any = None, held: bool = False) -> Message:
        appended = await self.store.append(room_id, user, text, int(time.time() * 1000), nonce, hidden=held)
        message = appended.message
        # A duplicate is published again: receivers drop a seq they have delivered, and one that a
        # broker outage kept from them arrives now.
        if held:
            await self.broker.publish(channel_for(room_id),
                                      encode_msgpack({"t": "_skip", "room": room_id, "seq": message.seq}))
        else:
            await self.broker.publish(channel_for(room_id), encode_msgpack(message.wire()))
        if not appended.duplicate:
            self.metrics.messages.inc()
            if held:
                self.metrics.held.inc()
            if verdict is not None:
                if verdict.label is Label.CRISIS:
                    self.spawn(self.crisis.open_case(message, verdict))
                await self.moderation.flag_message(message, verdict, held)
        return message

    async def publish(self, room_id: str, frame: dict[str, Any]) -> None:
        await self._publish(room_id, frame)

    async def history(self, session: Session, frame: f.History) -> dict[str, Any]:
        self._member(session, frame.room)
        messages = await self.store.before(frame.room, frame.before, frame.limit)
        return f.reply("history", frame.rid, room=frame.room, messages=[m.wire() for m in messages])

    async def typing(self, session: Session, frame: f.Typing) -> None:
        member = self._member(session, frame.room)
        now = self._clock()
        if now - session.typing_at.get(frame.room, -1e9) < self.limits.typing_interval:
            return  # throttled: typing is a hint, dropping one loses nothing
        session.typing_at[frame.room] = now
        await self._publish(frame.room, {"t": "typing", "room": frame.room, "user": member.user.wire()})

    async def report(self, session: Session, frame: f.Report) -> dict[str, Any]:
        self._member(session, frame.room)
        message = await self.store.message(frame.room, frame.seq)
        if message is None:
            raise ProtocolError(ErrorCode.BAD_FRAME, "no such message in this room")
        await self.store.add_report(Report(frame.room, frame.seq, session.user.id, frame.reason,
                                           int(time.time() * 1000)))
        self.metrics.reports.inc()
        await self.moderation.flag_report(session.user, message, frame.reason)
        return f.reply("ok", frame.rid)

    async def ping(self, session: Session, frame: f.Ping) -> dict[str, Any]:
        return f.reply("pong", frame.rid)

    # -- fan-out ---------------------------------------------------------------------------------

    async def _publish(self, room_id: str, frame: dict[str, Any]) -> None:
        await self.broker.publish(channel_for(room_id), encode_msgpack(frame))

    def _on_event(self, channel: str, data: bytes) -> None:
        """Called by the broker for each event on a subscribed room channel or the control channel."""
        if channel == CONTROL_CHANNEL:
            try:
                self.moderation.on_control(data)
            except Exception:
                log.exception("dropped a malformed control event")
            return
        room = self._by_channel.get(channel)
        if room is None:
            return
        try:
            frame = msgpack.unpackb(data, raw=False)
            encoded = Encoded(frame, data)  # the broker payload is the client frame: no re-encoding
            if frame["t"] == "msg":
                if room.catching_up:
                    room.held.append((frame["seq"], encoded))
                    return
                for ready in room.order.offer(frame["seq"], encoded):
                    self._fan_out(room, ready)
                if room.order.waiting and room.gap_task is None:
                    room.gap_task = asyncio.get_running_loop().create_task(self._fill_gap(room))
            elif frame["t"] == "_skip":
                if room.catching_up:
                    room.held.append((frame["seq"], SKIP))
                    return
                for ready in room.order.offer(frame["seq"], SKIP):
                    self._fan_out(room, ready)
            elif frame["t"] == "_release":
                self._fan_out(room, Encoded(frame["msg"]))
            elif frame["t"] == "typing":
                sender = frame["user"]["id"]
                for member in room.members.values():
                    if member.session.user.id != sender:
                        member.push(encoded)
            else:
                self._fan_out(room, encoded)
        except Exception:
            log.exception("dropped a malformed event on room %s", room.id)

    def _fan_out(self, room: LocalRoom, encoded: Encoded) -> None:
        if encoded is SKIP:
            return
        members = room.members
        for member in members.values():
            member.push(encoded)
        self.metrics.deliveries.inc(len(members))

    def _deliver(self, room: LocalRoom, messages: list[Message]) -> bool:
        """Offer messages read from the store to the room's order; whether any was delivered."""
        delivered = False
        for message in messages:
            for ready in room.order.offer(message.seq, Encoded(message.wire())):
                self._fan_out(room, ready)
                delivered = True
        return delivered

    async def _fill_gap(self, room: LocalRoom) -> None:
        """A seq is missing: wait a moment for it, then read it from the store; skip a seq the
        store never had (a write that failed after its number was taken)."""
        try:
            await asyncio.sleep(GAP_WAIT)
            while room.order.waiting and room.order.last is not None:
                page = await self.store.since(room.id, room.order.last, self.settings.since_cap)
                if not self._deliver(room, page.messages) and not page.more:
                    for ready in room.order.give_up_gap():
                        self._fan_out(room, ready)
        except StoreUnavailable:
            log.warning("room %s: missing messages not read; members get them when they resume", room.id)
        finally:
            room.gap_task = None

    async def _catch_up(self, room: LocalRoom) -> None:
        """After a broker outage: deliver what the store has after the last delivered seq, or, when
        the history itself was lost, start the room afresh and tell its members (`joined` with
        `reset`); then the live messages held meanwhile."""
        backoff = 0.1
        try:
            while self._rooms.get(room.id) is room:
                try:
                    page = await self.store.since(room.id, room.order.last or 0, self.settings.since_cap)
                    if page.epoch != room.epoch:
                        await self._reset_room(room)
                    else:
                        self._deliver(room, page.messages)
                        if page.more:
                            continue
                    break
                except StoreUnavailable:
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
            held, room.held = room.held, []
            room.catching_up = False
            for seq, encoded in sorted(held, key=lambda item: item[0]):
                for ready in room.order.offer(seq, encoded):
                    self._fan_out(room, ready)
        finally:
            room.gap_task = None
        if room.order.waiting:  # a held-for-review seq is not in the history read: skip past it
            room.gap_task = asyncio.get_running_loop().create_task(self._fill_gap(room))

    async def _reset_room(self, room: LocalRoom) -> None:
        page = await self.store.latest(room.id, self.settings.history_page)
        log.warning("room %s: its history was lost (new epoch); members start afresh", room.id)
        room.epoch = page.epoch
        room.order = Sequencer()
        room.order.start_at(page.last_seq)
        history = [m.wire() for m in page.messages]
        for member in room.members.values():
            member.push(Encoded({"t": "joined", "room": room.id, "seq": page.last_seq, "epoch": page.epoch,
                                 "history": history, "members": [], "user": member.user.wire(), "reset": True}))
