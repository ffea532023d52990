"""Operational routes: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

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
    """Ready when the database answers (503 otherwise)."""
    checks: dict[str, str] = {}
    try:
        async with runtime.db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready; the reason is for operators
        checks["database"] = f"error: {type(exc).__name__}"
    for name, probe in runtime.extras.get("readiness", {}).items():
        checks[name] = "ok" if probe() else "down"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
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
