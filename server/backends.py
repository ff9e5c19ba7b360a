"""The one place that picks the store and broker implementations from the settings.

The embedded default (SQLite and an in-memory broker) or Redis (one server or a cluster). The hub
never sees which: it gets the interfaces. `peerchat serve` builds both; `peerchat users` and
`peerchat audit` need only the store, opened beside a running server.
"""

from __future__ import annotations

from server import redis_client
from server.broker.base import Broker
from server.broker.memory import MemoryBroker
from server.broker.redis import RedisBroker
from server.config import Settings
from server.store.base import Store
from server.store.redis import RedisStore
from server.store.sqlite import SQLiteStore


def build(settings: Settings) -> tuple[Store, Broker]:
    if settings.redis_url:
        client = redis_client.connect(settings.redis_url)
        store = RedisStore(client, settings.history_max, settings.history_max_age, settings.audit_max_age,
                           node_timeout=settings.node_timeout)
        return store, RedisBroker(client)
    return build_store(settings, exclusive=True), MemoryBroker()


def build_store(settings: Settings, exclusive: bool = False) -> Store:
    """The store alone. Not exclusive by default: the SQLite file may be a running server's, which
    keeps its lock and the only `seq` counter; an account or audit command only makes short writes."""
    if settings.redis_url:
        return RedisStore(redis_client.connect(settings.redis_url), settings.history_max, settings.history_max_age,
                          settings.audit_max_age, node_timeout=settings.node_timeout)
    return SQLiteStore(settings.data_dir, settings.history_max, settings.history_max_age, settings.audit_max_age,
                       exclusive=exclusive)
