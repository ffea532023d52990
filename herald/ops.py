"""Operational routes: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from herald.accounts.auth import bearer_token
from herald.delivery.metrics_server import refresh_queue_depth
from herald.errors import Unauthorized
from herald.http.deps import RuntimeDep

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    """503 ``unavailable`` when the database (or this process's worker) cannot serve; 200
    ``degraded`` when a dependency Herald can do without is down (Redis: rate limits counted
    per process, real-time events delayed until the bus is back); 200 ``ok`` otherwise."""
    checks = {"database": await runtime.db.check()}
    for name, probe in runtime.extras.get("readiness", {}).items():
        checks[name] = "ok" if probe() else "down"
    essential = all(value == "ok" for value in checks.values())
    checks["bus"] = "ok" if runtime.bus.connected else "degraded: reconnecting"
    if runtime.throttle.degraded:
        checks["rate_limits"] = "degraded: counted per process until Redis answers again"
    else:
        checks["rate_limits"] = "ok"
    status = "ok" if all(v == "ok" for v in checks.values()) else "degraded"
    return JSONResponse(
        {"status": status if essential else "unavailable", "checks": checks},
        status_code=200 if essential else 503,
    )


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, runtime: RuntimeDep) -> Response:
    """Prometheus text format; behind a bearer token when ``HERALD_METRICS_TOKEN`` is set."""
    expected = runtime.settings.metrics_token
    if expected is not None:
        given = bearer_token(request)
        if not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
            raise Unauthorized("Wrong metrics token")
    await refresh_queue_depth(runtime)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
