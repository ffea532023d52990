"""The webhook channel's provider: the notification envelope POSTed to an account's endpoint.

Each request is signed with the endpoint's own secret (Standard Webhooks headers; the
delivery id is the ``webhook-id``, the same on every retry so a receiver can drop
repeats) and goes through ``herald.http.ssrf.post``: the URL is checked again at
every attempt, the connection pinned to the checked address, no redirect followed.

How the receiver's answers map to outcomes:

- 2xx → delivered;
- 410 Gone → permanent, ``disable_endpoint``: the receiver says it will never take more;
- 3xx → permanent: a redirect is never followed, so it can never succeed;
- 408, 429, 5xx, timeouts and connection failures → technical, retried (``Retry-After`` kept);
- any other 4xx → temporary, retried: as Standard Webhooks senders do, a receiver's
  refusal (401 after a secret rotation, 404 during a deploy) is given time to be fixed;
- an unsafe URL (internal address) → permanent; one that does not resolve now → technical.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field

from herald.channels.base import (
    DeliveryResult,
    OutboundMessage,
    PermanentDeliveryError,
    Provider,
    RetryableDeliveryError,
)
from herald.channels.circuit import CircuitBreaker
from herald.channels.http_answers import is_retryable_status, logged_body, request_error
from herald.channels.http_answers import retry_after as retry_after_of
from herald.http import ssrf
from herald.webhooks.signing import sign

GONE = 410
USER_AGENT = "Herald-Webhooks/1"


@dataclass(frozen=True, kw_only=True)
class WebhookMessage(OutboundMessage):
    """One notification for one endpoint; ``recipient`` is the endpoint's URL.

    ``payload`` is the envelope of API.md (``{"type": "notification", "timestamp",
    "data": {...}}``), sent as JSON; ``secret`` is the endpoint's ``whsec_`` secret.
    """

    channel: ClassVar[str] = "webhook"
    endpoint_name: str
    secret: str = field(repr=False)
    payload: Mapping[str, Any]


class EndpointGone(PermanentDeliveryError):
    """The receiver answered 410 Gone: the pipeline disables the endpoint."""

    disable_endpoint: ClassVar[bool] = True


class WebhookSettings(BaseModel):
    """The webhook provider's settings; endpoints and secrets come with each message."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout: float = Field(default=15.0, gt=0, le=60, description="seconds per attempt, in all")


class StandardWebhookProvider(Provider[WebhookMessage, WebhookSettings]):
    """POSTs signed notification envelopes to tenant endpoints, safely."""

    channel: ClassVar[str] = "webhook"
    name: ClassVar[str] = "standard"
    Settings: ClassVar[type[BaseModel]] = WebhookSettings

    def __init__(
        self,
        settings: WebhookSettings,
        *,
        circuit: CircuitBreaker | None = None,
        allow_private: bool = False,
    ) -> None:
        """``allow_private`` is the operator's ``HERALD_ALLOW_PRIVATE_URLS``, never a tenant's."""
        super().__init__(settings, circuit=circuit)
        self.allow_private = allow_private

    async def _send(self, message: WebhookMessage) -> DeliveryResult:
        body = orjson.dumps(message.payload)
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            **sign(message.secret, message.delivery_id, int(time.time()), body),
        }
        try:
            answer = await ssrf.post(
                message.recipient,
                content=body,
                headers=headers,
                allow_private=self.allow_private,
                time_limit=self.settings.timeout,
            )
        except ssrf.UnresolvableUrl as exc:
            raise RetryableDeliveryError(exc.message) from exc
        except ssrf.UnsafeUrl as exc:
            raise PermanentDeliveryError(exc.message) from exc
        except (httpx.TransportError, TimeoutError) as exc:
            raise request_error(exc) from exc
        return _result(answer)


def _result(answer: ssrf.PostResponse) -> DeliveryResult:
    """The delivery result of a 2xx; the error any other answer means (module docstring)."""
    status = answer.status_code
    response = {"status": status, "body": logged_body(answer.body)}
    if answer.is_success:
        return DeliveryResult(receipt=f"HTTP {status}", provider_response=response)
    if status == GONE:
        raise EndpointGone(
            "HTTP 410: the endpoint is gone",
            provider_response={**response, "disable_endpoint": True},
        )
    if 300 <= status < 400:
        raise PermanentDeliveryError(
            f"HTTP {status}: redirects are not followed", provider_response=response
        )
    retryable = is_retryable_status(status)
    raise RetryableDeliveryError(
        f"HTTP {status}",
        temporary=not retryable,
        retry_after=retry_after_of(answer.headers) if retryable else None,
        provider_response=response,
    )
