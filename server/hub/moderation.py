"""The hub's moderation side: screening messages, flags to facilitators, actions, and the audit log.

Two rules this module keeps:

- State that must outlive a process or be the same on every node (sanctions, room modes, flags,
  the audit log) is written to the `Store` first; every node keeps a copy of sanctions and room
  modes in memory, because every send checks them, and hears each change as a control event on
  the broker's `CONTROL_CHANNEL`. A node that starts later loads the copy from the store.
- Whatever must reach a user wherever they are connected (a notice, a kick, a flag for the
  facilitators) travels as a control event; each node delivers it to its own connections. Events
  meant for a room's members travel on the room's channel as usual.

Control events are MessagePack maps `{"t": "_ctl", "op": ...}`; they never reach a client as such.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import msgpack

from moderation import Label, Verdict, classify
from server.config import RoomConfig
from server.hub.recent import RecentTexts
from server.protocol import frames as f
from server.protocol.codec import Encoded, encode_msgpack
from server.protocol.errors import CloseCode, ErrorCode, ProtocolError
from server.protocol.model import Message, User
from server.store.base import AuditEntry, Flag, RoomMode, Sanction

if TYPE_CHECKING:
    from server.hub.service import Hub, Session

log = logging.getLogger(__name__)

CONTROL_CHANNEL = "peerchat:control"
DUTY_ROOM = "_duty"  # presence "room" of the facilitators and staff on duty, deployment-wide
EXCERPT_CHARS = 300
ADMIT_SECONDS = 3600  # an admission to a locked room lasts this long
MODERATOR_ROLES = frozenset({"facilitator", "staff"})

# Neutral words for the member on the other side of an action; clients show `message` for codes
# they do not know.
NOTICES = {
    "message_removed": "A facilitator removed one of your messages: it did not fit this room's guidelines.",
    "message_declined": "Your message was not posted: {why}. Please read the room's guidelines.",
    "message_released": "A facilitator looked at your message and posted it.",
    "muted": "A facilitator paused your messages{where}{how_long}.",
    "unmuted": "You can send messages again.",
    "kicked": "A facilitator asked you to leave{where}. You can come back later.",
    "banned": "You can no longer take part{where}{how_long}.",
    "slow_mode": "Slow mode: one message every {seconds} s in this room.",
    "slow_mode_off": "Slow mode is off.",
    "room_locked": "This room is paused by the facilitators: only they can post for now.",
    "room_unlocked": "This room is open again.",
    "admitted": "A facilitator let you in. You can join the room now.",
    "report_reviewed": "Thank you for your report: a facilitator has looked at it.",
}
DECLINED_WHY = {
    "contact": "this room does not allow sharing contact details",
    "sourcing": "this room does not allow talk of getting or selling substances",
    "solicitation": "this room does not allow asking for money or favours",
    "harassment": "this room does not allow messages aimed at other members",
    "spam": "this room does not allow advertising or links of that kind",
}


def notice(code: str, room: str | None = None, words: dict[str, Any] | None = None,
           **fields: Any) -> dict[str, Any]:
    """`{"t": "notice", "code", "message", "room"?, ...fields}`; `words` fill in the message."""
    text = NOTICES[code].format(**{"why": "it did not fit this room's guidelines", "where": "",
                                   "how_long": "", "seconds": fields.get("seconds", 0), **(words or {})})
    frame: dict[str, Any] = {"t": "notice", "code": code, "message": text}
    if room is not None:
        frame["room"] = room
    frame.update(fields)
    return frame


def _now_ms() -> int:
    return int(time.time() * 1000)


class Moderation:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.store = hub.store
        self.settings = hub.settings
        self.recent = RecentTexts()
        self._sanctions: dict[tuple[str, str, str], Sanction] = {}
        self._modes: dict[str, RoomMode] = {}
        self._last_sent: dict[tuple[str, str], float] = {}  # (room, user) -> monotonic, for slow mode

    # -- lifecycle -------------------------------------------------------------------------------

    async def load(self) -> None:
        self._sanctions = {(s.kind, s.subject, s.room): s for s in await self.store.sanctions(_now_ms())}
        self._modes = await self.store.room_modes()
        # The engine compiles its lexicons and each room policy's matchers on first use, a few hundred
        # ms: pay that at start, not on the first message of a member who may be in crisis.
        for room in self.settings.rooms:
            classify("warming up", room.policy)

    # -- checks on the hot path: dictionary lookups only --------------------------------------------

    def mode(self, room: str) -> RoomMode:
        return self._modes.get(room) or RoomMode()

    def sanction(self, kind: str, session: Session, room: str) -> Sanction | None:
        if not self._sanctions:
            return None
        now = _now_ms()
        for subject in session.subjects:
            for where in (room, ""):
                s = self._sanctions.get((kind, subject, where))
                if s is not None and (s.until == 0 or s.until > now):
                    return s
        return None

    def check_join(self, session: Session, room: RoomConfig) -> None:
        if session.moderator:
            return
        ban = self.sanction("ban", session, room.id)
        if ban is not None:
            raise ProtocolError(ErrorCode.BANNED, "you can no longer take part here")
        if room.min_session_age and session.born:
            age = time.time() - session.born / 1000
            if age < room.min_session_age:
                raise ProtocolError(ErrorCode.FORBIDDEN, "this room welcomes new visitors after a few "
                                    f"minutes; try again in {int(room.min_session_age - age) + 1} s")
        if self.mode(room.id).locked and self.sanction("admit", session, room.id) is None:
            self.hub.spawn(self._knock(session, room.id))
            raise ProtocolError(ErrorCode.ROOM_LOCKED, "this room is paused; the facilitators were asked "
                                "to let you in")

    def check_send(self, session: Session, room_id: str, now: float) -> None:
        if session.moderator:
            return
        if self.sanction("ban", session, room_id) is not None:
            raise ProtocolError(ErrorCode.BANNED, "you can no longer take part here")
        if self.sanction("mute", session, room_id) is not None:
            raise ProtocolError(ErrorCode.MUTED, "a facilitator paused your messages in this room")
        mode = self._modes.get(room_id)
        if mode is None:
            return
        if mode.locked:
            raise ProtocolError(ErrorCode.ROOM_LOCKED,
                                "this room is paused: only facilitators can post for now")
        if mode.slow:
            key = (room_id, session.user.id)
            wait = self._last_sent.get(key, -1e9) + mode.slow - now
            if wait > 0:
                raise ProtocolError(ErrorCode.RATE_LIMITED,
                                    f"slow mode: one message every {mode.slow} s here; wait {wait:.0f} s")
            self._last_sent[key] = now

    # -- screening -------------------------------------------------------------------------------

    def screen(self, session: Session, room: RoomConfig, text: str, now: float) -> Verdict | None:
        """Classify once per message (never per recipient), with the member's last few lines."""
        if session.moderator:
            return None
        user_id = session.user.id
        verdict = classify(text, room.policy, self.recent.context(room.id, user_id, now))
        self.recent.add(room.id, user_id, text, now)
        return verdict if verdict.flagged else None

    async def flag_message(self, message: Message, verdict: Verdict, held: bool) -> None:
        category = "crisis" if verdict.label is Label.CRISIS else "boundary"
        await self.raise_flag(Flag(message.room, message.seq, category, verdict.rules, verdict.severity,
                                   message.text[:EXCERPT_CHARS], message.user, message.ts, held=held))

    async def flag_report(self, reporter: User, message: Message, reason: str | None) -> None:
        await self.raise_flag(Flag(message.room, message.seq, "report", ("report",), 1,
                                   message.text[:EXCERPT_CHARS], message.user, _now_ms(),
                                   reporter=reporter.id, reason=reason))

    async def raise_flag(self, flag: Flag) -> Flag:
        flag = await self.store.flag_add(flag)
        self.hub.metrics.flags.labels(flag.category).inc()
        await self._audit("system", "flag_raised", flag.room, flag.seq, f"flag:{flag.id}",
                          f"{flag.category} {','.join(flag.rules)} severity {flag.severity}"
                          + (" held" if flag.held else ""))
        await self._publish_flag(flag)
        return flag

    async def _publish_flag(self, flag: Flag) -> None:
        on_duty = [u.id for u in await self.store.presence_members(DUTY_ROOM)]
        await self._control({"op": "flag", "flag": flag.wire(), "on_duty": on_duty})

    def join_wave(self, session: Session, room_id: str, now: float) -> None:
        """Count joins of fresh sessions; a burst of them raises a flag by itself."""
        if session.moderator or not session.born:
            return
        if time.time() - session.born / 1000 > self.settings.fresh_session_age:
            return
        self.hub.spawn(self._count_fresh_join(session, room_id))

    async def _count_fresh_join(self, session: Session, room_id: str) -> None:
        """Fresh joins draw on a bucket of `join_wave - 1` refilled at `join_wave` per window; the join
        that finds it empty is a wave. The buckets are the store's, so a raid spread over several
        nodes is counted as one, and a second bucket lets one flag per window through."""
        window, wave = self.settings.join_wave_window, self.settings.join_wave
        if not await self.store.take(f"joinwave:{room_id}", wave / window, max(1, wave - 1)):
            return
        if await self.store.take(f"joinwave-flag:{room_id}", 1 / window, 1):
            return
        await self.raise_flag(Flag(
            room_id, 0, "boundary", ("raid.join_wave",), 2,
            f"{wave} or more new sessions joined within {int(window)} s", session.user, _now_ms()))

    async def _knock(self, session: Session, room_id: str) -> None:
        await self._control({"op": "knock", "room": room_id, "user": session.user.wire()})

    # -- frames from facilitators and staff ------------------------------------------------------

    def _may(self, session: Session, room: str | None) -> None:
        if not session.moderator:
            raise ProtocolError(ErrorCode.FORBIDDEN, "this needs a facilitator or staff account")
        if room is not None:
            self.hub.room_config(room)
        if session.user.role == "staff" or not session.keeps:
            return
        if room is None or room not in session.keeps:
            raise ProtocolError(ErrorCode.FORBIDDEN, "you are not a facilitator of this room")

    @staticmethod
    def _may_any(session: Session) -> None:
        if not session.moderator:
            raise ProtocolError(ErrorCode.FORBIDDEN, "this needs a facilitator or staff account")

    def keeps(self, session: Session, room: str) -> bool:
        return session.user.role == "staff" or not session.keeps or room in session.keeps

    async def flags(self, session: Session, frame: f.Flags) -> dict[str, Any]:
        self._may(session, frame.room)
        flags = await self.store.flags(frame.room, open_only=True)
        return f.reply("flags", frame.rid, flags=[x.wire() for x in flags if self.keeps(session, x.room)])

    async def duty(self, session: Session, frame: f.Duty) -> dict[str, Any]:
        self._may_any(session)
        await self.set_duty(session, frame.on)
        return f.reply("ok", frame.rid, on=frame.on)

    async def set_duty(self, session: Session, on: bool) -> None:
        session.on_duty = on
        if on:
            await self.store.presence_add(DUTY_ROOM, session.user, session.peer.id)
        else:
            await self.store.presence_remove(DUTY_ROOM, session.user.id, session.peer.id)

    async def help(self, session: Session, frame: f.Help) -> dict[str, Any]:
        self._may_any(session)
        await self._control({"op": "help", "from": session.user.wire(), "room": frame.room,
                             "reason": frame.reason, "ts": _now_ms()})
        await self._audit(session.account, "help", frame.room or "", 0, "", "")
        return f.reply("ok", frame.rid)

    async def members(self, session: Session, frame: f.Members) -> dict[str, Any]:
        self._may(session, frame.room)
        since = _now_ms() - int(self.settings.flag_recent_minutes * 60_000)
        counts: dict[str, int] = {}
        for flag in await self.store.flags(frame.room, open_only=False, since_ms=since, limit=1000):
            if flag.category != "report" or flag.state != "dismissed":
                counts[flag.user.id] = counts.get(flag.user.id, 0) + 1
        members = [{**u.wire(), "flagged": counts.get(u.id, 0)}
                   for u in await self.store.presence_members(frame.room)]
        return f.reply("members", frame.rid, room=frame.room, members=members)

    async def mod(self, session: Session, frame: f.Mod) -> dict[str, Any]:
        flag = None
        if frame.action in ("release", "dismiss"):
            self._may_any(session)
            flag = await self._decide(session, frame)
            return f.reply("ok", frame.rid, flag=flag.wire())
        self._may(session, frame.room)
        action = getattr(self, "_do_" + frame.action)
        detail = await action(session, frame)
        if frame.flag is not None:
            decided = await self.store.flag_decide(frame.flag, "actioned", session.account, _now_ms())
            if decided is not None:
                await self._decided(decided)
        await self._audit(session.account, frame.action, frame.room or "", frame.seq or 0,
                          frame.user or (f"flag:{frame.flag}" if frame.flag else ""), detail)
        return f.reply("ok", frame.rid)

    async def _decide(self, session: Session, frame: f.Mod) -> Flag:
        assert frame.flag is not None
        pending = next((x for x in await self.store.flags(None, open_only=True, limit=10_000)
                        if x.id == frame.flag), None)
        if pending is None:
            raise ProtocolError(ErrorCode.BAD_FRAME, "no such open flag: it may have been decided already")
        if not self.keeps(session, pending.room):
            raise ProtocolError(ErrorCode.FORBIDDEN, "you are not a facilitator of this room")
        state = "released" if frame.action == "release" else "dismissed"
        # Decided atomically in the store: of two facilitators deciding at once, on any nodes, one wins.
        decided = await self.store.flag_decide(frame.flag, state, session.account, _now_ms())
        if decided is None:
            raise ProtocolError(ErrorCode.BAD_FRAME, "no such open flag: it may have been decided already")
        if decided.held:
            if state == "released":
                message = await self.store.set_hidden(decided.room, decided.seq, False)
                if message is not None:
                    await self.hub.publish(decided.room, {"t": "_release", "msg": message.wire()})
                    await self._notify(decided.user.id,
                                       notice("message_released", decided.room, seq=decided.seq))
            else:
                why = DECLINED_WHY.get(next((r.split(".")[0] for r in decided.rules
                                             if r.split(".")[0] in DECLINED_WHY), ""),
                                       "it did not fit this room's guidelines")
                await self._notify(decided.user.id, notice("message_declined", decided.room, {"why": why},
                                                           seq=decided.seq))
        await self._decided(decided)
        await self._audit(session.account, frame.action, decided.room, decided.seq, f"flag:{decided.id}",
                          frame.reason or "")
        return decided

    async def _decided(self, flag: Flag) -> None:
        """Tell the facilitators the flag is closed, and a reporter that someone read the report."""
        await self._publish_flag(flag)
        if flag.reporter:
            await self._notify(flag.reporter, notice("report_reviewed", flag.room, seq=flag.seq))

    # -- the actions -----------------------------------------------------------------------------

    async def _do_hide(self, session: Session, frame: f.Mod) -> str:
        assert frame.room is not None and frame.seq is not None
        message = await self.store.set_hidden(frame.room, frame.seq, True)
        if message is None:
            raise ProtocolError(ErrorCode.BAD_FRAME, "no such message in this room")
        await self.hub.publish(frame.room, {"t": "removed", "room": frame.room, "seq": frame.seq})
        await self._notify(message.user.id, notice("message_removed", frame.room, seq=frame.seq))
        return frame.reason or ""

    async def _sanction(self, session: Session, kind: str, frame: f.Mod, seconds: int | None) -> Sanction:
        assert frame.user is not None
        until = _now_ms() + seconds * 1000 if seconds else 0
        sanction = Sanction(kind, "u:" + frame.user, frame.room or "", until, frame.reason or "",
                            session.account, frame.user)
        await self.store.sanction_put(sanction)
        await self._control({"op": "sanction", "sanction": asdict(sanction)})
        return sanction

    @staticmethod
    def _where(room: str | None) -> str:
        return " in this room" if room else ""

    @staticmethod
    def _until(until: int) -> str:
        if not until:
            return ""
        minutes = max(1, round((until - _now_ms()) / 60_000))
        return f" for {minutes} minute{'s' if minutes != 1 else ''}"

    async def _do_mute(self, session: Session, frame: f.Mod) -> str:
        s = await self._sanction(session, "mute", frame, frame.seconds)
        words = {"where": self._where(frame.room), "how_long": self._until(s.until)}
        extra = {"until": s.until} if s.until else {}
        await self._notify(s.origin, notice("muted", frame.room, words, **extra))
        return f"{frame.seconds or 0}s {frame.reason or ''}".strip()

    async def _lift(self, kind: str, frame: f.Mod) -> None:
        assert frame.user is not None
        room = frame.room or ""
        lifted = [s for s in self._sanctions.values()
                  if s.kind == kind and s.room == room and s.origin == frame.user]
        subjects = {s.subject for s in lifted} | {"u:" + frame.user}
        for subject in subjects:
            await self.store.sanction_remove(kind, subject, room)
            await self._control({"op": "lift", "kind": kind, "subject": subject, "room": room})

    async def _do_unmute(self, session: Session, frame: f.Mod) -> str:
        await self._lift("mute", frame)
        await self._notify(frame.user or "", notice("unmuted", frame.room))
        return ""

    async def _do_kick(self, session: Session, frame: f.Mod) -> str:
        kicked = notice("kicked", frame.room, {"where": self._where(frame.room)})
        await self._control({"op": "close", "user": frame.user, "frame": kicked})
        return frame.reason or ""

    async def _do_ban(self, session: Session, frame: f.Mod) -> str:
        s = await self._sanction(session, "ban", frame, frame.seconds)
        await self._control({"op": "close", "user": frame.user,
                             "frame": notice("banned", frame.room, {"where": self._where(frame.room),
                                                                    "how_long": self._until(s.until)})})
        return f"{frame.seconds or 0}s {frame.reason or ''}".strip()

    async def _do_unban(self, session: Session, frame: f.Mod) -> str:
        await self._lift("ban", frame)
        return ""

    async def _set_mode(self, room: str, mode: RoomMode) -> None:
        await self.store.room_mode_put(room, mode)
        await self._control({"op": "mode", "room": room, "slow": mode.slow, "locked": mode.locked})

    async def _do_slow(self, session: Session, frame: f.Mod) -> str:
        assert frame.room is not None and frame.seconds is not None
        mode = self.mode(frame.room)
        await self._set_mode(frame.room, RoomMode(frame.seconds, mode.locked))
        if frame.seconds:
            await self.hub.publish(frame.room, notice("slow_mode", frame.room, seconds=frame.seconds))
        else:
            await self.hub.publish(frame.room, notice("slow_mode_off", frame.room))
        return f"{frame.seconds}s"

    async def _do_lock(self, session: Session, frame: f.Mod) -> str:
        assert frame.room is not None
        await self._set_mode(frame.room, RoomMode(self.mode(frame.room).slow, True))
        await self.hub.publish(frame.room, notice("room_locked", frame.room))
        return frame.reason or ""

    async def _do_unlock(self, session: Session, frame: f.Mod) -> str:
        assert frame.room is not None
        await self._set_mode(frame.room, RoomMode(self.mode(frame.room).slow, False))
        await self.hub.publish(frame.room, notice("room_unlocked", frame.room))
        return ""

    async def _do_admit(self, session: Session, frame: f.Mod) -> str:
        await self._sanction(session, "admit", frame, ADMIT_SECONDS)
        await self._notify(frame.user or "", notice("admitted", frame.room))
        return ""

    # -- audit -----------------------------------------------------------------------------------

    async def _audit(self, actor: str, action: str, room: str, seq: int, target: str, detail: str) -> None:
        await self.store.audit_add(AuditEntry(_now_ms(), actor, action, room, seq, target, detail))

    # -- control events: out and in ----------------------------------------------------------------

    async def _control(self, event: dict[str, Any]) -> None:
        await self.hub.broker.publish(CONTROL_CHANNEL, encode_msgpack({"t": "_ctl", **event}))

    async def _notify(self, user_id: str, frame: dict[str, Any]) -> None:
        await self._control({"op": "notice", "user": user_id, "frame": frame})

    def on_control(self, data: bytes) -> None:
        """A control event from any node (this one included); runs synchronously, never blocks."""
        event = msgpack.unpackb(data, raw=False)
        op = event.get("op")
        hub = self.hub
        if op == "flag":
            flag = event["flag"]
            encoded = Encoded({"t": "flag", "flag": flag})
            eligible = [s for s in hub.moderators() if self.keeps(s, flag["room"])]
            on_duty = set(event.get("on_duty") or ())
            chosen = [s for s in eligible if s.on_duty and s.user.id in on_duty] or eligible
            for session in chosen:
                session.peer.push(encoded)
        elif op == "notice":
            encoded = Encoded(event["frame"])
            for session in hub.sessions_of(event["user"]):
                session.peer.push(encoded)
        elif op == "close":
            encoded = Encoded(event["frame"])
            for session in hub.sessions_of(event["user"]):
                session.peer.push(encoded)
                session.peer.close(CloseCode.FORBIDDEN, "removed by a facilitator")
        elif op == "sanction":
            sanction = Sanction(**event["sanction"])
            self._sanctions[(sanction.kind, sanction.subject, sanction.room)] = sanction
            if sanction.kind == "ban" and sanction.subject.startswith("u:"):
                self._bind_ban(sanction)
        elif op == "lift":
            self._sanctions.pop((event["kind"], event["subject"], event["room"]), None)
        elif op == "mode":
            self._modes[event["room"]] = RoomMode(int(event["slow"]), bool(event["locked"]))
        elif op == "help":
            frame = Encoded({"t": "help", "from": event["from"], "room": event.get("room"),
                             "reason": event.get("reason"), "ts": event["ts"]})
            for session in hub.moderators():
                if session.on_duty and session.user.id != event["from"]["id"]:
                    session.peer.push(frame)
        elif op == "knock":
            frame = Encoded({"t": "knock", "room": event["room"], "user": event["user"]})
            for session in hub.moderators():
                if self.keeps(session, event["room"]):
                    session.peer.push(frame)
        elif op == "case":
            hub.crisis.on_control(event)
        elif op == "account":
            for session in hub.sessions_of(event["user"]):
                session.peer.close(CloseCode.UNAUTHORIZED, "the account changed")

    def _bind_ban(self, ban: Sanction) -> None:
        """The node where the banned member is connected binds the ban to their session lineage and
        device as well, so that a new anonymous session from the same browser stays banned."""
        subjects: set[str] = set()
        for session in self.hub.sessions_of(ban.origin):
            subjects.update(s for s in session.subjects if s != ban.subject)
        for subject in subjects:
            if (ban.kind, subject, ban.room) not in self._sanctions:
                bound = Sanction(ban.kind, subject, ban.room, ban.until, ban.reason, ban.by, ban.origin)
                self._sanctions[(bound.kind, bound.subject, bound.room)] = bound
                self.hub.spawn(self._store_bound(bound))

    async def _store_bound(self, sanction: Sanction) -> None:
        await self.store.sanction_put(sanction)
        await self._control({"op": "sanction", "sanction": asdict(sanction)})

    def forget(self, sessions: Iterable[Session]) -> None:
        for session in sessions:
            self.recent.forget(session.user.id)
