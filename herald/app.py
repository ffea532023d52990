"""The ASGI application: ``create_app(settings)`` wires routers, error handlers and lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from starlette.types import Receive, Scope, Send

from herald import ops
from herald.accounts import routes as accounts_routes
from herald.compat import crm, reapit, relatel
from herald.compat.hackney import routes as hackney_routes
from herald.compat.kazoo import PREFIX as KAZOO_PREFIX
from herald.compat.kazoo import routes as kazoo_routes
from herald.compat.kazoo.errors import render_error as kazoo_errors
from herald.compat.notify import routes as notify_routes
from herald.compat.notify import routing as notify_routing
from herald.config import Settings
from herald.delivery import routes as delivery_routes
from herald.delivery.worker import Worker
from herald.directory import routes as directory_routes
from herald.endpoints import routes as endpoints_routes
from herald.events import routes as events_routes
from herald.http.dialects import DialectErrors
from herald.http.handlers import install_error_handlers
from herald.http.middleware import HttpFront
from herald.http.openapi import install_openapi
from herald.inbox import routes as inbox_routes
from herald.lifecycle import start_runtime, stop_runtime, warn_unserved_channels
from herald.logs import configure_logging, get_logger
from herald.notifications import routes as notifications_routes
from herald.realtime import routes as realtime_routes
from herald.realtime.hub import start_hub
from herald.replyto import routes as replyto_routes
from herald.rules import options_routes as rules_options_routes
from herald.rules import routes as rules_routes
from herald.sms import routes as sms_routes
from herald.sms import sender_routes
from herald.startup import once_up
from herald.templates import routes as templates_routes
from herald.web.console.router import router as console_router
from herald.web.docs import routes as web_docs_routes
from herald.web.pages import install_pages
from herald.web.unsubscribe import routes as web_unsubscribe_routes
from herald.web.widget import routes as web_widget_routes

log = get_logger(__name__)
ROUTERS = (
    ops.router,
    accounts_routes.router,
    directory_routes.router,
    events_routes.router,
    notifications_routes.router,
    inbox_routes.router,
    templates_routes.router,
    delivery_routes.router,
    endpoints_routes.router,
    sms_routes.router,
    sender_routes.router,
    realtime_routes.router,
    replyto_routes.router,
    rules_routes.router,
    rules_options_routes.router,
    notify_routes.router,
    kazoo_routes.router,
    hackney_routes.router,
    reapit.router,
    crm.router,
    relatel.router,
    web_docs_routes.router,
    web_widget_routes.router,
    web_unsubscribe_routes.router,
    console_router,
)
# Under these prefixes errors take the dialect's envelope, not API.md's.
DIALECT_ERRORS = DialectErrors(
    {f"{KAZOO_PREFIX}/": kazoo_errors, notify_routes.PREFIX: notify_routing.render_error}
)


NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


class HeraldApp(FastAPI):
    """FastAPI, with the real-time WebSocket served in front of the middleware and the router.

    A WebSocket lives for hours, and each ASGI layer it passes through stays suspended for that
    long; the middleware acts on HTTP requests only, so the WebSocket skips it (see
    ``herald.realtime.routes``).
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve ``/v1/realtime`` WebSockets directly, everything else through FastAPI."""
        path = scope.get("path", "").removeprefix(scope.get("root_path", ""))
        if scope["type"] == "websocket" and path == realtime_routes.WEBSOCKET_PATH:
            scope["app"] = self
            await realtime_routes.realtime(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None, *, worker: bool = False) -> FastAPI:
    """A Herald API application for these settings (from the environment when not given).

    With ``worker`` (``herald serve``) the process also runs one delivery worker.
    """
    settings = settings or Settings()
    configure_logging(level=settings.log_level, json=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await start_runtime(settings)
        app.state.runtime = runtime
        app.state.hub = await start_hub(runtime)
        app.state.worker = Worker(runtime) if worker else None
        if app.state.worker is not None:
            await app.state.worker.attach()
        await once_up("bus", runtime.bus.start)
        if app.state.worker is not None:
            app.state.worker.start()
        await warn_unserved_channels(runtime)
        log.info("herald_started", database=settings.database_url)
        try:
            yield
        finally:
            if app.state.worker is not None:
                await app.state.worker.shutdown()
            await app.state.hub.close()
            await stop_runtime(runtime)

    app = HeraldApp(
        title="Herald",
        version="0.1.0",
        description="Self-hosted, multi-tenant notification service.",
        lifespan=lifespan,
        docs_url=None,  # herald.web.docs serves /docs and /redoc with their assets
        redoc_url=None,
        # Herald counts, times and logs requests itself (HttpFront, /metrics) and sets up no
        # OpenTelemetry; FastAPI's native telemetry asked the global providers on every request
        # whether one had been configured since (~3 us per request, docs/performance.md).
        telemetry=NO_TELEMETRY,
    )
    install_error_handlers(app, DIALECT_ERRORS)
    app.include_router(notifications_routes.hot_router)  # matched first: see its comment
    for router in ROUTERS:
        app.include_router(router)
    install_pages(app)
    install_openapi(app)
    app.add_middleware(
        HttpFront,
        max_bytes=settings.max_body_bytes,
        origins=settings.origins,
        dialects=DIALECT_ERRORS,
        access_log=settings.access_log,
    )
    return app
