"""The HTTP SMS provider against a local Twilio-style API that sends delivery receipts."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from pydantic import ValidationError

from herald.channels.base import PermanentDeliveryError, RetryableDeliveryError
from herald.channels.outcome import Outcome
from herald.channels.sms.http import HttpSmsProvider, HttpSmsSettings, parse_receipt
from herald.channels.sms.messages import SmsMessage
from tests.channels.servers.http import Reply, Request, serve

ACCOUNT, TOKEN = "AC123", "twilio-token"
DELIVERY_ID = "0190b2b4-7c1e-7a3e-9d2f-5b8a1c0d4e6f"


def sms(**overrides: Any) -> SmsMessage:
    fields: dict[str, Any] = {
        "delivery_id": DELIVERY_ID,
        "recipient": "+4571000000",
        "body": "Missed call from Ann",
        "sender": "Herald",
    }
    return SmsMessage(**(fields | overrides))


def twilio_settings(url: str, **overrides: Any) -> HttpSmsSettings:
    config: dict[str, Any] = {
        "url": f"{url}/2010-04-01/Accounts/{ACCOUNT}/Messages.json",
        "auth": {"kind": "basic", "username": ACCOUNT, "password": TOKEN},
        "timeout": 5,
    }
    return HttpSmsSettings.model_validate(config | overrides)


def form(request: Request) -> dict[str, str]:
    return {key: values[-1] for key, values in parse_qs(request.body.decode()).items()}


def basic_ok(request: Request) -> bool:
    expected = base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
    return request.headers.get("authorization") == f"Basic {expected}"


def twilio(receipts_to: str | None = None) -> Any:
    """A Twilio-like Messages API: answers 201 queued, then posts a 'delivered' callback."""

    def handle(request: Request) -> Reply:
        if not basic_ok(request):
            return Reply(401, json.dumps({"code": 20003, "message": "Authenticate"}).encode())
        fields = form(request)
        callback = fields.get("StatusCallback")
        if callback:
            receipt = {"MessageSid": "SM1", "MessageStatus": "delivered", "To": fields["To"]}
            httpx.post(callback, data=receipt, timeout=5)
        return Reply(201, json.dumps({"sid": "SM1", "status": "queued"}).encode())

    return handle


async def test_sends_a_form_with_basic_auth_and_a_receipt_ends_delivered() -> None:
    with serve() as callbacks, serve(twilio()) as api:
        settings = twilio_settings(
            api.url, extra_fields={"StatusCallback": callbacks.url + "/receipts/sms"}
        )
        provider = HttpSmsProvider(settings, allow_private=True)
        try:
            result = await provider.send(sms())
        finally:
            await provider.aclose()

    [request] = api.requests
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert form(request) == {
        "To": "+4571000000",
        "From": "Herald",
        "Body": "Missed call from Ann",
        "StatusCallback": callbacks.url + "/receipts/sms",
    }
    assert (result.provider_message_id, result.receipt) == ("SM1", "queued")
    [callback] = callbacks.requests
    receipt = parse_receipt(settings, form(callback))
    assert receipt.provider_message_id == result.provider_message_id
    assert receipt.outcome is Outcome.DELIVERED


async def test_json_body_bearer_auth_url_template_and_nested_id() -> None:
    answer = {"message-count": 1, "messages": [{"message-id": "v-42", "status": "0"}]}
    with serve(Reply(200, json.dumps(answer).encode())) as api:
        settings = HttpSmsSettings.model_validate(
            {
                "url": api.url + "/sms/{to}?ref={delivery_id}",
                "auth": {"kind": "bearer", "token": "vonage-token"},
                "body_format": "json",
                "to_field": "to",
                "from_field": "from",
                "body_field": "text",
                "default_sender": "Acme",
                "id_path": "messages.0.message-id",
                "status_path": "messages.0.status",
            }
        )
        provider = HttpSmsProvider(settings, allow_private=True)
        try:
            result = await provider.send(sms(sender=None))
        finally:
            await provider.aclose()

    [request] = api.requests
    assert request.path == f"/sms/%2B4571000000?ref={DELIVERY_ID}"
    assert request.headers["authorization"] == "Bearer vonage-token"
    assert json.loads(request.body) == {"to": "+4571000000", "from": "Acme", "text": sms().body}
    assert result.provider_message_id == "v-42"


INVALID_TO = {
    "code": 21211,
    "message": "The 'To' number is not a valid phone number.",
    "status": 400,
}


@pytest.mark.parametrize(
    ("reply", "error", "retry_after", "text"),
    [
        (Reply(400, json.dumps(INVALID_TO).encode()), PermanentDeliveryError, None, "not a valid"),
        (Reply(429, b"{}", {"Retry-After": "7"}), RetryableDeliveryError, 7.0, "HTTP 429"),
        (Reply(503, b"down"), RetryableDeliveryError, None, "HTTP 503"),
        (
            Reply(201, json.dumps({"sid": "SM9", "status": "failed"}).encode()),
            PermanentDeliveryError,
            None,
            "failed",
        ),
    ],
)
async def test_refusals_map_to_outcomes(
    reply: Reply, error: type[Exception], retry_after: float | None, text: str
) -> None:
    with serve(reply) as api:
        provider = HttpSmsProvider(twilio_settings(api.url), allow_private=True)
        try:
            with pytest.raises(error, match=text) as caught:
                await provider.send(sms())
        finally:
            await provider.aclose()
    if isinstance(caught.value, RetryableDeliveryError):
        assert caught.value.retry_after == retry_after
    else:
        assert not isinstance(caught.value, RetryableDeliveryError)


async def test_wrong_credentials_are_permanent() -> None:
    with serve(twilio()) as api:
        settings = twilio_settings(
            api.url, auth={"kind": "basic", "username": ACCOUNT, "password": "wrong"}
        )
        provider = HttpSmsProvider(settings, allow_private=True)
        try:
            with pytest.raises(PermanentDeliveryError, match="401: Authenticate"):
                await provider.send(sms())
        finally:
            await provider.aclose()


async def test_an_internal_url_is_refused_without_allow_private() -> None:
    with serve(twilio()) as api:
        provider = HttpSmsProvider(twilio_settings(api.url))
        try:
            with pytest.raises(PermanentDeliveryError, match="loopback"):
                await provider.send(sms())
        finally:
            await provider.aclose()
    assert api.requests == []


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("delivered", Outcome.DELIVERED),
        ("undelivered", Outcome.TEMPORARY),
        ("failed", Outcome.PERMANENT),
        ("sent", None),
        ("queued", None),
        ("something-new", None),
    ],
)
def test_receipt_statuses(status: str, outcome: Outcome | None) -> None:
    settings = twilio_settings("https://api.twilio.example")
    receipt = parse_receipt(
        settings, {"MessageSid": "SM1", "MessageStatus": status, "ErrorCode": "30003"}
    )
    assert (receipt.status, receipt.outcome, receipt.error_code) == (status, outcome, "30003")


def test_receipt_paths_and_mapping_are_configurable() -> None:
    settings = twilio_settings(
        "https://sms.example",
        receipt_id_path="data.id",
        receipt_status_path="data.state",
        receipt_error_path=None,
        statuses={"DELIVRD": "delivered", "EXPIRED": "temporary"},
    )
    receipt = parse_receipt(settings, {"data": {"id": 7, "state": "EXPIRED"}})
    assert (receipt.provider_message_id, receipt.outcome) == ("7", Outcome.TEMPORARY)


def test_a_receipt_without_an_id_is_refused() -> None:
    with pytest.raises(ValueError, match="no message id"):
        parse_receipt(twilio_settings("https://x.example"), {"MessageStatus": "delivered"})


def test_settings_refuse_unknown_placeholders_and_hide_secrets() -> None:
    with pytest.raises(ValidationError, match="unknown placeholders"):
        HttpSmsSettings.model_validate({"url": "https://x.example/{account}"})
    settings = twilio_settings("https://x.example")
    assert TOKEN not in repr(settings)
    assert TOKEN not in json.dumps(settings.model_dump(mode="json"))


def test_a_message_needs_an_e164_number_and_counts_its_segments() -> None:
    with pytest.raises(ValueError, match=r"E\.164"):
        sms(recipient="71000000")
    long_unicode = sms(body="Hej 👋 " * 20)
    assert (long_unicode.segments.encoding, long_unicode.segments.segments) == ("UCS-2", 3)
