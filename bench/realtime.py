"""Real time at K connections: Herald's hub against a bare ``websockets`` broadcast.

One server process pinned to one core (``herald api`` on SQLite with the in-process bus, or the
baseline); K WebSocket clients spread over several client processes pinned to the other core,
so that no single client event loop is what is measured. K clients share U users (K/U
connections each). The load is open-loop at a fixed rate of events (frames) per second across
all clients (``--rate``, 1000 by default): notifications go out on a clock, each to a few users,
whether or not earlier ones have arrived; each gives every connection of its users two frames
(``notification.created`` and ``count``). Latency is from the moment the POST (baseline: the
broadcast request) is sent to each client's ``created`` frame, on the system's monotonic clock,
which every process shares. Memory is the server's RSS growth divided by K. The client
processes' CPU share is reported too: near 100% would mean the clients, not the server, limit.

    python -m bench.realtime --clients 1000 5000 10000 [--rate 1000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import connect

from bench.common import PYTHON, Report, free_port, percentile, pin, running, server_cores

HERALD = str(Path(sys.executable).with_name("herald"))
USERS = 100
CLIENTS_PER_PROCESS = 2500
# Notifications per second the load aims at; each goes to as many users as the rate needs.
POSTS_PER_S = 10
ITEM = {"subType": "incomingCall", "data": {"callerId": "07123 456789"}, "pad": "x" * 400}


def raise_fd_limit() -> None:
    """Allow as many sockets as the hard limit allows (K clients, and the server's K too)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@dataclass(frozen=True)
class Plan:
    """How the rate is made: users per notification and notifications per second."""

    per_user: int  # connections per user
    users_per_post: int
    posts_per_s: float

    @classmethod
    def of(cls, k: int, rate: float) -> Plan:
        """Two frames per connection of each targeted user; aim at ``POSTS_PER_S`` posts."""
        per_user = max(1, k // USERS)
        frames_per_user = 2 * per_user
        users = max(1, min(USERS, round(rate / (POSTS_PER_S * frames_per_user))))
        return cls(per_user, users, rate / (users * frames_per_user))

    def targets(self, index: int) -> list[int]:
        """The users of notification ``index``: the next ones round the circle."""
        start = index * self.users_per_post
        return [(start + i) % USERS for i in range(self.users_per_post)]


# --- client processes ----------------------------------------------------------------------


def client_process(urls: list[str], cores: set[int], pipe: Pipe) -> None:
    """Connect ``urls``, report readiness, record created frames until told to stop."""
    pin(cores)
    raise_fd_limit()
    asyncio.run(_client_main(urls, pipe))


async def _client_main(urls: list[str], pipe: Pipe) -> None:
    arrivals: list[tuple[str, float]] = []
    frames = 0

    async def read(socket: Any) -> None:
        nonlocal frames
        async for raw in socket:
            frame = orjson.loads(raw)
            if "seq" not in frame:
                continue
            frames += 1
            if frame["event"] == "notification.created":
                arrivals.append((frame["data"]["notification_id"], time.monotonic()))

    sockets = []
    for start in range(0, len(urls), 200):
        batch = urls[start : start + 200]
        # The server's protocol pings keep the sockets alive; the clients need not ping too.
        sockets += await asyncio.gather(
            *(connect(u, open_timeout=120, ping_interval=None, max_queue=None) for u in batch)
        )
    tasks = [asyncio.create_task(read(s)) for s in sockets]
    loop = asyncio.get_running_loop()
    pipe.send("connected")
    await loop.run_in_executor(None, pipe.recv)  # start
    cpu0 = _cpu_seconds()
    await loop.run_in_executor(None, pipe.recv)  # stop
    cpu = _cpu_seconds() - cpu0
    pipe.send({"arrivals": arrivals, "frames": frames, "cpu": cpu})
    for task in tasks:
        task.cancel()
    await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Clients:
    """K clients in ``ceil(K / CLIENTS_PER_PROCESS)`` processes pinned to the load cores."""

    def __init__(self, urls: list[str], cores: set[int]) -> None:
        count = math.ceil(len(urls) / CLIENTS_PER_PROCESS)
        context = multiprocessing.get_context("spawn")
        self.pipes: list[Pipe] = []
        self.processes = []
        for i in range(count):
            mine, theirs = context.Pipe()
            part = urls[i::count]
            process = context.Process(target=client_process, args=(part, cores, theirs))
            process.start()
            self.pipes.append(mine)
            self.processes.append(process)

    async def connected(self) -> None:
        """Wait until every process has all its sockets open."""
        loop = asyncio.get_running_loop()
        for pipe in self.pipes:
            answer = await loop.run_in_executor(None, pipe.recv)
            assert answer == "connected", answer

    def start(self) -> None:
        """Start counting CPU time."""
        for pipe in self.pipes:
            pipe.send("start")

    async def stop(self) -> tuple[list[tuple[str, float]], int, float]:
        """Collect arrivals, frame counts and CPU seconds, and end the processes."""
        loop = asyncio.get_running_loop()
        for pipe in self.pipes:
            pipe.send("stop")
        arrivals: list[tuple[str, float]] = []
        frames, cpu = 0, 0.0
        for pipe in self.pipes:
            got = await loop.run_in_executor(None, pipe.recv)
            arrivals += got["arrivals"]
            frames += got["frames"]
            cpu += got["cpu"]
        for process in self.processes:
            process.join(30)
            if process.is_alive():
                process.kill()
        return arrivals, frames, cpu


# --- the load ------------------------------------------------------------------------------


async def measure(
    clients: Clients,
    plan: Plan,
    seconds: float,
    fire: Callable[[int, list[int]], Awaitable[str]],
) -> dict[str, float]:
    """Fire notifications on a clock for ``seconds``, then gather what arrived and when."""
    posts = max(1, round(seconds * plan.posts_per_s))
    sent: dict[str, float] = {}
    clients.start()
    started = time.monotonic()

    async def one(index: int) -> None:
        at = time.monotonic()
        sent[await fire(index, plan.targets(index))] = at

    tasks = []
    for index in range(posts):
        delay = started + index / plan.posts_per_s - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(index)))
    await asyncio.gather(*tasks)
    expected = posts * plan.users_per_post * plan.per_user
    # Let the last frames land; what is still missing then is counted as missing.
    await asyncio.sleep(5)
    arrivals, frames, cpu = await clients.stop()
    elapsed = time.monotonic() - started
    latencies = [(t - sent[n]) * 1000 for n, t in arrivals if n in sent]
    last = max((t for _, t in arrivals), default=started)
    return {
        "rate_asked": plan.users_per_post * plan.per_user * 2 * plan.posts_per_s,
        "events_per_s": frames / max(last - started, 1e-9),
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies, default=0.0),
        "missing": expected - len(latencies),
        "client_cpu_pct": 100 * cpu / elapsed,
    }


def rss_kib(pid: int) -> int:
    """A process's resident memory."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _bootstrap(env: dict[str, str]) -> str:
    """Migrate the fresh database and make an account; its API key."""
    subprocess.run([HERALD, "migrate"], env=env, check=True, capture_output=True)
    made = subprocess.run(
        [HERALD, "accounts", "create", "bench", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    key: str = json.loads(made.stdout)["api_key"]
    return key


async def herald_run(
    k: int, rate: float, seconds: float, workdir: Path, cores: tuple[set[int], set[int]]
) -> dict[str, float]:
    """Herald: ``herald api`` on a fresh SQLite database, K clients over U users."""
    server, load = cores
    env = {
        "HERALD_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/bench-{k}.db",
        "HERALD_LOG_LEVEL": "WARNING",
        "HERALD_REALTIME_RESUME_GRACE": "0",
        "HERALD_RATE_LIMIT": "100000/minute",
    }
    key = _bootstrap({**os.environ, **env})
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    plan = Plan.of(k, rate)
    with running([HERALD, "api", "--port", str(port)], port=port, env=env, cores=server) as proc:
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60
        ) as http:
            tokens = [await _user(http, f"u{i}") for i in range(USERS)]
            idle = rss_kib(proc.pid)
            urls = [
                f"ws://127.0.0.1:{port}/v1/realtime?token={tokens[i % USERS]}" for i in range(k)
            ]
            clients = Clients(urls, load)
            await clients.connected()
            await asyncio.sleep(1)
            per_connection = (rss_kib(proc.pid) - idle) / k

            async def fire(index: int, users: list[int]) -> str:
                body = {
                    "type": "telephony",
                    "subType": "incomingCall",
                    "targets": {"users": [f"u{i}" for i in users]},
                    "payload": {
                        "id": f"call-{index}",
                        "created": "2023-11-01T10:28:00",
                        "callerId": "07123 456789",
                        "destinationId": "01234 567890",
                    },
                }
                answer = await http.post("/v1/notifications", json=body)
                answer.raise_for_status()
                notification: str = answer.json()["id"]
                return notification

            result = await measure(clients, plan, seconds, fire)
    return {**result, "kib_per_connection": per_connection}


async def _user(http: httpx.AsyncClient, external_id: str) -> str:
    (await http.put(f"/v1/users/{external_id}", json={"name": external_id})).raise_for_status()
    issued = await http.post(f"/v1/users/{external_id}/tokens")
    issued.raise_for_status()
    token: str = issued.json()["token"]
    return token


async def baseline_run(
    k: int, rate: float, seconds: float, cores: tuple[set[int], set[int]]
) -> dict[str, float]:
    """The baseline: a bare ``websockets`` server sending the same two frames per user."""
    server, load = cores
    port = free_port()
    argv = [PYTHON, "-m", "bench.realtime", "--baseline-server", str(port)]
    plan = Plan.of(k, rate)
    with running(argv, port=port, cores=server, ready_path="/") as proc:
        idle = rss_kib(proc.pid)
        clients = Clients([f"ws://127.0.0.1:{port}/u{i % USERS}" for i in range(k)], load)
        await clients.connected()
        control = await connect(f"ws://127.0.0.1:{port}/control")
        await asyncio.sleep(1)
        per_connection = (rss_kib(proc.pid) - idle) / k

        async def fire(index: int, users: list[int]) -> str:
            await control.send(orjson.dumps([index, users]))
            return f"b-{index}"

        result = await measure(clients, plan, seconds, fire)
        await control.close()
    return {**result, "kib_per_connection": per_connection}


async def baseline_server(port: int) -> None:
    """Send notification r's two frames to its users' connections when /control asks."""
    from websockets.asyncio.server import ServerConnection, broadcast, serve
    from websockets.http11 import Request, Response

    users: dict[str, set[ServerConnection]] = {}
    seqs: dict[str, int] = {}

    async def handler(socket: ServerConnection) -> None:
        path = socket.request.path if socket.request is not None else "/"
        if path == "/control":
            async for message in socket:
                index, targets = orjson.loads(message)
                for user in targets:
                    name = f"/u{user}"
                    seq = seqs[name] = seqs.get(name, 0) + 2
                    data = {**ITEM, "notification_id": f"b-{index}"}
                    created = {"event": "notification.created", "data": data, "seq": seq - 1}
                    count = {"event": "count", "data": {"unread": 1}, "seq": seq}
                    listeners = users.get(name, set())
                    broadcast(listeners, orjson.dumps(created).decode())
                    broadcast(listeners, orjson.dumps(count).decode())
            return
        users.setdefault(path, set()).add(socket)
        try:
            await socket.wait_closed()
        finally:
            users[path].discard(socket)

    def health(socket: ServerConnection, request: Request) -> Response | None:
        # Plain HTTP GET / answers 200 so that bench.common.running sees the server is up.
        if "upgrade" not in request.headers.get("connection", "").lower():
            return socket.respond(200, "ok\n")
        return None

    async with serve(handler, "127.0.0.1", port, process_request=health, max_queue=None):
        await asyncio.Future()


async def main(ks: list[int], rate: float, seconds: float, only: str | None) -> None:
    """Measure Herald and the baseline at each K; write bench/results/realtime.{json,md}."""
    cores = server_cores()
    pin(cores[1])
    report = Report(
        name="realtime",
        title="Real time: K WebSocket clients on one server process",
        columns=[
            "server", "clients", "rate_asked", "events_per_s", "p50_ms", "p99_ms", "max_ms",
            "missing", "kib_per_connection", "client_cpu_pct", "load_avg",
        ],
    )  # fmt: skip
    report.notes += [
        f"{USERS} users, K/{USERS} connections each. Open loop: {POSTS_PER_S} notifications a"
        " second or fewer, each to as many users as make the asked rate of frames (two per"
        " connection of each targeted user: created and count); run for the asked seconds.",
        "Latency: from the moment the POST (baseline: the broadcast request) is sent to each"
        " client's created frame; Herald's includes the HTTP request, the SQLite transaction,"
        " the hub's read of the new events and the send.",
        f"Server pinned to core(s) {sorted(cores[0])}; clients, {CLIENTS_PER_PROCESS} per"
        f" process, on {sorted(cores[1])}; SQLite, in-process bus (herald api).",
        "client_cpu_pct: CPU time of all client processes over the run's wall time.",
        "load_avg: the 1-minute load average when the row was measured (a shared 2-core box).",
    ]
    with tempfile.TemporaryDirectory() as workdir:
        for k in ks:
            runs: list[tuple[str, Callable[[], Awaitable[dict[str, float]]]]] = [
                ("herald", partial(herald_run, k, rate, seconds, Path(workdir), cores)),
                ("websockets broadcast", partial(baseline_run, k, rate, seconds, cores)),
            ]
            for name, run in runs:
                if only is not None and name != only:
                    continue
                row = await run()
                row["load_avg"] = os.getloadavg()[0]
                report.rows.append({"server": name, "clients": k, **row})
                print(name, k, row, report.write(), flush=True)  # a crash keeps the rows
    herald = {r["clients"]: r for r in report.rows if r["server"] == "herald"}
    if 10000 in herald:
        p99 = herald[10000]["p99_ms"]
        report.target("p99 at 10k clients, 1k events/s", p99, "< 100 ms", p99 < 100)
    if herald:
        worst = max(r["kib_per_connection"] for r in herald.values()) * 1.024  # KiB -> KB
        report.target("memory per connection (KB)", worst, "<= 30 KB", worst <= 30)
    report.write()


def cli() -> None:
    """``python -m bench.realtime [--clients K ...] [--rate N] [--seconds S]``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--rate", type=float, default=1000, help="frames per second, all clients")
    parser.add_argument("--seconds", type=float, default=10, help="how long the load runs")
    parser.add_argument("--only", choices=["herald", "websockets broadcast"], default=None)
    parser.add_argument("--baseline-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    raise_fd_limit()  # inherited by the servers this process starts
    if args.baseline_server:
        asyncio.run(baseline_server(args.baseline_server))
        return
    asyncio.run(main(args.clients, args.rate, args.seconds, args.only))


if __name__ == "__main__":
    cli()
