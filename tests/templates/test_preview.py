"""POST /v1/templates/{id}/preview: every part rendered, unsaved parts included, nothing saved."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Tenant
from tests.templates.template_helpers import CALL, get_json

USER = {"first_name": "Ann", "last_name": "Jones", "email": "ann@example.com"}


async def preview(
    client: httpx.AsyncClient, tenant: Tenant, template_id: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(
        f"/v1/templates/{template_id}/preview", json=body, headers=tenant.headers
    )


async def test_preview_renders_every_channel(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await preview(client, tenant, "incoming-call", {"payload": CALL, "user": USER})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["id"], body["version"], body["locale"]) == ("incoming-call", 1, None)
    channels = body["channels"]
    assert set(channels) == {"email", "sms", "push", "in_app"}
    email = channels["email"]
    assert email["subject"] == "Incoming call from 07123 456789"
    # CSS from the <style> block is inlined onto the element it styles.
    assert '<span class="caller" style="font-size: 20px;font-weight: bold;">' in email["html"]
    assert email["text"].startswith("Hello Ann,\n")
    assert "acme" in email["text"]  # account.name
    assert channels["push"] == {
        "title": "Incoming call",
        "body": "07123 456789 is calling 01234 567890",
    }
    assert channels["in_app"]["message"] == "Incoming call from 07123 456789"
    assert channels["sms"] == {
        "body": "Incoming call from 07123 456789 to 01234 567890",
        "sender": None,
        "encoding": "GSM-7",
        "segments": 1,
        "characters": 47,
        "unicode_characters": [],
    }


async def test_missing_personalisation_names_every_field(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    unsaved = {"channels": {"sms": {"body": "Hi {{ first_name }} {{ ref }}"}}}
    response = await preview(client, tenant, "incoming-call", {"template": unsaved})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "missing_personalisation"
    paths = {d["path"] for d in error["details"]}
    assert paths == {
        "/personalisation/payload/callerId",
        "/personalisation/payload/destinationId",
        "/personalisation/first_name",
        "/personalisation/ref",
    }
    assert "first_name" in error["message"] and "payload.callerId" in error["message"]


async def test_unsaved_parts_are_rendered_but_not_saved(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = {
        "personalisation": {"name": "Zoë"},
        "payload": CALL,
        "channels": ["sms"],
        "template": {"channels": {"sms": {"body": "Hi {{ name }} 😀 " + "x" * 61}}},
    }
    response = await preview(client, tenant, "missed-call", body)
    assert response.status_code == 200, response.text
    sms = response.json()["channels"]["sms"]
    assert set(response.json()["channels"]) == {"sms"}
    assert sms["encoding"] == "UCS-2"
    assert sms["unicode_characters"] == ["ë", "😀"]
    assert sms["characters"] == 71  # 70 characters, the emoji being two UTF-16 units
    assert sms["segments"] == 2  # over the 70 of a single UCS-2 message
    stored = await get_json(client, tenant, "/v1/templates/missed-call")
    assert stored["version"] == 1
    assert stored["channels"]["sms"]["body"].startswith("Missed call from")


async def test_long_gsm_text_takes_two_segments(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = {"channels": ["sms"], "template": {"channels": {"sms": {"body": "a" * 160 + "{{ x }}"}}}}
    one = await preview(client, tenant, "missed-call", {**body, "personalisation": {"x": ""}})
    two = await preview(client, tenant, "missed-call", {**body, "personalisation": {"x": "€"}})
    assert (
        one.json()["channels"]["sms"]["segments"],
        one.json()["channels"]["sms"]["characters"],
    ) == (1, 160)
    assert (
        two.json()["channels"]["sms"]["segments"],
        two.json()["channels"]["sms"]["characters"],
    ) == (2, 162)


async def test_bad_unsaved_syntax_is_422_under_template(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    unsaved = {"channels": {"email": {"subject": "{{ oops", "html": "{% if %}"}}}
    response = await preview(client, tenant, "missed-call", {"template": unsaved})
    assert response.status_code == 422
    paths = {d["path"] for d in response.json()["error"]["details"]}
    assert paths == {"/template/channels/email/subject", "/template/channels/email/html"}


async def test_preview_in_a_locale(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await preview(
        client, tenant, "missed-call", {"payload": CALL, "locale": "cy", "user": USER}
    )
    body = response.json()
    assert body["locale"] == "cy"
    assert body["channels"]["email"]["subject"] == "Galwad a gollwyd gan 07123 456789"
    assert body["channels"]["email"]["text"].startswith("Helo Ann")
    # Parts the variant does not translate come from the base template.
    assert "You missed a call" in body["channels"]["email"]["html"]


async def test_formatted_in_app_message_is_sanitised_and_escaped(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    unsaved = {
        "channels": {
            "in_app": {
                "message": "{{ who }}",
                "message_formatted": "<b>{{ who }}</b><script>alert(1)</script>",
            },
            "letter": {"html": "<p>{{ who }}</p>"},
        }
    }
    body = {"personalisation": {"who": "<i>Eve</i>"}, "channels": ["in_app", "letter"]}
    response = await preview(client, tenant, "missed-call", {**body, "template": unsaved})
    channels = response.json()["channels"]
    assert channels["in_app"]["message"] == "<i>Eve</i>"  # plain text is not escaped
    assert channels["in_app"]["message_formatted"] == "<b>&lt;i&gt;Eve&lt;/i&gt;</b>"
    assert channels["letter"]["html"] == "<p>&lt;i&gt;Eve&lt;/i&gt;</p>"


async def test_custom_message_uses_the_message_text(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await preview(client, tenant, "custom-message", {"message": "Lunch is ready"})
    channels = response.json()["channels"]
    assert channels["in_app"] == {"message": "Lunch is ready"}
    assert channels["push"] == {"title": "acme", "body": "Lunch is ready"}
    assert "Dear Sir or Madam" in channels["letter"]["html"]


async def test_preview_of_unknown_template_is_404(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await preview(client, tenant, "nope", {})
    assert response.status_code == 404


async def test_a_hostile_part_is_refused_not_run(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for source in ("{{ ''.__class__.__mro__ }}", "{{ range(10**9) | list }}"):
        unsaved = {"channels": {"push": {"body": source}}}
        response = await preview(
            client, tenant, "missed-call", {"channels": ["push"], "template": unsaved}
        )
        assert response.status_code == 400, source
        assert response.json()["error"]["code"] == "template_error"
