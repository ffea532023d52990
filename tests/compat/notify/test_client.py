"""The official GOV.UK Notify Python client against a real ``herald serve``: every method of
``NotificationsAPIClient`` with each key type, answers checked against Notify's documented
shapes (``schemas``), the live email received by a real SMTP server."""

from __future__ import annotations

import io
import time
import uuid
from email import message_from_bytes, policy
from typing import Any

import httpx
import pytest
from notifications_python_client.errors import HTTPError
from notifications_python_client.notifications import NotificationsAPIClient

from tests.compat.notify import schemas
from tests.compat.notify.conftest import TEAM_EMAIL, TEAM_PHONE, Service
from tests.compat.notify.pdf import one_page_pdf

pytestmark = pytest.mark.e2e
LETTER = {
    "address_line_1": "Amala Bird",
    "address_line_2": "123 High Street",
    "address_line_3": "Richmond upon Thames",
    "address_line_4": "SW14 6BF",
    "name": "Amala",
}
FINAL = {"delivered", "received", "permanent-failure", "temporary-failure", "technical-failure"}


def client(service: Service, kind: str) -> NotificationsAPIClient:
    return NotificationsAPIClient(service.keys[kind], base_url=service.base_url)


def settled(api: NotificationsAPIClient, notification_id: str) -> dict[str, Any]:
    """The notification once its status is final (the worker runs in ``herald serve``)."""
    deadline = time.monotonic() + 30
    while True:
        found: dict[str, Any] = api.get_notification_by_id(notification_id)
        if found["status"] in FINAL or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_live_key_sends_email_through_smtp_with_reply_to_and_one_click_unsubscribe(
    service: Service,
) -> None:
    api = client(service, "live")
    reply = httpx.post(
        f"{service.base_url}/v1/email-reply-to",
        json={"email_address": "replies@pigeons.example.com"},
        headers={"Authorization": f"Bearer {service.herald_key}"},
    ).json()
    sent = api.send_email_notification(
        email_address="amala@example.com",
        template_id=service.templates["email"],
        personalisation={"name": "Amala", "day": "Monday"},
        reference="appointment-1",
        email_reply_to_id=reply["id"],
        one_click_unsubscribe_url="https://pigeons.example.com/unsubscribe?u=1",
    )
    schemas.assert_shape(sent, schemas.POST_EMAIL_RESPONSE)
    assert sent["reference"] == "appointment-1"
    assert sent["content"]["subject"] == "Your appointment, Amala"
    assert sent["content"]["body"] == "Dear Amala, see you on Monday."
    assert sent["content"]["from_email"] == "pigeons@example.com"
    assert sent["template"]["id"] == service.templates["email"]
    found = settled(api, sent["id"])
    schemas.assert_shape(found, schemas.GET_NOTIFICATION_RESPONSE)
    assert (found["status"], found["type"], found["email_address"]) == (
        "delivered", "email", "amala@example.com",
    )  # fmt: skip
    assert found["one_click_unsubscribe"] == "https://pigeons.example.com/unsubscribe?u=1"
    assert found["body"] == "Dear Amala, see you on Monday."
    mail = next(r for r in service.sink.received if "amala@example.com" in r.rcpt_tos)
    message = message_from_bytes(mail.content, policy=policy.default)
    assert message["Subject"] == "Your appointment, Amala"
    assert message["Reply-To"] == "replies@pigeons.example.com"
    assert message["List-Unsubscribe"] == "<https://pigeons.example.com/unsubscribe?u=1>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_sanitise_content_for_keeps_a_value_from_formatting_or_linking(
    service: Service,
) -> None:
    # ``name`` is sanitised, ``note`` (the same text) is not: it shows what sanitising stops.
    hostile = "# Prize [claim it](https://evil.example/x) at https://evil.example/y"
    sent = client(service, "live").send_email_notification(
        email_address="sanitised@example.com",
        template_id=service.templates["welcome"],
        personalisation={"name": hostile, "note": hostile},
        sanitise_content_for=["name"],
    )
    assert sent["content"]["subject"] == "Welcome # Prize [claim it]() at"
    settled(client(service, "live"), sent["id"])
    mail = next(r for r in service.sink.received if "sanitised@example.com" in r.rcpt_tos)
    message = message_from_bytes(mail.content, policy=policy.default)
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert message["Subject"] == "Welcome # Prize [claim it]() at"
    assert "Hello # Prize [claim it]() at," in html  # as typed: no heading, no link
    assert "Hello # Prize [claim it]() at," in text and "\\" not in text
    # The unsanitised copy of the same text became a heading and two links.
    assert html.count('href="https://evil.example/') == 2 and "<h2" in html


@pytest.mark.parametrize("kind", ["live", "test"])
def test_every_read_method(service: Service, kind: str) -> None:
    api = client(service, kind)
    reference = f"batch-{uuid.uuid4()}"
    ids = [
        api.send_sms_notification(
            "07700 900123", service.templates["sms"], {"code": n}, reference=reference
        )["id"]
        for n in range(3)
    ]
    letter = api.send_letter_notification(service.templates["letter"], LETTER, reference)
    schemas.assert_shape(letter, schemas.POST_LETTER_RESPONSE)
    assert letter["content"]["body"] == "Dear Amala, welcome."
    page = api.get_all_notifications(reference=reference)
    schemas.assert_shape(page, schemas.GET_NOTIFICATIONS_RESPONSE)
    assert [n["id"] for n in page["notifications"]] == [letter["id"], *reversed(ids)]
    sms_only = api.get_all_notifications(template_type="sms", reference=reference)
    assert {n["id"] for n in sms_only["notifications"]} == set(ids)
    assert {n["phone_number"] for n in sms_only["notifications"]} == {"+447700900123"}
    listed = list(api.get_all_notifications_iterator(reference=reference))
    assert [n["id"] for n in listed] == [letter["id"], *reversed(ids)]
    older = api.get_all_notifications(reference=reference, older_than=ids[2])
    assert [n["id"] for n in older["notifications"]] == [ids[1], ids[0]]
    unknown = api.get_all_notifications(older_than=str(uuid.uuid4()))
    assert unknown["notifications"] == []
    schemas.assert_shape(unknown, schemas.GET_NOTIFICATIONS_RESPONSE)


@pytest.mark.parametrize("kind", ["live", "team", "test"])
def test_templates_preview_and_received_texts(service: Service, kind: str) -> None:
    api = client(service, kind)
    template = api.get_template(service.templates["email"])
    schemas.assert_shape(template, schemas.GET_TEMPLATE_RESPONSE)
    assert (template["name"], template["type"], template["version"]) == (
        "Appointment email", "email", 1,
    )  # fmt: skip
    assert template["subject"] == "Your appointment, {{ name }}"
    assert api.get_template_version(service.templates["email"], 1) == template
    every = api.get_all_templates()
    schemas.assert_shape(every, schemas.GET_TEMPLATES_RESPONSE)
    assert {t["id"] for t in every["templates"]} == set(service.templates.values())
    letters = api.get_all_templates("letter")["templates"]
    assert [(t["id"], t["postage"]) for t in letters] == [(service.templates["letter"], "second")]
    preview = api.post_template_preview(service.templates["sms"], {"code": "4242"})
    schemas.assert_shape(preview, schemas.POST_TEMPLATE_PREVIEW_RESPONSE)
    assert (preview["type"], preview["body"]) == ("sms", "Your code is 4242")
    received = api.get_received_texts()
    schemas.assert_shape(received, schemas.GET_RECEIVED_TEXTS_RESPONSE)
    assert list(api.get_received_texts_iterator()) == received["received_text_messages"]


def test_test_key_simulates_notifys_outcomes_and_reaches_no_provider(service: Service) -> None:
    api = client(service, "test")
    before = len(service.sink.received)
    email, sms = service.templates["email"], service.templates["sms"]
    personal = {"name": "A", "day": "Tuesday"}
    expected = {
        api.send_email_notification("temp-fail@simulator.notify", email, personal)["id"]:
            "temporary-failure",
        api.send_email_notification("perm-fail@simulator.notify", email, personal)["id"]:
            "permanent-failure",
        api.send_email_notification("someone@example.com", email, personal)["id"]: "delivered",
        api.send_sms_notification("07700900003", sms, {"code": 1})["id"]: "temporary-failure",
        api.send_sms_notification("+447700900002", sms, {"code": 1})["id"]: "permanent-failure",
        api.send_sms_notification("07700900000", sms, {"code": 1})["id"]: "delivered",
        api.send_letter_notification(service.templates["letter"], LETTER)["id"]: "received",
    }  # fmt: skip
    assert {i: settled(api, i)["status"] for i in expected} == expected
    assert len(service.sink.received) == before
    failed = api.get_all_notifications(status="failed")["notifications"]
    assert {n["id"] for n in failed} == {i for i, s in expected.items() if "failure" in s}
    listed = {n["id"] for n in api.get_all_notifications_iterator()}
    assert set(expected) <= listed
    live = {n["id"] for n in client(service, "live").get_all_notifications_iterator()}
    assert not set(expected) & live  # test sends are a test key's alone, as in Notify
    letter_id = next(i for i, s in expected.items() if s == "received")
    assert api.get_pdf_for_letter(letter_id).read().startswith(b"%PDF-")


def test_precompiled_letter_and_its_pdf(service: Service) -> None:
    api = client(service, "test")
    pdf = one_page_pdf()
    sent = api.send_precompiled_letter_notification("invoice-7", io.BytesIO(pdf), "first")
    schemas.assert_shape(sent, schemas.POST_PRECOMPILED_LETTER_RESPONSE)
    assert (sent["reference"], sent["postage"]) == ("invoice-7", "first")
    assert api.get_pdf_for_letter(sent["id"]).read() == pdf
    found = settled(api, sent["id"])
    schemas.assert_shape(found, schemas.GET_NOTIFICATION_RESPONSE)
    assert (found["type"], found["status"], found["postage"]) == ("letter", "received", "first")
    with pytest.raises(HTTPError) as refused:
        api.send_precompiled_letter_notification("x", io.BytesIO(b"not a pdf"))
    assert (refused.value.status_code, refused.value.message) == (
        400, [{"error": "BadRequestError", "message": "Letter content is not a valid PDF"}],
    )  # fmt: skip


def test_team_key_reaches_only_the_team(service: Service) -> None:
    api = client(service, "team")
    sent = api.send_email_notification(
        TEAM_EMAIL.upper(), service.templates["email"], {"name": "T", "day": "today"}
    )
    assert settled(api, sent["id"])["status"] == "delivered"
    assert any(TEAM_EMAIL in r.rcpt_tos for r in service.sink.received)
    api.send_sms_notification(TEAM_PHONE, service.templates["sms"], {"code": 9})
    with pytest.raises(HTTPError) as outside:
        api.send_email_notification(
            "outsider@example.com", service.templates["email"], {"name": "O", "day": "never"}
        )
    assert outside.value.status_code == 400
    assert outside.value.message == [
        {"error": "BadRequestError",
         "message": "Can\u2019t send to this recipient using a team-only API key"}
    ]  # fmt: skip
    with pytest.raises(HTTPError) as letters:
        api.send_letter_notification(service.templates["letter"], LETTER)
    assert (letters.value.status_code, letters.value.message) == (
        403, [{"error": "BadRequestError", "message": "Cannot send letters with a team api key"}],
    )  # fmt: skip
