from __future__ import annotations

from server.ratelimit import Strikes, TokenBucket


def test_bucket_allows_a_burst_then_the_rate() -> None:
    b = TokenBucket(rate=2, burst=10, now=0.0)
    assert all(b.take(0.0) for _ in range(10))
    assert not b.take(0.0)
    assert b.wait() == 0.5
    assert b.take(0.5)
    assert not b.take(0.5)
    assert b.take(10.0) and b.tokens == 9.0  # refills only up to the burst


def test_strikes_decay() -> None:
    s = Strikes(decay=1.0, now=0.0)
    assert s.add(0.0) == 1 and s.add(0.0) == 2
    assert s.add(10.0) == 1


def test_buckets_by_key_forget_full_ones() -> None:
    from server.ratelimit import Buckets

    now = [0.0]
    buckets = Buckets(clock=lambda: now[0])
    assert buckets.take("a", 1.0, 2) == 0 and buckets.take("a", 1.0, 2) == 0
    assert buckets.take("a", 1.0, 2) == 1.0
    assert buckets.take("b", 1.0, 2) == 0
    now[0] = 100.0
    for i in range(Buckets.SWEEP_EVERY):
        buckets.take(f"k{i}", 1.0, 2)
    assert "a" not in buckets._buckets
