"""What one fan-out step measured, per generator process and merged: plain picklable values, no I/O.

Kept apart from the generator and the orchestrator so that the arithmetic that turns counts into the
published figures (lost, doubled, deliveries/s, percentiles) can be read, and checked, in one place.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

BUCKET_S = 0.0001  # latency histogram resolution: 0.1 ms
MAX_BUCKET = 600_000  # 60 s; anything slower lands in this last bucket


@dataclass
class StepReport:
    """The counts one generator process gathered during one step.

    Counts are by room because the expected number of deliveries of a message is the number of members
    of *its* room, and the members of a room are spread over every generator process.
    """

    sent: Counter[str] = field(default_factory=Counter)
    acked: Counter[str] = field(default_factory=Counter)
    held: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    error_codes: Counter[str] = field(default_factory=Counter)
    received: int = 0  # unique (client, seq) deliveries of this step's messages
    doubled: int = 0  # a (room, seq) a client had already received
    latency: Counter[int] = field(default_factory=Counter)  # bucket -> count
    first_rx: float = 0.0
    last_rx: float = 0.0
    start_at: float = 0.0
    send_end: float = 0.0
    behind_s: float = 0.0  # how late the sender fell behind its schedule at worst
    cpu_s: float = 0.0  # this generator process's CPU time over the step
    wall_s: float = 0.0
    disconnected: int = 0


@dataclass(frozen=True)
class StepResult:
    """One step's figures, merged over every generator process."""

    rate: float  # scheduled sends per second, all senders together
    sent: int
    expected: int
    received: int
    lost: int
    doubled: int
    rejected: int
    held: int
    unacked: int
    error_codes: dict[str, int]
    deliveries_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_s: float
    server_cpu_us_per_delivery: float
    server_cpu_pct: float
    generator_cpu_pct: tuple[float, ...]
    behind_s: float
    disconnected: int

    def failure(self, p99_limit_ms: float) -> str | None:
        """Why this step does not count as sustained, or None: the reasons --find-max stops on."""
        if self.sent == 0:
            return "nothing sent"
        if self.disconnected:
            return f"{self.disconnected} clients disconnected"
        if self.rejected:
            return f"{self.rejected} sends rejected {self.error_codes}"
        if self.lost:
            return f"{self.lost} deliveries lost"
        if self.doubled:
            return f"{self.doubled} deliveries doubled"
        if self.p99_ms > p99_limit_ms:
            return f"p99 {self.p99_ms:.1f} ms > {p99_limit_ms:g} ms"
        return None


def bucket(latency_s: float) -> int:
    return min(MAX_BUCKET, max(0, int(latency_s / BUCKET_S)))


def percentile_ms(hist: Counter[int], q: float) -> float:
    """The q-quantile (0..1) of a latency histogram, in ms, at the upper edge of its bucket."""
    total = sum(hist.values())
    if not total:
        return float("nan")
    rank = q * total
    seen = 0
    for b in sorted(hist):
        seen += hist[b]
        if seen >= rank:
            return (b + 1) * BUCKET_S * 1000
    return (max(hist) + 1) * BUCKET_S * 1000


def merge(
    reports: Sequence[StepReport],
    members: dict[str, int],
    rate: float,
    server_cpu_s: float,
) -> StepResult:
    """Merge the processes' reports of one step into its figures.

    expected = for each room, (sends not refused or held) x members of the room; a send that got neither
    an ack nor an error still counts, so a server that drops it silently shows as loss. lost = expected -
    unique deliveries. Deliveries/s is over the time from the common start to the last delivery, so a
    server that falls behind and catches up during the drain is not credited with the send rate.
    """
    total: Counter[str] = Counter()
    acked: Counter[str] = Counter()
    held: Counter[str] = Counter()
    rejected: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    hist: Counter[int] = Counter()
    for r in reports:
        total.update(r.sent)
        acked.update(r.acked)
        held.update(r.held)
        rejected.update(r.rejected)
        codes.update(r.error_codes)
        hist.update(r.latency)
    expected = sum((total[room] - rejected[room] - held[room]) * members.get(room, 0) for room in total)
    received = sum(r.received for r in reports)
    start = min(r.start_at for r in reports)
    last = max(r.last_rx for r in reports)
    window = last - start if last > start else 0.0
    sent = sum(total.values())
    return StepResult(
        rate=rate,
        sent=sent,
        expected=expected,
        received=received,
        lost=max(0, expected - received),
        doubled=sum(r.doubled for r in reports),
        rejected=sum(rejected.values()),
        held=sum(held.values()),
        unacked=max(0, sent - sum(acked.values()) - sum(held.values()) - sum(rejected.values())),
        error_codes=dict(codes),
        deliveries_per_s=received / window if window else 0.0,
        p50_ms=percentile_ms(hist, 0.50),
        p99_ms=percentile_ms(hist, 0.99),
        max_ms=percentile_ms(hist, 1.0),
        server_cpu_s=server_cpu_s,
        server_cpu_us_per_delivery=server_cpu_s / received * 1e6 if received else float("nan"),
        server_cpu_pct=100 * server_cpu_s / window if window else float("nan"),
        generator_cpu_pct=tuple(100 * r.cpu_s / r.wall_s if r.wall_s else 0.0 for r in reports),
        behind_s=max(r.behind_s for r in reports),
        disconnected=sum(r.disconnected for r in reports),
    )


def median(values: Iterable[float]) -> float:
    """Median that ignores NaN (a step that delivered nothing has no latency)."""
    kept = [v for v in values if v == v]
    return statistics.median(kept) if kept else float("nan")
