"""The Redis broker: one pub/sub connection per node, a channel per room, sharded on a cluster.

Why a channel per room, subscribed only while this node has members there: one channel that every
node must hear and decode whole is what stops python-socketio's Redis manager from scaling; here
a node hears only the rooms its members are in. On Redis Cluster the channels are sharded
(SSUBSCRIBE/SPUBLISH, Redis 7): a room's channel lives on the slot of its hash tag, with its keys.

Redis pub/sub is at-most-once: what is published while a node is cut off is lost to it. So when the
listener loses its connection the broker says it is not ready, reconnects with capped backoff,
subscribes again to every channel, and then calls `on_resume`: the hub reads each room's history
after the last `seq` it delivered, so a Redis outage costs latency, never messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from server.broker.base import Broker, BrokerUnavailable, Handler

log = logging.getLogger(__name__)

BACKOFF_START = 0.1
BACKOFF_MAX = 5.0
POLL = 1.0  # seconds a read waits for a message before looking at its subscriptions again


class RedisBroker(Broker):
    def __init__(self, client: Redis | RedisCluster) -> None:
        self._redis = client
        self._sharded = isinstance(client, RedisCluster)
        self._channels: set[str] = set()
        self._handler: Handler | None = None
        self._on_resume: Callable[[], None] | None = None
        self._pubsub: Any = None
        self._listener: asyncio.Task[None] | None = None
        self._ready = False
        self._changed = asyncio.Event()

    async def connect(self, handler: Handler, on_resume: Callable[[], None] | None = None) -> None:
        self._handler = handler
        self._on_resume = on_resume
        self._listener = asyncio.create_task(self._listen_forever(), name="peerchat-redis-listener")

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        await self._drop_pubsub()
        self._ready = False

    @property
    def ready(self) -> bool:
        return self._ready

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)
        pubsub = self._pubsub
        if pubsub is not None and self._ready:
            try:
                await (pubsub.ssubscribe(channel) if self._sharded else pubsub.subscribe(channel))
            except (RedisError, OSError) as exc:
                # The listener notices the broken connection and subscribes everything again.
                log.warning("subscribe failed (%s); the listener will resubscribe", type(exc).__name__)
        self._changed.set()

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)
        pubsub = self._pubsub
        if pubsub is not None and self._ready:
            # Best effort: a broken connection is replaced by the listener, without this channel.
            with contextlib.suppress(RedisError, OSError):
                await (pubsub.sunsubscribe(channel) if self._sharded else pubsub.unsubscribe(channel))

    async def publish(self, channel: str, data: bytes) -> None:
        try:
            if self._sharded:
                await self._redis.spublish(channel, data)  # type: ignore[union-attr]
            else:
                await self._redis.publish(channel, data)
        except (TimeoutError, RedisError, OSError) as exc:
            raise BrokerUnavailable("cannot publish: Redis unavailable") from exc

    # -- the listener ------------------------------------------------------------------------------

    async def _drop_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(RedisError, OSError, RuntimeError):  # it is being thrown away
                await pubsub.aclose()

    async def _open_pubsub(self) -> None:
        if self._sharded:
            await self._redis.initialize()  # type: ignore[union-attr]  # the slot map that routes SSUBSCRIBE
        await self._redis.ping()  # fails fast while Redis is down
        pubsub = self._redis.pubsub()
        channels = sorted(self._channels)
        if channels:
            await (pubsub.ssubscribe(*channels) if self._sharded else pubsub.subscribe(*channels))
        self._pubsub = pubsub

    async def _listen_forever(self) -> None:
        backoff = BACKOFF_START
        first = True
        while True:
            try:
                await self._open_pubsub()
                self._ready = True
                backoff = BACKOFF_START
                if not first:
                    log.info("Redis pub/sub reconnected; %d rooms resubscribed", len(self._channels))
                    if self._on_resume is not None:
                        self._on_resume()
                first = False
                await self._read_forever()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Whatever broke, the listener must not die: a dead listener would leave every room
                # of this node silent with no error. Redis errors are expected; others are bugs.
                expected = isinstance(exc, RedisError | OSError | TimeoutError)
                if self._ready or first or not expected:
                    log.warning("Redis pub/sub lost (%s); reconnecting", type(exc).__name__, exc_info=not expected)
                self._ready = False
                first = False
                await self._drop_pubsub()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)

    async def _read_forever(self) -> None:
        if self._sharded:
            await self._read_shards_forever()
            return
        pubsub = self._pubsub
        while True:
            if not pubsub.subscribed:
                self._changed.clear()
                await self._redis.ping()  # notice an outage even while subscribed to nothing
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), POLL)
                continue
            self._dispatch(await pubsub.get_message(ignore_subscribe_messages=True, timeout=POLL))

    async def _read_shards_forever(self) -> None:
        """One reader per shard that holds a subscription of ours, all at once: reading the shards in
        turn would keep a message on one shard waiting while another is polled."""
        pubsub = self._pubsub
        readers: dict[str, asyncio.Task[None]] = {}
        try:
            while True:
                if self._channels and not pubsub.subscribed:
                    await pubsub.ssubscribe(*sorted(self._channels))
                for name, reader in list(readers.items()):
                    if reader.done():
                        del readers[name]
                        reader.result()  # a shard's connection broke: raise, and reconnect everything
                for name, shard in list(pubsub.node_pubsub_mapping.items()):
                    if name in readers or shard.connection is None or not shard.subscribed:
                        continue  # reading already, or its SSUBSCRIBE is on the way (`_changed` fires then)
                    node = self._redis.get_node(node_name=name)  # type: ignore[union-attr]
                    readers[name] = asyncio.create_task(self._read_shard(pubsub, name, node))
                self._changed.clear()
                changed = asyncio.create_task(self._changed.wait())
                try:
                    await asyncio.wait([changed, *readers.values()], timeout=POLL,
                                       return_when=asyncio.FIRST_COMPLETED)
                finally:
                    changed.cancel()
                if not self._channels:
                    await self._redis.ping()  # type: ignore[misc]
        finally:
            for reader in readers.values():
                reader.cancel()

    async def _read_shard(self, pubsub: Any, name: str, node: Any) -> None:
        """Read one shard until we hold no subscription there any more."""
        while (shard := pubsub.node_pubsub_mapping.get(name)) is not None and shard.subscribed:
            self._dispatch(await pubsub.get_sharded_message(ignore_subscribe_messages=True, timeout=POLL,
                                                            target_node=node))

    def _dispatch(self, message: dict[str, Any] | None) -> None:
        if message is None or message.get("type") not in ("message", "smessage", b"message", b"smessage"):
            return
        channel = message["channel"]
        name = channel.decode() if isinstance(channel, bytes) else channel
        handler = self._handler
        if handler is not None and name in self._channels:
            handler(name, message["data"])
