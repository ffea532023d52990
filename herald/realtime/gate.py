"""Who may open a real-time connection: a user token, from an allowed origin.

Shared by the WebSocket and SSE endpoints, and checked before a WebSocket is accepted, so that
a refused handshake gets an HTTP answer (403 or 401 with API.md's error body), not a socket.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

from herald.accounts.auth import Principal, authenticate, bearer_token
from herald.errors import ErrorDetail, Forbidden, ValidationFailed
from herald.runtime import Runtime

MAX_PRODUCT = 255


def check_origin(origin: str | None, allowed: frozenset[str] | None) -> None:
    """Refuse a browser page from an origin not on the allow-list (unset list: any origin).

    A handshake without ``Origin`` comes from an app, not a page, and a page cannot forge the
    header: the list protects users' browsers against other sites, the token does the rest.
    """
    if allowed is None or origin is None:
        return
    if origin.rstrip("/") not in allowed:
        raise Forbidden("This origin may not open real-time connections")


def product_of(connection: HTTPConnection) -> str | None:
    """The ``?product=`` a connection names, to receive only that product's events."""
    product = connection.query_params.get("product") or None
    if product is not None and len(product) > MAX_PRODUCT:
        detail = ErrorDetail("/query/product", f"at most {MAX_PRODUCT} characters")
        raise ValidationFailed("The request is invalid", details=[detail])
    return product


async def admit(connection: HTTPConnection, runtime: Runtime) -> Principal:
    """The user behind a real-time handshake, or the error that refuses it."""
    check_origin(connection.headers.get("origin"), runtime.settings.origins)
    token = bearer_token(connection, allow_query=True)
    async with runtime.db.sessions() as session, session.begin():
        principal = await authenticate(token, session=session, runtime=runtime)
    if not principal.is_user:
        raise Forbidden("Real-time connections take a user token: POST /v1/users/{id}/tokens")
    return principal
