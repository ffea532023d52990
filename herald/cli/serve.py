"""``herald serve``, ``herald api`` and ``herald worker``: how the processes start.

A server binds its socket first, so a port already in use is one clear line before anything
else happens, and it says it listens only once it does.
"""

from __future__ import annotations

import asyncio
import errno
import gc
import math
import socket
from typing import Any

import uvicorn
from uvicorn._types import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from herald.cli.common import console, safe_url
from herald.cli.failures import Failure
from herald.config import Settings


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, without the garbage cycle each WebSocket upgrade left, and
    which lets go of an SSE client that stopped reading."""

    def handle_websocket_upgrade(self) -> None:
        """Hand the transport to the WebSocket protocol, then drop the HTTP parser.

        The parser holds bound methods of this protocol: uvicorn breaks that cycle in
        ``connection_lost``, which an upgraded connection never reaches here, so each WebSocket
        left ~14 objects (~2.7 KB) that only a full garbage collection frees.
        """
        super().handle_websocket_upgrade()
        self.parser = None  # type: ignore[assignment]

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        super()._start_asgi_task(cycle, self._cutting_stalled(cycle, app))

    def _cutting_stalled(
        self, cycle: RequestResponseCycle, app: ASGI3Application
    ) -> ASGI3Application:
        """``app``, after which a response left unfinished over a full buffer cuts the socket.

        uvicorn closes the transport then, and a transport closes only once its write buffer
        has drained: for a client that stopped reading, never (``WebSocketProtocol`` below).
        An unfinished response and a buffer above its high-water mark mean the application
        gave up on a client that reads nothing (herald.realtime.sse bounds every chunk).
        """

        async def run(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
            await app(scope, receive, send)
            stalled = cycle.response_started and not cycle.response_complete
            if stalled and not cycle.disconnected and self.flow.write_paused:
                self.transport.abort()
                # What connection_lost records once the loop runs it, but uvicorn looks now:
                # gone, not "returned without completing response" (an error in its log).
                cycle.disconnected = True

        return run


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol, which lets go of a client that stopped reading."""

    async def run_asgi(self) -> None:
        """Run the application; if it gave up on a client that reads nothing, cut the socket.

        uvicorn closes the transport when the application returns, and a transport closes only
        once its write buffer has drained: for a client that stopped reading, never, so the
        socket and its buffers stayed until the client read again. No close frame sent and a
        buffer still above its high-water mark once the application has returned mean the
        application could not write even its close frame in time (herald.realtime.websocket
        bounds every send).
        """
        await super().run_asgi()
        if not self.disconnected and not self.close_sent and not self.writable.is_set():
            self.transport.abort()


# How uvicorn serves Herald, measured with bench/realtime.py (docs/performance.md):
# - websockets' sans-I/O protocol: one task per WebSocket (the application's), where the
#   default legacy protocol adds three more; the tests run this one too;
# - no permessage-deflate: its zlib state cost 33 KiB per connection (85 -> 52 KiB at 5,000
#   clients) and every frame would be compressed once per connection, where it is encoded once
#   per event; frames are small JSON;
# - client frames are ops of a few hundred bytes: 64 KiB is plenty, where 16 MiB is the default;
# - a longer accept queue, for thousands of clients reconnecting at once after a restart;
# - httptools, less the cycle an upgrade leaves (HttpProtocol): no cyclic garbage per WebSocket;
# - Herald writes its own access log (herald.http.middleware), in its JSON lines.
SERVER_OPTIONS: dict[str, Any] = {
    "http": HttpProtocol,
    "ws": WebSocketProtocol,
    "ws_per_message_deflate": False,
    "ws_max_size": 64 * 1024,
    "backlog": 4096,
    "log_config": None,
    "access_log": False,
}


def freeze_startup_objects() -> None:
    """Keep the objects of imports and app setup out of every later garbage collection.

    They live as long as the process, yet each full collection walks them again; with
    thousands of WebSockets open, full collections are the latency tail (docs/performance.md).
    """
    gc.collect()
    gc.freeze()
    # Full collections 100 times rarer than by default: one walks every object of every open
    # connection (1.2 s at 10,000 WebSockets). Affordable because a connection's life leaves
    # no cycles (tests/realtime/test_garbage.py) that would otherwise wait for one as memory.
    gc.set_threshold(700, 10, 1000)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, or a one-line failure saying why not."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family, backlog=SERVER_OPTIONS["backlog"])
    except socket.gaierror:
        raise Failure(f"cannot listen on {host}:{port}: unknown host", "bad_address") from None
    except OSError as exc:
        reason = (
            "the port is already in use (is another Herald running?)"
            if exc.errno == errno.EADDRINUSE
            else exc.strerror or type(exc).__name__
        )
        raise Failure(f"cannot listen on {host}:{port}: {reason}", "cannot_listen") from None


def _listen(application: Any, sock: socket.socket, **options: Any) -> None:
    freeze_startup_objects()
    config = uvicorn.Config(application, **SERVER_OPTIONS, **options)
    uvicorn.Server(config).run(sockets=[sock])


def _migrate_and_say(settings: Settings) -> None:
    from herald.logs import configure_logging
    from herald.migrate import upgrade_reporting
    from herald.startup import once_up

    configure_logging(level=settings.log_level, json=settings.log_json)
    applied = asyncio.run(once_up("database", lambda: upgrade_reporting(settings)))
    where = safe_url(settings.database_url)
    if applied:
        span = applied[0].split()[0] + (f" to {applied[-1].split()[0]}" if len(applied) > 1 else "")
        console.print(f"[green]Migrated[/green] {where}: {len(applied)} migration(s), {span}")
    else:
        console.print(f"[green]Database up to date[/green] ({where})")


def _say_listening(what: str, settings: Settings, host: str, port: int) -> None:
    base = f"http://{host}:{port}"
    console.print(f"{what} is listening on [bold]{base}[/bold]")
    console.print(
        f"  Console: {base}/console  ·  API docs: {base}/docs  ·  OpenAPI: {base}/openapi.json"
    )
    smtp = settings.smtp_url.get_secret_value() if settings.smtp_url else ""
    if smtp.startswith("log://"):
        console.print("  Mail: HERALD_SMTP_URL=log:// — emails are written to this log")


def serve(host: str, port: int) -> None:
    """Migrate, then run the API, a worker and the real-time hub in one process."""
    settings = Settings()
    sock = bind(host, port)  # before the application's imports: a busy port fails at once
    from herald.app import create_app

    _migrate_and_say(settings)
    application = create_app(settings, worker=True)
    _say_listening("Herald", settings, host, port)
    _listen(application, sock)


def api(host: str, port: int) -> None:
    """Run the API and the real-time hub (no worker, no migration)."""
    settings = Settings()
    sock = bind(host, port)
    from herald.app import create_app

    application = create_app(settings)
    _say_listening("Herald API", settings, host, port)
    _listen(application, sock, timeout_graceful_shutdown=5)


def worker(concurrency: int, lease: float, poll: float) -> None:
    """Run a delivery worker alone; SIGTERM drains it."""
    from datetime import timedelta

    from herald.delivery.worker import WorkerOptions

    options = WorkerOptions(
        concurrency=concurrency, lease=timedelta(seconds=lease), poll_interval=poll
    )
    asyncio.run(_work(Settings(), options))


async def _work(settings: Settings, options: Any) -> None:
    from herald.bus.base import cancel_task
    from herald.delivery.metrics_server import serve_metrics
    from herald.delivery.worker import Worker
    from herald.lifecycle import start_runtime, stop_runtime, warn_unserved_channels
    from herald.logs import configure_logging
    from herald.startup import once_up

    configure_logging(level=settings.log_level, json=settings.log_json)
    runtime = await start_runtime(settings)
    metrics = None
    try:
        if settings.worker_metrics_port is not None:
            metrics = await serve_metrics(runtime, port=settings.worker_metrics_port)
        runner = Worker(runtime, options)
        await runner.attach()
        await warn_unserved_channels(runtime)
        # The bus only wakes a worker early (polling alone is correct): a worker started
        # while Redis is down sends at once, and the bus joins it when Redis is back.
        joining = asyncio.create_task(once_up("bus", runtime.bus.start, within=math.inf))
        try:
            await runner.run_until_signalled()
        finally:
            await cancel_task(joining)
    finally:
        if metrics is not None:
            metrics.close()
            await metrics.wait_closed()
        await stop_runtime(runtime)
