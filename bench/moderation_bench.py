"""Throughput and latency of ``moderation.classify`` on typical chat lines, one core.

    python bench/moderation_bench.py [--messages N] [--seed S]

Lines are generated from templates of ordinary peer-support chat (most of them benign,
as in a real room, with a share of crisis, boundary and hard-negative lines) and made
distinct with names, numbers and emoji, so the analysis cache, which exists for the
previous messages the server passes as context, is not what is being measured.  Each
message is classified with the member's two previous messages as context, like the
server does.  Prints classifications per second and p50/p99/max latency per message.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from moderation import classify
from moderation.rules.engine import default_engine

BENIGN = [
    "good morning everyone, day {n} for me",
    "just got back from my {time} meeting, feeling {feel}",
    "anyone else have trouble sleeping in early recovery?",
    "thank you {name} for sharing, that really helped",
    "my sponsor and I finished step {n} today",
    "it's raining here and I'm just chilling with tea",
    "how do you guys deal with family events where everyone drinks?",
    "{n} days today!! {emoji}",
    "I went for a run instead of going to the bar, small wins",
    "the cravings are less today, grateful",
    "welcome {name}, glad you're here",
    "buenos días a todos, hoy cumplo {n} días",
    "hoy fue un día difícil pero no consumí",
    "I'm nervous about telling my boss I'm in recovery",
    "does anyone know a good podcast for recovery? {name} recommended one",
    "made dinner for my family for the first time in years {emoji}",
]
HARD_NEGATIVE = [
    "that meeting killed me, so much crying",
    "I used to want to die every day; {n} years clean now",
    "I'm not suicidal, just exhausted after work",
    "my friend overdosed in 20{yy}, I think about her every day",
    "I'd kill for a coffee right now {emoji}",
    "I'm craving oxy so bad today but I'm holding on",
    "if you ever feel suicidal please call or text 988",
]
FLAGGED = [
    "i want to kill myself tonight",
    "text me at 555-{a}-{b} if you want to talk outside of here",
    "anyone know where i can get some percs around here",
    "my friend took a bunch of pills and won't wake up",
    "you're a worthless junkie {name}",
    "add me on snap: {name}_{n}",
]
NAMES = ["sam", "maria", "jo", "alex", "dani", "chris", "lu", "pat", "kim", "ray"]
EMOJI = ["🎉", "❤️", "🙏", "😊", "💪", ""]
FEEL = ["good", "tired", "hopeful", "ok", "grateful", "better"]


TAILS = ["", " lol", " tbh", " honestly", " 🙏", " haha", " thanks {name}", " (day {n})", " @{name}",
         " 💪 {n}"]


def make_lines(count: int, rng: random.Random) -> list[str]:
    """``count`` chat lines, made distinct where the templates allow it."""
    lines: list[str] = []
    seen: set[str] = set()
    for _ in range(count):
        for _attempt in range(20):
            roll = rng.random()
            pool = BENIGN if roll < 0.8 else HARD_NEGATIVE if roll < 0.93 else FLAGGED
            template = rng.choice(pool) + rng.choice(TAILS)
            line = template.format(
                n=rng.randint(1, 999), name=rng.choice(NAMES) + str(rng.randint(1, 99)),
                emoji=rng.choice(EMOJI), time=f"{rng.randint(1, 12)}pm", feel=rng.choice(FEEL),
                yy=rng.randint(10, 24), a=rng.randint(200, 999), b=rng.randint(1000, 9999))
            if line not in seen:
                break
        seen.add(line)
        lines.append(line)
    return lines


def measure(lines: list[str], cold: bool) -> tuple[float, float, list[int], list[int]]:
    """Classify every line with its two predecessors as context; ``cold`` clears the cache each time.

    Returns wall seconds, CPU seconds, and per-message wall and CPU latencies in ns.  CPU
    time (this thread only) is what one core spends; it stays meaningful when the machine
    is shared and the process is preempted, which inflates wall-clock figures.
    """
    engine = default_engine()
    engine.cache_clear()
    wall_lat: list[int] = []
    cpu_lat: list[int] = []
    wall, cpu = time.perf_counter_ns, time.thread_time_ns
    gc.collect()
    start_wall, start_cpu = wall(), cpu()
    for i, line in enumerate(lines):
        context = lines[max(0, i - 2):i]
        if cold:
            engine.cache_clear()
        w0, c0 = wall(), cpu()
        classify(line, context=context)
        cpu_lat.append(cpu() - c0)
        wall_lat.append(wall() - w0)
    return (wall() - start_wall) / 1e9, (cpu() - start_cpu) / 1e9, wall_lat, cpu_lat


def _percentiles(latencies: list[int]) -> str:
    latencies = sorted(latencies)
    return ", ".join(
        f"{name} {latencies[int(q * (len(latencies) - 1))] / 1000:.1f} µs"
        for name, q in (("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("p99.9", 0.999))
    ) + f", mean {statistics.fmean(latencies) / 1000:.1f} µs"


def report(title: str, count: int, result: tuple[float, float, list[int], list[int]]) -> None:
    wall_s, cpu_s, wall_lat, cpu_lat = result
    print(title)
    print(f"  throughput: {count / cpu_s:,.0f} classifications per CPU-second "
          f"({count / wall_s:,.0f}/s wall clock)")
    print(f"  CPU latency per message:  {_percentiles(cpu_lat)}")
    print(f"  wall latency per message: {_percentiles(wall_lat)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pin", action="store_true", help="pin the process to one CPU")
    args = parser.parse_args()
    if args.pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    rng = random.Random(args.seed)
    default_engine()  # compile the lexicons once, outside the measurement
    for line in make_lines(2_000, rng):  # warm up
        classify(line)
    lines = make_lines(args.messages, rng)
    print(f"{len(lines)} chat lines ({len(set(lines))} distinct), each with its 2 previous lines as context")
    report("stream (context lines come from the analysis cache, as in the server):",
           len(lines), measure(lines, cold=False))
    report("cold (cache cleared before every call: message and context analysed from scratch):",
           len(lines), measure(lines, cold=True))
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
