"""What one message costs Redis, to tell how far one Redis goes before a cluster is needed.

    python bench/redis_cost.py [--nodes 2] [--messages 3000] [--members 20] [--rooms 10]

Starts a `redis-server` and N peerchat nodes on loopback ports, puts the members in the rooms spread
over the nodes, sends the messages from members of every node (each member under its rate limit), and
prints Redis's own CPU time per message (from `INFO cpu`) and the commands it ran per message (from
`INFO commandstats`). Redis runs commands on one core, so 1 / (CPU per message) is the message rate
at which one Redis is saturated; the deliveries are the nodes' work, not Redis's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support import Client, RedisServer, ServerProcess, write_config


def redis_info(redis: RedisServer) -> tuple[float, dict[str, int]]:
    cpu = 0.0
    calls: dict[str, int] = {}
    for line in redis.cli("INFO", "all").splitlines():
        if line.startswith(("used_cpu_sys:", "used_cpu_user:")):
            cpu += float(line.split(":")[1])
        elif line.startswith("cmdstat_"):
            name, _, fields = line.partition(":")
            calls[name.removeprefix("cmdstat_")] = int(fields.split(",")[0].split("=")[1])
    return cpu, calls


async def run(args: argparse.Namespace) -> None:
    base = Path(tempfile.mkdtemp(prefix="redis-cost-"))
    redis = RedisServer(base / "redis").start()
    env = {"PEERCHAT_REDIS_URL": redis.url, "PEERCHAT_SECRET": "bench-secret-" + "x" * 32}
    config = write_config(base / "peerchat.toml", rooms=args.rooms,
                          extra="[limits]\nsessions_burst = 100000\njoins_per_minute = 1000\n")
    nodes = [ServerProcess(base / f"node{i}", config, env).start() for i in range(args.nodes)]
    try:
        clients = []
        for i in range(args.members * args.rooms):
            client = await Client.open(nodes[i % len(nodes)])
            await client.join(f"t{i % args.rooms:02d}")
            clients.append(client)
        async def drain(client: Client) -> None:  # read everything, or the server closes us as too slow
            async for _ in client.ws:
                pass

        readers = [asyncio.create_task(drain(c)) for c in clients]
        await asyncio.sleep(1)
        cpu0, calls0 = redis_info(redis)
        started = time.monotonic()
        per_client = max(1, args.messages // len(clients))
        interval = 1 / 1.5  # under the default limit of 2 messages per second per member

        async def talk(client: Client, room: str) -> None:
            for j in range(per_client):
                await client.send({"t": "send", "room": room, "text": f"message {j}"})
                await asyncio.sleep(interval)

        await asyncio.gather(*(talk(c, f"t{i % args.rooms:02d}") for i, c in enumerate(clients)))
        await asyncio.sleep(1)
        cpu1, calls1 = redis_info(redis)
        sent = per_client * len(clients)
        print(f"{args.nodes} nodes, {len(clients)} members in {args.rooms} rooms, {sent} messages "
              f"in {time.monotonic() - started:.1f} s")
        print(f"Redis CPU per message: {(cpu1 - cpu0) / sent * 1e6:.1f} µs "
              f"(one Redis core saturates near {sent / max(cpu1 - cpu0, 1e-9):,.0f} messages/s)")
        for name in sorted(calls1, key=lambda n: calls0.get(n, 0) - calls1[n]):
            delta = calls1[name] - calls0.get(name, 0)
            if delta:
                print(f"  {name:<12} {delta / sent:5.2f} per message")
        for client in clients:
            await client.close()
        await asyncio.gather(*readers, return_exceptions=True)
    finally:
        for node in nodes:
            node.stop()
        redis.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=2, choices=range(1, 9))
    parser.add_argument("--messages", type=int, default=3000, help="total messages (bounded: at most 100,000)")
    parser.add_argument("--members", type=int, default=20, help="members per room")
    parser.add_argument("--rooms", type=int, default=10, choices=range(1, 61))
    args = parser.parse_args()
    args.messages = min(args.messages, 100_000)
    os.environ.setdefault("PEERCHAT_TEST_UNIT", "2")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
