"""The Store interface: what the hub needs from durable, shared state.

Why one interface for history, sequence numbers, nonces and presence: on Redis these must all be
atomic with each other across nodes (a `seq` is assigned in the same step as the history write and
the nonce check), so they belong behind one seam, whatever backs it.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from server.protocol.model import Message, User


class StoreUnavailable(Exception):
    """The backing store cannot be reached or written: the client gets `unavailable`, never an ack."""


@dataclass(frozen=True, slots=True)
class Appended:
    message: Message
    duplicate: bool  # the nonce was seen before: `message` is the first one, not delivered again


@dataclass(frozen=True, slots=True)
class Page:
    """A slice of a room's history, oldest first."""

    messages: list[Message]
    last_seq: int  # the room's newest seq when the page was read
    epoch: str
    more: bool = False  # capped: more retained messages follow the last one here
    truncated: bool = False  # messages after the requested `since` are no longer retained


@dataclass(frozen=True, slots=True)
class PresenceChange:
    user: User  # as registered in the room (its alias made unique among the room's members)
    changed: bool  # first connection of this user in the room, or its last one gone
    count: int  # distinct users in the room afterwards


@dataclass(frozen=True, slots=True)
class Report:
    room: str
    seq: int
    reporter_id: str
    reason: str | None
    ts: int
    id: int = 0
    state: str = "open"
    extra: dict[str, str] = field(default_factory=dict)


ROLES = ("facilitator", "staff")


@dataclass(frozen=True, slots=True)
class Account:
    """A facilitator or staff account. `generation` changes with every password change, and tokens
    carry it: a token of an older generation (or of a removed account) no longer connects."""

    name: str
    id: str  # the user id its sessions carry ("a_..."): a new account of the same name is a new user
    role: str
    password_hash: str
    generation: int = 1
    rooms: tuple[str, ...] = ()  # the rooms a facilitator keeps; empty: all rooms
    created: int = 0
    failures: int = 0  # consecutive failed logins
    failed_at: int = 0  # ms of the last failed login


@dataclass(frozen=True, slots=True)
class Sanction:
    """A ban, a mute, or an admission to a locked room.

    `subject` is `u:<user id>`, `l:<session lineage>` or `d:<device hash>` (a ban binds to all
    three of a member's, never to an address); `room` is "" for the whole deployment; `until` is ms,
    0 for no end."""

    kind: str  # "ban" | "mute" | "admit"
    subject: str
    room: str
    until: int
    reason: str = ""
    by: str = ""
    origin: str = ""  # the user id the sanction was placed on (a device ban lifts with its user's)


@dataclass(frozen=True, slots=True)
class RoomMode:
    slow: int = 0  # seconds a member must wait between messages; 0: off
    locked: bool = False


@dataclass(frozen=True, slots=True)
class Flag:
    room: str
    seq: int
    category: str  # "crisis" | "boundary" | "report"
    rules: tuple[str, ...]
    severity: int
    excerpt: str
    user: User  # whose message (for a join wave: the latest joiner)
    ts: int
    state: str = "open"  # open | released | dismissed | actioned
    id: int = 0
    held: bool = False
    reporter: str | None = None  # the member who reported it, told when it is reviewed
    reason: str | None = None
    decided_by: str | None = None
    decided_at: int = 0

    def wire(self) -> dict[str, object]:
        frame: dict[str, object] = {
            "id": self.id, "room": self.room, "seq": self.seq, "category": self.category,
            "rules": list(self.rules), "severity": self.severity, "excerpt": self.excerpt,
            "user": self.user.wire(), "ts": self.ts, "state": self.state, "held": self.held}
        if self.reason:
            frame["reason"] = self.reason
        return frame


@dataclass(frozen=True, slots=True)
class AuditEntry:
    ts: int
    actor: str  # user id of who acted (an account's `a_...` id; "system" for automatic entries)
    action: str  # a `mod` action, or flag_raised
    room: str = ""
    seq: int = 0
    target: str = ""  # user id, or flag id as "flag:N"
    detail: str = ""  # reason, duration; never message text

    def wire(self) -> dict[str, object]:
        return {"ts": self.ts, "actor": self.actor, "action": self.action, "room": self.room,
                "seq": self.seq, "target": self.target, "detail": self.detail}


# -- crisis cases ---------------------------------------------------------------------------------
# Every transition a case can make, as data: action -> (the states it may start from, the state it
# leads to). Both stores apply this table atomically, and the hub and the docs read it from here.
CASE_STATES = ("open", "acknowledged", "claimed", "resolved")
CASE_TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "ack": (("open",), "acknowledged"),
    "claim": (("open", "acknowledged"), "claimed"),
    "resolve": (("open", "acknowledged", "claimed"), "resolved"),
}


@dataclass(frozen=True, slots=True)
class CaseEvent:
    """One line of a case's history: what happened, when, by whom (None: the system)."""

    ts: int
    action: str  # opened | joined | raised | ack | claim | resolve
    by: User | None = None
    note: str = ""  # a staff member's note; never the member's text
    seq: int = 0  # opened, joined: the message's seq
    room: str = ""
    severity: int = 0

    def wire(self) -> dict[str, object]:
        frame: dict[str, object] = {"ts": self.ts, "action": self.action}
        if self.by is not None:
            frame["by"] = self.by.wire()
        for key in ("note", "seq", "room", "severity"):
            if getattr(self, key):
                frame[key] = getattr(self, key)
        return frame

    def to_json(self) -> str:
        return json.dumps(self.wire(), separators=(",", ":"))

    @staticmethod
    def from_wire(data: dict[str, object]) -> CaseEvent:
        by = data.get("by")
        return CaseEvent(int(data["ts"]), str(data["action"]),  # type: ignore[call-overload]
                         User.from_wire(by) if isinstance(by, dict) else None, str(data.get("note", "")),
                         int(data.get("seq", 0)), str(data.get("room", "")),  # type: ignore[call-overload]
                         int(data.get("severity", 0)))  # type: ignore[call-overload]


def case_events(raw: str | bytes | None) -> tuple[CaseEvent, ...]:
    """A case's history from its stored JSON array."""
    return tuple(CaseEvent.from_wire(e) for e in json.loads(raw)) if raw else ()


@dataclass(frozen=True, slots=True)
class Case:
    """A member in crisis, and what staff did about it. One unresolved case per member: their
    further crisis messages join it (`severity` is the highest seen). `room`, `seq` and `excerpt`
    are the message that opened it. The escalation timer is derived from `opened` and
    `last_raised`, so any node can pick it up after another died."""

    id: str
    user: User
    room: str
    seq: int
    severity: int
    excerpt: str
    opened: int  # ms
    categories: tuple[str, ...] = ()
    state: str = "open"
    claimed_by: User | None = None
    last_raised: int = 0  # ms of the last escalation; 0: never raised again
    raises: int = 0  # escalations so far
    closed: int = 0  # ms it was resolved
    outcome: str = ""  # the resolving note
    history: tuple[CaseEvent, ...] = ()

    @property
    def private_room(self) -> str:
        return f"case:{self.id}"

    def wire(self, notes: bool = True) -> dict[str, object]:
        frame: dict[str, object] = {
            "id": self.id, "state": self.state, "severity": self.severity, "room": self.room, "seq": self.seq,
            "user": self.user.wire(), "excerpt": self.excerpt, "opened": self.opened,
            "categories": list(self.categories), "raises": self.raises}
        if self.claimed_by is not None:
            frame["claimed_by"] = self.claimed_by.wire()
        if self.last_raised:
            frame["last_raised"] = self.last_raised
        if self.closed:
            frame["closed"] = self.closed
            frame["outcome"] = self.outcome
        if notes:
            frame["history"] = [e.wire() for e in self.history]
        return frame


class Store(ABC):
    """Shared state of the whole deployment, whichever node asks."""

    @abstractmethod
    async def open(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @property
    @abstractmethod
    def ready(self) -> bool: ...

    @abstractmethod
    async def append(self, room: str, user: User, text: str, ts: int, nonce: str | None,
                     hidden: bool = False) -> Appended:
        """Assign the room's next `seq` and store the message durably before returning.

        A repeated `nonce` from the same user in the same room returns the first message with
        `duplicate=True`. Raises `StoreUnavailable` when the message could not be stored.
        `hidden` (a message held for review): stored with its seq, but `latest`, `since` and
        `before` skip it until `set_hidden(room, seq, False)`.
        """

    @abstractmethod
    async def latest(self, room: str, limit: int) -> Page: ...

    @abstractmethod
    async def since(self, room: str, seq: int, limit: int) -> Page: ...

    @abstractmethod
    async def before(self, room: str, seq: int | None, limit: int) -> list[Message]: ...

    @abstractmethod
    async def message(self, room: str, seq: int) -> Message | None:
        """The message, hidden or not (the hub's own lookups: reports, release, hide)."""

    @abstractmethod
    async def add_report(self, report: Report) -> int: ...

    @abstractmethod
    async def presence_add(self, room: str, user: User, conn_id: str) -> PresenceChange: ...

    @abstractmethod
    async def presence_remove(self, room: str, user_id: str, conn_id: str) -> PresenceChange | None: ...

    @abstractmethod
    async def presence_members(self, room: str) -> list[User]: ...

    @abstractmethod
    async def presence_counts(self) -> dict[str, int]: ...

    @abstractmethod
    async def heartbeat(self) -> None:
        """Say this node is alive; the presence it registered stays while it keeps saying so."""

    @abstractmethod
    async def reap(self) -> list[tuple[str, PresenceChange]]:
        """Take the members of nodes that stopped heartbeating out of presence: the leaves to announce."""

    @abstractmethod
    async def take(self, key: str, rate: float, burst: int) -> float:
        """Take one token from the deployment-wide bucket `key`: 0 if allowed, else seconds to wait.

        A member's limits must hold on every node at once, so they live here, not in the hub."""

    # -- moderation: accounts, sanctions, room modes, flags, audit --------------------------------
    # Every piece of moderation state that must outlive a process or be shared by every node.
    # The hub keeps a copy of sanctions and room modes in memory (checked on every send) and hears
    # changes as control events on the broker; the store is what a node loads when it starts.

    @abstractmethod
    async def account(self, name: str) -> Account | None: ...

    @abstractmethod
    async def accounts(self) -> list[Account]: ...

    @abstractmethod
    async def account_put(self, account: Account) -> None:
        """Create or replace the account named `account.name` (login counters included)."""

    @abstractmethod
    async def account_remove(self, name: str) -> bool: ...

    @abstractmethod
    async def login_attempt(self, name: str, ok: bool, now_ms: int) -> None:
        """Record a login: a failure adds one to the account's consecutive failures and stamps
        `failed_at`; a success resets them. Unknown names are ignored."""

    @abstractmethod
    async def set_hidden(self, room: str, seq: int, hidden: bool) -> Message | None:
        """Hide a message from history (`hide`), or show a held one (`release`); the message, or
        None if the room has no such seq."""

    @abstractmethod
    async def sanction_put(self, sanction: Sanction) -> None:
        """Add or replace the sanction of this kind, subject and room."""

    @abstractmethod
    async def sanction_remove(self, kind: str, subject: str, room: str) -> int: ...

    @abstractmethod
    async def sanctions(self, now_ms: int) -> list[Sanction]:
        """Every sanction still in force at `now_ms`."""

    @abstractmethod
    async def room_mode_put(self, room: str, mode: RoomMode) -> None: ...

    @abstractmethod
    async def room_modes(self) -> dict[str, RoomMode]:
        """Every room whose mode is not the default."""

    @abstractmethod
    async def flag_add(self, flag: Flag) -> Flag:
        """Store a new flag; the same flag with its `id` assigned."""

    @abstractmethod
    async def flag_decide(self, flag_id: int, state: str, by: str, now_ms: int) -> Flag | None:
        """Move an open flag to `state`, atomically: the decided flag, or None when it is not open
        (already decided by someone else, on any node) or does not exist."""

    @abstractmethod
    async def flags(self, room: str | None = None, open_only: bool = True, since_ms: int = 0,
                    limit: int = 200) -> list[Flag]:
        """Flags, oldest first: of one room or all, open ones or all of them raised since `since_ms`."""

    @abstractmethod
    async def audit_add(self, entry: AuditEntry) -> None: ...

    @abstractmethod
    async def audit(self, since_ms: int = 0, limit: int = 1000) -> list[AuditEntry]:
        """Audit entries since `since_ms`, oldest first; retention drops older ones."""

    # -- crisis cases ------------------------------------------------------------------------------
    # Durable, shared by every node: a restart or a node's death loses no case and no timer.

    @abstractmethod
    async def case_open(self, case: Case) -> tuple[Case, bool]:
        """Open `case`, or, when its member already has an unresolved case, join that one: its
        severity rises to the higher of the two and a `joined` event is added to its history.
        Atomic per member, on every node. The stored case, and whether it is new."""

    @abstractmethod
    async def case(self, case_id: str) -> Case | None: ...

    @abstractmethod
    async def cases(self, unresolved: bool = True, limit: int = 500) -> list[Case]:
        """Cases by severity (highest first), then age (oldest first): the unresolved ones, or all
        that retention still keeps."""

    @abstractmethod
    async def case_update(self, case_id: str, action: str, by: User, note: str, now_ms: int) -> Case | None:
        """Apply `action` (a key of `CASE_TRANSITIONS`) atomically: the case afterwards, with the event
        in its history (a claim records `by` as `claimed_by`, a resolve `note` as the outcome), or
        None when there is no such case or its state does not allow the action (another staff
        member, on any node, got there first)."""

    @abstractmethod
    async def case_raised(self, case_id: str, last_raised: int, now_ms: int) -> Case | None:
        """Record an escalation of an `open` case whose `last_raised` is still `last_raised`: the
        case afterwards, or None (acknowledged meanwhile, or raised already by another node)."""

    @abstractmethod
    async def lease(self, name: str, holder: str, ttl_ms: int) -> bool:
        """Take the lease `name` for `holder`, or renew it if `holder` has it: whether `holder`
        holds it now. A holder that stops renewing loses it after `ttl_ms`."""
