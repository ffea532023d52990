"""How Herald serves the pages (in-process): CORS of the user routes, caching, CSP, escaping."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from herald.app import create_app
from herald.web.docs.routes import VENDOR
from tests.conftest import Tenant, settings_for

APP_ORIGIN = "https://app.example"
PREFLIGHT = {
    "Origin": APP_ORIGIN,
    "Access-Control-Request-Method": "PUT",
    "Access-Control-Request-Headers": "authorization, content-type",
}


@pytest.fixture
async def listed(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An application whose HERALD_ALLOWED_ORIGINS names only APP_ORIGIN."""
    app: FastAPI = create_app(settings_for(database_url, allowed_origins=APP_ORIGIN))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://herald.test") as http:
            yield http


async def test_any_origin_may_call_the_user_routes_when_none_are_listed(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.options("/v1/me/notifications/read", headers=PREFLIGHT)

    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "PUT" in answer.headers["access-control-allow-methods"]
    assert "Authorization" in answer.headers["access-control-allow-headers"]
    assert "access-control-allow-credentials" not in answer.headers


async def test_a_refused_token_is_readable_by_the_page(client: httpx.AsyncClient) -> None:
    answer = await client.get(
        "/v1/me/notifications", headers={"Origin": APP_ORIGIN, "Authorization": "Bearer nope"}
    )

    assert answer.status_code == 401
    assert answer.headers["access-control-allow-origin"] == "*"


async def test_only_listed_origins_when_listed(listed: httpx.AsyncClient) -> None:
    allowed = await listed.options("/v1/me/notifications/read", headers=PREFLIGHT)
    other = await listed.options(
        "/v1/me/notifications/read", headers={**PREFLIGHT, "Origin": "https://evil.example"}
    )

    assert allowed.headers["access-control-allow-origin"] == APP_ORIGIN
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers


async def test_server_key_routes_answer_no_cors(client: httpx.AsyncClient, tenant: Tenant) -> None:
    answer = await client.get("/v1/notifications", headers={**tenant.headers, "Origin": APP_ORIGIN})
    preflight = await client.options(
        "/v1/notifications", headers={**PREFLIGHT, "Access-Control-Request-Method": "POST"}
    )

    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers
    assert "access-control-allow-origin" not in preflight.headers


async def test_the_module_loads_from_any_origin_and_revalidates(
    client: httpx.AsyncClient,
) -> None:
    first = await client.get("/widget/herald-inbox.js", headers={"Origin": APP_ORIGIN})
    again = await client.get(
        "/widget/herald-inbox.js", headers={"If-None-Match": first.headers["etag"]}
    )

    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/javascript")
    assert first.headers["access-control-allow-origin"] == "*"
    assert first.headers["cross-origin-resource-policy"] == "cross-origin"
    assert first.headers["cache-control"] == "no-cache"
    assert 'customElements.define("herald-inbox"' in first.text
    assert again.status_code == 304


async def test_vendored_assets_are_immutable_and_the_rest_404(client: httpx.AsyncClient) -> None:
    folder = json.loads((VENDOR / "vendor.json").read_text())["redoc"]["folder"]
    asset = await client.get(f"/docs/assets/{folder}/redoc.standalone.js")
    missing = await client.get("/docs/assets/%2e%2e/%2e%2e/routes.py")
    posted = await client.post("/widget/herald-inbox.js")

    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert posted.status_code == 405


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_doc_pages_name_only_herald(client: httpx.AsyncClient, path: str) -> None:
    answer = await client.get(path)

    assert answer.status_code == 200
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert "http://" not in answer.text
    assert "https://" not in answer.text
    assert 'src="/docs/assets/' in answer.text


async def test_the_demo_escapes_what_it_is_given(client: httpx.AsyncClient) -> None:
    attack = '"><script>alert(1)</script>'
    answer = await client.get("/widget/demo", params={"token": attack, "locale": attack})
    asking = await client.get("/widget/demo")

    assert "<script>alert(1)" not in answer.text
    assert 'token="&#34;&gt;&lt;script&gt;' in answer.text
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert "<herald-inbox" not in asking.text
    assert 'name="token"' in asking.text


async def test_a_demo_parameter_too_long_is_422(client: httpx.AsyncClient) -> None:
    answer = await client.get("/widget/demo", params={"token": "x" * 5000})

    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["path"] == "/query/token"


def test_the_vendored_files_are_those_the_registry_published() -> None:
    manifest = json.loads((VENDOR / "vendor.json").read_text())
    on_disk = {p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.is_file()}
    listed = {"vendor.json"}
    for package in manifest.values():
        for name, sha256 in package["files"].items():
            path: Path = VENDOR / package["folder"] / name
            listed.add(f"{package['folder']}/{name}")
            assert hashlib.sha256(path.read_bytes()).hexdigest() == sha256, path
        assert "LICENSE" in package["files"], package["folder"]
        assert package["integrity"].startswith("sha512-")
    assert on_disk == listed
    assert {p: m["license"] for p, m in manifest.items()} == {
        "swagger-ui-dist": "Apache-2.0",
        "redoc": "MIT",
    }
