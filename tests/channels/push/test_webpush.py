"""The Web Push provider against a local push service that checks VAPID and decrypts the body."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from typing import Any

import http_ece  # type: ignore[import-untyped]  # pywebpush's dependency, untyped
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import ValidationError

from herald.channels.base import PermanentDeliveryError, RetryableDeliveryError
from herald.channels.push.messages import InvalidDeviceToken, WebPushMessage
from herald.channels.push.webpush import WebPushProvider, WebPushSettings
from tests.channels.servers.http import Reply, Request, Server, serve

SUBJECT = "mailto:ops@herald.example"
VAPID_KEY = ec.generate_private_key(ec.SECP256R1())
VAPID_PEM = VAPID_KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
# The browser's side of the subscription: its key pair and auth secret.
BROWSER_KEY = ec.generate_private_key(ec.SECP256R1())
AUTH_SECRET = os.urandom(16)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


class PushService:
    """Checks the VAPID JWT against the application server's key, then decrypts the body."""

    def __init__(self) -> None:
        self.origin = ""
        self.payloads: list[dict[str, Any]] = []

    def __call__(self, request: Request) -> Reply:
        scheme, _, params = request.headers.get("authorization", "").partition(" ")
        fields = dict(part.split("=", 1) for part in params.split(","))
        if scheme != "vapid" or fields.get("k") != b64url(point(VAPID_KEY.public_key())):
            return Reply(401)
        claims = jwt.decode(
            fields["t"], VAPID_KEY.public_key(), algorithms=["ES256"], audience=self.origin
        )
        if claims["sub"] != SUBJECT or request.headers["content-encoding"] != "aes128gcm":
            return Reply(403)
        plain = http_ece.decrypt(
            request.body, private_key=BROWSER_KEY, auth_secret=AUTH_SECRET, version="aes128gcm"
        )
        self.payloads.append(json.loads(plain))
        answers = {"/push/gone": Reply(410), "/push/expired": Reply(404)}
        answers["/push/busy"] = Reply(429, headers={"Retry-After": "20"})
        answers["/push/down"] = Reply(502)
        answers["/push/too-big"] = Reply(413)
        created = Reply(201, headers={"Location": f"{self.origin}/m/1"})
        return answers.get(request.path, created)


@pytest.fixture
def service() -> Iterator[tuple[PushService, Server]]:
    push_service = PushService()
    with serve(push_service) as server:
        push_service.origin = server.url
        yield push_service, server


def provider(*, allow_private: bool = True) -> WebPushProvider:
    settings = WebPushSettings.model_validate(
        {"vapid_private_key": VAPID_PEM, "vapid_subject": SUBJECT, "timeout": 5}
    )
    return WebPushProvider(settings, allow_private=allow_private)


def push(endpoint: str, **overrides: Any) -> WebPushMessage:
    fields: dict[str, Any] = {
        "delivery_id": "d-1",
        "recipient": endpoint,
        "correlation_id": "call-7f3a",
        "title": "Incoming call",
        "body": "Ann is calling",
        "data": {"call_id": "c-1"},
        "ttl": 60,
        "p256dh": b64url(point(BROWSER_KEY.public_key())),
        "auth": b64url(AUTH_SECRET),
    }
    return WebPushMessage(**(fields | overrides))


async def test_delivers_an_encrypted_vapid_signed_push(
    service: tuple[PushService, Server],
) -> None:
    push_service, server = service
    result = await provider().send(push(server.url + "/push/sub-1"))

    assert result.provider_message_id == f"{server.url}/m/1"
    assert push_service.payloads == [
        {
            "title": "Incoming call",
            "body": "Ann is calling",
            "data": {"call_id": "c-1"},
            "tag": "call-7f3a",
        }
    ]
    [request] = server.requests
    assert request.headers["topic"] == "call-7f3a"
    assert (request.headers["ttl"], request.headers["urgency"]) == ("60", "high")
    assert b"Ann" not in request.body  # encrypted


async def test_a_uuid_correlation_id_becomes_a_valid_topic(
    service: tuple[PushService, Server],
) -> None:
    _, server = service
    long_id = "0190b2b4-7c1e-7a3e-9d2f-5b8a1c0d4e6f"  # 36 characters: over the 32 allowed
    await provider().send(push(server.url + "/push/a", correlation_id=long_id))
    await provider().send(push(server.url + "/push/b", correlation_id=long_id))
    first, second = (request.headers["topic"] for request in server.requests)
    assert first == second
    assert len(first) <= 32


@pytest.mark.parametrize("path", ["/push/gone", "/push/expired"])
async def test_gone_subscriptions_are_removed(
    path: str, service: tuple[PushService, Server]
) -> None:
    _, server = service
    with pytest.raises(InvalidDeviceToken) as caught:
        await provider().send(push(server.url + path))
    assert caught.value.invalid_token


@pytest.mark.parametrize(("path", "retry_after"), [("/push/busy", 20.0), ("/push/down", None)])
async def test_throttling_and_outages_are_retried(
    path: str, retry_after: float | None, service: tuple[PushService, Server]
) -> None:
    _, server = service
    with pytest.raises(RetryableDeliveryError) as caught:
        await provider().send(push(server.url + path))
    assert caught.value.retry_after == retry_after


async def test_too_large_is_permanent_but_keeps_the_subscription(
    service: tuple[PushService, Server],
) -> None:
    _, server = service
    with pytest.raises(PermanentDeliveryError, match="413") as caught:
        await provider().send(push(server.url + "/push/too-big"))
    assert not isinstance(caught.value, InvalidDeviceToken)


async def test_a_subscription_with_broken_keys_is_removed(
    service: tuple[PushService, Server],
) -> None:
    _, server = service
    with pytest.raises(InvalidDeviceToken, match="keys"):
        await provider().send(push(server.url + "/push/x", p256dh="not-a-key!"))
    assert server.requests == []


@pytest.mark.parametrize("host", ["127.0.0.1", "169.254.169.254", "[::ffff:127.0.0.1]"])
async def test_an_internal_endpoint_is_refused_and_removed(host: str) -> None:
    with pytest.raises(InvalidDeviceToken, match="unusable subscription endpoint"):
        await provider(allow_private=False).send(push(f"http://{host}:9/push/x"))


def test_settings_check_the_key_and_subject() -> None:
    with pytest.raises(ValidationError, match="VAPID private key"):
        WebPushSettings.model_validate({"vapid_private_key": "bad", "vapid_subject": SUBJECT})
    with pytest.raises(ValidationError, match="mailto"):
        WebPushSettings.model_validate(
            {"vapid_private_key": VAPID_PEM, "vapid_subject": "ops@herald.example"}
        )
