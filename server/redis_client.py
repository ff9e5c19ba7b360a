"""Connecting to Redis, one server or a cluster, from one URL.

`redis://[:password@]host:port/db` (or `rediss://` for TLS) is one Redis; `redis+cluster://host:port`
(or `rediss+cluster://`) is a Redis Cluster reached through any of its nodes. Timeouts are short on
purpose: a node must notice an outage within seconds, answer `unavailable` and report not ready,
rather than hang its members' sends.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
TIMEOUT = 2.0


def is_cluster(url: str) -> bool:
    return urlsplit(url).scheme in CLUSTER_SCHEMES


def describe(url: str) -> str:
    """Where Redis is, for logs: scheme, host and port, never the password."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or 'localhost'}:{parts.port or 6379}"


def connect(url: str) -> Redis | RedisCluster:
    options: dict[str, Any] = {"socket_timeout": TIMEOUT, "socket_connect_timeout": TIMEOUT}
    parts = urlsplit(url)
    if parts.scheme in CLUSTER_SCHEMES:
        plain = parts._replace(scheme=CLUSTER_SCHEMES[parts.scheme]).geturl()
        return RedisCluster.from_url(plain, **options)
    return Redis.from_url(url, health_check_interval=5, **options)
