"""How an HTTP provider's answers and failures map to delivery outcomes, shared by providers.

- 2xx: accepted (each provider reads its own answer);
- 408, 429 and 5xx: technical, retried, honouring ``Retry-After`` (seconds or an HTTP date);
- any other status (3xx included: no provider redirects, and none is ever followed): permanent;
- no connection, or no answer: technical; when the request may have reached the provider
  before the connection failed, ``possible_duplicate``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from herald.channels.base import DeliveryError, PermanentDeliveryError, RetryableDeliveryError

RETRYABLE_STATUSES = frozenset({408, 429})
# How much of an answer's body the delivery log keeps: enough for an error's JSON.
MAX_LOGGED_BODY = 2000


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait as a ``Retry-After`` header says, or None when absent or unreadable."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def is_retryable_status(status: int) -> bool:
    """Whether an HTTP status is worth another attempt (see the module docstring)."""
    return status in RETRYABLE_STATUSES or status >= 500


def error_for_status(
    status: int,
    reason: str,
    *,
    headers: Mapping[str, str],
    response: Mapping[str, Any],
) -> DeliveryError:
    """The delivery error for a non-2xx answer; ``reason`` is the provider's word for it."""
    message = f"HTTP {status}: {reason}" if reason else f"HTTP {status}"
    if is_retryable_status(status):
        return RetryableDeliveryError(
            message, retry_after=retry_after(headers), provider_response=response
        )
    return PermanentDeliveryError(message, provider_response=response)


def request_error(exc: httpx.TransportError | TimeoutError) -> RetryableDeliveryError:
    """A failed exchange: technical, and a possible duplicate once the request may have left."""
    # A refused or unreachable connection, or one that timed out before it opened,
    # sent nothing; anything later may have delivered the request.
    sent_nothing = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    return RetryableDeliveryError(
        f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__,
        possible_duplicate=not sent_nothing,
    )


def logged_body(body: bytes) -> str:
    """An answer's body as the delivery log keeps it: text, cut to ``MAX_LOGGED_BODY``."""
    return body[:MAX_LOGGED_BODY].decode("utf-8", errors="replace")
