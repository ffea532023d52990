"""The HTTP front layer (``HttpFront``): the headers and counts of every kind of answer.

It does in one pass what five middlewares did; these pin what each of them added, on every
kind of answer: the app's, the body limit's 413 (declared and streamed) and 415, the 500 of an
unexpected error, a CORS preflight and the user routes' CORS, and the ``RateLimit-*`` headers.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from herald.app import create_app
from tests.conftest import Tenant, settings_for
from tests.notifications.helpers import add_users, user_headers

ORIGIN = "https://app.example"
LIMIT = 4096
RATE = ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset")


@pytest.fixture
async def front(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An application with a 4 KiB body limit and a route that fails before answering."""
    app: FastAPI = create_app(settings_for(database_url, max_body_bytes=LIMIT))

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://herald.test") as http:
            yield http


def _counted(metrics: str, method: str, route: str, status: int) -> float:
    line = re.search(
        rf'^herald_http_requests_total\{{method="{method}",route="{re.escape(route)}",'
        rf'status="{status}"\}} (\S+)$',
        metrics,
        re.MULTILINE,
    )
    return float(line.group(1)) if line else 0.0


async def _chunks(size: int) -> AsyncIterator[bytes]:
    for _ in range(size // 1000):
        yield b"x" * 1000


async def test_every_answer_carries_a_request_id(front: httpx.AsyncClient, tenant: Tenant) -> None:
    json_body = {**tenant.headers, "Content-Type": "application/json"}
    answers = {
        "ok": await front.get("/healthz"),
        "declared 413": await front.put(
            "/v1/users/u1", content=b"x" * (LIMIT + 1), headers=json_body
        ),
        "streamed 413": await front.put(
            "/v1/users/u1", content=_chunks(3 * LIMIT), headers=json_body
        ),
        "415": await front.put(
            "/v1/users/u1",
            content=b"name=x",
            headers={**tenant.headers, "Content-Type": "application/x-www-form-urlencoded"},
        ),
        "500": await front.get("/boom"),
        "preflight": await front.options(
            "/v1/me/notifications",
            headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"},
        ),
        "404": await front.get("/nowhere"),
    }

    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert statuses == {
        "ok": 200,
        "declared 413": 413,
        "streamed 413": 413,
        "415": 415,
        "500": 500,
        "preflight": 200,
        "404": 404,
    }
    ids = [answer.headers.get("x-request-id") for answer in answers.values()]
    assert all(ids) and len(set(ids)) == len(ids)
    assert answers["500"].json()["error"]["message"] == (
        f"Internal error (request id {answers['500'].headers['x-request-id']})"
    )
    # One id each, not one per layer.
    assert all(len(answer.headers.get_list("x-request-id")) == 1 for answer in answers.values())


async def test_a_sane_client_request_id_is_kept_and_any_other_replaced(
    front: httpx.AsyncClient,
) -> None:
    kept = await front.get("/healthz", headers={"X-Request-Id": "trace-1.a:b"})
    replaced = await front.get("/healthz", headers={"X-Request-Id": "bad id with spaces"})

    assert kept.headers["x-request-id"] == "trace-1.a:b"
    assert re.fullmatch(r"[0-9a-f]{16}", replaced.headers["x-request-id"])


async def test_refusals_and_failures_are_counted_by_route_template(
    front: httpx.AsyncClient, tenant: Tenant
) -> None:
    before = (await front.get("/metrics")).text
    await front.put("/v1/users/u1", content=b"x" * (LIMIT + 1), headers=tenant.headers)
    await front.get("/boom")
    await front.get("/v1/users/u1", headers=tenant.headers)
    after = (await front.get("/metrics")).text

    def grew(method: str, route: str, status: int) -> float:
        return _counted(after, method, route, status) - _counted(before, method, route, status)

    # Refused before any route ran: no template to count it under.
    assert grew("PUT", "unmatched", 413) == 1
    assert grew("GET", "/boom", 500) == 1
    assert grew("GET", "/v1/users/{external_id}", 404) == 1


async def test_a_user_route_answer_has_cors_and_rate_limit_headers(
    front: httpx.AsyncClient, tenant: Tenant
) -> None:
    await add_users(front, tenant, "front-1")
    me = await user_headers(front, tenant, "front-1")
    answer = await front.get("/v1/me/notifications", headers={**me, "Origin": ORIGIN})

    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "RateLimit-Remaining" in answer.headers["access-control-expose-headers"]
    assert all(name in answer.headers for name in RATE)
    assert answer.headers["x-request-id"]


async def test_a_server_route_answer_has_rate_limit_headers_and_no_cors(
    front: httpx.AsyncClient, tenant: Tenant
) -> None:
    answer = await front.get("/v1/notifications", headers={**tenant.headers, "Origin": ORIGIN})

    assert answer.status_code == 200
    assert all(len(answer.headers.get_list(name)) == 1 for name in RATE)
    assert "access-control-allow-origin" not in answer.headers


async def test_what_the_front_answers_itself_has_no_cors_nor_rate_limit_headers(
    front: httpx.AsyncClient, tenant: Tenant
) -> None:
    # As when the body limit and the error boundary were layers outside CORS and the rate limit.
    await add_users(front, tenant, "front-2")
    me = await user_headers(front, tenant, "front-2")
    refused = await front.put(
        "/v1/me/preferences",
        content=b"x" * (LIMIT + 1),
        headers={**me, "Origin": ORIGIN, "Content-Type": "application/json"},
    )

    assert refused.status_code == 413
    assert refused.json()["error"]["code"] == "payload_too_large"
    assert "access-control-allow-origin" not in refused.headers
    assert not any(name in refused.headers for name in RATE)
    assert refused.headers["x-request-id"]


async def test_a_streamed_accept_over_the_limit_is_413(
    front: httpx.AsyncClient, tenant: Tenant
) -> None:
    answer = await front.post(
        "/v1/notifications",
        content=_chunks(3 * LIMIT),
        headers={**tenant.headers, "Content-Type": "application/json"},
    )

    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "payload_too_large"
    assert answer.headers["x-request-id"]


async def test_a_streamed_body_is_counted_even_with_a_small_content_length(
    front: httpx.AsyncClient, tenant: Tenant
) -> None:
    # Transfer-Encoding frames the body when both come (RFC 9112 6.3): the declared length
    # says nothing then, and the stream is counted.
    answer = await front.put(
        "/v1/users/u1",
        content=_chunks(3 * LIMIT),
        headers={
            **tenant.headers,
            "Content-Type": "application/json",
            "Content-Length": "10",
            "Transfer-Encoding": "chunked",
        },
    )

    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "payload_too_large"
