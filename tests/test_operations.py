"""Operational routes and the error contract shared by every route."""

from __future__ import annotations

import httpx
import pytest

from herald.app import create_app
from tests.conftest import Tenant, settings_for


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_checks_the_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"


async def test_metrics_are_prometheus_text(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert 'herald_http_requests_total{method="GET",route="/healthz",status="200"}' in response.text


async def test_metrics_token_guards_metrics(database_url: str) -> None:
    app = create_app(settings_for(database_url, metrics_token="s3cret"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            assert (await http.get("/metrics")).status_code == 401
            wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            right = await http.get("/metrics", headers={"Authorization": "Bearer s3cret"})
            assert right.status_code == 200


async def test_unknown_route_is_a_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_bad_json_is_400_invalid_json(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.put(
        "/v1/users/u1",
        content=b'{"name": ',
        headers={**tenant.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "invalid_json"
    assert set(body["error"]) == {"code", "message", "details"}


async def test_wrong_types_give_json_pointers(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.put(
        "/v1/users/u1",
        json={"admin": "perhaps", "data": [1], "phone": "12"},
        headers=tenant.headers,
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    paths = {d["path"] for d in error["details"]}
    assert paths == {"/admin", "/data", "/phone"}


async def test_query_errors_point_into_the_query(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get("/v1/users?per_page=101", headers=tenant.headers)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["path"] == "/query/per_page"


async def test_oversize_body_is_413(client: httpx.AsyncClient, tenant: Tenant) -> None:
    big = {"data": {"blob": "x" * (1024 * 1024 + 10)}}
    response = await client.put("/v1/users/u1", json=big, headers=tenant.headers)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_oversize_streamed_body_is_413(client: httpx.AsyncClient, tenant: Tenant) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"x" * 100_000

    response = await client.put(
        "/v1/users/u1",
        content=chunks(),
        headers={**tenant.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 413


async def test_non_json_body_is_415(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.put(
        "/v1/users/u1",
        content=b"name=x",
        headers={**tenant.headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


async def test_no_stack_trace_reaches_a_client(database_url: str) -> None:
    app = create_app(settings_for(database_url))

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.get("/boom")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text


@pytest.mark.parametrize("path", ["/openapi.json", "/docs"])
async def test_documentation_is_served(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 200
