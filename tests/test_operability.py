"""What an operator sees: the access log, the worker's own /metrics, the Grafana dashboard's
metric names, the warning for a channel with no provider."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
import structlog
from prometheus_client import REGISTRY
from structlog.testing import LogCapture, capture_logs

import herald.logs
from herald.delivery.metrics_server import serve_metrics
from herald.lifecycle import start_runtime, stop_runtime, warn_unserved_channels
from herald.migrate import upgrade
from tests.conftest import Tenant, settings_for

DASHBOARD = Path(__file__).resolve().parent.parent / "docs" / "grafana-dashboard.json"


def test_the_dashboard_uses_real_metric_names_and_no_created_series() -> None:
    import herald.delivery.worker  # noqa: F401  (registers the worker's own gauge)

    families = {metric.name for metric in REGISTRY.collect()}
    exprs = [t["expr"] for p in json.loads(DASHBOARD.read_text())["panels"] for t in p["targets"]]
    used = {re.sub(r"_(bucket|total)$", "", n) for e in exprs for n in re.findall(r"herald_\w+", e)}
    assert used and used <= families, used - families
    samples = [s.name for metric in REGISTRY.collect() for s in metric.samples]
    assert not [name for name in samples if name.endswith("_created")]


async def test_an_access_log_line_per_request_with_a_request_id(
    client: httpx.AsyncClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    capture = LogCapture()
    monkeypatch.setattr(herald.logs, "_access", structlog.wrap_logger(None, processors=[capture]))
    answer = await client.get("/v1/users/nobody", headers=tenant.headers)
    given = await client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    logs = capture.entries
    assert answer.status_code == 404 and given.headers["x-request-id"] == "abc-123"
    lines = {e["request_id"]: e for e in logs if e["event"] == "request"}
    line = lines[answer.headers["x-request-id"]]
    assert (line["method"], line["route"], line["status"]) == (
        "GET",
        "/v1/users/{external_id}",
        404,
    )
    assert line["duration_ms"] >= 0 and lines["abc-123"]["route"] == "/healthz"


async def test_the_worker_serves_its_own_metrics_behind_the_token(database_url: str) -> None:
    settings = settings_for(database_url, metrics_token="scrape-me")
    runtime = await start_runtime(settings)
    server = await serve_metrics(runtime, port=0, host="127.0.0.1")
    port = server.sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            refused = await http.get("/metrics")
            scraped = await http.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
            missing = await http.get("/other", headers={"Authorization": "Bearer scrape-me"})
    finally:
        server.close()
        await server.wait_closed()
        await stop_runtime(runtime)
    assert (refused.status_code, missing.status_code) == (401, 404)
    assert scraped.status_code == 200
    assert "herald_delivery_attempts_total" in scraped.text
    assert "herald_provider_send_seconds" in scraped.text


async def test_a_channel_no_provider_serves_is_named_at_start(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    await upgrade(settings_for(url))
    warned: list[set[str]] = []
    for settings in (settings_for(url), settings_for(url, smtp_url="log://")):
        runtime = await start_runtime(settings)
        try:
            with capture_logs() as logs:
                await warn_unserved_channels(runtime)
        finally:
            await stop_runtime(runtime)
        warned.append({e["channel"] for e in logs if e["event"] == "channel_without_provider"})
    assert warned[0] == {"chat", "email", "letter", "push", "sms"}
    assert warned[1] == warned[0] - {"email"}
