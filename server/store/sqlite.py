"""The embedded default's store: one SQLite file in WAL mode, written by one thread in batches.

Why a writer thread with group commit: an acknowledged message must be on disk (`synchronous=FULL`)
before its ack, and one fsync per message would cap a room at a few hundred messages a second.
Every append waits on a future that the writer settles after the transaction holding it commits;
whatever arrives while one transaction commits goes into the next, so a busy room pays one fsync
for many messages and the event loop never blocks on the disk. Reads run in worker threads on
their own connections, which WAL lets proceed while the writer writes.

Sequence numbers are assigned in memory, from the last one stored, before the write is queued:
one process owns the file (a lock file enforces it), so that counter is the truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import queue
import secrets
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from server.protocol.model import Message, User
from server.ratelimit import Buckets
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
from server.store.presence import PresenceTable

log = logging.getLogger(__name__)
T = TypeVar("T")
Op = Callable[[sqlite3.Connection], Any]

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rooms (room TEXT PRIMARY KEY, last_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    room TEXT NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL,
    user_id TEXT NOT NULL, alias TEXT NOT NULL, role TEXT NOT NULL, text TEXT NOT NULL, nonce TEXT,
    PRIMARY KEY (room, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_ts ON messages (ts);
CREATE TABLE IF NOT EXISTS accounts (
    name TEXT PRIMARY KEY, id TEXT NOT NULL, role TEXT NOT NULL, password_hash TEXT NOT NULL,
    generation INTEGER NOT NULL, rooms TEXT NOT NULL, created INTEGER NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0, failed_at INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sanctions (
    kind TEXT NOT NULL, subject TEXT NOT NULL, room TEXT NOT NULL, until INTEGER NOT NULL,
    reason TEXT NOT NULL, by TEXT NOT NULL, origin TEXT NOT NULL, PRIMARY KEY (kind, subject, room)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS room_modes (room TEXT PRIMARY KEY, slow INTEGER NOT NULL, locked INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS flags (
    id INTEGER PRIMARY KEY, room TEXT NOT NULL, seq INTEGER NOT NULL, category TEXT NOT NULL,
    rules TEXT NOT NULL, severity INTEGER NOT NULL, excerpt TEXT NOT NULL, user_id TEXT NOT NULL,
    alias TEXT NOT NULL, role TEXT NOT NULL, ts INTEGER NOT NULL, state TEXT NOT NULL, held INTEGER NOT NULL,
    reporter TEXT, reason TEXT, decided_by TEXT, decided_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS flags_open ON flags (state, room);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    room TEXT NOT NULL, seq INTEGER NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_ts ON audit (ts);
CREATE TABLE IF NOT EXISTS cases (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, alias TEXT NOT NULL, role TEXT NOT NULL, room TEXT NOT NULL,
    seq INTEGER NOT NULL, severity INTEGER NOT NULL, excerpt TEXT NOT NULL, opened INTEGER NOT NULL,
    categories TEXT NOT NULL, state TEXT NOT NULL, claimed_by TEXT, last_raised INTEGER NOT NULL,
    raises INTEGER NOT NULL, closed INTEGER NOT NULL, outcome TEXT NOT NULL, history TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cases_user ON cases (user_id, state);
CREATE TABLE IF NOT EXISTS reports (
    id INTEGER PRIMARY KEY, room TEXT NOT NULL, seq INTEGER NOT NULL, reporter_id TEXT NOT NULL,
    reason TEXT, ts INTEGER NOT NULL, state TEXT NOT NULL DEFAULT 'open'
);
"""
_COLUMNS = "room, seq, ts, user_id, alias, role, text"
_ACCOUNT = "name, id, role, password_hash, generation, rooms, created, failures, failed_at"
_FLAG = ("id, room, seq, category, rules, severity, excerpt, user_id, alias, role, ts, state, held, "
         "reporter, reason, decided_by, decided_at")
_CASE = ("id, user_id, alias, role, room, seq, severity, excerpt, opened, categories, state, claimed_by, "
         "last_raised, raises, closed, outcome, history")
NONCE_CACHE = 50_000  # recent (room, user, nonce) keys kept for dedupe; older ones have long been acked
PRUNE_INTERVAL = 30.0


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                               check_same_thread=False)
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


def _row_account(row: tuple[Any, ...]) -> Account:
    name, id_, role, pw, gen, rooms, created, failures, failed_at = row
    return Account(name, id_, role, pw, gen, tuple(r for r in rooms.split(",") if r), created, failures,
                   failed_at)


def _row_flag(row: tuple[Any, ...]) -> Flag:
    (id_, room, seq, category, rules, severity, excerpt, user_id, alias, role, ts, state, held, reporter,
     reason, decided_by, decided_at) = row
    return Flag(room, seq, category, tuple(r for r in rules.split(",") if r), severity, excerpt,
                User(user_id, alias, role), ts, state, id_, bool(held), reporter, reason, decided_by,
                decided_at)


def _row_case(row: tuple[Any, ...]) -> Case:
    (id_, user_id, alias, role, room, seq, severity, excerpt, opened, categories, state, claimed_by,
     last_raised, raises, closed, outcome, history) = row
    return Case(id_, User(user_id, alias, role), room, seq, severity, excerpt, opened,
                tuple(c for c in categories.split(",") if c), state,
                User.from_wire(json.loads(claimed_by)) if claimed_by else None, last_raised, raises, closed,
                outcome, case_events(history))


def _read_case(conn: sqlite3.Connection, case_id: str) -> Case | None:
    row = conn.execute(f"SELECT {_CASE} FROM cases WHERE id = ?", (case_id,)).fetchone()
    return _row_case(row) if row else None


def _add_event(conn: sqlite3.Connection, case_id: str, event: CaseEvent) -> None:
    conn.execute("UPDATE cases SET history = json_insert(history, '$[#]', json(?)) WHERE id = ?",
                 (event.to_json(), case_id))


def _row_message(row: tuple[Any, ...]) -> Message:
    room, seq, ts, user_id, alias, role, text = row
    return Message(room, seq, ts, User(user_id, alias, role), text)


class _Writer:
    """The one thread that writes; each submitted operation runs inside a batched transaction."""

    def __init__(self, path: Path, loop: asyncio.AbstractEventLoop, max_batch: int = 512) -> None:
        self._path = path
        self._loop = loop
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[Op, asyncio.Future[Any]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="peerchat-sqlite-writer", daemon=True)
        self.alive = False

    def start(self) -> None:
        self.alive = True
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)
        self.alive = False

    def submit(self, op: Op) -> asyncio.Future[Any]:
        future = self._loop.create_future()
        if not self.alive:
            future.set_exception(StoreUnavailable("the store is closed"))
        else:
            self._queue.put((op, future))
        return future

    def _run(self) -> None:
        conn = connect(self._path)
        try:
            stopping = False
            while not stopping:
                item = self._queue.get()
                if item is None:
                    break
                batch = [item]
                while len(batch) < self._max_batch:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        stopping = True
                        break
                    batch.append(more)
                self._settle(self._commit(conn, batch))
        finally:
            self.alive = False
            conn.close()

    def _commit(self, conn: sqlite3.Connection, batch: list[tuple[Op, asyncio.Future[Any]]]) -> list[Any]:
        try:
            return self._transaction(conn, batch)
        except sqlite3.Error:
            # One bad operation must not fail its neighbours: retry each in a transaction of its own.
            results = []
            for one in batch:
                try:
                    results.extend(self._transaction(conn, [one]))
                except sqlite3.Error as exc:
                    log.error("sqlite write failed: %s", type(exc).__name__)
                    results.append((one[1], False, StoreUnavailable("the message store could not write")))
            return results

    @staticmethod
    def _transaction(conn: sqlite3.Connection, batch: list[tuple[Op, asyncio.Future[Any]]]) -> list[Any]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            values = [(future, True, op(conn)) for op, future in batch]
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return values

    def _settle(self, results: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
        def settle() -> None:
            for future, ok, value in results:
                if future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

        # The loop may have closed under us at shutdown: then nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(settle)


class SQLiteStore(Store):
    def __init__(self, data_dir: Path, history_max: int, history_max_age: float,
                 audit_max_age: float = 365 * 86400.0, exclusive: bool = True) -> None:
        """`exclusive=False` is for the `peerchat users|audit` commands: they open the file next to a
        running server without its lock file, relying on SQLite's own locking, and never append
        messages (the server's in-memory `seq` counter stays the truth)."""
        self._audit_max_age_ms = int(audit_max_age * 1000)
        self._exclusive = exclusive
        self._dir = data_dir
        self._path = data_dir / "peerchat.sqlite3"
        self._history_max = history_max
        self._history_max_age_ms = int(history_max_age * 1000)
        self._writer: _Writer | None = None
        self._lock_fd: int | None = None
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._last_seq: dict[str, int] = {}
        self._nonces: OrderedDict[tuple[str, str, str], int | asyncio.Future[Any]] = OrderedDict()
        self._epoch = ""
        self._presence = PresenceTable()
        self._buckets = Buckets()
        self._pruner: asyncio.Task[None] | None = None
        self._leases: dict[str, tuple[str, float]] = {}  # one process: leases live in memory

    # -- lifecycle -------------------------------------------------------------------------------

    async def open(self) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        if not self._exclusive:
            await asyncio.to_thread(self._load)
            self._writer = _Writer(self._path, asyncio.get_running_loop(), max_batch=1)
            self._writer.start()
            return
        self._lock_fd = os.open(self._dir / "peerchat.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            self._lock_fd = None
            raise RuntimeError(f"another peerchat process uses the data dir {self._dir}") from None
        await asyncio.to_thread(self._load)
        self._writer = _Writer(self._path, asyncio.get_running_loop())
        self._writer.start()
        self._pruner = asyncio.create_task(self._prune_forever(), name="peerchat-sqlite-prune")

    def _load(self) -> None:
        conn = connect(self._path)
        try:
            conn.executescript(SCHEMA)
            columns = {row[1] for row in conn.execute("PRAGMA table_info(messages)")}
            if "hidden" not in columns:  # a data dir from before moderation
                conn.execute("ALTER TABLE messages ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0")
            row = conn.execute("SELECT value FROM meta WHERE key = 'epoch'").fetchone()
            if row is None:
                row = (secrets.token_hex(8),)
                conn.execute("INSERT INTO meta (key, value) VALUES ('epoch', ?)", row)
            self._epoch = row[0]
            self._last_seq = dict(conn.execute("SELECT room, last_seq FROM rooms").fetchall())
            for room, user_id, nonce, seq in conn.execute(
                "SELECT room, user_id, nonce, seq FROM messages WHERE nonce IS NOT NULL ORDER BY ts"
            ):
                self._remember_nonce((room, user_id, nonce), seq)
        finally:
            conn.close()

    async def close(self) -> None:
        if self._pruner is not None:
            self._pruner.cancel()
            self._pruner = None
        if self._writer is not None:
            await asyncio.to_thread(self._writer.stop)
            self._writer = None
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    @property
    def ready(self) -> bool:
        return self._writer is not None and self._writer.alive

    # -- writes ----------------------------------------------------------------------------------

    def _remember_nonce(self, key: tuple[str, str, str], value: int | asyncio.Future[Any]) -> None:
        self._nonces[key] = value
        self._nonces.move_to_end(key)
        while len(self._nonces) > NONCE_CACHE:
            self._nonces.popitem(last=False)

    async def _write(self, op: Op) -> Any:
        if self._writer is None:
            raise StoreUnavailable("the store is closed")
        return await self._writer.submit(op)

    async def append(self, room: str, user: User, text: str, ts: int, nonce: str | None,
                     hidden: bool = False) -> Appended:
        key = (room, user.id, nonce) if nonce is not None else None
        if key is not None and (seen := self._nonces.get(key)) is not None:
            seq = seen if isinstance(seen, int) else await asyncio.shield(seen)
            return Appended(Message(room, seq, ts, user, text), duplicate=True)
        seq = self._last_seq.get(room, 0) + 1
        self._last_seq[room] = seq
        message = Message(room, seq, ts, user, text)

        def insert(conn: sqlite3.Connection) -> int:
            conn.execute(
                f"INSERT INTO messages ({_COLUMNS}, nonce, hidden) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (room, seq, ts, user.id, user.alias, user.role, text, nonce, int(hidden)),
            )
            conn.execute(
                "INSERT INTO rooms (room, last_seq) VALUES (?, ?) "
                "ON CONFLICT (room) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)",
                (room, seq),
            )
            return seq

        if self._writer is None:
            raise StoreUnavailable("the store is closed")
        written = self._writer.submit(insert)
        if key is not None:
            self._remember_nonce(key, written)
        try:
            await asyncio.shield(written)
        except StoreUnavailable:
            if key is not None:
                self._nonces.pop(key, None)
            raise
        if key is not None:
            self._remember_nonce(key, seq)
        return Appended(message, duplicate=False)

    async def add_report(self, report: Report) -> int:
        def insert(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(
                "INSERT INTO reports (room, seq, reporter_id, reason, ts) VALUES (?, ?, ?, ?, ?)",
                (report.room, report.seq, report.reporter_id, report.reason, report.ts),
            )
            return int(cursor.lastrowid or 0)

        return int(await self._write(insert))

    async def _prune_forever(self) -> None:
        while True:
            await asyncio.sleep(PRUNE_INTERVAL)
            try:
                await self.prune()
            except StoreUnavailable:
                log.warning("history pruning skipped: store unavailable")

    async def prune(self) -> None:
        """Forget what retention says to forget: for an anonymous community forgetting is a feature."""
        now = int(time.time() * 1000)
        cutoff = now - self._history_max_age_ms
        audit_cutoff = now - self._audit_max_age_ms
        keep = self._history_max

        def prune(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM messages WHERE ts < ?", (cutoff,))
            conn.execute("DELETE FROM messages WHERE seq <= (SELECT last_seq FROM rooms "
                         "WHERE rooms.room = messages.room) - ?", (keep,))
            # Flags quote what was said: they are forgotten with the history they quote.
            conn.execute("DELETE FROM flags WHERE ts < ?", (cutoff,))
            conn.execute("DELETE FROM reports WHERE ts < ?", (cutoff,))
            conn.execute("DELETE FROM cases WHERE state = 'resolved' AND closed < ?", (cutoff,))
            conn.execute("DELETE FROM audit WHERE ts < ?", (audit_cutoff,))
            conn.execute("DELETE FROM sanctions WHERE until > 0 AND until < ?", (now,))

        await self._write(prune)

    # -- reads -----------------------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self._path, readonly=True)
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def run() -> T:
            conn = self._reader()
            conn.execute("BEGIN")  # one snapshot for every statement of the read
            try:
                return fn(conn)
            finally:
                conn.execute("COMMIT")

        try:
            return await asyncio.to_thread(run)
        except sqlite3.Error as exc:
            raise StoreUnavailable("the message store could not be read") from exc

    def _window(self, conn: sqlite3.Connection, room: str) -> tuple[int, int]:
        """The room's last seq and the oldest seq retention still lets anyone see."""
        row = conn.execute("SELECT last_seq FROM rooms WHERE room = ?", (room,)).fetchone()
        last = row[0] if row else 0
        return last, max(0, last - self._history_max)

    def _cutoff(self) -> int:
        return int(time.time() * 1000) - self._history_max_age_ms

    async def latest(self, room: str, limit: int) -> Page:
        cutoff = self._cutoff()

        def read(conn: sqlite3.Connection) -> Page:
            last, floor = self._window(conn, room)
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE room = ? AND seq > ? AND ts >= ? AND hidden = 0 "
                "ORDER BY seq DESC LIMIT ?", (room, floor, cutoff, limit)).fetchall()
            return Page([_row_message(r) for r in reversed(rows)], last, self._epoch)

        return await self._read(read)

    async def since(self, room: str, seq: int, limit: int) -> Page:
        cutoff = self._cutoff()

        def read(conn: sqlite3.Connection) -> Page:
            last, floor = self._window(conn, room)
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE room = ? AND seq > ? AND ts >= ? AND hidden = 0 "
                "ORDER BY seq LIMIT ?", (room, max(seq, floor), cutoff, limit + 1)).fetchall()
            messages = [_row_message(r) for r in rows[:limit]]
            first_kept = messages[0].seq if messages else last + 1
            truncated = seq < last and first_kept > seq + 1
            return Page(messages, last, self._epoch, more=len(rows) > limit, truncated=truncated)

        return await self._read(read)

    async def before(self, room: str, seq: int | None, limit: int) -> list[Message]:
        cutoff = self._cutoff()

        def read(conn: sqlite3.Connection) -> list[Message]:
            last, floor = self._window(conn, room)
            upper = last + 1 if seq is None else seq
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE room = ? AND seq < ? AND seq > ? AND ts >= ? "
                "AND hidden = 0 "
                "ORDER BY seq DESC LIMIT ?", (room, upper, floor, cutoff, limit)).fetchall()
            return [_row_message(r) for r in reversed(rows)]

        return await self._read(read)

    async def message(self, room: str, seq: int) -> Message | None:
        def read(conn: sqlite3.Connection) -> Message | None:
            row = conn.execute(f"SELECT {_COLUMNS} FROM messages WHERE room = ? AND seq = ?",
                               (room, seq)).fetchone()
            return _row_message(row) if row else None

        return await self._read(read)

    # -- presence: one process, so it lives in memory ---------------------------------------------

    async def presence_add(self, room: str, user: User, conn_id: str) -> PresenceChange:
        return self._presence.add(room, user, conn_id)

    async def presence_remove(self, room: str, user_id: str, conn_id: str) -> PresenceChange | None:
        return self._presence.remove(room, user_id, conn_id)

    async def presence_members(self, room: str) -> list[User]:
        return self._presence.members(room)

    async def presence_counts(self) -> dict[str, int]:
        return self._presence.counts()

    async def heartbeat(self) -> None:
        """One process: its presence lives and dies with it."""

    async def reap(self) -> list[tuple[str, PresenceChange]]:
        return []

    async def take(self, key: str, rate: float, burst: int) -> float:
        return self._buckets.take(key, rate, burst)

    # -- moderation ------------------------------------------------------------------------------

    async def account(self, name: str) -> Account | None:
        def read(conn: sqlite3.Connection) -> Account | None:
            row = conn.execute(f"SELECT {_ACCOUNT} FROM accounts WHERE name = ?", (name,)).fetchone()
            return _row_account(row) if row else None

        return await self._read(read)

    async def accounts(self) -> list[Account]:
        def read(conn: sqlite3.Connection) -> list[Account]:
            return [_row_account(r) for r in conn.execute(f"SELECT {_ACCOUNT} FROM accounts ORDER BY name")]

        return await self._read(read)

    async def account_put(self, account: Account) -> None:
        a = account

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(f"INSERT OR REPLACE INTO accounts ({_ACCOUNT}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (a.name, a.id, a.role, a.password_hash, a.generation, ",".join(a.rooms), a.created,
                          a.failures, a.failed_at))

        await self._write(write)

    async def account_remove(self, name: str) -> bool:
        def write(conn: sqlite3.Connection) -> bool:
            return conn.execute("DELETE FROM accounts WHERE name = ?", (name,)).rowcount > 0

        return bool(await self._write(write))

    async def login_attempt(self, name: str, ok: bool, now_ms: int) -> None:
        def write(conn: sqlite3.Connection) -> None:
            if ok:
                conn.execute("UPDATE accounts SET failures = 0 WHERE name = ?", (name,))
            else:
                conn.execute("UPDATE accounts SET failures = failures + 1, failed_at = ? WHERE name = ?",
                             (now_ms, name))

        await self._write(write)

    async def set_hidden(self, room: str, seq: int, hidden: bool) -> Message | None:
        def write(conn: sqlite3.Connection) -> Message | None:
            conn.execute("UPDATE messages SET hidden = ? WHERE room = ? AND seq = ?",
                         (int(hidden), room, seq))
            row = conn.execute(f"SELECT {_COLUMNS} FROM messages WHERE room = ? AND seq = ?",
                               (room, seq)).fetchone()
            return _row_message(row) if row else None

        result: Message | None = await self._write(write)
        return result

    async def sanction_put(self, sanction: Sanction) -> None:
        s = sanction

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT OR REPLACE INTO sanctions (kind, subject, room, until, reason, by, origin) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (s.kind, s.subject, s.room, s.until, s.reason, s.by, s.origin))

        await self._write(write)

    async def sanction_remove(self, kind: str, subject: str, room: str) -> int:
        def write(conn: sqlite3.Connection) -> int:
            return conn.execute("DELETE FROM sanctions WHERE kind = ? AND subject = ? AND room = ?",
                                (kind, subject, room)).rowcount

        return int(await self._write(write))

    async def sanctions(self, now_ms: int) -> list[Sanction]:
        def read(conn: sqlite3.Connection) -> list[Sanction]:
            rows = conn.execute("SELECT kind, subject, room, until, reason, by, origin FROM sanctions "
                                "WHERE until = 0 OR until > ?", (now_ms,)).fetchall()
            return [Sanction(*row) for row in rows]

        return await self._read(read)

    async def room_mode_put(self, room: str, mode: RoomMode) -> None:
        def write(conn: sqlite3.Connection) -> None:
            if mode == RoomMode():
                conn.execute("DELETE FROM room_modes WHERE room = ?", (room,))
            else:
                conn.execute("INSERT OR REPLACE INTO room_modes (room, slow, locked) VALUES (?, ?, ?)",
                             (room, mode.slow, int(mode.locked)))

        await self._write(write)

    async def room_modes(self) -> dict[str, RoomMode]:
        def read(conn: sqlite3.Connection) -> dict[str, RoomMode]:
            rows = conn.execute("SELECT room, slow, locked FROM room_modes").fetchall()
            return {room: RoomMode(slow, bool(locked)) for room, slow, locked in rows}

        return await self._read(read)

    async def flag_add(self, flag: Flag) -> Flag:
        f = flag

        def write(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(
                f"INSERT INTO flags ({_FLAG}) VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (f.room, f.seq, f.category, ",".join(f.rules), f.severity, f.excerpt, f.user.id, f.user.alias,
                 f.user.role, f.ts, f.state, int(f.held), f.reporter, f.reason, f.decided_by, f.decided_at))
            return int(cursor.lastrowid or 0)

        return replace(flag, id=int(await self._write(write)))

    async def flag_decide(self, flag_id: int, state: str, by: str, now_ms: int) -> Flag | None:
        def write(conn: sqlite3.Connection) -> Flag | None:
            changed = conn.execute("UPDATE flags SET state = ?, decided_by = ?, decided_at = ? "
                                   "WHERE id = ? AND state = 'open'", (state, by, now_ms, flag_id)).rowcount
            if not changed:
                return None
            row = conn.execute(f"SELECT {_FLAG} FROM flags WHERE id = ?", (flag_id,)).fetchone()
            return _row_flag(row)

        result: Flag | None = await self._write(write)
        return result

    async def flags(self, room: str | None = None, open_only: bool = True, since_ms: int = 0,
                    limit: int = 200) -> list[Flag]:
        def read(conn: sqlite3.Connection) -> list[Flag]:
            where: list[str] = ["ts >= ?"]
            args: list[object] = [since_ms]
            if room is not None:
                where.append("room = ?")
                args.append(room)
            if open_only:
                where.append("state = 'open'")
            rows = conn.execute(f"SELECT {_FLAG} FROM flags WHERE {' AND '.join(where)} "
                                "ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
            return [_row_flag(r) for r in reversed(rows)]

        return await self._read(read)

    async def audit_add(self, entry: AuditEntry) -> None:
        e = entry

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO audit (ts, actor, action, room, seq, target, detail) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (e.ts, e.actor, e.action, e.room, e.seq, e.target, e.detail))

        await self._write(write)

    async def audit(self, since_ms: int = 0, limit: int = 1000) -> list[AuditEntry]:
        cutoff = max(since_ms, int(time.time() * 1000) - self._audit_max_age_ms)

        def read(conn: sqlite3.Connection) -> list[AuditEntry]:
            rows = conn.execute("SELECT ts, actor, action, room, seq, target, detail FROM audit "
                                "WHERE ts >= ? ORDER BY id LIMIT ?", (cutoff, limit)).fetchall()
            return [AuditEntry(*row) for row in rows]

        return await self._read(read)

    # -- crisis cases ----------------------------------------------------------------------------

    async def case_open(self, case: Case) -> tuple[Case, bool]:
        c = case

        def write(conn: sqlite3.Connection) -> tuple[Case, bool]:
            row = conn.execute("SELECT id FROM cases WHERE user_id = ? AND state != 'resolved' "
                               "ORDER BY opened LIMIT 1", (c.user.id,)).fetchone()
            if row is not None:
                conn.execute("UPDATE cases SET severity = max(severity, ?) WHERE id = ?", (c.severity, row[0]))
                _add_event(conn, row[0], CaseEvent(c.opened, "joined", seq=c.seq, room=c.room,
                                                   severity=c.severity))
                found = _read_case(conn, row[0])
                assert found is not None
                return found, False
            opened = CaseEvent(c.opened, "opened", seq=c.seq, room=c.room, severity=c.severity)
            conn.execute(
                f"INSERT INTO cases ({_CASE}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (c.id, c.user.id, c.user.alias, c.user.role, c.room, c.seq, c.severity, c.excerpt, c.opened,
                 ",".join(c.categories), "open", None, 0, 0, 0, "", f"[{opened.to_json()}]"))
            made = _read_case(conn, c.id)
            assert made is not None
            return made, True

        result: tuple[Case, bool] = await self._write(write)
        return result

    async def case(self, case_id: str) -> Case | None:
        return await self._read(lambda conn: _read_case(conn, case_id))

    async def cases(self, unresolved: bool = True, limit: int = 500) -> list[Case]:
        def read(conn: sqlite3.Connection) -> list[Case]:
            where = "WHERE state != 'resolved' " if unresolved else ""
            rows = conn.execute(f"SELECT {_CASE} FROM cases {where}ORDER BY severity DESC, opened, id LIMIT ?",
                                (limit,)).fetchall()
            return [_row_case(r) for r in rows]

        return await self._read(read)

    async def case_update(self, case_id: str, action: str, by: User, note: str, now_ms: int) -> Case | None:
        starts, state = CASE_TRANSITIONS[action]

        def write(conn: sqlite3.Connection) -> Case | None:
            marks = ", ".join("?" for _ in starts)
            sets, args = "state = ?", [state]
            if action == "claim":
                sets += ", claimed_by = ?"
                args.append(json.dumps(by.wire()))
            elif action == "resolve":
                sets += ", closed = ?, outcome = ?"
                args += [now_ms, note]  # type: ignore[list-item]
            changed = conn.execute(f"UPDATE cases SET {sets} WHERE id = ? AND state IN ({marks})",
                                   (*args, case_id, *starts)).rowcount
            if not changed:
                return None
            _add_event(conn, case_id, CaseEvent(now_ms, action, by, note))
            return _read_case(conn, case_id)

        result: Case | None = await self._write(write)
        return result

    async def case_raised(self, case_id: str, last_raised: int, now_ms: int) -> Case | None:
        def write(conn: sqlite3.Connection) -> Case | None:
            changed = conn.execute("UPDATE cases SET last_raised = ?, raises = raises + 1 "
                                   "WHERE id = ? AND state = 'open' AND last_raised = ?",
                                   (now_ms, case_id, last_raised)).rowcount
            if not changed:
                return None
            _add_event(conn, case_id, CaseEvent(now_ms, "raised"))
            return _read_case(conn, case_id)

        result: Case | None = await self._write(write)
        return result

    async def lease(self, name: str, holder: str, ttl_ms: int) -> bool:
        now = time.monotonic()
        current = self._leases.get(name)
        if current is not None and current[0] != holder and current[1] > now:
            return False
        self._leases[name] = (holder, now + ttl_ms / 1000)
        return True
