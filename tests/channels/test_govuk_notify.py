"""The govuk_notify provider against a local server that checks Notify's JWT and answers as
Notify's API documents: what is sent, and how each answer reads into the retry policy."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import jwt
import pytest

from herald.channels.base import (
    EmailMessage,
    PermanentDeliveryError,
    RetryableDeliveryError,
    TemplateUse,
)
from herald.channels.govuk_notify import (
    GovukNotifyEmail,
    GovukNotifyLetter,
    GovukNotifySettings,
    GovukNotifySms,
    notify_token,
    parse_receipt,
)
from herald.channels.letter.messages import LetterMessage
from herald.channels.outcome import Outcome
from herald.channels.sms.messages import SmsMessage
from tests.channels.servers.http import Reply, Request, serve

SERVICE = str(uuid.uuid4())
SECRET = str(uuid.uuid4())
KEY = f"herald_sender-{SERVICE}-{SECRET}"
NOTIFY_TEMPLATE = str(uuid.uuid4())
USE = TemplateUse("welcome", {"name": "Ann", "code": "1234"})


def notify(request: Request) -> Reply:
    """Notify's send endpoints: 403 AuthError for a bad JWT, 201 with an id otherwise."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    try:
        claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_iat": True})
    except jwt.PyJWTError:
        errors = [{"error": "AuthError", "message": "Invalid token: signature"}]
        return Reply(403, json.dumps({"status_code": 403, "errors": errors}).encode())
    assert scheme == "Bearer" and claims["iss"] == SERVICE
    assert abs(claims["iat"] - time.time()) < 30
    answer = {"id": str(uuid.uuid4()), "reference": json.loads(request.body).get("reference")}
    return Reply(201, json.dumps(answer).encode())


def settings(url: str, **more: object) -> GovukNotifySettings:
    return GovukNotifySettings.model_validate(
        {"api_key": KEY, "base_url": url, "templates": {"welcome": NOTIFY_TEMPLATE}, **more}
    )


def local(cls: type[Any], url: str, **more: object) -> Any:
    """A provider of ``cls`` that may call the local server (as HERALD_ALLOW_PRIVATE_URLS)."""
    return cls(settings(url, **more), allow_private=True)


def email(template: TemplateUse | None = USE) -> EmailMessage:
    return EmailMessage(delivery_id="d-1", recipient="ann@example.com", from_="x@example.com",
                        subject="s", text="t", template=template)  # fmt: skip


def test_the_token_is_the_one_notifys_clients_make() -> None:
    token = notify_token(KEY, now=1_700_000_000)
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    assert jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_iat": False}) == {
        "iss": SERVICE,
        "iat": 1_700_000_000,
    }


@pytest.mark.parametrize(
    "key",
    ["", "not-a-key", f"name-{SERVICE}", f"{SERVICE}-{SECRET}x"],
    # Named, not by their random values, so that every xdist worker collects the same ids.
    ids=["empty", "not-a-key", "name-and-service-only", "secret-one-character-long"],
)
def test_settings_want_a_notify_key(key: str) -> None:
    with pytest.raises(ValueError, match="Notify API key"):
        GovukNotifySettings.model_validate({"api_key": key})


async def test_email_sms_and_letter_requests() -> None:
    with serve(notify) as server:
        text = SmsMessage(delivery_id="d-2", recipient="+447700900123", body="b", template=USE)
        lines = ("Ann", "1 High St", "London")
        letter = LetterMessage(delivery_id="d-3", recipient="Ann", html="", template=USE,
                               address_lines=lines, postcode="E8 1AA")  # fmt: skip
        sent = [
            await local(GovukNotifyEmail, server.url, email_reply_to_id="r-1").send(email()),
            await local(GovukNotifySms, server.url, sms_sender_id="s-1").send(text),
            await local(GovukNotifyLetter, server.url).send(letter),
        ]
    paths = [request.path for request in server.requests]
    assert paths == ["/v2/notifications/email", "/v2/notifications/sms", "/v2/notifications/letter"]
    bodies = [json.loads(request.body) for request in server.requests]
    common = {"template_id": NOTIFY_TEMPLATE, "personalisation": {"name": "Ann", "code": "1234"}}
    assert bodies[0] == {"email_address": "ann@example.com", "email_reply_to_id": "r-1",
                         "reference": "d-1", **common}  # fmt: skip
    assert bodies[1] == {"phone_number": "+447700900123", "sms_sender_id": "s-1",
                         "reference": "d-2", **common}  # fmt: skip
    address = {"address_line_1": "Ann", "address_line_2": "1 High St", "address_line_3": "London",
               "address_line_4": "E8 1AA"}  # fmt: skip
    assert bodies[2] == {**common, "reference": "d-3",
                         "personalisation": {**common["personalisation"], **address}}  # fmt: skip
    for result in sent:
        assert result.provider_message_id and uuid.UUID(result.provider_message_id)
        assert (result.receipt, result.awaits_receipt) == ("created", False)


async def test_an_unmapped_letter_goes_precompiled() -> None:
    pdf = b"%PDF-1.7 a letter"
    letter = LetterMessage(delivery_id="d-4", recipient="Ann", html="", pdf=pdf, postage="first",
                           address_lines=("Ann", "1 High St", "London"), postcode="E8 1AA",
                           template=TemplateUse("other", {}))  # fmt: skip
    with serve(notify) as server:
        await local(GovukNotifyLetter, server.url, callback_bearer_token="t" * 12).send(letter)
    [request] = server.requests
    assert json.loads(request.body) == {
        "reference": "d-4",
        "content": base64.b64encode(pdf).decode(),
        "postage": "first",
    }


async def test_an_unmapped_template_is_permanent_and_sends_nothing() -> None:
    with serve(notify) as server:
        provider = local(GovukNotifyEmail, server.url)
        for message in (email(TemplateUse("other", {})), email(None)):
            with pytest.raises(PermanentDeliveryError, match="no Notify template is mapped"):
                await provider.send(message)
    assert server.requests == []


@pytest.mark.parametrize(
    ("status", "error", "retryable"),
    [
        (400, "BadRequestError", False),
        (400, "ValidationError", False),
        (403, "AuthError", False),
        (429, "RateLimitError", True),
        (429, "TooManyRequestsError", True),
        (500, "Exception", True),
        (503, "Exception", True),
    ],
)
async def test_notify_errors_read_into_the_retry_policy(
    status: int, error: str, retryable: bool
) -> None:
    body = {"status_code": status, "errors": [{"error": error, "message": "told so"}]}
    reply = Reply(status, json.dumps(body).encode(), headers={"retry-after": "7"})
    failure = (RetryableDeliveryError, PermanentDeliveryError)
    with serve(reply) as server, pytest.raises(failure) as caught:
        await local(GovukNotifyEmail, server.url).send(email())
    assert isinstance(caught.value, RetryableDeliveryError) is retryable
    assert caught.value.message == f"HTTP {status}: {error}: told so"
    assert caught.value.provider_response["status_code"] == status
    if retryable:
        assert isinstance(caught.value, RetryableDeliveryError)
        assert caught.value.retry_after == 7


def test_receipts_read_notifys_statuses() -> None:
    assert parse_receipt({"id": "n-1", "status": "delivered"}).outcome is Outcome.DELIVERED
    assert parse_receipt({"id": "n-1", "status": "received"}).outcome is Outcome.DELIVERED
    assert parse_receipt({"id": "n-1", "status": "permanent-failure"}).outcome is Outcome.PERMANENT
    assert parse_receipt({"id": "n-1", "status": "sending"}).outcome is None
    with pytest.raises(ValueError, match="id and status"):
        parse_receipt({"status": "delivered"})
