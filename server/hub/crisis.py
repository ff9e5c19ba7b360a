"""The hub's crisis side: resources for the member at once, a case for staff, the private room.

Two rules this module keeps:

- A case is durable before anyone hears of it: every change goes to the `Store` first (atomically:
  of two staff members claiming at once, on any nodes, one wins), then travels as a control event
  (`op: case`) that every node delivers to its own staff connections. The states and the actions
  between them are data (`CASE_TRANSITIONS` in `server.store.base`), applied by the store.
- Crisis handling fails loud. Opening a case is retried until the store takes it; a case nobody
  acknowledges is raised again (`server.hub.escalation`) to every staff member and to the webhook;
  when no staff member is connected at all, the room's facilitators see the case and the webhook
  fires at once.

The private room `case:ID` uses the normal message path (seq, history, resume with `since`), but
only the case's member and the staff member who claimed it may join it, only while the case is
claimed, and what is said there is not screened into facilitator flags: the claiming staff member
is already reading it, and a flag would show a member's most private conversation to every
facilitator of the deployment.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any

from moderation import Label, Verdict
from server.broker.base import BrokerUnavailable
from server.config import RoomConfig
from server.hub.escalation import Escalation
from server.hub.moderation import EXCERPT_CHARS
from server.protocol import frames as f
from server.protocol.codec import Encoded
from server.protocol.errors import ErrorCode, ProtocolError
from server.protocol.model import Message
from server.store.base import AuditEntry, Case, StoreUnavailable
from server.webhook import Webhook

if TYPE_CHECKING:
    from server.hub.service import Hub, Session

log = logging.getLogger(__name__)

CASE_ROOM_PREFIX = "case:"
STAFF_ROOM = "_staff"  # presence "room" of every connected staff member, deployment-wide
OPEN_RETRY_MAX = 5.0  # seconds between attempts to store a case while the store is unavailable


def is_case_room(room_id: str) -> bool:
    return room_id.startswith(CASE_ROOM_PREFIX)


def _now_ms() -> int:
    return int(time.time() * 1000)


class Crisis:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.store = hub.store
        self.config = hub.settings.crisis
        self.webhook: Webhook | None = None
        if self.config.webhook_url and self.config.webhook_secret:
            self.webhook = Webhook(self.config.webhook_url, self.config.webhook_secret)
        self.escalation = Escalation(self)
        self._room_configs: dict[str, RoomConfig] = {}

    async def start(self) -> None:
        if self.webhook is not None:
            self.webhook.start()
        self.hub.spawn(self.escalation.run_forever())

    async def stop(self) -> None:
        if self.webhook is not None:
            await self.webhook.stop()

    # -- the member: resources at once, then a case -------------------------------------------------

    def resources(self, session: Session, room: RoomConfig, verdict: Verdict) -> None:
        """Show the member where to turn, before anything else happens with their message."""
        if verdict.label is not Label.CRISIS:
            return
        items = [r.wire() for r in self.config.resources_for(room.locale)]
        session.peer.push(Encoded({"t": "resources", "room": room.id, "items": items}))

    async def open_case(self, message: Message, verdict: Verdict) -> None:
        """Open the member's case, or join their open one; retried until the store takes it."""
        case = Case(secrets.token_hex(8), message.user, message.room, message.seq, max(1, verdict.severity),
                    message.text[:EXCERPT_CHARS], message.ts, verdict.categories)
        wait = 0.1
        while True:
            try:
                stored, new = await self.store.case_open(case)
                break
            except StoreUnavailable:
                log.error("crisis case of user %s not stored yet: store unavailable; retrying", message.user.id)
                await asyncio.sleep(wait)
                wait = min(wait * 2, OPEN_RETRY_MAX)
        if new:
            log.warning("crisis case %s opened for user %s in room %s (severity %d)", stored.id, stored.user.id,
                        stored.room, stored.severity)
            await self._audit("system", "case_opened", stored, f"severity {stored.severity}")
        await self.changed(stored, "opened" if new else "joined", webhook_if_alone=new)

    # -- staff: the frames ---------------------------------------------------------------------------

    async def staff(self, session: Session, frame: f.Staff) -> dict[str, Any]:
        request = f.parse_staff(frame)
        if isinstance(request, f.Cases):
            return await self.cases(session, request)
        return await self.case_update(session, request)

    async def staff_connected(self) -> bool:
        return bool(await self.store.presence_members(STAFF_ROOM))

    async def cases(self, session: Session, frame: f.Cases) -> dict[str, Any]:
        role = session.user.role
        if role == "facilitator":
            # Facilitators stand in only while no staff member is connected anywhere.
            if await self.staff_connected():
                raise ProtocolError(ErrorCode.FORBIDDEN, "cases are for staff while staff are connected")
        elif role != "staff":
            raise ProtocolError(ErrorCode.FORBIDDEN, "'cases' needs a staff account")
        cases = await self.store.cases()
        if role == "facilitator":
            cases = [c for c in cases if self.hub.moderation.keeps(session, c.room)]
        return f.reply("cases", frame.rid, cases=[c.wire() for c in cases])

    async def case_update(self, session: Session, frame: f.CaseUpdate) -> dict[str, Any]:
        if session.user.role != "staff":
            raise ProtocolError(ErrorCode.FORBIDDEN, "'case_update' needs a staff account")
        current = await self.store.case(frame.case)
        if current is None:
            raise ProtocolError(ErrorCode.BAD_FRAME, "no such case")
        me = session.user
        if frame.action == "claim" and current.state == "claimed" and current.claimed_by is not None \
                and current.claimed_by.id == me.id:
            updated: Case | None = current  # claimed again by its claimer: the invite again, nothing else
        else:
            updated = await self.store.case_update(frame.case, frame.action, me, frame.note or "", _now_ms())
        if updated is None:
            state = (await self.store.case(frame.case) or current).state
            raise ProtocolError(ErrorCode.BAD_FRAME, f"the case is {state}: '{frame.action}' does not apply")
        await self._audit(session.account, "case_" + frame.action, updated, "")
        extra: dict[str, Any] = {}
        if frame.action == "claim":
            extra["room"] = updated.private_room
            await self.hub.moderation._notify(updated.user.id, {
                "t": "notice", "code": "support_invite", "room": updated.private_room,
                "message": "A member of our support staff would like to talk with you privately. "
                           "Join the private room when you are ready."})
        elif frame.action == "resolve":
            await self.hub.publish(updated.private_room, notice_closed(updated.private_room))
        if updated is not current:
            await self.changed(updated, frame.action)
        return f.reply("ok", frame.rid, case=updated.id, **extra)

    # -- the private room ----------------------------------------------------------------------------

    def room_config(self, room_id: str) -> RoomConfig:
        config = self._room_configs.get(room_id)
        if config is None:
            config = self._room_configs[room_id] = RoomConfig(room_id, "Private support", "", "")
        return config

    async def _party(self, session: Session, room_id: str) -> Case:
        case = await self.store.case(room_id[len(CASE_ROOM_PREFIX):])
        if case is None:
            raise ProtocolError(ErrorCode.NO_SUCH_ROOM, "no such room")
        parties = {case.user.id} | ({case.claimed_by.id} if case.claimed_by is not None else set())
        if session.user.id not in parties:
            raise ProtocolError(ErrorCode.FORBIDDEN, "this private room is only for the member and their supporter")
        return case

    async def check_join(self, session: Session, room_id: str) -> None:
        case = await self._party(session, room_id)
        if case.state != "claimed":
            raise ProtocolError(ErrorCode.FORBIDDEN, "this private room is closed")

    async def check_send(self, session: Session, room_id: str) -> None:
        case = await self._party(session, room_id)
        if case.state != "claimed":
            raise ProtocolError(ErrorCode.FORBIDDEN, "this private room is closed")

    # -- telling people --------------------------------------------------------------------------------

    async def changed(self, case: Case, event: str, *, webhook_if_alone: bool = False) -> None:
        """Every staff member hears of every change; the room's facilitators too while no staff
        member is connected, and then the webhook fires at once for a new case."""
        alone = not await self.staff_connected()
        await self.hub.moderation._control({"op": "case", "case": case.wire(), "event": event,
                                            "facilitators": alone})
        if alone and webhook_if_alone:
            self.post("case_opened", case, staff_connected=False)

    async def escalated(self, case: Case) -> None:
        alone = not await self.staff_connected()
        log.warning("crisis case %s not acknowledged: raised again (%d)%s", case.id, case.raises,
                    ", no staff connected" if alone else "")
        self.post("case_escalated", case, staff_connected=not alone)
        try:
            await self.hub.moderation._control({"op": "case", "case": case.wire(), "event": "escalated",
                                                "facilitators": alone})
        except BrokerUnavailable:
            log.error("crisis case %s: escalation not published: broker unavailable", case.id)
            raise

    def post(self, event: str, case: Case, *, staff_connected: bool) -> None:
        if self.webhook is None:
            return
        body: dict[str, Any] = {"id": case.id, "state": case.state, "severity": case.severity, "room": case.room,
                                "seq": case.seq, "user": {"id": case.user.id}, "opened": case.opened,
                                "raises": case.raises, "categories": list(case.categories)}
        if self.config.webhook_include_text:
            body["excerpt"] = case.excerpt
        self.webhook.send({"event": event, "ts": _now_ms(), "staff_connected": staff_connected, "case": body})

    def on_control(self, event: dict[str, Any]) -> None:
        """A case event from any node: to this node's staff, and facilitators when they stand in."""
        case = event["case"]
        frame = Encoded({"t": "case", "case": case, "event": event.get("event")})
        stand_in = bool(event.get("facilitators"))
        for session in self.hub.moderators():
            if session.user.role == "staff" or (stand_in and self.hub.moderation.keeps(session, case["room"])):
                session.peer.push(frame)

    async def attach(self, session: Session) -> None:
        if session.user.role == "staff":
            await self.store.presence_add(STAFF_ROOM, session.user, session.peer.id)

    async def detach(self, session: Session) -> None:
        if session.user.role == "staff":
            await self.store.presence_remove(STAFF_ROOM, session.user.id, session.peer.id)

    async def _audit(self, actor: str, action: str, case: Case, detail: str) -> None:
        await self.store.audit_add(AuditEntry(_now_ms(), actor, action, case.room, case.seq, f"case:{case.id}",
                                              detail))


def notice_closed(room: str) -> dict[str, Any]:
    return {"t": "notice", "code": "support_closed", "room": room,
            "message": "This private conversation has ended. You can always reach out again."}

