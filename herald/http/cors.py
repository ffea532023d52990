"""CORS for what a page of another origin calls as its user: ``/v1/me/...`` and the SSE stream.

The inbox widget runs on the developer's own pages, so its requests are cross-origin. They carry
a user token in ``Authorization`` (never a cookie), so no credentials are allowed; origins are
``HERALD_ALLOWED_ORIGINS`` (any origin when unset), as for the real-time handshake. Server-key
routes get no CORS at all: a server key has no business in a browser.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

PREFIXES = ("/v1/me/", "/v1/stream")
METHODS = ("GET", "PUT", "PATCH", "POST", "DELETE")
# Last-Event-ID: an EventSource that reconnects sends it.
REQUEST_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID")
# What a page may read of an answer besides the safelisted headers (for its back-off).
RESPONSE_HEADERS = ("Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


class UserRouteCors:
    """Starlette's CORS middleware, applied to the user routes only."""

    def __init__(self, app: ASGIApp, *, origins: frozenset[str] | None) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=sorted(origins) if origins is not None else ["*"],
            allow_methods=METHODS,
            allow_headers=REQUEST_HEADERS,
            expose_headers=RESPONSE_HEADERS,
            # A public page may embed a Herald that runs on the company's private network.
            allow_private_network=True,
            max_age=3600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer preflights and add CORS headers on the user routes; pass the rest through."""
        if scope["type"] == "http" and scope["path"].startswith(PREFIXES):
            await self.cors(scope, receive, send)
            return
        await self.app(scope, receive, send)
