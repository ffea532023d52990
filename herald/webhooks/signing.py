"""Standard Webhooks signatures (https://www.standardwebhooks.com), symmetric scheme ``v1``.

Herald signs every callback and webhook-channel request with the endpoint's ``whsec_``
secret; ``verify`` is what a receiver runs, used by our tests and tools.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_SECONDS = 300
# The spec asks for 24 to 64 random bytes; 32 is the size of an HMAC-SHA256 output.
_SECRET_BYTES = 32

HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"


class WebhookVerificationError(Exception):
    """A webhook's headers are missing or malformed, its timestamp stale, or no signature fits."""


def generate_secret() -> str:
    """A new random signing secret, ``whsec_`` + base64, shown to the tenant once."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode("ascii")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body`` sent as message ``msg_id`` at ``timestamp``.

    ``timestamp`` is the attempt's Unix time in seconds (a retry signs again with a new one).
    """
    # A "." in the id would let one (id, timestamp) pair pass for another in the signed content.
    if not msg_id or "." in msg_id:
        raise ValueError("a webhook message id must be non-empty and contain no '.'")
    signature = _signature(_secret_key(secret), msg_id, str(timestamp), body)
    return {
        HEADER_ID: msg_id,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: f"{SIGNATURE_VERSION},{signature}",
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Check a received webhook; raise ``WebhookVerificationError`` saying why it is not authentic.

    Header names are matched case-insensitively; any one matching ``v1`` signature in the
    space-separated list is enough (senders list several while rotating secrets).
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = _required(lowered, HEADER_ID)
    raw_timestamp = _required(lowered, HEADER_TIMESTAMP)
    signatures = _required(lowered, HEADER_SIGNATURE)
    _check_timestamp(raw_timestamp, tolerance, time.time() if now is None else now)
    expected = _signature(_secret_key(secret), msg_id, raw_timestamp, body).encode("ascii")
    for candidate in signatures.split(" "):
        version, _, value = candidate.partition(",")
        if version == SIGNATURE_VERSION and hmac.compare_digest(value.encode(), expected):
            return
    raise WebhookVerificationError("no signature matches")


def _secret_key(secret: str) -> bytes:
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error as exc:
        raise ValueError("a webhook secret must be whsec_ followed by base64") from exc
    if not key:
        raise ValueError("a webhook secret must not be empty")
    return key


def _signature(key: bytes, msg_id: str, timestamp: str, body: bytes) -> str:
    content = f"{msg_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.digest(key, content, hashlib.sha256)).decode("ascii")


def _required(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if not value:
        raise WebhookVerificationError(f"missing header {name}")
    return value


def _check_timestamp(raw: str, tolerance: int, now: float) -> None:
    # Digits only: int() would also accept " 12", "+12" or "1_2", which are not what was signed.
    if not raw.isascii() or not raw.isdigit():
        raise WebhookVerificationError(f"invalid {HEADER_TIMESTAMP}")
    timestamp = int(raw)
    if timestamp < now - tolerance:
        raise WebhookVerificationError("timestamp too old")
    if timestamp > now + tolerance:
        raise WebhookVerificationError("timestamp too far in the future")
