"""Throughput and latency of ``moderation.classify`` on typical chat lines, one core.

    python bench/moderation_bench.py [--messages N] [--repeats R] [--seed S] [--pin]

Lines are generated from templates of ordinary peer-support chat (80% ordinary, 13% hard
negatives such as "that meeting killed me", 7% flagged) and made distinct with names,
numbers and emoji, so the analysis cache, which exists for the previous messages the
server passes as context, is not what is being measured.  Each message is classified
with the member's two previous messages as context, like the server does.

Every repeat classifies a fresh set of lines.  Both clocks are measured: CPU time
(``time.process_time``: what one core spends, meaningful on a shared machine where
preemption inflates the wall clock) and wall time.  Printed per mode: the median over
the repeats of classifications per second and of the p50/p99 latency per message.
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


Result = tuple[float, float, list[int], list[int]]


def measure(lines: list[str], cold: bool) -> Result:
    """Classify every line with its two predecessors as context; ``cold`` clears the cache each time.

    Returns wall seconds, CPU seconds, and per-message wall and CPU latencies in ns.
    """
    engine = default_engine()
    engine.cache_clear()
    wall_lat: list[int] = []
    cpu_lat: list[int] = []
    wall, cpu = time.perf_counter_ns, time.process_time_ns
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


def _quantile(latencies: list[int], q: float) -> float:
    """The ``q`` quantile of ``latencies`` (ns), in µs."""
    ordered = sorted(latencies)
    return ordered[int(q * (len(ordered) - 1))] / 1000


def report(title: str, count: int, results: list[Result]) -> None:
    """Medians over the repeats: throughput on both clocks, p50/p99 on both clocks."""
    med = statistics.median
    print(title)
    print(f"  throughput: {med(count / r[1] for r in results):,.0f} classifications per CPU-second "
          f"({med(count / r[0] for r in results):,.0f}/s wall clock)")
    for name, index in (("CPU", 3), ("wall", 2)):
        p50 = med(_quantile(r[index], 0.50) for r in results)
        p99 = med(_quantile(r[index], 0.99) for r in results)
        p999 = med(_quantile(r[index], 0.999) for r in results)
        mean = med(statistics.fmean(r[index]) / 1000 for r in results)
        print(f"  {name + ' latency per message:':26}p50 {p50:.1f} µs, p99 {p99:.1f} µs, "
              f"p99.9 {p999:.1f} µs, mean {mean:.1f} µs")
    spread = sorted(count / r[1] for r in results)
    print(f"  (CPU-time throughput over {len(results)} repeats: {spread[0]:,.0f} to {spread[-1]:,.0f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20_000, help="messages per repeat")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pin", action="store_true", help="pin the process to one CPU")
    args = parser.parse_args()
    if args.pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    rng = random.Random(args.seed)
    default_engine()  # compile the lexicons once, outside the measurement
    for line in make_lines(2_000, rng):  # warm up
        classify(line)
    batches = [make_lines(args.messages, rng) for _ in range(args.repeats)]
    print(f"{args.repeats} repeats of {args.messages} distinct chat lines, each classified with its "
          f"2 previous lines as context; {os.cpu_count()} CPUs, load average "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    stream = [measure(lines, cold=False) for lines in batches]
    report("stream (context lines come from the analysis cache, as in the server):", args.messages, stream)
    cold = [measure(lines, cold=True) for lines in batches]
    report("cold (cache cleared before every call: message and context analysed from scratch):",
           args.messages, cold)
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())} "
          "(on a shared machine, quote the CPU-time figures)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
