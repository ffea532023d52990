"""Email, SMS and letters sent through a GOV.UK Notify service (or anything that speaks its
API, such as another Herald's ``/v2``).

Each message names the Herald template it was rendered from; ``templates`` maps that id
to the Notify template to send instead, and the notification's personalisation goes with
it (letters add the postal address as ``address_line_1``… with the postcode last). A letter
whose template is not mapped is sent as Herald rendered it: a precompiled PDF.

Requests carry the HS256 JWT Notify's clients make (``iss`` the service id, ``iat`` now),
signed with the key's secret; the API key is Notify's ``<name>-<service id>-<secret>``.
The official client is synchronous (requests), so it does not fit the async provider:
PyJWT and the SSRF-safe httpx client do the same in a few lines.

Notify's answers: 201 takes the message, its notification id is the receipt to follow;
429 and 5xx are retried (its ``RateLimitError``, ``TooManyRequestsError``, outages), any
other status (400 ``BadRequestError``/``ValidationError``, 403 ``AuthError``) is
permanent. With ``callback_bearer_token`` set, the delivery waits for Notify's delivery
receipt (``parse_receipt``), which Notify posts to Herald as the service's callback.
"""

from __future__ import annotations

import base64
import re
import time
from abc import abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx
import jwt
import orjson
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from herald.channels.base import (
    DeliveryResult,
    EmailMessage,
    MessageT,
    PermanentDeliveryError,
    RetryableDeliveryError,
)
from herald.channels.http_answers import error_for_status, logged_body, request_error
from herald.channels.http_provider import HttpProvider, HttpSettings
from herald.channels.letter.messages import LetterMessage
from herald.channels.outcome import Outcome
from herald.channels.sms.messages import SmsMessage, SmsReceipt
from herald.http import ssrf

_KEY = re.compile(r"^.+-(?P<service>[0-9a-f-]{36})-(?P<secret>[0-9a-f-]{36})$")
MAX_ADDRESS_LINES = 7
RECEIPT_OUTCOMES = {
    "delivered": Outcome.DELIVERED,
    "received": Outcome.DELIVERED,
    "temporary-failure": Outcome.TEMPORARY,
    "permanent-failure": Outcome.PERMANENT,
    "technical-failure": Outcome.TECHNICAL,
    "validation-failed": Outcome.PERMANENT,
    "virus-scan-failed": Outcome.PERMANENT,
    "cancelled": Outcome.CANCELLED,
}
"""Notify's final statuses; any other (created, sending, pending, accepted) is not final."""


class GovukNotifySettings(HttpSettings):
    """Which Notify service (its key and API), and which of its templates stand for ours."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    api_key: SecretStr = Field(description="a Notify API key: <name>-<service id>-<secret>")
    base_url: str = "https://api.notifications.service.gov.uk"
    templates: dict[str, str] = Field(
        default_factory=dict, description="Herald template id -> Notify template id"
    )
    email_reply_to_id: str | None = None
    sms_sender_id: str | None = None
    callback_bearer_token: SecretStr | None = Field(
        default=None,
        min_length=10,
        description="set as the Notify service's delivery-receipt callback token: deliveries "
        "then wait for Notify's receipt",
    )

    @field_validator("api_key")
    @classmethod
    def _notify_key(cls, key: SecretStr) -> SecretStr:
        if not _KEY.match(key.get_secret_value()):
            raise ValueError("a Notify API key is <name>-<service id>-<secret>")
        return key

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("https://", "http://")):
            raise ValueError("the base URL must be an http(s) URL")
        return url.rstrip("/")


def is_notify_key(value: str) -> bool:
    """Whether ``value`` has the form of a Notify API key, ``<name>-<service id>-<secret>``."""
    return _KEY.match(value) is not None


def notify_token(api_key: str, *, now: float | None = None) -> str:
    """The bearer JWT Notify's clients send: HS256, ``iss`` the service id, ``iat`` now."""
    found = _KEY.match(api_key)
    if found is None:
        raise ValueError("not a Notify API key")
    claims = {"iss": found["service"], "iat": int(now if now is not None else time.time())}
    return jwt.encode(claims, found["secret"], algorithm="HS256", headers={"typ": "JWT"})


def parse_receipt(body: Mapping[str, Any]) -> SmsReceipt:
    """Notify's delivery receipt as a receipt of the delivery Notify's ``id`` names."""
    notification_id, status = body.get("id"), body.get("status")
    if not isinstance(notification_id, str) or not isinstance(status, str):
        raise ValueError("a Notify receipt names the notification's id and status")
    return SmsReceipt(
        provider_message_id=notification_id,
        status=status,
        outcome=RECEIPT_OUTCOMES.get(status),
        raw=dict(body),
    )


class _GovukNotify(HttpProvider[MessageT, GovukNotifySettings]):
    """POSTs a message to one of Notify's send endpoints and reads its answer."""

    name: ClassVar[str] = "govuk_notify"
    Settings: ClassVar[type[BaseModel]] = GovukNotifySettings
    uses_templates: ClassVar[bool] = True

    @abstractmethod
    def _request(self, message: MessageT) -> tuple[str, dict[str, Any]]:
        """The path (under ``/v2/notifications``) and the JSON body to send."""

    async def _send(self, message: MessageT) -> DeliveryResult:
        path, body = self._request(message)
        settings = self.settings
        token = notify_token(settings.api_key.get_secret_value())
        headers = {"authorization": f"Bearer {token}", "content-type": "application/json",
                   "user-agent": "Herald govuk_notify"}  # fmt: skip
        try:
            answer = await self._client.post(
                f"{settings.base_url}/v2/notifications/{path}",
                content=orjson.dumps(body),
                headers=headers,
            )
        except ssrf.UnresolvableUrl as exc:
            raise RetryableDeliveryError(exc.message) from exc
        except ssrf.UnsafeUrl as exc:
            raise PermanentDeliveryError(exc.message) from exc
        except httpx.TransportError as exc:
            raise request_error(exc) from exc
        return self._result(answer)

    async def sent_message(self, notification_id: str) -> dict[str, Any] | None:
        """Notify's own record of a message it took (``GET /v2/notifications/{id}``: its
        status, body, subject, template); None when Notify cannot be asked or refuses."""
        settings = self.settings
        token = notify_token(settings.api_key.get_secret_value())
        headers = {"authorization": f"Bearer {token}", "user-agent": "Herald govuk_notify"}
        try:
            answer = await self._client.get(
                f"{settings.base_url}/v2/notifications/{notification_id}", headers=headers
            )
        except (ssrf.UnresolvableUrl, ssrf.UnsafeUrl, httpx.TransportError):
            return None
        body = _json(answer.content)
        return body if answer.is_success and isinstance(body, dict) else None

    def _template(self, message: MessageT) -> str:
        """The Notify template that stands for the message's Herald template."""
        herald_id = message.template.template_id if message.template else None
        notify_id = self.settings.templates.get(herald_id or "")
        if notify_id is None:
            raise PermanentDeliveryError(
                f"no Notify template is mapped to Herald template {herald_id}"
            )
        return notify_id

    def _common(self, message: MessageT) -> dict[str, Any]:
        personalisation = dict(message.template.personalisation) if message.template else {}
        return {
            "template_id": self._template(message),
            "personalisation": personalisation,
            "reference": message.delivery_id,
        }

    def _result(self, answer: httpx.Response) -> DeliveryResult:
        response = {"status_code": answer.status_code, "body": logged_body(answer.content)}
        body = _json(answer.content)
        if not answer.is_success:
            raise error_for_status(
                answer.status_code, _reason(body), headers=answer.headers, response=response
            )
        notification_id = body.get("id") if isinstance(body, dict) else None
        if not isinstance(notification_id, str):
            raise RetryableDeliveryError(
                "Notify's answer names no notification id", provider_response=response
            )
        return DeliveryResult(
            provider_message_id=notification_id,
            receipt="created",
            provider_response=response,
            awaits_receipt=self.settings.callback_bearer_token is not None,
        )


class GovukNotifyEmail(_GovukNotify[EmailMessage]):
    """Email through Notify's ``POST /v2/notifications/email``."""

    channel: ClassVar[str] = "email"

    def _request(self, message: EmailMessage) -> tuple[str, dict[str, Any]]:
        body = {"email_address": message.to[0], **self._common(message)}
        if self.settings.email_reply_to_id:
            body["email_reply_to_id"] = self.settings.email_reply_to_id
        return "email", body


class GovukNotifySms(_GovukNotify[SmsMessage]):
    """Text messages through Notify's ``POST /v2/notifications/sms``."""

    channel: ClassVar[str] = "sms"

    def _request(self, message: SmsMessage) -> tuple[str, dict[str, Any]]:
        body = {"phone_number": message.recipient, **self._common(message)}
        if self.settings.sms_sender_id:
            body["sms_sender_id"] = self.settings.sms_sender_id
        return "sms", body


class GovukNotifyLetter(_GovukNotify[LetterMessage]):
    """Letters through Notify's ``POST /v2/notifications/letter``: a mapped template with the
    address, or (no template mapped) the PDF Herald rendered, precompiled."""

    channel: ClassVar[str] = "letter"

    def _request(self, message: LetterMessage) -> tuple[str, dict[str, Any]]:
        herald_id = message.template.template_id if message.template else None
        if (herald_id or "") not in self.settings.templates:
            return "letter", self._precompiled(message)
        body = self._common(message)
        lines = [*message.address_lines, message.postcode][:MAX_ADDRESS_LINES]
        address = {f"address_line_{i}": line for i, line in enumerate(lines, start=1)}
        body["personalisation"] = {**body["personalisation"], **address}
        return "letter", body

    def _precompiled(self, message: LetterMessage) -> dict[str, Any]:
        if message.pdf is None:
            raise PermanentDeliveryError("the letter has no PDF to send precompiled")
        return {
            "reference": message.delivery_id,
            "content": base64.b64encode(message.pdf).decode("ascii"),
            "postage": message.postage or "second",
        }


def _json(content: bytes) -> Any:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return None


def _reason(body: Any) -> str:
    """Notify's error body's first error, ``ValidationError: email_address Not a valid...``."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return f"{errors[0].get('error', '')}: {errors[0].get('message', '')}".strip(": ")
    return ""
