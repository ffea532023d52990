"""Firebase Cloud Messaging, HTTP v1 API, authenticated as a service account.

An OAuth2 access token is obtained with a signed RS256 JWT assertion (RFC 7523) from
the service account's token URI and reused until five minutes before it expires. The
correlation id collapses on every platform: ``android.collapse_key``, APNs'
``apns-collapse-id`` and Web Push's ``Topic``.

Answers: 200 → delivered, the message ``name`` as its id; ``UNREGISTERED`` or 404, and
``SENDER_ID_MISMATCH`` (the token belongs to another project) → ``InvalidDeviceToken``;
401 → technical, with a new access token next time; 429 and 5xx → technical with
``Retry-After``; any other 4xx (``INVALID_ARGUMENT``) → permanent. A token endpoint that
refuses or fails is technical: the account's configuration, not the message, is at fault.
"""

from __future__ import annotations

import json
import time
from typing import Any, ClassVar

import httpx
import jwt
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from herald.channels.base import (
    DeliveryError,
    DeliveryResult,
    PermanentDeliveryError,
    RetryableDeliveryError,
)
from herald.channels.circuit import CircuitBreaker
from herald.channels.http_answers import error_for_status, logged_body, request_error
from herald.channels.http_provider import HttpProvider, HttpSettings
from herald.channels.push.messages import InvalidDeviceToken, PushMessage, collapse_key
from herald.http import ssrf

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME = 3600
REFRESH_MARGIN = 300
INVALID_TOKEN_CODES = frozenset({"UNREGISTERED", "SENDER_ID_MISMATCH"})
TOPIC_MAX, COLLAPSE_ID_MAX = 32, 64


class FcmSettings(HttpSettings):
    """The service-account key file's JSON; the URLs are Google's unless set (tests)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    service_account: SecretStr = Field(description="the service-account key file, as JSON")
    token_uri: str | None = Field(default=None, description="default: the key file's token_uri")
    api_base_url: str = "https://fcm.googleapis.com"
    timeout: float = Field(default=15.0, gt=0, le=120)

    @model_validator(mode="after")
    def _usable_key(self) -> FcmSettings:
        account = self.account()
        missing = {"project_id", "client_email", "private_key"} - set(account)
        if missing:
            raise ValueError(f"the service account lacks {sorted(missing)}")
        if not (self.token_uri or account.get("token_uri")):
            raise ValueError("no token_uri in the service account or the settings")
        return self

    def account(self) -> dict[str, str]:
        """The parsed service-account key (its private key included)."""
        try:
            parsed = json.loads(self.service_account.get_secret_value())
        except ValueError:
            raise ValueError("the service account is not JSON") from None
        if not isinstance(parsed, dict):
            raise ValueError("the service account is not a JSON object")
        return {key: str(value) for key, value in parsed.items()}


class AccessToken:
    """An OAuth2 access token for the service account, fetched again near its expiry."""

    def __init__(self, settings: FcmSettings, client: httpx.AsyncClient) -> None:
        account = settings.account()
        self._email, self._key = account["client_email"], account["private_key"]
        self._uri = settings.token_uri or account["token_uri"]
        self._client = client
        self._token, self._expires_at = "", 0.0

    async def current(self) -> str:
        """A token valid for at least five more minutes."""
        if not self._token or time.time() >= self._expires_at - REFRESH_MARGIN:
            await self._fetch()
        return self._token

    def discard(self) -> None:
        """Forget the token (FCM answered 401): the next send fetches a new one."""
        self._token = ""

    async def _fetch(self) -> None:
        now = int(time.time())
        claims = {"iss": self._email, "scope": SCOPE, "aud": self._uri}
        assertion = jwt.encode(
            claims | {"iat": now, "exp": now + ASSERTION_LIFETIME}, self._key, algorithm="RS256"
        )
        try:
            answer = await self._client.post(
                self._uri, data={"grant_type": JWT_BEARER, "assertion": assertion}
            )
        except httpx.TransportError as exc:
            raise request_error(exc) from exc
        body = _json(answer.content)
        if answer.status_code != 200 or not body.get("access_token"):
            raise RetryableDeliveryError(
                f"the token endpoint answered HTTP {answer.status_code}",
                provider_response={"body": logged_body(answer.content)},
            )
        self._token = str(body["access_token"])
        self._expires_at = now + float(body.get("expires_in", ASSERTION_LIFETIME))


class FcmProvider(HttpProvider[PushMessage, FcmSettings]):
    """Sends push notifications to Android (and other FCM) devices."""

    channel: ClassVar[str] = "push"
    name: ClassVar[str] = "fcm"
    Settings: ClassVar[type[BaseModel]] = FcmSettings

    def __init__(
        self,
        settings: FcmSettings,
        *,
        circuit: CircuitBreaker | None = None,
        allow_private: bool = False,
    ) -> None:
        """``allow_private`` is the operator's ``HERALD_ALLOW_PRIVATE_URLS``, never a tenant's."""
        super().__init__(settings, circuit=circuit, allow_private=allow_private)
        self._token = AccessToken(settings, self._client)
        project = settings.account()["project_id"]
        self._url = f"{settings.api_base_url.rstrip('/')}/v1/projects/{project}/messages:send"

    async def _send(self, message: PushMessage) -> DeliveryResult:
        try:
            token = await self._token.current()
            answer = await self._client.post(
                self._url,
                json={"message": fcm_message(message)},
                headers={"authorization": f"Bearer {token}"},
            )
        except ssrf.UnsafeUrl as exc:
            raise PermanentDeliveryError(exc.message) from exc
        except httpx.TransportError as exc:
            raise request_error(exc) from exc
        body = _json(answer.content)
        if answer.status_code == 200:
            name = body.get("name")
            return DeliveryResult(provider_message_id=str(name) if name else None, receipt="200")
        raise self._refusal(answer, body)

    def _refusal(self, answer: httpx.Response, body: dict[str, Any]) -> DeliveryError:
        code = _error_code(body)
        status = answer.status_code
        response = {"status": status, "code": code, "body": logged_body(answer.content)}
        if status == 404 or code in INVALID_TOKEN_CODES:
            return InvalidDeviceToken(
                f"HTTP {status}: {code}", provider_response={**response, "invalid_token": True}
            )
        if status == 401:
            self._token.discard()
            return RetryableDeliveryError(f"HTTP 401: {code}", provider_response=response)
        return error_for_status(status, code, headers=answer.headers, response=response)


def fcm_message(message: PushMessage) -> dict[str, Any]:
    """The HTTP v1 ``message`` object, collapse keys and priorities for each platform."""
    fcm: dict[str, Any] = {
        "token": message.recipient,
        "notification": {"title": message.title, "body": message.body},
        "android": {"priority": "HIGH" if message.urgent else "NORMAL"},
        "apns": {"headers": {"apns-priority": "10" if message.urgent else "5"}},
        "webpush": {"headers": {"Urgency": "high" if message.urgent else "normal"}},
    }
    if message.data:
        fcm["data"] = {key: _text(value) for key, value in message.data.items()}
    if message.ttl is not None:
        fcm["android"]["ttl"] = f"{message.ttl}s"
        fcm["webpush"]["headers"]["TTL"] = str(message.ttl)
    if collapse := collapse_key(message.correlation_id, max_length=TOPIC_MAX):
        fcm["android"]["collapse_key"] = collapse
        fcm["webpush"]["headers"]["Topic"] = collapse
    if collapse_id := collapse_key(message.correlation_id, max_length=COLLAPSE_ID_MAX):
        fcm["apns"]["headers"]["apns-collapse-id"] = collapse_id
    return fcm


def _text(value: Any) -> str:
    """A data value as FCM takes it: a string, else its JSON."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _error_code(body: dict[str, Any]) -> str:
    """FCM's own error code (``UNREGISTERED``) when given, else the Google API status."""
    error = body.get("error")
    if not isinstance(error, dict):
        return ""
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("errorCode"):
            return str(detail["errorCode"])
    return str(error.get("status", ""))


def _json(content: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(content)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
