"""The same code on a three-master Redis Cluster: keys and channels of a room share one slot
(hash tag), pub/sub is sharded (SSUBSCRIBE/SPUBLISH)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.support import Client, RedisCluster, ServerProcess

SECRET = "test-secret-shared-by-every-node-0123456789"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    cluster = RedisCluster(tmp_path_factory.mktemp("cluster")).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def cluster_nodes(make_server, cluster: RedisCluster) -> list[ServerProcess]:
    return [make_server(env={"PEERCHAT_REDIS_URL": cluster.url, "PEERCHAT_SECRET": SECRET}) for _ in range(2)]


async def test_cross_node_delivery_and_one_order_on_a_cluster(cluster_nodes: list[ServerProcess]) -> None:
    one, two = cluster_nodes
    rooms = ["t10", "t11", "t12", "t13"]  # spread over the cluster's slots
    clients = [await Client.open(node) for node in (one, two, one, two)]
    for c in clients:
        for room in rooms:
            await c.join(room)

    async def burst(c: Client, i: int) -> list[tuple[str, int]]:
        return [(room, (await c.say(room, f"{i}-{room}"))["seq"]) for room in rooms]

    acks = [a for batch in await asyncio.gather(*(burst(c, i) for i, c in enumerate(clients))) for a in batch]
    for room in rooms:
        acked = sorted(seq for r, seq in acks if r == room)
        assert acked == [1, 2, 3, 4]
        for c in clients:
            assert [m["seq"] for m in await c.messages(room, 4)] == acked


async def test_resume_and_history_on_a_cluster(cluster_nodes: list[ServerProcess]) -> None:
    one, two = cluster_nodes
    a = await Client.open(one)
    joined = await a.join("t14")
    acks = [await a.say("t14", f"m{i}") for i in range(3)]
    b = await Client.open(two)
    resumed = await b.join("t14", since=acks[0]["seq"], epoch=joined["epoch"])
    assert [m["text"] for m in resumed["history"]] == ["m1", "m2"]
