"""How console routes answer failures: as pages, not JSON. A signed-out visit goes to the sign-in
page; any Herald error (403 for a scope the key lacks, 404, 422...) is a page with the same
status, code and message the API would give; a bug is logged and a plain 500 page."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from herald.errors import HeraldError
from herald.http.handlers import validation_error
from herald.logs import get_logger
from herald.web.console.access import COOKIE
from herald.web.console.rendering import PAGE_HEADERS, page
from herald.web.console.sessions import SignedOut

log = get_logger(__name__)
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a console path only (never another site)."""
    if value and value.startswith("/console") and not value.startswith("//"):
        return value
    return "/console"


def to_sign_in(request: Request, error: SignedOut) -> Response:
    """A redirect to the sign-in page that comes back here (for a page view) afterwards."""
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = safe_next(back if request.method == "GET" else None)
    location = f"/console/sign-in?next={quote(target, safe='/')}"
    if request.cookies.get(COOKIE):
        location += "&ended=1"
    response = RedirectResponse(location, status_code=303, headers=PAGE_HEADERS)
    response.delete_cookie(COOKIE, path="/console", httponly=True, samesite="strict")
    return response


def error_page(request: Request, error: HeraldError) -> Response:
    """The error as a page, with the API's status and headers (``Retry-After``...)."""
    response = page(request, "error.html", status_code=error.status_code, error=error)
    response.headers.update(error.headers)
    return response


class ConsoleRoute(APIRoute):
    """An ``APIRoute`` whose failures are console pages."""

    def get_route_handler(self) -> Handler:
        """FastAPI's handler, wrapped so that errors become pages."""
        handler = super().get_route_handler()

        async def console_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except SignedOut as exc:
                return to_sign_in(request, exc)
            except RequestValidationError as exc:
                return error_page(request, validation_error(exc))
            except HeraldError as exc:
                return error_page(request, exc)
            except Exception:
                log.exception("console_error", path=request.url.path, method=request.method)
                return error_page(request, HeraldError("Internal error"))

        return console_handler
