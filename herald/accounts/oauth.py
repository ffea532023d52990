"""``POST /oauth/token`` (RFC 6749, client credentials): who the client is, and what it asked.

The client authenticates with its key id and key, in the form body or with HTTP Basic
(section 2.3.1), never both. Every refusal is an ``OAuthError``, answered in section 5.2's
form; an ``invalid_client`` carries ``WWW-Authenticate`` (section 5.2, RFC 7235).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import unquote_plus

from herald.errors import OAuthError

CHALLENGE = {"WWW-Authenticate": 'Basic realm="herald"'}
GRANT_TYPE = "client_credentials"


@dataclass(frozen=True)
class TokenRequest:
    """A client's credentials and the scope it asked for (None: every scope of its key)."""

    client_id: str
    client_secret: str
    scope: str | None


def invalid_client(message: str) -> OAuthError:
    """401 ``invalid_client`` with the Basic challenge."""
    return OAuthError("invalid_client", message, status_code=401, headers=CHALLENGE)


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """``(client_id, client_secret)`` of an ``Authorization: Basic`` header, if there is one.

    Both halves are form-encoded before base64 (section 2.3.1), so they are decoded after.
    Another scheme (a client's habitual ``Bearer``) authenticates no client here: ignored."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise invalid_client("The Basic credentials are not base64 of id:secret") from exc
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise invalid_client("The Basic credentials are not base64 of id:secret")
    return unquote_plus(client_id), unquote_plus(secret)


def token_request(
    *,
    grant_type: str | None,
    client_id: str | None,
    client_secret: str | None,
    scope: str | None,
    authorization: str | None,
) -> TokenRequest:
    """The request's parts, or the RFC 6749 error for the first thing missing or wrong."""
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is required")
    if grant_type != GRANT_TYPE:
        raise OAuthError("unsupported_grant_type", "Only client_credentials is supported")
    basic = basic_credentials(authorization)
    if basic is not None and (client_id or client_secret):
        raise OAuthError("invalid_request", "Send the client credentials once: Basic or form")
    if basic is not None:
        client_id, client_secret = basic
    if not client_id or not client_secret:
        raise OAuthError("invalid_request", "client_id and client_secret are required")
    return TokenRequest(client_id, client_secret, scope or None)
