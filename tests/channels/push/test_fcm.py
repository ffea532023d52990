"""The FCM HTTP v1 provider against local token and send endpoints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationError

from herald.channels.base import PermanentDeliveryError, RetryableDeliveryError
from herald.channels.push.fcm import SCOPE, FcmProvider, FcmSettings
from herald.channels.push.messages import InvalidDeviceToken, PushMessage
from tests.channels.servers.http import Reply, Request, Server, serve

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KEY_PEM = KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
EMAIL = "herald@demo-project.iam.gserviceaccount.com"
CORRELATION = "call-7f3a"


def error(status: int, code: str, grpc_status: str) -> Reply:
    details = [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}]
    body = {"error": {"code": status, "status": grpc_status, "details": details}}
    return Reply(status, json.dumps(body).encode())


class Google:
    """The token endpoint (verifies the RS256 assertion) and the FCM send endpoint."""

    def __init__(self) -> None:
        self.issued: list[str] = []
        self.token_uri = ""
        self.refuse = False

    def token(self, request: Request) -> Reply:
        form = {key: values[0] for key, values in parse_qs(request.body.decode()).items()}
        assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
        claims = jwt.decode(
            form["assertion"], KEY.public_key(), algorithms=["RS256"], audience=self.token_uri
        )
        if self.refuse or (claims["iss"], claims["scope"]) != (EMAIL, SCOPE):
            return Reply(400, b'{"error":"invalid_grant"}')
        self.issued.append(f"ya29.token-{len(self.issued) + 1}")
        body = {"access_token": self.issued[-1], "expires_in": 3599, "token_type": "Bearer"}
        return Reply(200, json.dumps(body).encode())

    def send(self, request: Request) -> Reply:
        if request.headers.get("authorization") != f"Bearer {self.issued[-1]}":
            return error(401, "THIRD_PARTY_AUTH_ERROR", "UNAUTHENTICATED")
        if request.path != "/v1/projects/demo-project/messages:send":
            return Reply(404)
        token = json.loads(request.body)["message"]["token"]
        answers = {
            "gone": error(404, "UNREGISTERED", "NOT_FOUND"),
            "other-app": error(403, "SENDER_ID_MISMATCH", "PERMISSION_DENIED"),
            "busy": Reply(429, b'{"error":{"status":"RESOURCE_EXHAUSTED"}}', {"Retry-After": "9"}),
            "down": error(503, "UNAVAILABLE", "UNAVAILABLE"),
            "bad-payload": error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"),
        }
        ok = Reply(200, b'{"name": "projects/demo-project/messages/0:1500415314455276%31bd1c9"}')
        return answers.get(token, ok)


@pytest.fixture
def google() -> Iterator[tuple[Google, Server, Server]]:
    endpoints = Google()
    with serve(endpoints.token) as token_server, serve(endpoints.send) as api:
        endpoints.token_uri = token_server.url + "/token"
        yield endpoints, token_server, api


def settings(google: tuple[Google, Server, Server]) -> FcmSettings:
    endpoints, _, api = google
    account = {
        "type": "service_account",
        "project_id": "demo-project",
        "client_email": EMAIL,
        "private_key": KEY_PEM,
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    return FcmSettings.model_validate(
        {
            "service_account": json.dumps(account),
            "token_uri": endpoints.token_uri,
            "api_base_url": api.url,
            "timeout": 5,
        }
    )


def push(token: str = "device-1", **overrides: Any) -> PushMessage:
    fields: dict[str, Any] = {
        "delivery_id": "d-1",
        "recipient": token,
        "correlation_id": CORRELATION,
        "title": "Incoming call",
        "body": "Ann is calling",
        "data": {"call_id": "c-1"},
        "ttl": 30,
    }
    return PushMessage(**(fields | overrides))


async def send(google: tuple[Google, Server, Server], *messages: PushMessage) -> list[Any]:
    provider = FcmProvider(settings(google), allow_private=True)
    try:
        return [await provider.send(message) for message in messages]
    finally:
        await provider.aclose()


async def test_delivers_with_one_access_token_and_collapse_keys(
    google: tuple[Google, Server, Server],
) -> None:
    _, token_server, api = google
    first, _ = await send(google, push(), push())

    assert first.provider_message_id.startswith("projects/demo-project/messages/")
    assert len(token_server.requests) == 1  # the access token is reused
    message = json.loads(api.requests[0].body)["message"]
    assert message["token"] == "device-1"
    assert message["notification"] == {"title": "Incoming call", "body": "Ann is calling"}
    assert message["data"] == {"call_id": "c-1"}
    assert message["android"] == {"priority": "HIGH", "ttl": "30s", "collapse_key": CORRELATION}
    assert message["apns"]["headers"]["apns-collapse-id"] == CORRELATION
    assert message["webpush"]["headers"]["Topic"] == CORRELATION


@pytest.mark.parametrize("token", ["gone", "other-app"])
async def test_unregistered_tokens_remove_the_device(
    token: str, google: tuple[Google, Server, Server]
) -> None:
    with pytest.raises(InvalidDeviceToken) as caught:
        await send(google, push(token))
    assert caught.value.invalid_token
    assert caught.value.provider_response["invalid_token"] is True


@pytest.mark.parametrize(("token", "retry_after"), [("busy", 9.0), ("down", None)])
async def test_throttling_and_outages_are_retried(
    token: str, retry_after: float | None, google: tuple[Google, Server, Server]
) -> None:
    with pytest.raises(RetryableDeliveryError) as caught:
        await send(google, push(token))
    assert caught.value.retry_after == retry_after


async def test_an_invalid_payload_is_permanent_but_keeps_the_device(
    google: tuple[Google, Server, Server],
) -> None:
    with pytest.raises(PermanentDeliveryError, match="INVALID_ARGUMENT") as caught:
        await send(google, push("bad-payload"))
    assert not isinstance(caught.value, InvalidDeviceToken)


async def test_a_rejected_access_token_is_fetched_again(
    google: tuple[Google, Server, Server],
) -> None:
    endpoints, token_server, _ = google
    provider = FcmProvider(settings(google), allow_private=True)
    try:
        await provider.send(push())
        endpoints.issued.append("ya29.revoked-elsewhere")  # the server now wants another
        with pytest.raises(RetryableDeliveryError, match="401"):
            await provider.send(push())
        endpoints.issued.pop()
        endpoints.issued.append("ya29.token-after")
        await provider.send(push())
    finally:
        await provider.aclose()
    assert len(token_server.requests) == 2


async def test_a_token_endpoint_refusal_is_technical(
    google: tuple[Google, Server, Server],
) -> None:
    endpoints, _, _ = google
    endpoints.refuse = True
    with pytest.raises(RetryableDeliveryError, match="token endpoint answered HTTP 400"):
        await send(google, push())
    assert google[2].requests == []


def test_settings_need_a_usable_service_account() -> None:
    with pytest.raises(ValidationError, match="lacks"):
        FcmSettings.model_validate({"service_account": json.dumps({"project_id": "p"})})
    with pytest.raises(ValidationError, match="not JSON"):
        FcmSettings.model_validate({"service_account": "nope"})
