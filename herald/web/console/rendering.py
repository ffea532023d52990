"""Rendering console pages: one Jinja2 environment over ``pages/``, the response headers every
page carries, and the stylesheet and script with content-hashed URLs.

These are Herald's own pages, never a tenant's template: a plain (not sandboxed) environment
with autoescaping on and undefined names an error. Tenant content (an email's HTML) is shown
only inside ``<iframe sandbox srcdoc>``, escaped as an attribute.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from herald.accounts import scopes as scope_rules
from herald.web.console.access import Visit, visit_of

HERE = Path(__file__).parent
PAGES = HERE / "pages"
STATIC = HERE / "static"
ASSETS = {"console.css": "text/css", "console.js": "text/javascript"}
# Tenant HTML is shown in sandboxed srcdoc frames, which inherit this policy: inline styles are
# allowed (emails are styled inline), scripts only from Herald, images from https or data URLs.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: https:; connect-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Section:
    """An entry of the console's navigation, shown when the key holds its scope."""

    path: str
    label: str
    scope: str | None


SECTIONS = (
    Section("/console/notifications", "Notifications", "notifications.read"),
    Section("/console/deliveries", "Deliveries", "deliveries.read"),
    Section("/console/smtp-log", "SMTP log", "deliveries.read"),
    Section("/console/stats", "Stats", "deliveries.read"),
    Section("/console/templates", "Templates", "templates.read"),
    Section("/console/users", "Users and teams", "users.read"),
    Section("/console/preferences", "Preferences", "users.read"),
    Section("/console/keys", "Keys", "admin"),
    Section("/console/providers", "Providers", "admin"),
    Section("/console/senders", "Senders", "admin"),
    Section("/console/callbacks", "Callbacks", "admin"),
    Section("/console/accounts", "Accounts", None),
)


@functools.cache
def asset(name: str) -> tuple[bytes, str]:
    """A static file's bytes and the short hash that versions its URL."""
    data = (STATIC / name).read_bytes()
    return data, hashlib.sha256(data).hexdigest()[:12]


def static_url(name: str) -> str:
    """The URL of a static file; it changes with the content, so browsers may keep it."""
    return f"/console/static/{name}?v={asset(name)[1]}"


def when(value: datetime | None) -> str:
    """A timestamp as the console shows it (UTC, to the second)."""
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def pretty(value: Any) -> str:
    """JSON for reading: indented, keys in their order, non-ASCII kept."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def sections_for(visit: Visit | None) -> list[Section]:
    """The navigation entries the visit's key may open."""
    if visit is None:
        return []
    held = visit.principal.scopes
    return [s for s in SECTIONS if s.scope is None or scope_rules.grants(held, s.scope)]


@functools.cache
def environment() -> Environment:
    """The pages' Jinja2 environment, built once."""
    env = Environment(
        loader=FileSystemLoader(PAGES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # UUIDv7s begin with their time: their last characters tell them apart.
    env.filters.update(when=when, pretty=pretty, short=lambda v: str(v)[-8:])
    env.globals.update(static=static_url)
    return env


def page(request: Request, name: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render ``pages/<name>`` with the visit (who is signed in) and the navigation."""
    visit = visit_of(request)
    html = (
        environment()
        .get_template(name)
        .render(
            request=request,
            visit=visit,
            sections=sections_for(visit),
            here=request.url.path,
            **context,
        )
    )
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)


def asset_response(name: str) -> Response:
    """A static file, cacheable for a year (its URL carries its hash)."""
    data, _digest = asset(name)
    headers = {
        "Cache-Control": "public, max-age=31536000, immutable",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(data, media_type=ASSETS[name], headers=headers)
