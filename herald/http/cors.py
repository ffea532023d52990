"""CORS for what a page of another origin calls as its user: ``/v1/me/...`` and the SSE stream.

The inbox widget runs on the developer's own pages, so its requests are cross-origin. They carry
a user token in ``Authorization`` (never a cookie), so no credentials are allowed; origins are
``HERALD_ALLOWED_ORIGINS`` (any origin when unset), as for the real-time handshake. Server-key
routes get no CORS at all: a server key has no business in a browser. ``HttpFront``
(``herald.http.middleware``) sends the requests under ``PREFIXES`` through this middleware.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

PREFIXES = ("/v1/me/", "/v1/stream")
METHODS = ("GET", "PUT", "PATCH", "POST", "DELETE")
# Last-Event-ID: an EventSource that reconnects sends it.
REQUEST_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID")
# What a page may read of an answer besides the safelisted headers (for its back-off).
RESPONSE_HEADERS = ("Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


def user_route_cors(app: ASGIApp, origins: frozenset[str] | None) -> CORSMiddleware:
    """Starlette's CORS middleware in front of ``app``, configured for the user routes."""
    return CORSMiddleware(
        app,
        allow_origins=sorted(origins) if origins is not None else ["*"],
        allow_methods=METHODS,
        allow_headers=REQUEST_HEADERS,
        expose_headers=RESPONSE_HEADERS,
        # A public page may embed a Herald that runs on the company's private network.
        allow_private_network=True,
        max_age=3600,
    )
