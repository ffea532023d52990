"""Every Notify error case answers Notify's body and status (in-process, both databases):
the JWT checks in Notify's order and words, bad input, limits, a letter PDF not made yet."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import update

from herald.accounts.models import Account
from herald.db import Database
from tests.compat.notify import schemas
from tests.conftest import MakeTenant, Tenant

CLOCK = "Error: Your system clock must be accurate to within 30 seconds"
GENERAL = (
    "Invalid token: make sure your API token matches the example at "
    "https://docs.notifications.service.gov.uk/rest-api.html#authorisation-header"
)


async def notify_key(client: httpx.AsyncClient, tenant: Tenant, kind: str = "live") -> str:
    answer = await client.post(
        "/v1/keys", json={"notify": True, "type": kind}, headers=tenant.headers
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["type"] == kind and body["api_key"].startswith("herald-")
    return str(body["api_key"])


def token(key: str, **claims: Any) -> dict[str, str]:
    """The Authorization header Notify's clients send for ``key``."""
    payload = {"iss": key[-73:-37], "iat": int(time.time()), **claims}
    return {"Authorization": f"Bearer {jwt.encode(payload, key[-36:], algorithm='HS256')}"}


def refused(answer: httpx.Response, status: int, error: str, message: str) -> None:
    schemas.assert_shape(answer.json(), schemas.ERROR_RESPONSE)
    assert (answer.status_code, answer.json()) == (
        status, {"status_code": status, "errors": [{"error": error, "message": message}]},
    )  # fmt: skip


async def test_tokens_are_checked_as_notify_checks_them(
    client: httpx.AsyncClient, make_tenant: MakeTenant
) -> None:
    tenant, other = await make_tenant("svc"), await make_tenant("other")
    key, other_key = await notify_key(client, tenant), await notify_key(client, other)
    unkeyed = await make_tenant("no keys")
    now = int(time.time())
    secret, service_id = key[-36:], key[-73:-37]

    async def get(headers: dict[str, str] | None = None) -> httpx.Response:
        return await client.get("/v2/notifications", headers=headers or {})

    refused(await get(), 401, "AuthError", "Unauthorized: authentication token must be provided")
    refused(await get({"Authorization": "Basic abc"}), 401, "AuthError",
            "Unauthorized: authentication bearer scheme must be used")  # fmt: skip
    refused(await get({"Authorization": "Bearer not-a-jwt"}), 403, "AuthError", GENERAL)
    no_iss = jwt.encode({"iat": now}, secret, algorithm="HS256")
    refused(await get({"Authorization": f"Bearer {no_iss}"}), 403, "AuthError",
            "Invalid token: iss field not provided")  # fmt: skip
    refused(await get(token(key, iss="service")), 403, "AuthError",
            "Invalid token: service id is not the right data type")  # fmt: skip
    refused(await get(token(key, iss=str(uuid.uuid4()))), 403, "AuthError",
            "Invalid token: service not found")  # fmt: skip
    refused(await get(token(key, iss=str(unkeyed.account_id))), 403, "AuthError",
            "Invalid token: service has no API keys")  # fmt: skip
    # Our secret, another service's id: none of that service's keys signed it.
    refused(await get(token(key, iss=other_key[-73:-37])), 403, "AuthError",
            "Invalid token: API key not found")  # fmt: skip
    # The skew is measured from when each token is made: ``now`` is seconds old by here on a
    # busy machine, and Notify's 30 s window would take now + 35 made late as within it.
    refused(await get(token(key, iat=int(time.time()) - 35)), 403, "AuthError", CLOCK)
    refused(await get(token(key, iat=int(time.time()) + 35)), 403, "AuthError", CLOCK)
    assert (await get(token(key, iat=int(time.time()) - 25))).status_code == 200
    unsigned = jwt.encode({"iss": service_id, "iat": now}, None, algorithm="none")
    refused(await get({"Authorization": f"Bearer {unsigned}"}), 403, "AuthError",
            "Invalid token: algorithm used is not HS256")  # fmt: skip
    listed = (await client.get("/v1/keys", headers=tenant.headers)).json()["data"]
    key_id = next(k["key_id"] for k in listed if k["type"] == "live")
    assert (await client.delete(f"/v1/keys/{key_id}", headers=tenant.headers)).status_code == 204
    refused(await get(token(key)), 403, "AuthError", "Invalid token: API key revoked")


async def test_bad_input_answers_notifys_errors(client: httpx.AsyncClient, tenant: Tenant) -> None:
    key = await notify_key(client, tenant)
    email_id, sms_id = str(uuid.uuid4()), str(uuid.uuid4())
    for template_id, channels in (
        (email_id, {"email": {"subject": "Hi", "text": "Hello {{ name }}"}}),
        (sms_id, {"sms": {"body": "Code {{ code }}"}}),
    ):
        made = await client.post(
            "/v1/templates", json={"id": template_id, "channels": channels}, headers=tenant.headers
        )
        assert made.status_code == 201

    async def post(kind: str, body: dict[str, Any]) -> httpx.Response:
        return await client.post(f"/v2/notifications/{kind}", json=body, headers=token(key))

    refused(await post("sms", {"phone_number": "0770090012a", "template_id": sms_id}), 400,
            "ValidationError", "phone_number Must not contain letters or symbols")  # fmt: skip
    refused(await post("sms", {"phone_number": "020 7946 0000", "template_id": sms_id}), 400,
            "ValidationError", "phone_number Not a UK mobile number")  # fmt: skip
    refused(await post("email", {"email_address": "nope", "template_id": email_id}), 400,
            "ValidationError", "email_address Not a valid email address")  # fmt: skip
    refused(await post("email", {"email_address": "a@example.com", "template_id": "x"}), 400,
            "ValidationError", "template_id is not a valid UUID")  # fmt: skip
    missing = await post("email", {"template_id": email_id})
    refused(missing, 400, "ValidationError", "email_address is a required property")
    refused(await post("email", {"email_address": "a@example.com",
                                 "template_id": str(uuid.uuid4())}),
            400, "BadRequestError", "Template not found")  # fmt: skip
    refused(await post("email", {"email_address": "a@example.com", "template_id": sms_id}), 400,
            "BadRequestError", "sms template is not suitable for email notification")  # fmt: skip
    refused(await post("email", {"email_address": "a@example.com", "template_id": email_id}),
            400, "BadRequestError", "Missing personalisation: name")  # fmt: skip
    refused(await post("letter", {"reference": "r", "content": "%%%"}), 400, "BadRequestError",
            "Cannot decode letter content (invalid base64 encoding)")  # fmt: skip
    postage = "postage invalid. It must be either first, second or economy."
    refused(await post("letter", {"reference": "r", "content": "", "postage": "third"}), 400,
            "ValidationError", postage)  # fmt: skip
    refused(await client.get("/v2/notifications?status=lost", headers=token(key)), 400,
            "ValidationError", "status lost is not one of [created, sending, sent, delivered, "
            "pending, failed, technical-failure, temporary-failure, permanent-failure, "
            "pending-virus-check, validation-failed, virus-scan-failed, returned-letter, "
            "cancelled, accepted, received]")  # fmt: skip
    refused(await client.get("/v2/notifications/123", headers=token(key)), 400,
            "ValidationError", "notification_id is not a valid UUID")  # fmt: skip
    refused(await client.get(f"/v2/notifications/{uuid.uuid4()}", headers=token(key)), 404,
            "NoResultFound", "No result found")  # fmt: skip
    refused(await client.get(f"/v2/template/{uuid.uuid4()}", headers=token(key)), 404,
            "NoResultFound", "No result found")  # fmt: skip
    not_json = await client.post(
        "/v2/notifications/sms",
        content=b"{",
        headers={**token(key), "Content-Type": "application/json"},
    )
    refused(not_json, 400, "BadRequestError", "Invalid JSON supplied in POST data")
    reply = await post("email", {"email_address": "a@example.com", "template_id": email_id,
                                 "personalisation": {"name": "A"},
                                 "email_reply_to_id": str(uuid.UUID(int=1))})  # fmt: skip
    refused(reply, 400, "BadRequestError", f"email_reply_to_id {uuid.UUID(int=1)} does not exist "
            f"in database for service id {tenant.account_id}")  # fmt: skip


async def test_a_letters_pdf_is_not_ready_until_rendered(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    key = await notify_key(client, tenant)
    letter_id = str(uuid.uuid4())
    channels = {"letter": {"html": "<p>Hello</p>"}}
    made = await client.post(
        "/v1/templates", json={"id": letter_id, "channels": channels}, headers=tenant.headers
    )
    assert made.status_code == 201
    address = {"address_line_1": "A", "address_line_2": "1 Road", "address_line_3": "Town",
               "address_line_4": "SW1A 1AA"}  # fmt: skip
    sent = await client.post(
        "/v2/notifications/letter",
        json={"template_id": letter_id, "personalisation": address},
        headers=token(key),
    )
    assert sent.status_code == 201, sent.text
    schemas.assert_shape(sent.json(), schemas.POST_LETTER_RESPONSE)
    # Notify's rule on the address: three to seven lines in all, the last the postcode.
    three = {"address_line_1": "A Person", "address_line_2": "1 Road", "postcode": "SW1A 1AA"}
    assert (await client.post(
        "/v2/notifications/letter", json={"template_id": letter_id, "personalisation": three},
        headers=token(key),
    )).status_code == 201  # fmt: skip
    two = {"address_line_1": "A Person", "address_line_2": "SW1A 1AA"}
    eight = {**{f"address_line_{n}": f"Line {n}" for n in range(1, 8)}, "postcode": "SW1A 1AA"}
    for short_or_long, message in (
        (two, "Address must be at least 3 lines"),
        (eight, "Address must be no more than 7 lines"),
    ):
        refused(await client.post(
            "/v2/notifications/letter",
            json={"template_id": letter_id, "personalisation": short_or_long},
            headers=token(key),
        ), 400, "ValidationError", message)  # fmt: skip
    pdf = await client.get(f"/v2/notifications/{sent.json()['id']}/pdf", headers=token(key))
    refused(pdf, 400, "PDFNotReadyError", "PDF not available yet, try again later")


async def test_rate_and_daily_limits_answer_notifys_429s(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    key = await notify_key(client, tenant)
    sms_id = str(uuid.uuid4())
    made = await client.post(
        "/v1/templates", json={"id": sms_id, "channels": {"sms": {"body": "Hi"}}},
        headers=tenant.headers,
    )  # fmt: skip
    assert made.status_code == 201
    async with db.sessions() as session, session.begin():
        await session.execute(
            update(Account)
            .where(Account.id == tenant.account_id)
            .values(daily_limit=1, rate_limit="4/minute")
        )
    await asyncio.sleep(1.1)  # remembered credentials carry the old limits for a second
    body = {"phone_number": "07700900123", "template_id": sms_id}
    first = await client.post("/v2/notifications/sms", json=body, headers=token(key))
    assert first.status_code == 201, first.text
    second = await client.post("/v2/notifications/sms", json=body, headers=token(key))
    refused(second, 429, "TooManyRequestsError", "Exceeded send limits (1) for today")
    assert second.headers["Retry-After"].isdigit()
    for _ in range(2):
        await client.get("/v2/notifications", headers=token(key))
    limited = await client.get("/v2/notifications", headers=token(key))
    refused(limited, 429, "RateLimitError",
            "Exceeded rate limit for key type LIVE of 4 requests per 60 seconds")  # fmt: skip


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"type": "team"}, "type is for Notify-format keys"),
        ({"notify": True, "test": True}, 'a Notify-format test key is "type": "test"'),
        ({"notify": True, "type": "admin"}, "Input should be 'live', 'team' or 'test'"),
    ],
)
async def test_notify_key_requests_are_checked(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], message: str
) -> None:
    answer = await client.post("/v1/keys", json=body, headers=tenant.headers)
    assert answer.status_code == 422
    assert message in answer.json()["error"]["details"][0]["message"]


async def test_an_oversize_letter_is_refused_in_notifys_body(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    key = await notify_key(client, tenant)
    big = {"reference": "big", "content": "A" * (1024 * 1024)}
    answer = await client.post("/v2/notifications/letter", json=big, headers=token(key))
    schemas.assert_shape(answer.json(), schemas.ERROR_RESPONSE)
    assert answer.status_code == 413
    assert answer.json()["errors"][0]["error"] == "BadRequestError"
