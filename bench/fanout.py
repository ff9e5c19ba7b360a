"""Fan-out benchmark: how many deliveries per second a hub sustains, at what latency and cost.

    python bench/fanout.py --compare --find-max          # bare websockets hub vs peerchat, one run
    python bench/fanout.py --target http://127.0.0.1:8000 --server-pid 1234 --rate 200

C clients join R rooms (client i joins room i mod R) from several generator processes; every client is
also a sender, taking turns so that the total send rate is spread over all of them and each stays under
the server's per-member rate limit. Each message carries its send time; every member of its room should
receive it exactly once. Printed per server: deliveries/s, lost and doubled deliveries, p50/p99 latency,
server CPU per delivery (psutil, by pid) and RSS per idle connection; with --compare, the ratio
peerchat / bare hub of each. See bench/README.md for what each figure means and its limits.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import _fanout_worker
import psutil
from _fanout_stats import StepReport, StepResult, median, merge

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
READY_TIMEOUT_S = 30.0
SETTLE_MAX_S = 15.0
SETTLE_CPU_PCT = 5.0  # the server counts as idle below this


# -- the server under test ----------------------------------------------------------------------------------
@dataclass
class Server:
    """A server to measure: its base URLs (several for a multi-node deployment) and pids, if known."""

    name: str
    urls: list[str]
    pids: list[int]
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    def processes(self) -> list[psutil.Process]:
        procs: list[psutil.Process] = []
        for pid in self.pids:
            with suppress(psutil.Error):
                p = psutil.Process(pid)
                procs += [p, *p.children(recursive=True)]
        return procs

    def cpu_s(self) -> float | None:
        """User + system CPU time of the server's processes (and their children), or None without pids."""
        if not self.pids:
            return None
        total = 0.0
        for p in self.processes():
            with suppress(psutil.Error):
                t = p.cpu_times()
                total += t.user + t.system
        return total

    def rss(self) -> int | None:
        if not self.pids:
            return None
        total = 0
        for p in self.processes():
            with suppress(psutil.Error):
                total += p.memory_info().rss
        return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes] | None, timeout: float = READY_TIMEOUT_S) -> None:
    """Poll GET /healthz until it answers 200; fail early if the server process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with suppress(OSError):
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as resp:
                if resp.status == 200:
                    return
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout:g} s")


@contextmanager
def started(name: str, argv: list[str], port: int) -> Iterator[Server]:
    """Start a server as a subprocess on a loopback port, wait until it is ready, and always stop it."""
    log = Path(tempfile.mkstemp(prefix=f"fanout-{name}-", suffix=".log")[1])
    with log.open("wb") as out:
        process = subprocess.Popen(argv, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    server = Server(name, [f"http://127.0.0.1:{port}"], [process.pid], process, log)
    try:
        wait_ready(server.urls[0], process)
        yield server
    except RuntimeError as exc:
        tail = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{name}: {exc}\n--- {log} (tail) ---\n{tail}") from exc
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@contextmanager
def started_redis_nodes(nodes: int, data_dir: str) -> Iterator[Server]:
    """A redis-server (no persistence) and `nodes` peerchat nodes over it, all on loopback ports.
    The Redis process is part of the deployment, so its CPU and memory count too."""
    redis_port = free_port()
    log = Path(tempfile.mkstemp(prefix="fanout-redis-", suffix=".log")[1])
    with log.open("wb") as out:
        redis = subprocess.Popen(
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=out, stderr=subprocess.STDOUT)
    env = {**os.environ, "PEERCHAT_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
           "PEERCHAT_SECRET": secrets.token_urlsafe(48)}
    processes: list[subprocess.Popen[bytes]] = []
    urls = []
    try:
        time.sleep(0.3)
        for i in range(nodes):
            port = free_port()
            node_log = Path(tempfile.mkstemp(prefix=f"fanout-node{i}-", suffix=".log")[1])
            with node_log.open("wb") as out:
                processes.append(subprocess.Popen(peerchat_argv(port, f"{data_dir}/node{i}"), cwd=REPO, env=env,
                                                  stdout=out, stderr=subprocess.STDOUT))
            urls.append(f"http://127.0.0.1:{port}")
        for url, process in zip(urls, processes, strict=True):
            wait_ready(url, process)
        yield Server(f"redis-{nodes}-nodes", urls, [p.pid for p in processes] + [redis.pid])
    finally:
        for process in [*processes, redis]:
            process.terminate()
        for process in [*processes, redis]:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


def bare_argv(port: int) -> list[str]:
    return [sys.executable, str(BENCH / "bare_hub.py"), "--port", str(port)]


def peerchat_argv(port: int, data_dir: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "server.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        data_dir,
    ]


def settle(server: Server, max_s: float = SETTLE_MAX_S) -> None:
    """Wait (bounded) until the server is idle, so one phase's backlog does not count in the next."""
    before = server.cpu_s()
    if before is None:
        time.sleep(1.0)
        return
    deadline = time.monotonic() + max_s
    while time.monotonic() < deadline:
        time.sleep(0.25)
        after = server.cpu_s() or 0.0
        if (after - before) / 0.25 * 100 < SETTLE_CPU_PCT:
            return
        before = after


def room_ids(url: str) -> list[str]:
    with urllib.request.urlopen(f"{url}/api/rooms", timeout=5) as resp:
        return [r["id"] for r in json.load(resp)["rooms"]]


# -- the generator processes ------------------------------------------------------------------------------
class Pool:
    """The generator processes and the pipe to each; commands go to all and wait for all (bounded)."""

    def __init__(self, procs: int, client_kind: str) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.procs = []
        for index in range(procs):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_fanout_worker.main, args=(child, index, client_kind), daemon=True)
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)

    def __len__(self) -> int:
        return len(self.pipes)

    def command(self, name: str, args: Sequence[dict[str, Any]], timeout: float) -> list[Any]:
        for pipe, a in zip(self.pipes, args, strict=True):
            pipe.send((name, a))
        return [self.answer(pipe, name, timeout) for pipe in self.pipes]

    @staticmethod
    def answer(pipe: Connection, name: str, timeout: float) -> Any:
        if not pipe.poll(timeout):
            raise TimeoutError(f"generator did not answer {name!r} within {timeout:g} s")
        got, value = pipe.recv()
        if got != name:
            raise RuntimeError(f"generator answered {got!r} to {name!r}")
        return value

    def close(self) -> None:
        for pipe in self.pipes:
            with suppress(OSError):
                pipe.send(("exit", {}))
        for proc in self.procs:
            proc.join(15)
            if proc.is_alive():
                proc.terminate()


@dataclass(frozen=True)
class Layout:
    """Which client goes where: client i joins rooms[i % R] through urls[i % U], in process i % P."""

    urls: list[str]
    rooms: list[str]
    procs: int

    def share(self, count: int) -> list[dict[str, list[str]]]:
        shares: list[dict[str, list[str]]] = [{"urls": [], "rooms": []} for _ in range(self.procs)]
        for i in range(count):
            s = shares[i % self.procs]
            s["urls"].append(self.urls[i % len(self.urls)])
            s["rooms"].append(self.rooms[i % len(self.rooms)])
        return shares


def open_group(pool: Pool, layout: Layout, group: str, count: int) -> dict[str, int]:
    """Open `count` clients (hello + join) in every process; answer members by room. Fails loudly."""
    answers = pool.command("open", [{"group": group, **s} for s in layout.share(count)], timeout=300)
    members: dict[str, int] = {}
    for a in answers:
        if a["errors"]:
            raise RuntimeError(f"{a['errors']} of the {group} clients failed to open: {a['error']}")
        for room, n in a["opened"].items():
            members[room] = members.get(room, 0) + n
    return members


def close_group(pool: Pool, group: str) -> None:
    pool.command("close", [{"group": group}] * len(pool), timeout=120)


# -- measurements ------------------------------------------------------------------------------------------
def idle_rss_per_connection(pool: Pool, layout: Layout, server: Server, count: int) -> float | None:
    """RSS growth of the server per idle connection (hello + join, no traffic), in KiB.

    A few connections are opened and closed first so that lazy imports and first-use caches are not
    charged to the connections; the RSS is read once the server has gone quiet (the joins cause presence
    traffic on servers that send it).
    """
    if server.rss() is None or count <= 0:
        return None
    open_group(pool, layout, "warm", min(count, 20 * len(pool)))
    close_group(pool, "warm")
    settle(server)
    before = server.rss() or 0
    open_group(pool, layout, "idle", count)
    settle(server)
    time.sleep(0.5)
    after = server.rss() or 0
    close_group(pool, "idle")
    settle(server)
    return (after - before) / count / 1024


@dataclass
class Runner:
    """Runs steps against one server with one set of load clients open."""

    pool: Pool
    server: Server
    members: dict[str, int]
    duration: float
    drain_max: float
    run_id: str
    steps_run: int = 0
    results: list[StepResult] = field(default_factory=list)
    log: Callable[[str], None] = print

    def step(self, rate: float) -> StepResult:
        """Send at `rate` msgs/s for the step's duration, drain, and merge the processes' counts."""
        self.steps_run += 1
        settle(self.server)
        tag = f"{self.run_id}.{self.steps_run}"
        clients = sum(self.members.values())
        start_at = time.time() + 0.5
        shares = [self.share(i, clients) for i in range(len(self.pool))]
        args = [
            {
                "tag": tag,
                "rate": rate * s,
                "start_at": start_at,
                "duration": self.duration,
                "drain_max": self.drain_max,
            }
            for s in shares
        ]
        for pipe, a in zip(self.pool.pipes, args, strict=True):
            pipe.send(("step", a))
        time.sleep(max(0.0, start_at - time.time()))
        cpu0 = self.server.cpu_s()
        timeout = self.duration + self.drain_max + 30
        reports: list[StepReport] = [self.pool.answer(p, "step", timeout) for p in self.pool.pipes]
        cpu1 = self.server.cpu_s()
        cpu = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else float("nan")
        result = merge(reports, self.members, rate, cpu)
        self.results.append(result)
        return result

    def share(self, index: int, clients: int) -> float:
        """The fraction of all clients (hence of the send rate) in generator `index` (clients i % P)."""
        procs = len(self.pool)
        return len(range(index, clients, procs)) / clients


def describe(r: StepResult, verdict: str | None) -> str:
    gen = "/".join(f"{g:.0f}" for g in r.generator_cpu_pct)
    return (
        f"rate {r.rate:8.1f} msg/s  sent {r.sent:6d}  deliveries/s {r.deliveries_per_s:9.0f}  "
        f"lost {r.lost}  doubled {r.doubled}  p50 {r.p50_ms:7.1f} ms  p99 {r.p99_ms:7.1f} ms  "
        f"server cpu {r.server_cpu_pct:4.0f}%  {r.server_cpu_us_per_delivery:5.1f} us/delivery  "
        f"gen cpu {gen}%  -> {verdict or 'ok'}"
    )


@dataclass
class Summary:
    """One server's figures: medians over the repeats of the reported rate."""

    name: str
    rate: float = float("nan")
    deliveries_per_s: float = float("nan")
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    lost: int = 0
    doubled: int = 0
    cpu_us_per_delivery: float = float("nan")
    idle_kib_per_connection: float | None = None
    generator_cpu_pct: float = float("nan")
    passed: str = ""
    note: str = ""
    steps: list[dict[str, Any]] = field(default_factory=list)


def summarize(name: str, results: list[StepResult], p99_limit: float) -> Summary:
    passed = sum(1 for r in results if r.failure(p99_limit) is None)
    return Summary(
        name=name,
        rate=median(r.rate for r in results),
        deliveries_per_s=median(r.deliveries_per_s for r in results),
        p50_ms=median(r.p50_ms for r in results),
        p99_ms=median(r.p99_ms for r in results),
        lost=sum(r.lost for r in results),
        doubled=sum(r.doubled for r in results),
        cpu_us_per_delivery=median(r.server_cpu_us_per_delivery for r in results),
        generator_cpu_pct=median(max(r.generator_cpu_pct) for r in results),
        passed=f"{passed}/{len(results)}",
    )


def fixed_rate(runner: Runner, rate: float, repeats: int, p99_limit: float) -> Summary:
    results = []
    for _ in range(repeats):
        r = runner.step(rate)
        runner.log("  " + describe(r, r.failure(p99_limit)))
        results.append(r)
    return summarize(runner.server.name, results, p99_limit)


@dataclass(frozen=True)
class Search:
    """Bounds of --find-max: it multiplies the rate by `factor` while steps pass, then bisects."""

    start: float
    factor: float
    cap: float  # the rate at which every client sends at the per-member limit
    max_steps: int
    max_seconds: float
    p99_limit: float
    resolution: float = 1.1  # stop bisecting when fail / pass is below this


def find_max(runner: Runner, search: Search, repeats: int) -> Summary:
    """Highest send rate whose step loses nothing, doubles nothing and keeps p99 under the limit.

    Bounded in steps and in time; the best rate is then run `repeats` more times and its medians reported,
    so one lucky step is not the headline.
    """
    started = time.monotonic()
    best: float | None = None
    failed: float | None = None
    rate = min(search.start, search.cap)
    note = ""
    for _ in range(search.max_steps):
        if time.monotonic() - started + runner.duration + runner.drain_max > search.max_seconds:
            note = "time budget reached"
            break
        result = runner.step(rate)
        verdict = result.failure(search.p99_limit)
        runner.log("  " + describe(result, verdict))
        if verdict is None:
            best = rate
            if rate >= search.cap:
                note = f"capped at {search.cap:g} msg/s (clients x per-member rate); raise --clients"
                break
        else:
            failed = rate
        if failed is None:
            rate = min(rate * search.factor, search.cap)
        elif best is None:
            rate = rate / search.factor  # even the start failed: step down
        else:
            if failed / best < search.resolution:
                break
            rate = math.sqrt(best * failed)
    if best is None:
        summary = Summary(runner.server.name, note=note or "no passing rate found")
        return summary
    runner.log(f"  confirming {best:.1f} msg/s x {repeats}")
    summary = fixed_rate(runner, best, repeats, search.p99_limit)
    return replace(summary, note=note)


# -- one server, end to end ----------------------------------------------------------------------------------
def measure(server: Server, args: argparse.Namespace, pool: Pool) -> Summary:
    """Idle RSS, then the load steps, against one server."""
    print(f"== {server.name} {','.join(server.urls)} pids {server.pids or 'unknown'}", flush=True)
    available = room_ids(server.urls[0])
    if args.rooms > len(available):
        raise SystemExit(f"--rooms {args.rooms} but {server.name} has {len(available)} rooms")
    layout = Layout(server.urls, available[: args.rooms], len(pool))
    idle = idle_rss_per_connection(pool, layout, server, args.idle)
    if idle is not None:
        print(f"  idle: {idle:.1f} KiB RSS per connection ({args.idle} connections)", flush=True)
    members = open_group(pool, layout, "load", args.clients)
    print(f"  load: {sum(members.values())} clients in {members}", flush=True)
    runner = Runner(pool, server, members, args.duration, args.drain, run_id=f"{os.getpid():x}{server.name}")
    try:
        if args.find_max:
            search = Search(
                args.start_rate,
                args.step_factor,
                args.clients * args.sender_rate,
                args.max_steps,
                args.max_time,
                args.p99_ms,
            )
            summary = find_max(runner, search, args.repeats)
        else:
            summary = fixed_rate(runner, args.rate, args.repeats, args.p99_ms)
    finally:
        close_group(pool, "load")
    summary.idle_kib_per_connection = idle
    summary.steps = [asdict(r) for r in runner.results]
    return summary


# -- the report ----------------------------------------------------------------------------------------------
ROWS: list[tuple[str, str, str]] = [
    # (label, Summary attribute, format)
    ("send rate (msg/s)", "rate", "{:.1f}"),
    ("deliveries/s", "deliveries_per_s", "{:,.0f}"),
    ("p50 latency (ms)", "p50_ms", "{:.1f}"),
    ("p99 latency (ms)", "p99_ms", "{:.1f}"),
    ("lost deliveries", "lost", "{:d}"),
    ("doubled deliveries", "doubled", "{:d}"),
    ("server CPU (us/delivery)", "cpu_us_per_delivery", "{:.2f}"),
    ("RSS per idle conn (KiB)", "idle_kib_per_connection", "{:.1f}"),
    ("generator CPU, busiest (%)", "generator_cpu_pct", "{:.0f}"),
    ("steps passed", "passed", "{}"),
]


def cell(value: Any, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return fmt.format(value)


def ratio(a: Any, b: Any) -> str:
    if not isinstance(a, int | float) or not isinstance(b, int | float) or not b or a != a or b != b:
        return ""
    return f"{a / b:.2f}x"


def table(summaries: list[Summary]) -> str:
    """The figures side by side; with two servers, the ratio second / first (peerchat / bare)."""
    header = ["figure", *(s.name for s in summaries)] + (["ratio"] if len(summaries) == 2 else [])
    rows = [header]
    for label, attr, fmt in ROWS:
        values = [getattr(s, attr) for s in summaries]
        row = [label, *(cell(v, fmt) for v in values)]
        if len(summaries) == 2:
            row.append(ratio(values[1], values[0]) if attr != "passed" else "")
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    notes = [f"note ({s.name}): {s.note}" for s in summaries if s.note]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:], *notes])


def targets_check(bare: Summary, peer: Summary) -> str:
    """The issue's targets: >= 0.6x the bare hub's sustained rate, and < 24 KiB per idle connection."""
    share = peer.deliveries_per_s / bare.deliveries_per_s if bare.deliveries_per_s else float("nan")
    rss = peer.idle_kib_per_connection
    return (
        f"target: peerchat sustained deliveries/s >= 0.6x bare: {share:.2f}x "
        f"{'met' if share >= 0.6 else 'NOT met'}; idle RSS < 24 KiB: "
        f"{'n/a' if rss is None else f'{rss:.1f} KiB ' + ('met' if rss < 24 else 'NOT met')}"
    )


def redis_targets_check(embedded: Summary, redis: Summary) -> str:
    """The scale-out issue's target: the nodes over Redis deliver >= 0.7x one embedded node, p99 < 150 ms."""
    share = redis.deliveries_per_s / embedded.deliveries_per_s if embedded.deliveries_per_s else float("nan")
    p99 = redis.p99_ms
    return (
        f"target: {redis.name} deliveries/s >= 0.7x embedded: {share:.2f}x {'met' if share >= 0.7 else 'NOT met'}; "
        f"p99 < 150 ms: {'n/a' if p99 is None else f'{p99:.1f} ms ' + ('met' if p99 < 150 else 'NOT met')}"
    )


# -- command line --------------------------------------------------------------------------------------------
def positive(kind: type[int] | type[float], upper: float) -> Callable[[str], Any]:
    """An argparse type that bounds the value: every load loop here is bounded in count and time."""

    def parse(text: str) -> Any:
        value = kind(text)
        if not 0 < value <= upper:
            raise argparse.ArgumentTypeError(f"must be in (0, {upper:g}]")
        return value

    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--target", help="base URL of a running server, e.g. http://127.0.0.1:8000")
    where.add_argument(
        "--targets", help="comma-separated base URLs of several nodes; clients spread over them"
    )
    where.add_argument("--compare", action="store_true", help="start the bare hub and peerchat, measure both")
    where.add_argument("--compare-redis", type=positive(int, 8), metavar="N",
                       help="start one embedded node, then Redis and N nodes over it; measure both")
    p.add_argument(
        "--server-pid", default="", help="with --target(s): pid(s), comma-separated, for CPU and RSS"
    )
    p.add_argument("--only", choices=["bare", "peerchat"], help="with --compare: start and measure only one")
    p.add_argument("--clients", type=positive(int, 20_000), default=500, help="load clients (default 500)")
    p.add_argument("--rooms", type=positive(int, 100), default=1, help="rooms they spread over (default 1)")
    p.add_argument("--rate", type=positive(float, 50_000), default=100.0, help="total sends/s (default 100)")
    p.add_argument("--find-max", action="store_true", help="step the rate up until loss or p99 > --p99-ms")
    p.add_argument("--start-rate", type=positive(float, 50_000), default=50.0, help="--find-max first rate")
    p.add_argument("--step-factor", type=float, default=1.5, help="--find-max rate multiplier (default 1.5)")
    p.add_argument(
        "--max-steps", type=positive(int, 50), default=12, help="--find-max step bound (default 12)"
    )
    p.add_argument(
        "--max-time", type=positive(float, 3600), default=600, help="--find-max seconds per server"
    )
    p.add_argument("--p99-ms", type=positive(float, 60_000), default=100.0, help="p99 limit (default 100 ms)")
    p.add_argument("--duration", type=positive(float, 120), default=5.0, help="seconds per step (default 5)")
    p.add_argument(
        "--drain", type=positive(float, 60), default=10.0, help="max seconds to drain after a step"
    )
    p.add_argument(
        "--repeats", type=positive(int, 20), default=3, help="repeats of the reported rate (median)"
    )
    p.add_argument("--procs", type=positive(int, 64), default=2, help="generator processes (default 2)")
    p.add_argument(
        "--idle", type=int, default=1000, help="idle connections for RSS (0 to skip; default 1000)"
    )
    p.add_argument(
        "--sender-rate",
        type=positive(float, 100),
        default=1.5,
        help="max sends/s per member (default 1.5, under peerchat's 2/s limit)",
    )
    p.add_argument(
        "--client",
        choices=["raw", "websockets"],
        default="raw",
        help="generator WebSocket client: raw (fast, default) or websockets' asyncio client",
    )
    p.add_argument("--json", type=Path, help="also write the figures to this file")
    args = p.parse_args(argv)
    if not 1.0 < args.step_factor <= 4.0:
        p.error("--step-factor must be in (1, 4]")
    if not 0 <= args.idle <= 20_000:
        p.error("--idle must be in [0, 20000]")
    if not args.find_max and args.rate / args.clients > args.sender_rate:
        p.error(
            f"--rate {args.rate:g} over {args.clients} clients is more than --sender-rate "
            f"{args.sender_rate:g} per member: add clients"
        )
    return args


def servers_to_measure(args: argparse.Namespace, data_dir: str) -> Iterator[tuple[str, Callable[[], Any]]]:
    """(name, context manager factory) for each server in turn; with --compare they are started here."""
    if args.compare_redis:
        port = free_port()
        yield "embedded", lambda: started("embedded", peerchat_argv(port, f"{data_dir}/embedded"), port)
        yield "redis", lambda: started_redis_nodes(args.compare_redis, data_dir)
        return
    if args.compare:
        if args.only in (None, "bare"):
            port = free_port()
            yield "bare", lambda: started("bare", bare_argv(port), port)
        if args.only in (None, "peerchat"):
            port = free_port()
            yield "peerchat", lambda: started("peerchat", peerchat_argv(port, data_dir), port)
        return
    urls = [u.strip().rstrip("/") for u in (args.targets or args.target).split(",") if u.strip()]
    pids = [int(p) for p in args.server_pid.split(",") if p.strip()]

    @contextmanager
    def existing() -> Iterator[Server]:
        for url in urls:
            wait_ready(url, None, timeout=5)
        yield Server("target", urls, pids)

    yield "target", existing


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _fanout_worker.raise_nofile_limit()  # inherited by the servers started here
    print(
        f"fanout: {args.clients} clients, {args.rooms} room(s), {args.procs} generator processes, "
        f"{os.cpu_count()} cores; {'find-max' if args.find_max else f'rate {args.rate:g} msg/s'}, "
        f"{args.duration:g} s per step, p99 limit {args.p99_ms:g} ms",
        flush=True,
    )
    summaries: list[Summary] = []
    data_dir = tempfile.mkdtemp(prefix="fanout-data-")
    pool = Pool(args.procs, args.client)
    try:
        for name, start in servers_to_measure(args, data_dir):
            try:
                with start() as server:
                    summaries.append(measure(server, args, pool))
            except (RuntimeError, OSError, TimeoutError) as exc:
                print(f"  {name} failed: {exc}", flush=True)
                summaries.append(Summary(name, note=f"failed: {str(exc).splitlines()[0]}"))
    finally:
        pool.close()
        shutil.rmtree(data_dir, ignore_errors=True)
    if not any(s.steps for s in summaries):
        for s in summaries:
            print(f"{s.name}: {s.note}")
        return 1
    print()
    print(table(summaries))
    if len(summaries) == 2 and summaries[0].name == "bare":
        print(targets_check(summaries[0], summaries[1]))
    if len(summaries) == 2 and summaries[0].name == "embedded":
        print(redis_targets_check(summaries[0], summaries[1]))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "args": {k: str(v) for k, v in vars(args).items()},
                    "summaries": [asdict(s) for s in summaries],
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
