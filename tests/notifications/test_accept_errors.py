"""Every refusal of ``POST /v1/notifications``, whose handler reads the request itself
(``herald.notifications.routes.send``): the statuses, codes, JSON Pointers and messages that
FastAPI's dependency solving answered, and the OpenAPI operation it documented."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from herald.accounts import service as accounts
from herald.app import create_app
from tests.conftest import Database, Tenant, bearer, make_key, settings_for
from tests.notifications.helpers import add_users, user_headers

GOOD = {"type": "custom", "subType": "message", "targets": {"users": ["ae1"]}, "message": "hi"}
JSON_HEADERS = {"Content-Type": "application/json"}
NO_TOKEN = "Send a bearer token in the Authorization header"
# The operation as FastAPI documented it when it solved the route's dependencies itself.
DOCUMENTED = Path(__file__).with_name("accept_operation.json")


@pytest.fixture
async def sender(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, str]:
    """The tenant's headers, with its user ae1 to send to."""
    await add_users(client, tenant, "ae1")
    return {**tenant.headers, **JSON_HEADERS}


async def post(
    client: httpx.AsyncClient, body: bytes | dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    """POST a body (a dict is sent as JSON) to /v1/notifications."""
    content = json.dumps(body).encode() if isinstance(body, dict) else body
    return await client.post("/v1/notifications", content=content, headers=headers)


def refused(
    response: httpx.Response, status: int, code: str, message: str
) -> list[tuple[str, str]]:
    """Check status, code and message; the details as (pointer, message) pairs."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert (error["code"], error["message"]) == (code, message)
    return [(d["path"], d["message"]) for d in error["details"]]


async def test_a_body_that_is_not_json_is_a_400_before_any_credential_is_read(
    client: httpx.AsyncClient, sender: dict[str, str]
) -> None:
    for headers in (sender, JSON_HEADERS):
        answer = await post(client, b'{"type": ', headers)
        assert refused(answer, 400, "invalid_json", "The request body is not valid JSON") == []
        assert "RateLimit-Remaining" not in answer.headers


async def test_field_errors_point_into_the_body(
    client: httpx.AsyncClient, sender: dict[str, str]
) -> None:
    wrong = await post(client, {**GOOD, "message": 5}, sender)
    assert refused(wrong, 422, "validation_failed", "The request is invalid") == [
        ("/message", "Input should be a valid string")
    ]
    missing = await post(client, {"type": "custom"}, sender)
    assert refused(missing, 422, "validation_failed", "The request is invalid") == [
        ("/subType", "Field required"),
        ("/targets", "Field required"),
    ]
    channel = await post(client, {**GOOD, "channels": ["pigeon"]}, sender)
    assert refused(channel, 422, "validation_failed", "The request is invalid") == [
        (
            "/channels/0",
            "Input should be 'in_app', 'email', 'sms', 'push', 'webhook', 'letter' or 'chat'",
        )
    ]
    extra = await post(client, {**GOOD, "zzz": 1}, sender)
    assert refused(extra, 422, "validation_failed", "The request is invalid") == [
        ("/zzz", "Extra inputs are not permitted")
    ]
    assert wrong.headers["RateLimit-Limit"]  # counted: the credential was read first


async def test_no_body_or_no_object_is_a_422_at_the_root(
    client: httpx.AsyncClient, sender: dict[str, str], tenant: Tenant
) -> None:
    not_object = "Input should be a valid dictionary or object to extract fields from"
    cases = [
        (b"", sender, "Field required"),
        (b"[1]", sender, not_object),
        (b"null", sender, not_object),
        # Without a Content-Type the body is not read as JSON at all.
        (json.dumps(GOOD).encode(), tenant.headers, not_object),
    ]
    for body, headers, message in cases:
        answer = await post(client, body, headers)
        assert refused(answer, 422, "validation_failed", "The request is invalid") == [
            ("", message)
        ]


async def test_json_that_only_pythons_parser_reads_is_read(
    client: httpx.AsyncClient, sender: dict[str, str]
) -> None:
    utf16 = await post(client, json.dumps(GOOD).encode("utf-16"), sender)
    assert utf16.status_code == 202, utf16.text
    suffixed = {**sender, "Content-Type": "application/vnd.herald+json; charset=utf-8"}
    assert (await post(client, GOOD, suffixed)).status_code == 202
    nan = b'{"type": "custom", "subType": "message", "targets": {"users": ["ae1"]}, "message": NaN}'
    assert refused(
        await post(client, nan, sender), 422, "validation_failed", "The request is invalid"
    ) == [("/message", "Input should be a valid string")]
    not_utf8 = await post(client, b'{"message": "\xff"}', sender)
    assert refused(not_utf8, 400, "http_error", "There was an error parsing the body") == []


async def test_the_idempotency_key_is_1_to_255_characters(
    client: httpx.AsyncClient, sender: dict[str, str]
) -> None:
    at = "/header/Idempotency-Key"
    empty = await post(client, GOOD, {**sender, "Idempotency-Key": ""})
    assert refused(empty, 422, "validation_failed", "The request is invalid") == [
        (at, "String should have at least 1 character")
    ]
    long = await post(client, GOOD, {**sender, "Idempotency-Key": "k" * 256})
    assert refused(long, 422, "validation_failed", "The request is invalid") == [
        (at, "String should have at most 255 characters")
    ]
    both = await post(client, {**GOOD, "message": 5}, {**sender, "Idempotency-Key": "k" * 256})
    assert refused(both, 422, "validation_failed", "The request is invalid") == [
        (at, "String should have at most 255 characters"),
        ("/message", "Input should be a valid string"),
    ]
    longest = {**sender, "Idempotency-Key": "k" * 255}
    first, replay = await post(client, GOOD, longest), await post(client, GOOD, longest)
    assert (first.status_code, replay.content) == (202, first.content)


async def test_credentials_are_refused_before_the_body_is_checked(
    client: httpx.AsyncClient, sender: dict[str, str], tenant: Tenant
) -> None:
    bad_body = {**GOOD, "message": 5}
    cases = [
        (JSON_HEADERS, NO_TOKEN),
        ({**JSON_HEADERS, "Authorization": "Basic abc"}, NO_TOKEN),
        ({**JSON_HEADERS, "Authorization": "Bearer   "}, NO_TOKEN),
        ({**JSON_HEADERS, "Idempotency-Key": ""}, NO_TOKEN),
        ({**JSON_HEADERS, **bearer("hk_live_nope")}, "The API key is not valid"),
        ({**JSON_HEADERS, **bearer("a.b.c")}, "The token is not valid"),
    ]
    for headers, message in cases:
        answer = await post(client, bad_body, headers)
        assert refused(answer, 401, "unauthorized", message) == []
        assert "RateLimit-Limit" not in answer.headers


async def test_user_tokens_are_403_and_counted(
    client: httpx.AsyncClient, sender: dict[str, str], tenant: Tenant
) -> None:
    user = {**await user_headers(client, tenant, "ae1"), **JSON_HEADERS}
    for body in (GOOD, {**GOOD, "message": 5}):
        answer = await post(client, body, user)
        assert refused(answer, 403, "forbidden", "User tokens may only use the /v1/me routes") == []
        assert answer.headers["RateLimit-Limit"] == "3000"


async def test_a_key_without_the_types_scope_is_403(
    client: httpx.AsyncClient, sender: dict[str, str], tenant: Tenant, db: Database
) -> None:
    key = {**bearer(await make_key(db, tenant, "users.read")), **JSON_HEADERS}
    answer = await post(client, GOOD, key)
    assert (
        refused(
            answer, 403, "forbidden", "This credential lacks the scope notifications.custom.write"
        )
        == []
    )


async def test_the_middleware_refuses_large_and_non_json_bodies(
    client: httpx.AsyncClient, sender: dict[str, str]
) -> None:
    large = await post(client, b"x", {**sender, "Content-Length": "99999999"})
    assert refused(large, 413, "payload_too_large", "The body is larger than 1048576 bytes") == []
    text = await post(client, b"hello", {**sender, "Content-Type": "text/plain"})
    assert refused(text, 415, "unsupported_media_type", "Send the body as application/json") == []


async def test_a_key_read_once_then_remembered_is_refused_at_once_when_revoked(
    client: httpx.AsyncClient, sender: dict[str, str], tenant: Tenant, db: Database
) -> None:
    async with db.sessions() as session, session.begin():
        issued = await accounts.create_key(
            session, account_id=tenant.account_id, scopes=["notifications.write"]
        )
    key = {**bearer(issued.plain), **JSON_HEADERS}
    # The first is read (a session opened for it alone), the second remembered.
    assert [(await post(client, GOOD, key)).status_code for _ in range(2)] == [202, 202]
    revoked = await client.delete(f"/v1/keys/{issued.key.id}", headers=tenant.headers)
    assert revoked.status_code == 204
    assert (
        refused(await post(client, GOOD, key), 401, "unauthorized", "The API key is not valid")
        == []
    )


async def test_an_access_token_keeps_only_the_scopes_it_was_narrowed_to(
    client: httpx.AsyncClient, sender: dict[str, str], tenant: Tenant, db: Database
) -> None:
    async with db.sessions() as session, session.begin():
        issued = await accounts.create_key(
            session, account_id=tenant.account_id, scopes=["notifications.write"]
        )
    tokens = []
    for scope in ("notifications.write", "notifications.telephony.write"):
        form = {
            "grant_type": "client_credentials", "client_id": str(issued.key.id),
            "client_secret": issued.plain, "scope": scope,
        }  # fmt: skip
        made = await client.post("/oauth/token", data=form)
        assert made.status_code == 200, made.text
        tokens.append({**bearer(made.json()["access_token"]), **JSON_HEADERS})
    assert (await post(client, GOOD, tokens[0])).status_code == 202
    narrowed = await post(client, GOOD, tokens[1])
    assert (
        refused(
            narrowed, 403, "forbidden", "This credential lacks the scope notifications.custom.write"
        )
        == []
    )


@pytest.fixture
async def strict(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An application allowing 2 requests per minute per key."""
    app = create_app(settings_for(database_url, rate_limit="2/minute"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://herald.test") as http:
            yield http


async def test_over_the_rate_is_429_with_its_headers(
    strict: httpx.AsyncClient, client: httpx.AsyncClient, sender: dict[str, str]
) -> None:
    answers = [await post(strict, GOOD, sender) for _ in range(2)]
    assert [a.status_code for a in answers] == [202, 202]
    assert [a.headers["RateLimit-Remaining"] for a in answers] == ["1", "0"]
    over = await post(strict, GOOD, sender)
    assert (
        refused(
            over, 429, "rate_limit_reached", "Rate limit of 2 per 1 minute reached for this key"
        )
        == []
    )
    assert over.headers["RateLimit-Limit"] == "2" and over.headers["RateLimit-Remaining"] == "0"
    assert 0 < int(over.headers["Retry-After"]) <= 60
    assert 0 < int(over.headers["RateLimit-Reset"]) <= 60


async def test_without_group_commit_an_accept_commits_in_its_own_transaction(
    database_url: str, client: httpx.AsyncClient, sender: dict[str, str]
) -> None:
    app = create_app(settings_for(database_url, group_commit=False))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://herald.test") as http:
            keyed = {**sender, "Idempotency-Key": "solo"}
            first, replay = await post(http, GOOD, keyed), await post(http, GOOD, keyed)
    assert (first.status_code, replay.content) == (202, first.content)
    found = await client.get(f"/v1/notifications/{first.json()['id']}", headers=sender)
    assert found.status_code == 200


async def test_the_operation_is_documented_as_fastapi_documented_it(app: FastAPI) -> None:
    document: dict[str, Any] = app.openapi()
    operation = document["paths"]["/v1/notifications"]["post"]
    documented = json.loads(DOCUMENTED.read_text())
    assert operation == documented["operation"]
    for name, response in documented["responses"].items():
        assert document["components"]["responses"][name] == response
    assert document["components"]["schemas"]["Envelope"] == documented["Envelope"]
