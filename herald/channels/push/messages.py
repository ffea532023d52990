"""What a push provider sends, the collapse key derived from the correlation id, and the
error that tells the pipeline to remove a device."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from herald.channels.base import OutboundMessage, PermanentDeliveryError

_URL_SAFE = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True, kw_only=True)
class PushMessage(OutboundMessage):
    """A notification for one device; ``recipient`` is its token (APNs or FCM).

    ``urgent`` asks for immediate delivery (a call); otherwise the service may batch it
    to save power. ``ttl`` is how long (seconds) the service keeps it for a device that is
    offline; None leaves it to the service's default. The correlation id collapses: a
    later push with the same id replaces the earlier one on the device.
    """

    channel: ClassVar[str] = "push"
    title: str
    body: str
    data: Mapping[str, Any] = field(default_factory=dict)
    """JSON values (FCM, whose data holds strings only, is sent the others JSON-encoded)."""
    urgent: bool = True
    ttl: int | None = None
    badge: int | None = None
    sound: str | None = None


@dataclass(frozen=True, kw_only=True)
class WebPushMessage(PushMessage):
    """A notification for one browser subscription; ``recipient`` is its endpoint URL."""

    p256dh: str
    auth: str = field(repr=False)


class InvalidDeviceToken(PermanentDeliveryError):
    """The service says the token or subscription is gone: the pipeline removes the device."""

    invalid_token: ClassVar[bool] = True


def collapse_key(correlation_id: str | None, *, max_length: int) -> str | None:
    """The correlation id as a collapse key: itself when short and URL-safe, else its hash.

    Web Push topics allow 32 URL-safe base64 characters, APNs collapse ids 64 bytes; a
    hash keeps every id usable and the same id always maps to the same key.
    """
    if not correlation_id:
        return None
    if len(correlation_id) <= max_length and _URL_SAFE.fullmatch(correlation_id):
        return correlation_id
    digest = hashlib.sha256(correlation_id.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")[:max_length]
