"""The macro catalogue: payload fields from the type's schema, the recipient, the account,
and the personalisation fields a template's parts read."""

from __future__ import annotations

import httpx

from herald.templates.catalogue import macro, payload_macros, template_macros
from tests.conftest import Tenant
from tests.templates.template_helpers import get_json

SCHEMA = {
    "type": "object",
    "properties": {
        "callerId": {"type": "string", "description": "Who called"},
        "caller": {
            "type": "object",
            "properties": {"name": {"type": "string", "title": "Caller name"}},
        },
        "huntGroup": {"type": "boolean"},
    },
}


def test_macro_names_read_well() -> None:
    assert macro("payload.callerId", "d") == {
        "description": "d",
        "friendly_name": "Caller ID",
        "i18n_label": "caller_id",
    }
    assert macro("user.first_name", "d")["friendly_name"] == "First Name"


def test_payload_macros_walk_nested_properties() -> None:
    found = payload_macros(SCHEMA)
    assert list(found) == [
        "payload.caller",
        "payload.caller.name",
        "payload.callerId",
        "payload.huntGroup",
    ]
    assert found["payload.callerId"]["description"] == "Who called"
    assert found["payload.caller.name"]["description"] == "Caller name"
    assert found["payload.huntGroup"]["description"] == "The event's huntGroup"
    assert payload_macros(None) == {}


def test_template_macros_add_recipient_account_and_used_fields() -> None:
    sources = ["{{ first_name }} {{ payload.extra }} {% for i in items %}{{ i }}{% endfor %}"]
    found = template_macros(sources, schema=SCHEMA, has_message=False)
    assert {"user.first_name", "user.phone", "account.name", "payload.callerId"} <= set(found)
    assert found["first_name"]["description"] == "A personalisation field this template uses"
    assert found["items"]["i18n_label"] == "items"
    assert found["payload.extra"]["description"] == "An event field this template uses"
    assert "i" not in found and "message" not in found
    assert "message" in template_macros([], schema=None, has_message=True)


async def test_api_catalogue_of_builtin_and_registered_types(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    incoming = await get_json(client, tenant, "/v1/templates/incoming-call")
    assert {"payload.callerId", "payload.destinationId", "user.email"} <= set(incoming["macros"])
    custom = await get_json(client, tenant, "/v1/templates/custom-message")
    assert "message" in custom["macros"]
    registered = await client.put(
        "/v1/notification-types/repairs/workOrderApproved",
        json={"schema": {"type": "object", "properties": {"orderRef": {"type": "string"}}}},
        headers=tenant.headers,
    )
    assert registered.status_code < 300, registered.text
    body = {
        "id": "work-order",
        "type": "repairs",
        "subType": "workOrderApproved",
        "channels": {"sms": {"body": "Order {{ payload.orderRef }} approved, {{ contractor }}"}},
    }
    created = await client.post("/v1/templates", json=body, headers=tenant.headers)
    macros = created.json()["macros"]
    assert macros["payload.orderRef"]["friendly_name"] == "Order Ref"
    assert macros["contractor"]["description"] == "A personalisation field this template uses"
