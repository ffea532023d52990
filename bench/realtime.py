"""Real time at K connections: Herald's hub against a bare ``websockets`` broadcast.

One server process pinned to one core (``herald api`` on SQLite with the in-process bus, or the
baseline), K WebSocket clients in this process on the other cores. K clients share U users (K/U
connections each); each round one notification goes to every user, so each client gets two
frames (``notification.created`` and ``count``). Latency is from the POST (or, for the baseline,
the broadcast request) to each client's ``created`` frame; throughput is frames delivered per
second over all rounds; memory is the server's RSS growth divided by K.

    python -m bench.realtime --clients 1000 5000 10000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

from bench.common import PYTHON, Report, free_port, percentile, pin, running, server_cores

HERALD = str(Path(sys.executable).with_name("herald"))
USERS = 100
ROUNDS = 20
ITEM = {"subType": "incomingCall", "data": {"callerId": "07123 456789"}, "pad": "x" * 400}


@dataclass
class Clients:
    """K connected clients and when each received each round's ``created`` frame."""

    sockets: list[ClientConnection] = field(default_factory=list)
    received: dict[int, list[float]] = field(default_factory=dict)
    frames: int = 0
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def read(self, socket: ClientConnection) -> None:
        """Record arrival times; round r's created frame has seq 2r+1 in every user's stream."""
        async for raw in socket:
            frame = orjson.loads(raw)
            if "seq" not in frame:
                continue
            self.frames += 1
            if frame["event"] == "notification.created":
                self.received.setdefault((frame["seq"] - 1) // 2, []).append(time.perf_counter())
                self.arrived.set()

    async def wait_round(self, index: int, count: int) -> None:
        """Until ``count`` clients have round ``index``'s created frame."""
        while len(self.received.get(index, ())) < count:
            self.arrived.clear()
            await self.arrived.wait()

    async def close(self) -> None:
        """Close every socket."""
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*(s.close() for s in self.sockets), return_exceptions=True)


async def open_clients(urls: list[str]) -> Clients:
    """Connect every URL (a few hundred at a time) and start reading."""
    clients = Clients()
    for start in range(0, len(urls), 200):
        batch = urls[start : start + 200]
        sockets = await asyncio.gather(*(connect(u, open_timeout=60) for u in batch))
        clients.sockets += sockets
    clients.tasks = [asyncio.create_task(clients.read(s)) for s in clients.sockets]
    return clients


def rss_kib(pid: int) -> int:
    """A process's resident memory."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def measure(
    clients: Clients, k: int, fire: Callable[[int], Awaitable[None]]
) -> dict[str, float]:
    """Run the rounds: fire one, wait for all K; latency percentiles and frames per second."""
    latencies: list[float] = []
    started = time.perf_counter()
    before = clients.frames
    for index in range(ROUNDS):
        fired = time.perf_counter()
        await fire(index)
        await asyncio.wait_for(clients.wait_round(index, k), 120)
        latencies += [(t - fired) * 1000 for t in clients.received[index]]
    elapsed = time.perf_counter() - started
    return {
        "events_per_s": (clients.frames - before) / elapsed,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
    }


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


async def herald_run(k: int, workdir: Path, cores: set[int]) -> dict[str, float]:
    """Herald: ``herald api`` on a fresh SQLite database, K clients over U users."""
    env = {
        "HERALD_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/bench-{k}.db",
        "HERALD_LOG_LEVEL": "WARNING",
        "HERALD_REALTIME_RESUME_GRACE": "0",
        "HERALD_RATE_LIMIT": "100000/minute",
    }
    key = _bootstrap({**os.environ, **env})
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running([HERALD, "api", "--port", str(port)], port=port, env=env, cores=cores) as proc:
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60
        ) as http:
            tokens = [await _user(http, f"u{i}") for i in range(USERS)]
            idle = rss_kib(proc.pid)
            urls = [
                f"ws://127.0.0.1:{port}/v1/realtime?token={tokens[i % USERS]}" for i in range(k)
            ]
            clients = await open_clients(urls)
            await asyncio.sleep(1)
            per_connection = (rss_kib(proc.pid) - idle) / k

            async def fire(index: int) -> None:
                body = {
                    "type": "telephony",
                    "subType": "incomingCall",
                    "targets": {"users": [f"u{i}" for i in range(USERS)]},
                    "payload": {
                        "id": f"call-{index}",
                        "created": "2023-11-01T10:28:00",
                        "callerId": "07123 456789",
                        "destinationId": "01234 567890",
                    },
                }
                answer = await http.post("/v1/notifications", json=body)
                answer.raise_for_status()

            result = await measure(clients, k, fire)
            await clients.close()
    return {**result, "kib_per_connection": per_connection}


async def _user(http: httpx.AsyncClient, external_id: str) -> str:
    (await http.put(f"/v1/users/{external_id}", json={"name": external_id})).raise_for_status()
    issued = await http.post(f"/v1/users/{external_id}/tokens")
    issued.raise_for_status()
    token: str = issued.json()["token"]
    return token


async def baseline_run(k: int, cores: set[int]) -> dict[str, float]:
    """The baseline: a bare ``websockets`` server broadcasting the same two frames per round."""
    port = free_port()
    argv = [PYTHON, "-m", "bench.realtime", "--baseline-server", str(port)]
    with running(argv, port=port, cores=cores, ready_path="/") as proc:
        idle = rss_kib(proc.pid)
        clients = await open_clients([f"ws://127.0.0.1:{port}/" for _ in range(k)])
        control = await connect(f"ws://127.0.0.1:{port}/control")
        await asyncio.sleep(1)
        per_connection = (rss_kib(proc.pid) - idle) / k

        async def fire(index: int) -> None:
            await control.send(str(index))

        result = await measure(clients, k, fire)
        await control.close()
        await clients.close()
    return {**result, "kib_per_connection": per_connection}


async def baseline_server(port: int) -> None:
    """Broadcast round r's two frames (seq 2r+1, 2r+2) to every client when /control asks."""
    from websockets.asyncio.server import ServerConnection, broadcast, serve
    from websockets.http11 import Request, Response

    listeners: set[ServerConnection] = set()

    async def handler(socket: ServerConnection) -> None:
        if socket.request is not None and socket.request.path == "/control":
            async for message in socket:
                seq = 2 * int(message) + 1
                broadcast(
                    listeners,
                    orjson.dumps(
                        {"event": "notification.created", "data": ITEM, "seq": seq}
                    ).decode(),
                )
                broadcast(
                    listeners,
                    orjson.dumps(
                        {"event": "count", "data": {"unread": 1}, "seq": seq + 1}
                    ).decode(),
                )
            return
        listeners.add(socket)
        try:
            await socket.wait_closed()
        finally:
            listeners.discard(socket)

    def health(socket: ServerConnection, request: Request) -> Response | None:
        # Plain HTTP GET / answers 200 so that bench.common.running sees the server is up.
        if "upgrade" not in request.headers.get("connection", "").lower():
            return socket.respond(200, "ok\n")
        return None

    async with serve(handler, "127.0.0.1", port, process_request=health, max_queue=None):
        await asyncio.Future()


async def main(ks: list[int]) -> None:
    """Measure Herald and the baseline at each K; write bench/results/realtime.{json,md}."""
    server, load = server_cores()
    pin(load)
    report = Report(
        name="realtime",
        title="Real time: K WebSocket clients on one server process",
        columns=["server", "clients", "events_per_s", "p50_ms", "p99_ms", "kib_per_connection"],
    )
    report.notes += [
        f"{USERS} users, K/{USERS} connections each; {ROUNDS} rounds of one notification to every"
        " user (two frames per client per round: created and count).",
        "Latency: from the start of the POST (baseline: the broadcast request) to each client's"
        " created frame; Herald's includes the HTTP request, the SQLite transaction, the hub's"
        " read of the new events and the send.",
        f"Server pinned to core(s) {sorted(server)}, clients on {sorted(load)}; SQLite, in-process"
        " bus (herald api).",
    ]
    with tempfile.TemporaryDirectory() as workdir:
        for k in ks:
            runs: list[tuple[str, Callable[[], Awaitable[dict[str, float]]]]] = [
                ("herald", partial(herald_run, k, Path(workdir), server)),
                ("websockets broadcast", partial(baseline_run, k, server)),
            ]
            for name, run in runs:
                row = await run()
                report.rows.append({"server": name, "clients": k, **row})
                print(name, k, row, report.write(), flush=True)  # a crash keeps the rows


def cli() -> None:
    """``python -m bench.realtime [--clients K ...]``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, nargs="+", default=[1000])
    parser.add_argument("--baseline-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_server:
        asyncio.run(baseline_server(args.baseline_server))
        return
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # K sockets, and the server's too
    asyncio.run(main(args.clients))


if __name__ == "__main__":
    cli()
