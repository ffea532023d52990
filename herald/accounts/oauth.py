"""``POST /oauth/token`` (RFC 6749, client credentials): who the client is, and what it asked.

The client authenticates with its key id and key, in the form body or with HTTP Basic
(section 2.3.1), never both. Every refusal is an ``OAuthError``, answered in section 5.2's
form; an ``invalid_client`` carries ``WWW-Authenticate`` (section 5.2, RFC 7235).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

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


class OAuthRoute(APIRoute):
    """A route whose malformed requests are RFC 6749's ``invalid_request``.

    FastAPI refuses a body it cannot read (a multipart form without its boundary, say) before
    the endpoint runs, as a 400 or a 422 in the contract's body; the token endpoint answers
    those in section 5.2's form like every other refusal.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, with its own refusals translated."""
        handler = super().get_route_handler()

        async def oauth_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                raise OAuthError("invalid_request", "Not a valid token request") from exc
            except HTTPException as exc:
                if exc.status_code != 400:
                    raise
                raise OAuthError("invalid_request", str(exc.detail)) from exc

        return oauth_handler
