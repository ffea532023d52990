"""Each class of input that used to be a 500 is a clear 4xx (or an empty page), on both backends.

The fuzzing in test_openapi_fuzz.py finds such classes; these pin each one down with its
status, its code and the JSON Pointer of the field.
"""

from __future__ import annotations

import httpx
import pytest

from herald.http.times import parse_time
from tests.conftest import Tenant
from tests.notifications.helpers import add_users

PAST_64_BITS = "99999999999999999999"
INT64_MAX = str(2**63 - 1)
CUSTOM = {"type": "custom", "subType": "message", "message": "hi"}


def _pointers(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    return [d["path"] for d in response.json()["error"]["details"]]


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026-11-22T10:28:00Z", "2026-11-22T10:28:00+00:00"),
        ("2026-11-22T11:28:00.5+01:00", "2026-11-22T10:28:00.500000+00:00"),
        ("2026-11-22 10:28:00z", "2026-11-22T10:28:00+00:00"),
    ],
)
def test_rfc3339_times_are_read_into_utc(text: str, utc: str) -> None:
    assert parse_time(text).isoformat() == utc


@pytest.mark.parametrize(
    "text",
    ["2026-11-22T10:28:00", "2026-11-22", "1700000000", "2026-02-30T00:00:00Z",
     "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "next tuesday"],
)  # fmt: skip
def test_naive_date_only_and_impossible_times_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"RFC 3339|time zone|real date-time"):
        parse_time(text)


@pytest.mark.parametrize("route", ["/v1/notifications", "/v1/deliveries", "/v1/messages"])
async def test_a_naive_or_date_only_filter_is_a_422_naming_it(
    client: httpx.AsyncClient, tenant: Tenant, route: str
) -> None:
    for value in ("2026-11-22T10:28:00", "2026-11-22"):
        query = {"created_at_gt_or_eq": value}
        answer = await client.get(route, params=query, headers=tenant.headers)
        assert _pointers(answer) == ["/query/created_at_gt_or_eq"]
    aware = {"created_at_gt_or_eq": "2026-11-22T10:28:00+01:00"}
    assert (await client.get(route, params=aware, headers=tenant.headers)).status_code == 200


async def test_a_naive_scheduled_at_is_a_422_at_scheduled_at(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await add_users(client, tenant, "u1")
    body = {**CUSTOM, "targets": {"users": ["u1"]}}
    for value in ("2030-01-01T09:00:00", "2030-01-01", 1893488400):
        sent = await client.post(
            "/v1/notifications", json={**body, "scheduledAt": value}, headers=tenant.headers
        )
        assert _pointers(sent) == ["/scheduledAt"]
    later = {**body, "scheduledAt": "2030-01-01T10:00:00+01:00"}
    accepted = await client.post("/v1/notifications", json=later, headers=tenant.headers)
    assert accepted.status_code == 202, accepted.text
    stored = await client.get(f"/v1/notifications/{accepted.json()['id']}", headers=tenant.headers)
    assert stored.json()["scheduledAt"] == "2030-01-01T09:00:00Z"


@pytest.mark.parametrize(
    "route",
    ["/v1/notifications", "/v1/deliveries", "/v1/messages", "/v1/users", "/v1/templates",
     "/v1/users/u1/notifications", "/v1/notification-types", "/v1/senders"],
)  # fmt: skip
async def test_a_page_past_every_row_is_empty_and_past_64_bits_a_422(
    client: httpx.AsyncClient, tenant: Tenant, route: str
) -> None:
    await add_users(client, tenant, "u1")
    far = await client.get(route, params={"page": INT64_MAX}, headers=tenant.headers)
    assert far.status_code == 200, far.text
    assert far.json()["data"] == [] and far.json()["pagination"]["urls"]["next"] is None
    beyond = await client.get(route, params={"page": PAST_64_BITS}, headers=tenant.headers)
    assert _pointers(beyond) == ["/query/page"]


async def test_integers_past_their_column_are_422s(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    template = {"id": "t1", "channels": {"sms": {"body": "hi"}}}
    await client.post("/v1/templates", json=template, headers=tenant.headers)
    version = await client.get("/v1/templates/t1/versions/2147483648", headers=tenant.headers)
    assert _pointers(version) == ["/path/version"]
    child = (await client.post("/v1/accounts", json={"name": "c"}, headers=tenant.headers)).json()
    limits = {"limits": {"daily": 2**31, "sms_allowance": 2**70}}
    patched = await client.patch(f"/v1/accounts/{child['id']}", json=limits, headers=tenant.headers)
    assert _pointers(patched) == ["/limits/daily", "/limits/sms_allowance"]


async def test_a_type_schema_with_an_integer_past_64_bits_is_refused_at_registration(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer", "maximum": 2**64}}}
    put = await client.put(
        "/v1/notification-types/big/one", json={"schema": schema}, headers=tenant.headers
    )
    assert _pointers(put) == ["/schema/properties/n/maximum"]
    schema["properties"]["n"]["maximum"] = 2**64 - 1
    put = await client.put(
        "/v1/notification-types/big/one", json={"schema": schema}, headers=tenant.headers
    )
    assert put.status_code == 200, put.text
    await add_users(client, tenant, "u1")
    event = {"type": "big", "subType": "one", "targets": {"users": ["u1"]}, "payload": {"n": 5}}
    sent = await client.post("/v1/notifications", json=event, headers=tenant.headers)
    assert sent.status_code == 202, sent.text


@pytest.mark.parametrize(
    ("route", "body", "pointer"),
    [
        ("/v1/users/u2", {"admin": 0}, "/admin"),
        ("/v1/users/u2", {"admin": "true"}, "/admin"),
        ("/v1/notifications", {**CUSTOM, "targets": {"all": 1}}, "/targets/all"),
        ("/v1/notifications", {**CUSTOM, "targets": {"all": True}, "requireAction": 0},
         "/requireAction"),
        ("/v1/keys", {"test": "false"}, "/test"),
        ("/v1/providers/email/smtp", {"settings": {}, "priority": True}, "/priority"),
        ("/v1/providers/email/smtp", {"settings": {}, "priority": 1.0}, "/priority"),
    ],
)  # fmt: skip
async def test_booleans_and_integers_are_not_coerced(
    client: httpx.AsyncClient, tenant: Tenant, route: str, body: dict[str, object], pointer: str
) -> None:
    method = "POST" if route in ("/v1/notifications", "/v1/keys") else "PUT"
    answer = await client.request(method, route, json=body, headers=tenant.headers)
    assert pointer in _pointers(answer)


async def test_an_error_lists_at_most_100_details_and_counts_the_rest(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    users = [str(i) for i in range(100_000)]  # short ids: 100,000 fit in the 1 MiB body
    body = {**CUSTOM, "targets": {"users": users}}
    answer = await client.post("/v1/notifications", json=body, headers=tenant.headers)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert len(error["details"]) == 100 and error["details"][0]["path"] == "/targets/users/0"
    assert "99900 more" in error["message"]
    assert len(answer.content) < 20_000


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("/v1/messages", {"message": {"body": "hi", "endpoint": "0"}, "to_numbers": ["4571999"]}),
        ("/v1/messages/sms", {"message": {"body": "hi", "endpoint": "00"}, "to_numbers": ["0"]}),
        ("/v1/users/u1/message", {"message": {"body": "hi", "endpoint": "+0"}}),
        ("/v1/teams/t1/message", {"message": {"body": "hi", "endpoint": "0000000000000"}}),
    ],
)  # fmt: skip
async def test_a_sender_of_digits_that_is_no_number_is_a_422(
    client: httpx.AsyncClient, tenant: Tenant, route: str, body: dict[str, object]
) -> None:
    await client.put("/v1/users/u1", json={"phone": "+4571999999"}, headers=tenant.headers)
    await client.put("/v1/teams/t1", json={"members": ["u1"]}, headers=tenant.headers)
    answer = await client.post(route, json=body, headers=tenant.headers)
    assert _pointers(answer) == ["/message/endpoint"]


async def test_null_unsaved_parts_in_a_preview_remove_them(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    template = {
        "id": "p1",
        "channels": {"email": {"subject": "Hi", "text": "Body"}, "sms": {"body": "Text"}},
    }
    await client.post("/v1/templates", json=template, headers=tenant.headers)
    email = {"subject": "New", "to": None, "html": None, "from": None}
    unsaved = {"channels": {"sms": None, "push": None, "email": email}}
    answer = await client.post(
        "/v1/templates/p1/preview", json={"template": unsaved}, headers=tenant.headers
    )
    assert answer.status_code == 200, answer.text
    channels = answer.json()["channels"]
    assert set(channels) == {"email"} and channels["email"]["subject"] == "New"
