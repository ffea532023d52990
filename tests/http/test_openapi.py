"""The OpenAPI document: valid 3.1, every error status with the body Herald really sends.

Real requests provoke each error and each main answer, and their bodies are checked against
the schema the document gives for that operation and status, so the document cannot drift
from what the code answers.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import jsonschema
import pytest
from fastapi import APIRouter, FastAPI
from openapi_spec_validator import validate
from sqlalchemy import update

from herald.accounts.models import Account
from herald.app import create_app
from herald.db import Database
from herald.errors import NotFound, Unauthorized
from herald.http.openapi import ErrorEnvelope, build_openapi, dialect_route, raises
from tests.conftest import Tenant, bearer, make_key, settings_for

ERROR_STATUSES = {"400", "401", "403", "404", "406", "409", "413", "415", "422", "429", "503"}
SEND = {
    "type": "telephony",
    "subType": "incomingCall",
    "targets": {"users": ["ada"]},
    "payload": {"id": "c1", "created": "2023-11-01T10:28:00", "callerId": "07123 456789",
                "destinationId": "01234 567890"},
}  # fmt: skip


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    """The document of an application that has not started (it needs no database)."""
    return create_app(settings_for("sqlite+aiosqlite:///:memory:")).openapi()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def check(document: dict[str, Any], schema: dict[str, Any], value: Any) -> None:
    """Validate ``value`` against a schema of the document, its ``$ref``s resolved."""
    jsonschema.validate(value, {**schema, "components": document["components"]})


def resolved(document: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """A response object, through its ``$ref`` to ``components/responses`` if it has one."""
    ref = response.get("$ref")
    if ref is None:
        return response
    found: dict[str, Any] = document["components"]["responses"][ref.rsplit("/", 1)[1]]
    return found


def answer_schema(document: dict[str, Any], method: str, path: str, status: int) -> dict[str, Any]:
    responses = document["paths"][path][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {path} does not document {status}"
    response = resolved(document, responses[str(status)])
    schema: dict[str, Any] = response["content"]["application/json"]["schema"]
    return schema


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_path_parameter_is_declared(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path)), (method, path)


def test_errors_are_documented_with_the_real_body_never_fastapis(
    document: dict[str, Any],
) -> None:
    assert "HTTPValidationError" not in str(document)
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if status not in ERROR_STATUSES:
                continue
            response = resolved(document, response)
            media = response["content"]["application/json"]
            assert media["examples"], (method, path, status)
            for example in media["examples"].values():
                check(document, media["schema"], example["value"])
            if status in {"429", "503"}:
                assert "Retry-After" in response["headers"]


def _documented(operation: dict[str, Any]) -> set[str]:
    # OpenAPI's range "4XX" documents every 4xx status at once (seed 002's envelope).
    statuses = set(operation["responses"])
    if "4XX" in statuses:
        statuses |= {str(code) for code in range(400, 500)}
    return statuses


def test_each_route_documents_what_its_code_can_answer(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        statuses = _documented(operation)
        where = (method, path)
        if operation.get("security"):
            assert {"401", "503"} <= statuses, where
        body = operation.get("requestBody", {}).get("content", {})
        if "application/json" in body:
            assert {"400", "413", "415", "422"} <= statuses, where
        if "{" in path:
            assert {"404", "422"} <= statuses, where
    send = document["paths"]["/v1/notifications"]["post"]["responses"]
    examples = {
        status: set(resolved(document, send[status])["content"]["application/json"]["examples"])
        for status in ("409", "422", "429")
    }
    assert {"idempotency_key_mismatch", "validation_failed"} <= examples["422"]
    assert examples["409"] == {"conflict"}
    assert {"rate_limit_reached", "daily_limit_reached"} <= examples["429"]
    me = document["paths"]["/v1/me/notifications"]["get"]["responses"]
    assert "403" in me and "401" in me


def test_bearer_security_scheme_for_try_it_out(document: dict[str, Any]) -> None:
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer"}
    secured = [p for m, p, o in operations(document) if o.get("security")]
    assert "/v1/notifications" in secured and "/v1/me/notifications" in secured
    assert "/healthz" not in secured and "/oauth/token" not in secured


def test_every_body_has_an_example_that_fits_its_schema(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        for media in operation.get("requestBody", {}).get("content", {}).values():
            examples = [e["value"] for e in media.get("examples", {}).values()]
            examples += [media["example"]] if "example" in media else []
            assert examples, (method, path)
            if path != "/notifications":  # a free dict there: seed 000 or seed 001
                for example in examples:
                    check(document, media["schema"], example)
    send = document["paths"]["/v1/notifications"]["post"]["requestBody"]["content"]
    assert send["application/json"]["example"]["subType"] == "incomingCall"


def test_summaries_are_written_for_people(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        summary = operation["summary"]
        generated = operation["operationId"].split("_" + path.split("/")[1])[0]
        assert summary != generated.replace("_", " ").title(), (method, path)
        assert 3 < len(summary) < 120 and "``" not in summary, (method, path, summary)


def test_a_dialect_router_documents_its_own_envelope() -> None:
    from pydantic import BaseModel

    class DialectError(BaseModel):
        errors: list[dict[str, str]]

    envelope = ErrorEnvelope(
        DialectError, lambda e: {"errors": [{"error": e.code, "message": e.message}]}
    )
    router = APIRouter(route_class=dialect_route(envelope))

    @router.get("/dialect/things/{thing_id}")
    @raises(Unauthorized("Invalid token"))
    async def thing(thing_id: int) -> dict[str, int]:
        """Read one thing."""
        raise NotFound("none")

    app = FastAPI()
    app.include_router(router)
    document = build_openapi(app)
    validate(document)
    responses = document["paths"]["/dialect/things/{thing_id}"]["get"]["responses"]
    assert set(responses) >= {"401", "404", "422"}
    for status in ("401", "404", "422"):
        media = resolved(document, responses[status])["content"]["application/json"]
        assert media["schema"] == {"$ref": "#/components/schemas/DialectError"}
        for example in media["examples"].values():
            check(document, media["schema"], example["value"])


async def provoke(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> list[tuple[str, str, httpx.Response]]:
    """Each error status a client can cause, with the operation that answered it."""
    a_uuid = uuid.uuid4()
    no_scope = await make_key(db, tenant, "templates.read")
    json = {**tenant.headers, "Content-Type": "application/json"}
    h = tenant.headers
    text = {**h, "Content-Type": "text/plain"}
    answers = [
        ("GET", "/v1/users/{external_id}", await client.get("/v1/users/ada")),
        ("GET", "/v1/users/{external_id}",
         await client.get("/v1/users/ada", headers=bearer(no_scope))),
        ("GET", "/v1/notifications/{notification_id}",
         await client.get(f"/v1/notifications/{a_uuid}", headers=tenant.headers)),
        ("GET", "/v1/notifications/{notification_id}",
         await client.get("/v1/notifications/not-a-uuid", headers=tenant.headers)),
        ("POST", "/v1/notifications",
         await client.post("/v1/notifications", content=b"{", headers=json)),
        ("POST", "/v1/notifications",
         await client.post("/v1/notifications", content=b"x" * 2_000_000, headers=json)),
        ("POST", "/v1/notifications",
         await client.post("/v1/notifications", content=b"a", headers=text)),
        ("POST", "/v1/notifications",
         await client.post("/v1/notifications", json={**SEND, "type": "?"}, headers=h)),
        ("GET", "/v1/me/notifications", await client.get("/v1/me/notifications", headers=h)),
        ("POST", "/oauth/token", await client.post(
            "/oauth/token", data={"grant_type": "client_credentials",
                                  "client_id": str(tenant.key_id), "client_secret": "wrong"})),
    ]  # fmt: skip
    # Last: a fresh key reads its account's limit when first used, and the second is over it.
    limited = await make_key(db, tenant, "users.read")
    async with db.sessions() as session, session.begin():
        await session.execute(
            update(Account).where(Account.id == tenant.account_id).values(rate_limit="1/hour")
        )
    await client.get("/v1/users", headers=bearer(limited))
    answers.append(("GET", "/v1/users", await client.get("/v1/users", headers=bearer(limited))))
    async with db.sessions() as session, session.begin():
        await session.execute(
            update(Account).where(Account.id == tenant.account_id).values(rate_limit=None)
        )
    return answers


async def test_real_errors_match_the_documented_status_and_body(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    document = (await client.get("/openapi.json")).json()
    answers = await provoke(client, db, tenant)
    seen = set()
    for method, path, response in answers:
        check(
            document, answer_schema(document, method, path, response.status_code), response.json()
        )
        seen.add(response.status_code)
    assert seen == {400, 401, 403, 404, 413, 415, 422, 429}


async def test_main_answers_match_their_documented_schemas(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    document = (await client.get("/openapi.json")).json()
    headers = tenant.headers
    await client.put(
        "/v1/users/ada", json={"name": "Ada", "email": "ada@example.com"}, headers=headers
    )
    sent = await client.post(
        "/v1/notifications", json={**SEND, "channels": ["in_app", "email"]}, headers=headers
    )
    found = await client.get(f"/v1/notifications/{sent.json()['id']}", headers=headers)
    inbox = await client.get("/v1/users/ada/inbox", headers=headers)
    item_id = inbox.json()["data"][0]["id"]
    delivery_id = found.json()["deliveries"][0]["id"]
    answers = [
        ("POST", "/v1/notifications", sent),
        ("GET", "/v1/notifications/{notification_id}", found),
        ("GET", "/v1/notifications", await client.get("/v1/notifications", headers=headers)),
        ("GET", "/v1/users/{external_id}/inbox", inbox),
        ("GET", "/v1/users/{external_id}/inbox/count",
         await client.get("/v1/users/ada/inbox/count", headers=headers)),
        ("GET", "/v1/users/{external_id}/inbox/{item_id}",
         await client.get(f"/v1/users/ada/inbox/{item_id}", headers=headers)),
        ("GET", "/v1/deliveries", await client.get("/v1/deliveries", headers=headers)),
        ("GET", "/v1/deliveries/{delivery_id}",
         await client.get(f"/v1/deliveries/{delivery_id}", headers=headers)),
        ("GET", "/v1/users", await client.get("/v1/users", headers=headers)),
        ("GET", "/v1/teams", await client.get("/v1/teams", headers=headers)),
        ("GET", "/v1/keys", await client.get("/v1/keys", headers=headers)),
    ]  # fmt: skip
    for method, path, response in answers:
        assert response.status_code < 300, (path, response.text)
        schema = answer_schema(document, method, path, response.status_code)
        assert schema != {} and "additionalProperties" not in schema, path
        check(document, schema, response.json())
