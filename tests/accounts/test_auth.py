"""API keys, scopes, OAuth2 client credentials and user tokens."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import jwt
import pytest

from herald.accounts import cache
from herald.app import create_app
from herald.config import Settings
from herald.db import Database
from herald.errors import Unauthorized
from tests.conftest import MakeTenant, Tenant, bearer, make_key


async def _oauth(client: httpx.AsyncClient, key_id: str, secret: str, scope: str | None = None):  # type: ignore[no-untyped-def]
    form = {"grant_type": "client_credentials", "client_id": key_id, "client_secret": secret}
    if scope is not None:
        form["scope"] = scope
    return await client.post("/oauth/token", data=form)


async def test_missing_and_unknown_keys_are_401(client: httpx.AsyncClient) -> None:
    for headers in ({}, bearer("hk_live_nope"), {"Authorization": "Basic abc"}):
        response = await client.get("/v1/users", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"


async def test_missing_scope_is_403(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    reader = await make_key(db, tenant, "users.read")
    assert (await client.get("/v1/users", headers=bearer(reader))).status_code == 200
    response = await client.put("/v1/users/u1", json={}, headers=bearer(reader))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


async def test_revoked_key_is_401(client: httpx.AsyncClient, tenant: Tenant, db: Database) -> None:
    spare = await make_key(db, tenant, "users.read")
    listed = (await client.get("/v1/keys", headers=tenant.headers)).json()["data"]
    spare_id = next(k["key_id"] for k in listed if spare.startswith(k["prefix"]))
    response = await client.delete(f"/v1/keys/{spare_id}", headers=tenant.headers)
    assert response.status_code == 204
    assert (await client.get("/v1/users", headers=bearer(spare))).status_code == 401


async def test_keys_are_shown_once_and_stored_hashed(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    made = await client.post(
        "/v1/keys", json={"scopes": ["users.read"], "test": True}, headers=tenant.headers
    )
    assert made.status_code == 201
    key = made.json()["api_key"]
    assert key.startswith("hk_test_") and made.json()["test"] is True
    listed = (await client.get("/v1/keys", headers=tenant.headers)).text
    assert key not in listed
    async with db.engine.connect() as conn:
        from sqlalchemy import text

        stored = (await conn.execute(text("SELECT key_hash FROM api_keys"))).scalars().all()
    assert key not in stored


async def test_a_key_cannot_mint_more_scopes_than_it_holds(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    admin_only = await make_key(db, tenant, "admin")
    response = await client.post(
        "/v1/keys", json={"scopes": ["users.write"]}, headers=bearer(admin_only)
    )
    assert response.status_code == 403


async def test_oauth_client_credentials_narrow_scopes(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await _oauth(client, str(tenant.key_id), tenant.api_key, "users.read")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "users.read"
    assert 0 < body["expires_in"] <= 3600
    token = body["access_token"]
    assert (await client.get("/v1/users", headers=bearer(token))).status_code == 200
    assert (await client.put("/v1/users/x", json={}, headers=bearer(token))).status_code == 403


async def test_oauth_refuses_bad_clients_rfc6749_style(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    wrong = await _oauth(client, str(tenant.key_id), "hk_live_wrong")
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert "error_description" in wrong.json()
    too_much = await _oauth(client, str(tenant.key_id), tenant.api_key, "users.read root")
    assert too_much.status_code == 400 and too_much.json()["error"] == "invalid_scope"
    grant = await client.post(
        "/oauth/token",
        data={"grant_type": "password", "client_id": "x", "client_secret": "y"},
    )
    assert grant.json()["error"] == "unsupported_grant_type"


def _basic(client_id: str, secret: str) -> dict[str, str]:
    pair = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


async def test_oauth_accepts_http_basic_client_authentication(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    form = {"grant_type": "client_credentials", "scope": "users.read"}
    issued = await client.post(
        "/oauth/token", data=form, headers=_basic(str(tenant.key_id), tenant.api_key)
    )
    assert issued.status_code == 200, issued.text
    assert issued.json()["scope"] == "users.read"
    assert issued.headers["cache-control"] == "no-store"
    token = issued.json()["access_token"]
    assert (await client.get("/v1/users", headers=bearer(token))).status_code == 200
    wrong = await client.post(
        "/oauth/token", data=form, headers=_basic(str(tenant.key_id), "hk_live_wrong")
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert wrong.headers["www-authenticate"].startswith("Basic")
    garbled = await client.post(
        "/oauth/token", data=form, headers={"Authorization": "Basic not*base64"}
    )
    assert garbled.status_code == 401 and garbled.json()["error"] == "invalid_client"
    both = await client.post(
        "/oauth/token",
        data={**form, "client_id": str(tenant.key_id), "client_secret": tenant.api_key},
        headers=_basic(str(tenant.key_id), tenant.api_key),
    )
    assert both.status_code == 400 and both.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("form", "content_type"),
    [
        ({}, None),
        ({"grant_type": "client_credentials"}, None),
        ({"grant_type": "client_credentials", "client_id": "x"}, None),
        ({"client_id": "x", "client_secret": "y"}, None),
        ({"grant_type": "client_credentials"}, "multipart/form-data"),
    ],
)
async def test_oauth_refuses_malformed_requests_as_invalid_request(
    client: httpx.AsyncClient, form: dict[str, str], content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    answer = await client.post("/oauth/token", data=form, headers=headers)
    assert answer.status_code == 400, answer.text
    assert set(answer.json()) == {"error", "error_description"}
    assert answer.json()["error"] == "invalid_request"


async def test_oauth_narrows_an_all_scope_key_to_any_scope_it_grants(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    narrowed = await _oauth(
        client, str(tenant.key_id), tenant.api_key, "notifications.telephony.write"
    )
    assert narrowed.status_code == 200, narrowed.text
    assert narrowed.json()["scope"] == "notifications.telephony.write"
    token = bearer(narrowed.json()["access_token"])
    await client.put("/v1/users/callee", json={}, headers=tenant.headers)
    call = {"type": "telephony", "subType": "missedCall", "targets": {"users": ["callee"]},
            "payload": {"id": "c1", "created": "2023-11-01T10:28:00", "callerId": "1",
                        "destinationId": "2"}}  # fmt: skip
    sent = await client.post("/v1/notifications", json=call, headers=token)
    assert sent.status_code == 202, sent.text
    custom = {"type": "custom", "subType": "message", "message": "m",
              "targets": {"users": ["callee"]}}  # fmt: skip
    assert (await client.post("/v1/notifications", json=custom, headers=token)).status_code == 403
    unknown = await _oauth(client, str(tenant.key_id), tenant.api_key, "notifications.x.y")
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_scope"


async def test_oauth_token_of_revoked_key_stops_working(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    spare = await make_key(db, tenant, "users.read")
    listed = (await client.get("/v1/keys", headers=tenant.headers)).json()["data"]
    spare_id = next(k["key_id"] for k in listed if spare.startswith(k["prefix"]))
    token = (await _oauth(client, spare_id, spare)).json()["access_token"]
    assert (await client.get("/v1/users", headers=bearer(token))).status_code == 200
    await client.delete(f"/v1/keys/{spare_id}", headers=tenant.headers)
    assert (await client.get("/v1/users", headers=bearer(token))).status_code == 401


def _forge(claims: dict[str, object], header: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part(header)}.{part(claims)}."


async def test_expired_tampered_and_alg_none_tokens_are_401(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: MakeTenant
) -> None:
    token = (await _oauth(client, str(tenant.key_id), tenant.api_key)).json()["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    header, _payload, signature = token.split(".")

    other = await make_tenant("other")
    moved = dict(claims, acc=str(other.account_id))
    tampered = f"{header}.{_forge(moved, {'alg': 'HS256', 'typ': 'JWT'}).split('.')[1]}.{signature}"
    unsigned = _forge(claims, {"alg": "none", "typ": "JWT"})
    expired = jwt.encode(
        dict(claims, exp=int(time.time()) - 10),
        "a-guessed-secret-that-is-long-enough-for-hs256",
        algorithm="HS256",
    )
    other_secret = jwt.encode(
        claims, "not-the-server-key-but-long-enough-for-hs256", algorithm="HS256"
    )
    for bad in (tampered, unsigned, expired, other_secret, token + "x"):
        response = await client.get("/v1/users", headers=bearer(bad))
        assert response.status_code == 401, bad


async def test_expired_real_token_is_401(client: httpx.AsyncClient, tenant: Tenant, app) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from herald.accounts.tokens import issue

    token, _ = issue(
        secret=app.state.runtime.secret,
        kind="access",
        account_id=tenant.account_id,
        subject="x",
        ttl=timedelta(seconds=-5),
        scopes=frozenset({"users.read"}),
        key_id=tenant.key_id,
    )
    response = await client.get("/v1/users", headers=bearer(token))
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


async def test_user_tokens_only_see_me(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await client.put("/v1/users/alice", json={"name": "Alice"}, headers=tenant.headers)
    made = await client.post("/v1/users/alice/tokens", headers=tenant.headers)
    assert made.status_code == 201
    token = made.json()["token"]
    me = bearer(token)
    assert (
        await client.post("/v1/me/devices/abc", json={"type": "Android"}, headers=me)
    ).status_code == 204
    for method, path in [("GET", "/v1/users"), ("GET", "/v1/users/alice"), ("GET", "/v1/keys")]:
        response = await client.request(method, path, headers=me)
        assert response.status_code == 403, path
    server_on_me = await client.post("/v1/me/devices/abc", headers=tenant.headers)
    assert server_on_me.status_code == 403


async def test_user_token_of_deleted_user_is_401(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await client.put("/v1/users/bob", json={}, headers=tenant.headers)
    token = (await client.post("/v1/users/bob/tokens", headers=tenant.headers)).json()["token"]
    await client.delete("/v1/users/bob", headers=tenant.headers)
    response = await client.post("/v1/me/devices/abc", headers=bearer(token))
    assert response.status_code == 401


async def test_user_token_for_unknown_user_is_404(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(f"/v1/users/{uuid.uuid4()}/tokens", headers=tenant.headers)
    assert response.status_code == 404


@pytest.fixture
async def other_process(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second application on the same database, with its own engine and credential cache:
    what another API process is to this one."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://herald.test") as http:
            yield http


async def _key_id(client: httpx.AsyncClient, tenant: Tenant, key: str) -> str:
    listed = (await client.get("/v1/keys", headers=tenant.headers)).json()["data"]
    return str(next(k["key_id"] for k in listed if key.startswith(k["prefix"])))


async def test_a_remembered_key_revoked_is_401_at_once_here_and_after_the_ttl_elsewhere(
    client: httpx.AsyncClient,
    other_process: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cache, "TTL", 0.5)
    spare = await make_key(db, tenant, "users.read")
    token = (await _oauth(client, await _key_id(client, tenant, spare), spare)).json()
    for http in (client, other_process):  # both processes now remember the key and its token
        assert (await http.get("/v1/users", headers=bearer(spare))).status_code == 200
        assert (
            await http.get("/v1/users", headers=bearer(token["access_token"]))
        ).status_code == 200
    spare_id = await _key_id(client, tenant, spare)
    assert (await client.delete(f"/v1/keys/{spare_id}", headers=tenant.headers)).status_code == 204
    assert (await client.get("/v1/users", headers=bearer(spare))).status_code == 401
    assert (await client.get("/v1/users", headers=bearer(token["access_token"]))).status_code == 401
    await asyncio.sleep(cache.TTL)
    assert (await other_process.get("/v1/users", headers=bearer(spare))).status_code == 401
    assert (
        await other_process.get("/v1/users", headers=bearer(token["access_token"]))
    ).status_code == 401


async def test_a_remembered_user_deleted_is_401_at_once_here_and_after_the_ttl_elsewhere(
    client: httpx.AsyncClient,
    other_process: httpx.AsyncClient,
    tenant: Tenant,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cache, "TTL", 0.5)
    await client.put("/v1/users/carol", json={}, headers=tenant.headers)
    token = (await client.post("/v1/users/carol/tokens", headers=tenant.headers)).json()["token"]
    for http in (client, other_process):
        assert (
            await http.get("/v1/me/notifications/count", headers=bearer(token))
        ).status_code == 200
    assert (await client.delete("/v1/users/carol", headers=tenant.headers)).status_code == 204
    assert (
        await client.get("/v1/me/notifications/count", headers=bearer(token))
    ).status_code == 401
    await asyncio.sleep(cache.TTL)
    answer = await other_process.get("/v1/me/notifications/count", headers=bearer(token))
    assert answer.status_code == 401


async def test_a_parent_changing_limits_takes_effect_at_once_here(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: MakeTenant
) -> None:
    child = await make_tenant("child", parent=tenant)
    assert (await client.get("/v1/users", headers=child.headers)).status_code == 200  # remembered
    patch = {"limits": {"rate": "1/minute"}}
    changed = await client.patch(
        f"/v1/accounts/{child.account_id}", json=patch, headers=tenant.headers
    )
    assert changed.status_code == 200, changed.text
    first, second = [await client.get("/v1/users", headers=child.headers) for _ in range(2)]
    assert first.headers["RateLimit-Limit"] == "1"
    assert second.status_code == 429


class _Reads:
    """A stand-in for the database: counts reads, answers ``value`` or raises ``error``."""

    def __init__(self) -> None:
        self.count = 0
        self.value = "v1"
        self.error: Exception | None = None
        self.gate: asyncio.Event | None = None

    async def __call__(self) -> str:
        self.count += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        return self.value


async def test_credential_cache_renews_past_half_life_and_never_serves_past_the_ttl(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [100.0]
    monkeypatch.setattr(cache.time, "monotonic", lambda: now[0])
    remembered, read = cache.CredentialCache(), _Reads()
    assert [await remembered.resolve("k", read) for _ in range(3)] == ["v1"] * 3
    assert read.count == 1
    now[0] += cache.TTL * 0.6  # past half-life: the first lookup renews, the others wait not
    read.value, read.gate = "v2", asyncio.Event()
    renewing = asyncio.create_task(remembered.resolve("k", read))
    await asyncio.sleep(0)
    assert await remembered.resolve("k", read) == "v1" and read.count == 2
    read.gate.set()
    assert await renewing == "v2"
    read.gate = None
    now[0] += cache.TTL  # never renewed in its life: read again
    read.value = "v3"
    assert await remembered.resolve("k", read) == "v3" and read.count == 3


async def test_credential_cache_drops_what_fails_to_renew_and_reads_begun_before_a_clear(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [100.0]
    monkeypatch.setattr(cache.time, "monotonic", lambda: now[0])
    remembered, read = cache.CredentialCache(), _Reads()
    await remembered.resolve("k", read)
    now[0] += cache.TTL * 0.6
    read.error = Unauthorized("revoked elsewhere")
    with pytest.raises(Unauthorized):
        await remembered.resolve("k", read)
    read.error = None
    assert await remembered.resolve("k", read) == "v1" and read.count == 3  # nothing kept
    remembered.clear()
    read.gate = asyncio.Event()
    before_clear = asyncio.create_task(remembered.resolve("other", read))
    await asyncio.sleep(0)
    remembered.clear()  # e.g. a revocation committed while that read ran
    read.gate.set()
    await before_clear
    read.gate = None
    await remembered.resolve("other", read)
    assert read.count == 5  # the read begun before the clear was not remembered


async def test_credential_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "MAX_ENTRIES", 2)
    remembered, read = cache.CredentialCache(), _Reads()
    for key in ("a", "b", "c"):
        await remembered.resolve(key, read)
    for key in ("b", "c", "a"):
        await remembered.resolve(key, read)
    assert read.count == 4  # "a" went when "c" came


def test_a_remembered_token_still_expires_and_binds_to_its_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import timedelta

    from herald.accounts import tokens

    secret = "a-server-key-that-is-long-enough-for-hs256"
    token, expires = tokens.issue(
        secret=secret,
        kind="user",
        account_id=uuid.uuid4(),
        subject=str(uuid.uuid4()),
        ttl=timedelta(minutes=5),
    )
    first = tokens.verify(token, secret=secret)
    assert tokens.verify(token, secret=secret) == first  # remembered
    with pytest.raises(Unauthorized, match="not valid"):
        tokens.verify(token, secret="another-server-key-long-enough-for-hs256")
    monkeypatch.setattr(tokens, "utcnow", lambda: expires)
    with pytest.raises(Unauthorized, match="expired"):
        tokens.verify(token, secret=secret)
    assert (secret, token) not in tokens._verified


def test_remembered_tokens_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import timedelta

    from herald.accounts import tokens

    monkeypatch.setattr(tokens, "VERIFIED_TOKENS", 3)
    monkeypatch.setattr(tokens, "_verified", {})
    secret = "a-server-key-that-is-long-enough-for-hs256"
    made = [
        tokens.issue(
            secret=secret,
            kind="user",
            account_id=uuid.uuid4(),
            subject=str(n),
            ttl=timedelta(minutes=5),
        )[0]
        for n in range(5)
    ]
    for token in made:
        tokens.verify(token, secret=secret)
    assert list(tokens._verified) == [(secret, t) for t in made[2:]]
