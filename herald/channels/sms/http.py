"""SMS through a configurable HTTP API; the defaults speak Twilio's Messages API.

A request is one POST of the number, the sender and the text, as a form or as JSON,
with basic or bearer authentication. The answer's message id and status are read by
dotted paths (``sid``, ``messages.0.message-id``); a status the mapping calls
permanent (Twilio's ``failed``) fails the send at once. Delivery receipts arrive later
at a callback route, which hands the posted fields to ``parse_receipt``; messages people
send to the account's number arrive at its inbound route as Twilio's incoming-message
webhook, checked with ``signed_by`` and read by ``parse_inbound``.

HTTP answers: see ``herald.channels.http_answers`` (429/5xx retried, other 4xx permanent).
The URL is an account's setting, so requests go through the SSRF-safe client: checked
and pinned at every request, no redirects.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import string
from collections.abc import Mapping
from dataclasses import replace
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import quote, urlencode

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from herald.channels.base import (
    DeliveryResult,
    PermanentDeliveryError,
    RetryableDeliveryError,
)
from herald.channels.circuit import CircuitBreaker
from herald.channels.http_answers import error_for_status, logged_body, request_error
from herald.channels.http_provider import HttpProvider, HttpSettings
from herald.channels.sms.messages import (
    InboundSms,
    ReceiptOutcome,
    SmsMessage,
    SmsReceipt,
    outcome_of_status,
)
from herald.http import ssrf

URL_PLACEHOLDERS = frozenset({"to", "sender", "delivery_id"})
_CONTENT_TYPES = {"form": "application/x-www-form-urlencoded", "json": "application/json"}

TWILIO_STATUSES: dict[str, ReceiptOutcome] = {
    "accepted": "pending",
    "scheduled": "pending",
    "queued": "pending",
    "sending": "pending",
    "sent": "pending",
    "receiving": "pending",
    "received": "delivered",
    "delivered": "delivered",
    "read": "delivered",
    # The handset was unreachable or the carrier filtered it: the recipient's side.
    "undelivered": "temporary",
    "failed": "permanent",
    "canceled": "permanent",
}


class BasicAuth(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["basic"] = "basic"
    username: str
    password: SecretStr


class BearerAuth(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["bearer"] = "bearer"
    token: SecretStr


class HttpSmsSettings(HttpSettings):
    """Where and how to POST, and how to read the answer and the receipts."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    url: str = Field(description="may hold {to}, {sender} and {delivery_id}, URL-quoted")
    auth: Annotated[BasicAuth | BearerAuth, Field(discriminator="kind")] | None = None
    body_format: Literal["form", "json"] = "form"
    to_field: str = "To"
    from_field: str = "From"
    body_field: str = "Body"
    default_sender: str | None = None
    extra_fields: dict[str, str] = Field(
        default_factory=dict, description="sent as they are, e.g. StatusCallback"
    )
    id_path: str = Field(default="sid", description="dotted path of the message id")
    status_path: str | None = "status"
    error_path: str | None = Field(default="message", description="an error answer's text")
    statuses: dict[str, ReceiptOutcome] = Field(default_factory=lambda: dict(TWILIO_STATUSES))
    receipt_url_field: str | None = Field(
        default=None,
        description="the field that carries Herald's receipt URL (Twilio: StatusCallback); "
        "set, the message waits for its receipt",
    )
    receipt_id_path: str = "MessageSid"
    receipt_status_path: str = "MessageStatus"
    receipt_error_path: str | None = "ErrorCode"
    timeout: float = Field(default=15.0, gt=0, le=120)

    @field_validator("statuses")
    @classmethod
    def _case_insensitive(cls, statuses: dict[str, ReceiptOutcome]) -> dict[str, ReceiptOutcome]:
        # Providers differ in case (Twilio "delivered", SMPP gateways "DELIVRD"): match any.
        return {status.lower(): outcome for status, outcome in statuses.items()}

    @field_validator("url")
    @classmethod
    def _known_placeholders(cls, url: str) -> str:
        names = {name for _, name, _, _ in string.Formatter().parse(url) if name is not None}
        if unknown := names - URL_PLACEHOLDERS:
            raise ValueError(f"unknown placeholders in the URL: {sorted(unknown)}")
        return url


class HttpSmsProvider(HttpProvider[SmsMessage, HttpSmsSettings]):
    """Sends SMS through an HTTP API such as Twilio's."""

    channel: ClassVar[str] = "sms"
    name: ClassVar[str] = "http"
    Settings: ClassVar[type[BaseModel]] = HttpSmsSettings

    def __init__(
        self,
        settings: HttpSmsSettings,
        *,
        circuit: CircuitBreaker | None = None,
        allow_private: bool = False,
        receipt_url: str | None = None,
    ) -> None:
        """``allow_private`` is the operator's ``HERALD_ALLOW_PRIVATE_URLS``, never a tenant's;
        ``receipt_url`` is where this provider's receipts reach Herald (sent in
        ``receipt_url_field``)."""
        super().__init__(settings, circuit=circuit, allow_private=allow_private)
        field = settings.receipt_url_field
        self._receipts: dict[str, str] = {field: receipt_url} if field and receipt_url else {}

    async def _send(self, message: SmsMessage) -> DeliveryResult:
        settings = self.settings
        try:
            answer = await self._client.post(
                _url(settings.url, message),
                content=_encode(settings, _fields(settings, message) | self._receipts),
                headers=_request_headers(settings),
            )
        except ssrf.UnresolvableUrl as exc:
            raise RetryableDeliveryError(exc.message) from exc
        except ssrf.UnsafeUrl as exc:
            raise PermanentDeliveryError(exc.message) from exc
        except httpx.TransportError as exc:
            raise request_error(exc) from exc
        result = _result(settings, answer)
        # Asked for a receipt: the delivery stays "sending" until it comes.
        return replace(result, awaits_receipt=bool(self._receipts))


def parse_receipt(settings: HttpSmsSettings, fields: Mapping[str, Any]) -> SmsReceipt:
    """A receipt callback's fields (form or JSON) as a receipt; ValueError if it names no id."""
    message_id = _lookup(fields, settings.receipt_id_path)
    status = _lookup(fields, settings.receipt_status_path)
    if not message_id or status is None:
        raise ValueError("the receipt names no message id or no status")
    error = _lookup(fields, settings.receipt_error_path) if settings.receipt_error_path else None
    status_text = str(status)
    return SmsReceipt(
        provider_message_id=str(message_id),
        status=status_text,
        outcome=outcome_of_status(settings.statuses.get(status_text.lower())),
        error_code=str(error) if error not in (None, "") else None,
        raw=dict(fields),
    )


def signature(url: str, fields: Mapping[str, str], token: str) -> str:
    """Twilio's ``X-Twilio-Signature``: base64 HMAC-SHA1, keyed by the auth token, of the full
    URL followed by each posted field's name and value, in name order."""
    data = url + "".join(f"{name}{fields[name]}" for name in sorted(fields))
    digest = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_by(
    settings: HttpSmsSettings, *, urls: list[str], fields: Mapping[str, str], given: str | None
) -> bool:
    """Whether ``given`` signs ``fields`` posted to one of ``urls`` with the provider's auth
    password (Twilio's auth token); never without a signature or a password."""
    if not given or not isinstance(settings.auth, BasicAuth):
        return False
    token = settings.auth.password.get_secret_value()
    return any(hmac.compare_digest(given, signature(url, fields, token)) for url in urls)


def parse_inbound(fields: Mapping[str, str]) -> InboundSms:
    """Twilio's incoming-message webhook (``From``, ``To``, ``Body``, ``MessageSid``) as a
    received message; ValueError when it names no sender or recipient."""
    sender, recipient = fields.get("From", "").strip(), fields.get("To", "").strip()
    if not sender or not recipient:
        raise ValueError("an incoming message needs From and To")
    return InboundSms(
        sender=sender,
        recipient=recipient,
        body=fields.get("Body", ""),
        provider_message_id=fields.get("MessageSid") or fields.get("SmsSid") or None,
    )


def _fields(settings: HttpSmsSettings, message: SmsMessage) -> dict[str, str]:
    fields = {settings.to_field: message.recipient, settings.body_field: message.body}
    if sender := message.sender or settings.default_sender:
        fields[settings.from_field] = sender
    return {**settings.extra_fields, **fields}


def _url(template: str, message: SmsMessage) -> str:
    values = {
        "to": message.recipient,
        "sender": message.sender or "",
        "delivery_id": message.delivery_id,
    }
    return template.format_map({name: quote(value, safe="") for name, value in values.items()})


def _request_headers(settings: HttpSmsSettings) -> dict[str, str]:
    headers = {"content-type": _CONTENT_TYPES[settings.body_format], "accept": "application/json"}
    auth = settings.auth
    if isinstance(auth, BasicAuth):
        pair = f"{auth.username}:{auth.password.get_secret_value()}".encode()
        headers["authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    elif isinstance(auth, BearerAuth):
        headers["authorization"] = f"Bearer {auth.token.get_secret_value()}"
    return headers


def _encode(settings: HttpSmsSettings, fields: dict[str, str]) -> bytes:
    if settings.body_format == "json":
        return orjson.dumps(fields)
    return urlencode(fields).encode("ascii")


def _result(settings: HttpSmsSettings, answer: httpx.Response) -> DeliveryResult:
    """The accepted message's id and status, or the error the answer means."""
    body = _json(answer.content)
    response: dict[str, Any] = {
        "status_code": answer.status_code,
        "body": logged_body(answer.content),
    }
    if not answer.is_success:
        reason = _lookup(body, settings.error_path) if settings.error_path else None
        raise error_for_status(
            answer.status_code, str(reason or ""), headers=answer.headers, response=response
        )
    message_id = _lookup(body, settings.id_path)
    status = str(_lookup(body, settings.status_path) or "") if settings.status_path else ""
    if settings.statuses.get(status.lower()) == "permanent":
        raise PermanentDeliveryError(f"the provider answered {status}", provider_response=response)
    return DeliveryResult(
        provider_message_id=str(message_id) if message_id is not None else None,
        receipt=status,
        provider_response=response,
    )


def _json(content: bytes) -> Any:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return None


def _lookup(data: Any, path: str | None) -> Any:
    """The value at a dotted path (``messages.0.message-id``), or None where it is missing."""
    if path is None:
        return None
    for key in path.split("."):
        if isinstance(data, Mapping):
            data = data.get(key)
        elif isinstance(data, list) and key.isdigit() and int(key) < len(data):
            data = data[int(key)]
        else:
            return None
    return data
