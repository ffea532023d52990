"""The webhook provider against a local receiver: signatures, outcomes, SSRF refusals."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from herald.channels.base import PermanentDeliveryError, RetryableDeliveryError
from herald.channels.webhook.standard import (
    EndpointGone,
    StandardWebhookProvider,
    WebhookMessage,
    WebhookSettings,
)
from herald.webhooks.signing import generate_secret, verify
from tests.channels.servers.http import Reply, Request, serve

SECRET = generate_secret()
DELIVERY_ID = "0190b2b4-7c1e-7a3e-9d2f-5b8a1c0d4e6f"
ENVELOPE = {
    "type": "notification",
    "timestamp": "2025-01-02T03:04:05Z",
    "data": {"id": "n-1", "type": "telephony", "subType": "missed-call", "payload": {"a": 1}},
}


def message(url: str, **overrides: Any) -> WebhookMessage:
    fields: dict[str, Any] = {
        "delivery_id": DELIVERY_ID,
        "recipient": url,
        "endpoint_name": "crm",
        "secret": SECRET,
        "payload": ENVELOPE,
    }
    return WebhookMessage(**(fields | overrides))


def provider(*, allow_private: bool = True, timeout: float = 5) -> StandardWebhookProvider:
    return StandardWebhookProvider(WebhookSettings(timeout=timeout), allow_private=allow_private)


async def test_delivers_a_signed_envelope_the_receiver_verifies() -> None:
    verified: list[bool] = []

    def receive(request: Request) -> Reply:
        verify(SECRET, request.headers, request.body)  # raises when the signature is wrong
        verified.append(True)
        return Reply(204)

    with serve(receive) as server:
        result = await provider().send(message(server.url + "/hooks"))

    [request] = server.requests
    assert verified == [True]
    assert request.path == "/hooks"
    assert json.loads(request.body) == ENVELOPE
    assert request.headers["webhook-id"] == DELIVERY_ID
    assert request.headers["content-type"] == "application/json"
    assert result.receipt == "HTTP 204"


async def test_a_signature_with_another_secret_does_not_verify() -> None:
    with serve() as server:
        await provider().send(message(server.url, secret=generate_secret()))
    [request] = server.requests
    with pytest.raises(Exception, match="no signature matches"):
        verify(SECRET, request.headers, request.body)


async def test_410_is_permanent_and_disables_the_endpoint() -> None:
    with serve(Reply(410)) as server, pytest.raises(EndpointGone) as caught:
        await provider().send(message(server.url))
    assert caught.value.disable_endpoint
    assert caught.value.provider_response["disable_endpoint"] is True


@pytest.mark.parametrize(
    ("reply", "temporary", "retry_after"),
    [
        (Reply(429, headers={"Retry-After": "30"}), False, 30.0),
        (Reply(503), False, None),
        (Reply(500, b"boom"), False, None),
        (Reply(401), True, None),
        (Reply(404), True, None),
    ],
)
async def test_retryable_answers(reply: Reply, temporary: bool, retry_after: float | None) -> None:
    with serve(reply) as server, pytest.raises(RetryableDeliveryError) as caught:
        await provider().send(message(server.url))
    assert caught.value.temporary is temporary
    assert caught.value.retry_after == retry_after
    assert caught.value.provider_response["status"] == reply.status


async def test_a_redirect_is_permanent_and_never_followed() -> None:
    with serve() as target:
        redirect = Reply(302, headers={"Location": target.url + "/internal"})
        with (
            serve(redirect) as server,
            pytest.raises(PermanentDeliveryError, match="redirects are not followed"),
        ):
            await provider().send(message(server.url))
    assert len(server.requests) == 1
    assert target.requests == []


async def test_a_refused_connection_is_technical() -> None:
    with serve() as server:
        url = server.url
    with pytest.raises(RetryableDeliveryError) as caught:
        await provider().send(message(url))
    assert not caught.value.temporary
    assert not caught.value.possible_duplicate


async def test_a_receiver_too_slow_is_technical_and_a_possible_duplicate() -> None:
    def slow(_request: Request) -> Reply:
        time.sleep(0.5)
        return Reply(200)

    with serve(slow) as server, pytest.raises(RetryableDeliveryError) as caught:
        await provider(timeout=0.2).send(message(server.url))
    assert caught.value.possible_duplicate


@pytest.mark.parametrize(
    "host", ["127.1", "2130706433", "[::ffff:127.0.0.1]", "127.0.0.1", "0x7f000001"]
)
async def test_loopback_in_any_spelling_is_refused_without_allow_private(host: str) -> None:
    with serve() as server, pytest.raises(PermanentDeliveryError, match="address") as caught:
        await provider(allow_private=False).send(message(f"http://{host}:{server.port}/"))
    assert server.requests == []
    assert not isinstance(caught.value, RetryableDeliveryError)


@pytest.mark.parametrize("allow_private", [False, True])
async def test_cloud_metadata_is_always_refused(allow_private: bool) -> None:
    with pytest.raises(PermanentDeliveryError, match="link-local"):
        await provider(allow_private=allow_private).send(
            message("http://169.254.169.254/latest/meta-data/")
        )


async def test_a_redirect_to_loopback_is_refused_from_a_public_looking_endpoint() -> None:
    # With loopback allowed (for the test receiver) the redirect itself must still fail:
    # its target is never requested.
    with serve() as internal:
        redirect = Reply(307, headers={"Location": f"http://127.1:{internal.port}/admin"})
        with serve(redirect) as server, pytest.raises(PermanentDeliveryError):
            await provider(allow_private=True).send(message(server.url))
    assert internal.requests == []


@pytest.mark.parametrize("host", ["127.1", "2130706433"])
async def test_allow_private_lets_loopback_spellings_through(host: str) -> None:
    with serve() as server:
        await provider(allow_private=True).send(message(f"http://{host}:{server.port}/in"))
    assert [request.path for request in server.requests] == ["/in"]


async def test_a_non_http_url_is_permanent() -> None:
    with pytest.raises(PermanentDeliveryError, match="http"):
        await provider().send(message("file:///etc/passwd"))
