"""Web Push (RFC 8030) to browser subscriptions, encrypted (RFC 8291) and signed with VAPID.

pywebpush encrypts the payload (``aes128gcm``) and its VAPID class signs the
``Authorization`` header; the request itself goes through ``herald.http.ssrf.post``
rather than pywebpush's own ``requests`` call, because the endpoint URL comes from a
browser: it is checked and pinned at every send, and no redirect is followed.

Answers: 2xx → delivered (the push service's ``Location`` as the id); 404 and 410 →
``InvalidDeviceToken`` (the subscription expired or was removed: delete it, never
retry); a subscription whose keys cannot be used, or whose endpoint is an internal
address → the same (one that does not resolve now → technical); 429 and 5xx → technical with
``Retry-After``; any other 4xx (413 too large, 403 VAPID refused) → permanent. The
correlation id becomes the ``Topic`` header, so a later push replaces a pending one.
"""

from __future__ import annotations

import json
import time
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pywebpush import Vapid, WebPusher, WebPushException

from herald.channels.base import (
    DeliveryResult,
    PermanentDeliveryError,
    Provider,
    RetryableDeliveryError,
)
from herald.channels.circuit import CircuitBreaker
from herald.channels.http_answers import error_for_status, logged_body, request_error
from herald.channels.push.messages import InvalidDeviceToken, WebPushMessage, collapse_key
from herald.http import ssrf

CONTENT_ENCODING = "aes128gcm"
TOPIC_MAX = 32
GONE_STATUSES = frozenset({404, 410})
VAPID_LIFETIME = 12 * 3600
DEFAULT_TTL = 24 * 3600


class WebPushSettings(BaseModel):
    """The application server's VAPID key pair and contact."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    vapid_private_key: SecretStr = Field(description="PEM, or the raw key in base64url")
    vapid_subject: str = Field(description="mailto: or https: contact for push services")
    timeout: float = Field(default=15.0, gt=0, le=60)

    @field_validator("vapid_subject")
    @classmethod
    def _contact(cls, subject: str) -> str:
        if not subject.startswith(("mailto:", "https:")):
            raise ValueError("the VAPID subject must be a mailto: or https: URL")
        return subject

    @field_validator("vapid_private_key")
    @classmethod
    def _usable_key(cls, key: SecretStr) -> SecretStr:
        load_vapid(key)
        return key


def load_vapid(key: SecretStr) -> Any:
    """pywebpush's VAPID signer for a PEM or base64url private key; ValueError if unusable."""
    text = key.get_secret_value().strip()
    try:
        if text.startswith("-----BEGIN"):
            return Vapid.from_pem(text.encode())
        return Vapid.from_string(text)
    except Exception:  # py_vapid raises assorted errors for a malformed key
        raise ValueError("the VAPID private key is not a usable P-256 key") from None


class WebPushProvider(Provider[WebPushMessage, WebPushSettings]):
    """Sends notifications to browsers' push subscriptions."""

    channel: ClassVar[str] = "push"
    name: ClassVar[str] = "webpush"
    Settings: ClassVar[type[BaseModel]] = WebPushSettings

    def __init__(
        self,
        settings: WebPushSettings,
        *,
        circuit: CircuitBreaker | None = None,
        allow_private: bool = False,
    ) -> None:
        """``allow_private`` is the operator's ``HERALD_ALLOW_PRIVATE_URLS``, never a tenant's."""
        super().__init__(settings, circuit=circuit)
        self._allow_private = allow_private
        self._vapid = load_vapid(settings.vapid_private_key)

    async def _send(self, message: WebPushMessage) -> DeliveryResult:
        body = _encrypt(message)
        try:
            # Checked before signing too: VAPID's audience is made from the endpoint's host.
            await ssrf.check_url(message.recipient, allow_private=self._allow_private)
            answer = await ssrf.post(
                message.recipient,
                content=body,
                headers=self._headers(message),
                allow_private=self._allow_private,
                time_limit=self.settings.timeout,
            )
        except ssrf.UnresolvableUrl as exc:
            raise RetryableDeliveryError(exc.message) from exc
        except ssrf.UnsafeUrl as exc:
            # An endpoint on an internal address is no push service: drop the subscription.
            raise InvalidDeviceToken(f"unusable subscription endpoint: {exc.message}") from exc
        except (httpx.TransportError, TimeoutError) as exc:
            raise request_error(exc) from exc
        return _result(answer)

    def _headers(self, message: WebPushMessage) -> dict[str, str]:
        headers = {
            **self._authorization(message.recipient),
            "content-encoding": CONTENT_ENCODING,
            "content-type": "application/octet-stream",
            "ttl": str(message.ttl if message.ttl is not None else DEFAULT_TTL),
            "urgency": "high" if message.urgent else "normal",
        }
        if topic := collapse_key(message.correlation_id, max_length=TOPIC_MAX):
            headers["topic"] = topic
        return headers

    def _authorization(self, endpoint: str) -> dict[str, str]:
        parts = urlsplit(endpoint)
        claims = {
            "aud": f"{parts.scheme}://{parts.netloc}",
            "sub": self.settings.vapid_subject,
            "exp": int(time.time()) + VAPID_LIFETIME,
        }
        signed: dict[str, str] = self._vapid.sign(claims)
        return {"authorization": signed["Authorization"]}


def _encrypt(message: WebPushMessage) -> bytes:
    """The payload as JSON, encrypted for the subscription's keys (aes128gcm)."""
    payload = {"title": message.title, "body": message.body, "data": dict(message.data)}
    if message.correlation_id:
        payload["tag"] = message.correlation_id
    subscription = {
        "endpoint": message.recipient,
        "keys": {"p256dh": message.p256dh, "auth": message.auth},
    }
    try:
        encoded = WebPusher(subscription).encode(json.dumps(payload).encode(), CONTENT_ENCODING)
    except (WebPushException, ValueError) as exc:
        # Keys that do not decode or are not a P-256 point: this subscription never works.
        raise InvalidDeviceToken(f"unusable subscription keys ({type(exc).__name__})") from exc
    body: bytes = encoded["body"]
    return body


def _result(answer: ssrf.PostResponse) -> DeliveryResult:
    status = answer.status_code
    response = {"status": status, "body": logged_body(answer.body)}
    if answer.is_success:
        location = answer.headers.get("location")
        return DeliveryResult(
            provider_message_id=location, receipt=f"HTTP {status}", provider_response=response
        )
    if status in GONE_STATUSES:
        raise InvalidDeviceToken(
            f"HTTP {status}: the subscription is gone",
            provider_response={**response, "invalid_token": True},
        )
    if 300 <= status < 400:
        raise PermanentDeliveryError(f"HTTP {status}: redirects are not followed")
    raise error_for_status(status, "", headers=answer.headers, response=response)
