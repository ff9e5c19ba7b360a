"""One contract for every Store implementation (the Redis store joins the parametrization)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server import redis_client
from server.protocol.model import User
from server.store.base import Case, Report, Store
from server.store.redis import RedisStore
from server.store.sqlite import SQLiteStore

ALICE = User("m_a", "Calm River 10")
BOB = User("m_b", "Calm River 10")


def make_store(kind: str, tmp_path: Path, request: pytest.FixtureRequest, history_max: int = 20,
               history_max_age: float = 3600, node_id: str | None = None) -> Store:
    if kind == "sqlite":
        return SQLiteStore(tmp_path, history_max=history_max, history_max_age=history_max_age)
    url = request.getfixturevalue("redis_url")
    return RedisStore(redis_client.connect(url), history_max, history_max_age, node_id=node_id)


@pytest.fixture(params=["sqlite", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    s = make_store(request.param, tmp_path, request)
    await s.open()
    yield s
    await s.close()


async def test_seq_strictly_increases_per_room(store: Store) -> None:
    seqs = [(await store.append("r", ALICE, f"m{i}", 1000 + i, None)).message.seq for i in range(5)]
    assert seqs == [1, 2, 3, 4, 5]
    assert (await store.append("other", ALICE, "x", 1, None)).message.seq == 1


async def test_concurrent_appends_get_distinct_seqs(store: Store) -> None:
    results = await asyncio.gather(*(store.append("r", ALICE, f"m{i}", 1, None) for i in range(50)))
    assert sorted(r.message.seq for r in results) == list(range(1, 51))


async def test_nonce_dedupe(store: Store) -> None:
    first, again = await asyncio.gather(store.append("r", ALICE, "x", 1, "n"), store.append("r", ALICE, "x", 1, "n"))
    assert {first.duplicate, again.duplicate} == {False, True}
    assert first.message.seq == again.message.seq
    other_user = await store.append("r", BOB, "x", 1, "n")
    assert not other_user.duplicate and other_user.message.seq != first.message.seq


async def test_latest_since_before(store: Store) -> None:
    import time
    for i in range(10):
        await store.append("r", ALICE, f"m{i}", int(time.time() * 1000), None)
    latest = await store.latest("r", 3)
    assert [m.text for m in latest.messages] == ["m7", "m8", "m9"] and latest.last_seq == 10
    since = await store.since("r", 4, 3)
    assert [m.seq for m in since.messages] == [5, 6, 7] and since.more
    assert not (await store.since("r", 4, 10)).more
    assert [m.seq for m in await store.before("r", 4, 2)] == [2, 3]
    assert (await store.message("r", 3)).text == "m2"  # type: ignore[union-attr]
    assert await store.message("r", 99) is None


async def test_retention_keeps_the_last_n(store: Store) -> None:
    import time
    now = int(time.time() * 1000)
    for i in range(30):
        await store.append("r", ALICE, f"m{i}", now, None)
    since = await store.since("r", 0, 100)
    assert [m.seq for m in since.messages] == list(range(11, 31)) and since.truncated
    if isinstance(store, SQLiteStore):
        await store.prune()
    assert len((await store.since("r", 0, 100)).messages) == 20


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_retention_forgets_old_messages(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    import time
    store = make_store(kind, tmp_path, request, history_max=100, history_max_age=60)
    await store.open()
    try:
        old = int(time.time() * 1000) - 120_000
        await store.append("r", ALICE, "old", old, None)
        await store.append("r", ALICE, "new", int(time.time() * 1000), None)
        assert [m.text for m in (await store.latest("r", 10)).messages] == ["new"]
        if isinstance(store, SQLiteStore):
            await store.prune()
        assert await store.message("r", 1) is None
    finally:
        await store.close()


async def test_sqlite_epoch_is_stable_until_the_data_is_lost(tmp_path: Path) -> None:
    a = SQLiteStore(tmp_path / "a", 10, 3600)
    await a.open()
    epoch = (await a.latest("r", 1)).epoch
    await a.append("r", ALICE, "x", 1, None)
    await a.close()
    again = SQLiteStore(tmp_path / "a", 10, 3600)
    await again.open()
    assert (await again.latest("r", 1)).epoch == epoch
    assert (await again.append("r", ALICE, "y", 2, None)).message.seq == 2
    await again.close()
    other = SQLiteStore(tmp_path / "b", 10, 3600)
    await other.open()
    assert (await other.latest("r", 1)).epoch != epoch
    await other.close()


async def test_presence_counts_users_not_connections_and_unique_aliases(store: Store) -> None:
    a1 = await store.presence_add("r", ALICE, "c1")
    a2 = await store.presence_add("r", ALICE, "c2")
    b = await store.presence_add("r", BOB, "c3")
    assert a1.changed and not a2.changed and b.changed and b.count == 2
    assert b.user.alias == "Calm River 10 (2)"
    assert await store.presence_counts() == {"r": 2}
    assert not (await store.presence_remove("r", ALICE.id, "c1")).changed  # type: ignore[union-attr]
    gone = await store.presence_remove("r", ALICE.id, "c2")
    assert gone is not None and gone.changed and gone.count == 1
    assert [u.id for u in await store.presence_members("r")] == [BOB.id]


async def test_reports_are_stored(store: Store) -> None:
    await store.append("r", ALICE, "x", 1, None)
    assert await store.add_report(Report("r", 1, BOB.id, "why", 5)) > 0


async def test_closed_sqlite_store_is_not_ready(tmp_path: Path) -> None:
    from server.store.base import StoreUnavailable
    s = SQLiteStore(tmp_path, 10, 3600)
    await s.open()
    assert s.ready
    await s.close()
    assert not s.ready
    with pytest.raises(StoreUnavailable):
        await s.append("r", ALICE, "x", 1, None)


async def test_redis_epoch_changes_when_redis_loses_its_data(redis_url: str, redis_server) -> None:
    store = RedisStore(redis_client.connect(redis_url), 10, 3600)
    await store.open()
    try:
        epoch = (await store.latest("r", 1)).epoch
        await store.append("r", ALICE, "x", 1, None)
        assert (await store.latest("r", 1)).epoch == epoch
        redis_server.cli("FLUSHALL")
        assert (await store.latest("r", 1)).epoch != epoch
    finally:
        await store.close()


async def test_rate_limit_buckets_are_shared(store: Store) -> None:
    results = [await store.take("send:m_a", 1.0, 3) for _ in range(4)]
    assert results[:3] == [0, 0, 0] and results[3] > 0
    assert await store.take("send:m_b", 1.0, 3) == 0


async def test_dead_nodes_leave_presence(redis_url: str) -> None:
    from server.store import redis as redis_store

    alive = RedisStore(redis_client.connect(redis_url), 10, 3600, node_id="alive")
    dead = RedisStore(redis_client.connect(redis_url), 10, 3600, node_id="dead")
    await alive.open()
    await dead.open()
    try:
        await dead.heartbeat()
        await dead.presence_add("r", ALICE, "c1")
        await alive.presence_add("r", BOB, "c2")
        assert await alive.reap() == []
        client = redis_client.connect(redis_url)
        await client.zadd(f"{redis_store.PREFIX}nodes", {"dead": 0})  # its last heartbeat, long ago
        await client.aclose()
        leaves = await alive.reap()
        assert [(room, c.user.id, c.changed, c.count) for room, c in leaves] == [("r", ALICE.id, True, 1)]
        assert [u.id for u in await alive.presence_members("r")] == [BOB.id]
        assert await alive.reap() == []
    finally:
        await alive.close()
        await dead.close()

async def test_accounts_and_login_counters(store: Store) -> None:
    from server.store.base import Account
    await store.account_put(Account("ann", "a_1", "facilitator", "hash", 1, ("t00",), 5))
    assert (await store.account("ann")).rooms == ("t00",)  # type: ignore[union-attr]
    await store.login_attempt("ann", False, 100)
    await store.login_attempt("ann", False, 200)
    got = await store.account("ann")
    assert got is not None and got.failures == 2 and got.failed_at == 200
    await store.login_attempt("ann", True, 300)
    assert (await store.account("ann")).failures == 0  # type: ignore[union-attr]
    assert [a.name for a in await store.accounts()] == ["ann"]
    assert await store.account_remove("ann") and await store.account("ann") is None


async def test_hidden_messages_stay_out_of_history_until_shown(store: Store) -> None:
    import time
    now = int(time.time() * 1000)
    await store.append("r", ALICE, "visible", now, None)
    held = await store.append("r", ALICE, "held", now, None, hidden=True)
    assert [m.text for m in (await store.latest("r", 10)).messages] == ["visible"]
    assert (await store.message("r", held.message.seq)).text == "held"  # type: ignore[union-attr]
    await store.set_hidden("r", held.message.seq, False)
    assert [m.text for m in await store.before("r", None, 10)] == ["visible", "held"]
    assert await store.set_hidden("r", 99, True) is None


async def test_sanctions_modes_flags_audit(store: Store) -> None:
    from server.store.base import AuditEntry, Flag, RoomMode, Sanction
    await store.sanction_put(Sanction("ban", "u:m_a", "r", 0, "why", "fac", "m_a"))
    await store.sanction_put(Sanction("mute", "u:m_b", "", 1000, "", "fac", "m_b"))
    assert [s.subject for s in await store.sanctions(2000)] == ["u:m_a"]
    assert await store.sanction_remove("ban", "u:m_a", "r") == 1
    await store.room_mode_put("r", RoomMode(10, True))
    assert await store.room_modes() == {"r": RoomMode(10, True)}
    await store.room_mode_put("r", RoomMode())
    assert await store.room_modes() == {}
    flag = await store.flag_add(Flag("r", 3, "report", ("report",), 1, "x", ALICE, 10, reporter="m_b"))
    assert flag.id and [f.id for f in await store.flags("r")] == [flag.id]
    decided = await store.flag_decide(flag.id, "dismissed", "fac", 20)
    assert decided is not None and decided.state == "dismissed" and decided.reporter == "m_b"
    assert await store.flag_decide(flag.id, "released", "fac", 30) is None  # decided once
    assert await store.flags("r") == [] and len(await store.flags("r", open_only=False)) == 1
    import time
    await store.audit_add(AuditEntry(int(time.time() * 1000), "fac", "ban", "r", 3, "m_a", "1h"))
    assert [e.action for e in await store.audit()] == ["ban"]


def _case(case_id: str, user: User = ALICE, severity: int = 2, opened: int = 1000, seq: int = 3) -> Case:
    return Case(case_id, user, "r", seq, severity, "an excerpt", opened, ("suicide",))


async def test_cases_open_join_and_order(store: Store) -> None:
    first, new = await store.case_open(_case("c1", severity=2))
    assert new and first.state == "open" and first.categories == ("suicide",) and first.user == ALICE
    assert [e.action for e in first.history] == ["opened"] and first.history[0].seq == 3
    # The same member's next crisis message joins the open case and may raise its severity.
    again, new = await store.case_open(_case("c2", severity=3, opened=1100, seq=7))
    assert not new and again.id == "c1" and again.severity == 3 and again.seq == 3
    assert [(e.action, e.seq) for e in again.history] == [("opened", 3), ("joined", 7)]
    lower, _ = await store.case_open(_case("c3", severity=1, opened=1200))
    assert lower.severity == 3
    await store.case_open(_case("b1", BOB, severity=3, opened=2000))
    await store.case_open(_case("b0", User("m_c", "C"), severity=1, opened=500))
    assert [c.id for c in await store.cases()] == ["c1", "b1", "b0"]  # severity, then age
    assert await store.case("nope") is None


async def test_case_transitions_apply_once(store: Store) -> None:
    staff, other = User("a_s", "sam", "staff"), User("a_t", "tia", "staff")
    await store.case_open(_case("c1"))
    acked = await store.case_update("c1", "ack", staff, "", 2000)
    assert acked is not None and acked.state == "acknowledged"
    assert await store.case_update("c1", "ack", other, "", 2001) is None  # once
    claims = await asyncio.gather(store.case_update("c1", "claim", staff, "on it", 2100),
                                  store.case_update("c1", "claim", other, "", 2100))
    won = [c for c in claims if c is not None]
    assert len(won) == 1 and won[0].state == "claimed" and won[0].claimed_by in (staff, other)
    resolved = await store.case_update("c1", "resolve", staff, "talked, safe plan | follow-up", 3000)
    assert resolved is not None and resolved.state == "resolved" and resolved.closed == 3000
    assert resolved.outcome == "talked, safe plan | follow-up"
    assert [e.action for e in resolved.history] == ["opened", "ack", "claim", "resolve"]
    assert resolved.history[-1].by == staff and resolved.history[-1].note.startswith("talked")
    assert await store.cases() == [] and [c.id for c in await store.cases(unresolved=False)] == ["c1"]
    assert await store.case_update("c1", "resolve", staff, "", 3100) is None
    # Resolved: the member's next crisis opens a new case.
    _, new = await store.case_open(_case("c2"))
    assert new


async def test_case_escalation_is_recorded_once(store: Store) -> None:
    await store.case_open(_case("c1"))
    both = await asyncio.gather(store.case_raised("c1", 0, 5000), store.case_raised("c1", 0, 5001))
    raised = [c for c in both if c is not None]
    assert len(raised) == 1 and raised[0].raises == 1 and raised[0].last_raised in (5000, 5001)
    again = await store.case_raised("c1", raised[0].last_raised, 6000)
    assert again is not None and again.raises == 2 and again.last_raised == 6000
    await store.case_update("c1", "ack", User("a_s", "sam", "staff"), "", 6500)
    assert await store.case_raised("c1", 6000, 7000) is None  # acknowledged: no more escalations


async def test_leases_have_one_holder_until_they_expire(store: Store) -> None:
    assert await store.lease("case:c1", "node-a", 300)
    assert await store.lease("case:c1", "node-a", 300)  # renewed
    assert not await store.lease("case:c1", "node-b", 300)
    await asyncio.sleep(0.4)
    assert await store.lease("case:c1", "node-b", 300)
    assert not await store.lease("case:c1", "node-a", 300)


async def test_cases_survive_a_restart(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path, 10, 3600)
    await store.open()
    await store.case_open(_case("c1"))
    await store.case_raised("c1", 0, 5000)
    await store.close()
    again = SQLiteStore(tmp_path, 10, 3600)
    await again.open()
    try:
        case = await again.case("c1")
        assert case is not None and case.last_raised == 5000 and case.raises == 1 and case.state == "open"
    finally:
        await again.close()


def test_case_transitions_stay_within_the_case_states() -> None:
    from server.store.base import CASE_STATES, CASE_TRANSITIONS

    for action, (sources, target) in CASE_TRANSITIONS.items():
        assert set(sources) <= set(CASE_STATES) and target in CASE_STATES, action
    assert "resolved" not in {s for sources, _ in CASE_TRANSITIONS.values() for s in sources}  # final
