"""The APNs provider against a local HTTP/2 server over TLS that verifies the provider token."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from herald.channels.base import PermanentDeliveryError, RetryableDeliveryError
from herald.channels.push.apns import ApnsProvider, ApnsSettings, ProviderToken
from herald.channels.push.messages import InvalidDeviceToken, PushMessage
from tests.channels.servers.h2 import H2Server, serve_h2
from tests.channels.servers.http import Reply, Request
from tests.channels.servers.tls import Tls, self_signed

KEY = ec.generate_private_key(ec.SECP256R1())
KEY_PEM = KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
KEY_ID, TEAM_ID, TOPIC = "ABC123DEFG", "TEAM123456", "com.example.herald"
CORRELATION = "call-7f3a"


def apns_reply(request: Request) -> Reply:
    """APNs as documented: checks the token and headers, answers by device token."""
    token = request.headers.get("authorization", "").removeprefix("bearer ")
    try:
        claims = jwt.decode(token, KEY.public_key(), algorithms=["ES256"])
    except jwt.InvalidTokenError:
        return Reply(403, b'{"reason":"InvalidProviderToken"}')
    if jwt.get_unverified_header(token)["kid"] != KEY_ID or claims["iss"] != TEAM_ID:
        return Reply(403, b'{"reason":"InvalidProviderToken"}')
    if request.headers.get("apns-topic") != TOPIC:
        return Reply(400, b'{"reason":"TopicDisallowed"}')
    device = request.path.removeprefix("/3/device/")
    answers = {
        "gone": Reply(410, b'{"reason":"Unregistered","timestamp":1700000000000}'),
        "bad": Reply(400, b'{"reason":"BadDeviceToken"}'),
        "busy": Reply(429, b'{"reason":"TooManyRequests"}', {"Retry-After": "12"}),
        "down": Reply(503, b'{"reason":"ServiceUnavailable"}'),
        "stale": Reply(403, b'{"reason":"ExpiredProviderToken"}'),
        "big": Reply(413, b'{"reason":"PayloadTooLarge"}'),
    }
    return answers.get(device, Reply(200, headers={"apns-id": "EC1BF194-B3B2-424B-9D1A"}))


@pytest.fixture(scope="module")
def tls() -> Tls:
    return self_signed()


@pytest.fixture
async def apns(tls: Tls) -> AsyncIterator[H2Server]:
    async with serve_h2(apns_reply, tls) as server:
        yield server


@pytest.fixture
async def provider(apns: H2Server, tls: Tls) -> AsyncIterator[ApnsProvider]:
    settings = ApnsSettings.model_validate(
        {"key_id": KEY_ID, "team_id": TEAM_ID, "private_key": KEY_PEM, "topic": TOPIC}
        | {"base_url": apns.url}
    )
    made = ApnsProvider(settings, allow_private=True, ssl_context=tls.client)
    yield made
    await made.aclose()


def push(device: str = "good", **overrides: Any) -> PushMessage:
    fields: dict[str, Any] = {
        "delivery_id": "d-1",
        "recipient": device,
        "correlation_id": CORRELATION,
        "title": "Incoming call",
        "body": "Ann is calling",
        "data": {"call_id": "c-1"},
        "ttl": 30,
        "sound": "ring.caf",
    }
    return PushMessage(**(fields | overrides))


async def test_delivers_over_http2_with_a_signed_token(
    apns: H2Server, provider: ApnsProvider
) -> None:
    result = await provider.send(push())
    await provider.send(push())

    assert result.provider_message_id == "EC1BF194-B3B2-424B-9D1A"
    assert apns.alpn == ["h2"]  # HTTP/2, and both pushes on one connection
    first, second = apns.requests
    assert first.headers["authorization"] == second.headers["authorization"]  # cached
    assert first.headers["apns-collapse-id"] == CORRELATION
    assert first.headers["apns-push-type"] == "alert"
    assert first.headers["apns-priority"] == "10"
    assert int(first.headers["apns-expiration"]) > 0
    assert json.loads(first.body) == {
        "call_id": "c-1",
        "aps": {"alert": {"title": "Incoming call", "body": "Ann is calling"}, "sound": "ring.caf"},
    }


async def test_a_long_correlation_id_collapses_to_a_stable_short_key(
    apns: H2Server, provider: ApnsProvider
) -> None:
    long_id = "x" * 100
    await provider.send(push(correlation_id=long_id))
    await provider.send(push(correlation_id=long_id, urgent=False, ttl=None))
    first, second = apns.requests
    assert first.headers["apns-collapse-id"] == second.headers["apns-collapse-id"]
    assert len(first.headers["apns-collapse-id"]) <= 64
    assert (second.headers["apns-priority"], second.headers["apns-expiration"]) == ("5", "0")


@pytest.mark.parametrize(("device", "status"), [("gone", 410), ("bad", 400)])
async def test_gone_or_bad_tokens_remove_the_device(
    device: str, status: int, provider: ApnsProvider
) -> None:
    with pytest.raises(InvalidDeviceToken) as caught:
        await provider.send(push(device))
    assert caught.value.invalid_token
    assert caught.value.provider_response["status"] == status
    assert not isinstance(caught.value, RetryableDeliveryError)


@pytest.mark.parametrize(("device", "retry_after"), [("busy", 12.0), ("down", None)])
async def test_throttling_and_outages_are_retried(
    device: str, retry_after: float | None, provider: ApnsProvider
) -> None:
    with pytest.raises(RetryableDeliveryError) as caught:
        await provider.send(push(device))
    assert caught.value.retry_after == retry_after
    assert not getattr(caught.value, "invalid_token", False)


async def test_an_expired_provider_token_is_retried_with_a_new_token(
    apns: H2Server, provider: ApnsProvider
) -> None:
    with pytest.raises(RetryableDeliveryError, match="ExpiredProviderToken"):
        await provider.send(push("stale"))
    await provider.send(push())
    stale, fresh = apns.requests
    assert stale.headers["authorization"] != fresh.headers["authorization"]


async def test_other_refusals_are_permanent(provider: ApnsProvider) -> None:
    with pytest.raises(PermanentDeliveryError, match="PayloadTooLarge") as caught:
        await provider.send(push("big"))
    assert not isinstance(caught.value, InvalidDeviceToken)


async def test_a_wrong_key_is_refused_by_the_server(apns: H2Server, tls: Tls) -> None:
    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    settings = ApnsSettings.model_validate(
        {
            "key_id": KEY_ID,
            "team_id": TEAM_ID,
            "private_key": other.decode(),
            "topic": TOPIC,
            "base_url": apns.url,
        }
    )
    provider = ApnsProvider(settings, allow_private=True, ssl_context=tls.client)
    try:
        with pytest.raises(PermanentDeliveryError, match="InvalidProviderToken"):
            await provider.send(push())
    finally:
        await provider.aclose()


async def test_an_internal_base_url_is_refused_without_allow_private(
    apns: H2Server, tls: Tls
) -> None:
    settings = ApnsSettings.model_validate(
        {"key_id": KEY_ID, "team_id": TEAM_ID, "private_key": KEY_PEM, "topic": TOPIC}
        | {"base_url": apns.url}
    )
    provider = ApnsProvider(settings, ssl_context=tls.client)
    try:
        with pytest.raises(PermanentDeliveryError, match="loopback"):
            await provider.send(push())
    finally:
        await provider.aclose()
    assert apns.requests == []


def test_the_token_is_re_signed_after_fifty_minutes() -> None:
    settings = ApnsSettings.model_validate(
        {"key_id": KEY_ID, "team_id": TEAM_ID, "private_key": KEY_PEM, "topic": TOPIC}
    )
    tokens = ProviderToken(settings)
    first = tokens.current(now=1_000_000)
    assert tokens.current(now=1_000_000 + 49 * 60) == first
    renewed = tokens.current(now=1_000_000 + 50 * 60)
    assert renewed != first
    assert jwt.decode(renewed, KEY.public_key(), algorithms=["ES256"])["iat"] == 1_003_000
