"""Token buckets and decaying counters: the arithmetic behind every limit, with no clock of its own.

Callers pass `now` (monotonic seconds), so the limits are exact in tests and cost a few float
operations on the hot path.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """Allows `burst` events at once, then `rate` per second."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.stamp = now

    def take(self, now: float, cost: float = 1.0) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False

    def wait(self, cost: float = 1.0) -> float:
        """Seconds until `cost` tokens are there, as of the last `take`."""
        return max(0.0, (cost - self.tokens) / self.rate) if self.rate > 0 else float("inf")


class Strikes:
    """A count that decays by `decay` per second: many offences in a short time add up, a rare one
    is forgotten. Used to tell a client that keeps flooding or sending garbage from one that slips."""

    __slots__ = ("count", "decay", "stamp")

    def __init__(self, decay: float, now: float) -> None:
        self.decay = decay
        self.count = 0.0
        self.stamp = now

    def add(self, now: float) -> float:
        self.count = max(0.0, self.count - (now - self.stamp) * self.decay) + 1.0
        self.stamp = now
        return self.count


class Buckets:
    """Token buckets by key, in one process; full ones are forgotten, so idle keys cost nothing."""

    SWEEP_EVERY = 1024

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._takes = 0

    def take(self, key: str, rate: float, burst: int) -> float:
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(rate, burst, now)
        self._takes += 1
        if self._takes % self.SWEEP_EVERY == 0:
            self._sweep(now)
        return 0.0 if bucket.take(now) else bucket.wait()

    def _sweep(self, now: float) -> None:
        for key in [k for k, b in self._buckets.items() if b.tokens + (now - b.stamp) * b.rate >= b.burst]:
            del self._buckets[key]
