"""Apple Push Notification service over HTTP/2, with token-based (ES256 JWT) authentication.

The provider token is signed with the account's .p8 key (key id, team id) and reused
for 50 minutes: Apple refuses tokens older than an hour and throttles re-signing more
often than every 20 minutes. The correlation id becomes ``apns-collapse-id``, so a
later push for the same call replaces the earlier one on the device.

Answers: 200 → delivered, ``apns-id`` as the message id; 410, or 400 ``BadDeviceToken``
/ ``DeviceTokenNotForTopic`` → ``InvalidDeviceToken`` (the device is removed, never
retried); 403 ``ExpiredProviderToken`` → technical, with a new token next time; 429 and
5xx → technical with ``Retry-After``; any other 4xx → permanent.
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import httpx
import jwt
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from herald.channels.base import (
    DeliveryError,
    DeliveryResult,
    PermanentDeliveryError,
    Provider,
    RetryableDeliveryError,
)
from herald.channels.circuit import CircuitBreaker
from herald.channels.http_answers import error_for_status, logged_body, request_error
from herald.channels.push.messages import InvalidDeviceToken, PushMessage, collapse_key
from herald.http import ssrf

TOKEN_LIFETIME_SECONDS = 50 * 60
INVALID_TOKEN_REASONS = frozenset({"BadDeviceToken", "DeviceTokenNotForTopic", "Unregistered"})
EXPIRED_PROVIDER_TOKEN = "ExpiredProviderToken"
COLLAPSE_ID_MAX = 64


class ApnsSettings(BaseModel):
    """An account's APNs key and app; ``base_url`` is production unless set to the sandbox."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    key_id: str = Field(min_length=10, max_length=10)
    team_id: str = Field(min_length=10, max_length=10)
    private_key: SecretStr = Field(description="the .p8 key's PEM text")
    topic: str = Field(description="the app's bundle id")
    push_type: Literal["alert", "background", "voip"] = "alert"
    base_url: str = "https://api.push.apple.com"
    timeout: float = Field(default=15.0, gt=0, le=120)


class ProviderToken:
    """The signed provider token, re-signed once it is ``TOKEN_LIFETIME_SECONDS`` old."""

    def __init__(self, settings: ApnsSettings) -> None:
        self._settings = settings
        self._token = ""
        self._issued_at = 0.0

    def current(self, now: float | None = None) -> str:
        """A token younger than the lifetime, signed now if the last one is too old."""
        now = time.time() if now is None else now
        if not self._token or now - self._issued_at >= TOKEN_LIFETIME_SECONDS:
            settings = self._settings
            self._token = jwt.encode(
                {"iss": settings.team_id, "iat": int(now)},
                settings.private_key.get_secret_value(),
                algorithm="ES256",
                headers={"kid": settings.key_id},
            )
            self._issued_at = now
        return self._token

    def discard(self) -> None:
        """Forget the token (Apple called it expired): the next request signs a new one."""
        self._token = ""


class ApnsProvider(Provider[PushMessage, ApnsSettings]):
    """Sends push notifications to iOS devices through APNs."""

    channel: ClassVar[str] = "push"
    name: ClassVar[str] = "apns"
    Settings: ClassVar[type[BaseModel]] = ApnsSettings

    def __init__(
        self,
        settings: ApnsSettings,
        *,
        circuit: CircuitBreaker | None = None,
        allow_private: bool = False,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """``ssl_context`` replaces the system trust store (tests); ``allow_private`` is the
        operator's ``HERALD_ALLOW_PRIVATE_URLS``."""
        super().__init__(settings, circuit=circuit)
        self._allow_private = allow_private
        self._token = ProviderToken(settings)
        # APNs speaks only HTTP/2; one connection multiplexes every request.
        self._client = httpx.AsyncClient(
            http2=True,
            verify=ssl_context or True,
            timeout=settings.timeout,
            follow_redirects=False,
            trust_env=False,
        )

    async def aclose(self) -> None:
        """Close the HTTP/2 connection."""
        await self._client.aclose()

    async def _send(self, message: PushMessage) -> DeliveryResult:
        url = f"{self.settings.base_url.rstrip('/')}/3/device/{message.recipient}"
        try:
            # The URL is an account's setting: checked before each request, as any other.
            await ssrf.check_url(url, allow_private=self._allow_private)
        except ssrf.UnsafeUrl as exc:
            raise PermanentDeliveryError(exc.message) from exc
        try:
            answer = await self._client.post(
                url, content=json.dumps(payload(message)).encode(), headers=self._headers(message)
            )
        except httpx.TransportError as exc:
            raise request_error(exc) from exc
        if answer.status_code == 200:
            apns_id = answer.headers.get("apns-id")
            return DeliveryResult(provider_message_id=apns_id, receipt="200", provider_response={})
        raise self._refusal(answer)

    def _headers(self, message: PushMessage) -> dict[str, str]:
        background = self.settings.push_type == "background"
        headers = {
            "authorization": f"bearer {self._token.current()}",
            "apns-topic": self.settings.topic,
            "apns-push-type": self.settings.push_type,
            # Background pushes must use priority 5; 10 wakes the device at once.
            "apns-priority": "10" if message.urgent and not background else "5",
            "apns-expiration": str(int(time.time()) + message.ttl) if message.ttl else "0",
        }
        if collapse := collapse_key(message.correlation_id, max_length=COLLAPSE_ID_MAX):
            headers["apns-collapse-id"] = collapse
        return headers

    def _refusal(self, answer: httpx.Response) -> DeliveryError:
        reason = _reason(answer.content)
        response: Mapping[str, Any] = {
            "status": answer.status_code,
            "reason": reason,
            "body": logged_body(answer.content),
        }
        if answer.status_code == 410 or reason in INVALID_TOKEN_REASONS:
            return InvalidDeviceToken(
                f"HTTP {answer.status_code}: {reason}",
                provider_response={**response, "invalid_token": True},
            )
        if reason == EXPIRED_PROVIDER_TOKEN:
            self._token.discard()
            return RetryableDeliveryError(f"HTTP 403: {reason}", provider_response=response)
        return error_for_status(
            answer.status_code, reason, headers=answer.headers, response=response
        )


def payload(message: PushMessage) -> dict[str, Any]:
    """The APNs JSON payload: the ``aps`` dictionary and the message's data beside it."""
    aps: dict[str, Any] = {"alert": {"title": message.title, "body": message.body}}
    if message.badge is not None:
        aps["badge"] = message.badge
    if message.sound is not None:
        aps["sound"] = message.sound
    return {**message.data, "aps": aps}


def _reason(content: bytes) -> str:
    try:
        reason = json.loads(content).get("reason", "")
    except (ValueError, AttributeError):
        return ""
    return str(reason)
